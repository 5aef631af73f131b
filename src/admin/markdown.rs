//! Product descriptions are Markdown written by staff. Rendering is sanitised here, in one
//! place: raw HTML is shown as text, and links or images may only use http(s), mailto or
//! relative addresses, so nothing stored can run script in the admin or the storefront.

use maud::{Markup, PreEscaped};
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

/// Whether a link target is harmless.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A colon before any slash, `?` or `#` is a scheme.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

fn neutralise(url: CowStr<'_>) -> CowStr<'_> {
    if safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

/// Renders Markdown to sanitised HTML.
pub fn render(source: &str) -> Markup {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let events = Parser::new_ext(source, options).map(|event| match event {
        // Raw HTML becomes text: escaped by the HTML writer like any other text.
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    PreEscaped(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered() {
        let html = render("**Joint** de *culasse*\n\n- un\n- deux").into_string();
        assert!(html.contains("<strong>Joint</strong>"));
        assert!(html.contains("<li>deux</li>"));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html =
            render("<script>alert(1)</script>\n\nok <img src=x onerror=alert(1)>").into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn script_links_are_neutralised() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( data:text/html;base64,xx)",
            "![x](vbscript:msgbox)",
        ] {
            let html = render(source).into_string();
            assert!(
                !html.to_lowercase().contains("script:"),
                "{source} -> {html}"
            );
            assert!(!html.contains("data:"), "{source} -> {html}");
        }
        let html =
            render("[doc](https://example.com/a?b=1) [rel](/x) [m](mailto:a@b.fr)").into_string();
        assert!(html.contains("href=\"https://example.com/a?b=1\""));
        assert!(html.contains("href=\"/x\""));
        assert!(html.contains("href=\"mailto:a@b.fr\""));
    }
}
