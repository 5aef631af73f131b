//! A small logic-less template language for the emails (a subset of Mustache), so the
//! words live in `templates/email/` where a non-programmer can change them, and no value
//! can ever reach the HTML part unescaped:
//!
//! - `{{name}}` is the value, HTML-escaped in an HTML template (there is no raw form);
//! - `{{#name}}…{{/name}}` renders its body once per item of a list, once for a true flag
//!   or a non-empty text (whose name stays usable inside), and not at all otherwise;
//! - `{{^name}}…{{/name}}` renders its body when `{{#name}}` would not;
//! - `{{> name}}` includes another template (a partial), rendered with the same values;
//! - `{{! comment }}` is dropped.
//!
//! A section, comment or partial tag alone on its line takes the line with it, so plain
//! text templates can be laid out naturally. A name with no value is an error, not an empty
//! string: a misspelt name fails the tests instead of silently emptying a sentence.

use std::collections::BTreeMap;

/// A value a template can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Flag(bool),
    List(Vec<Values>),
}

/// Named values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, Value>);

impl Values {
    pub fn new() -> Self {
        Values::default()
    }

    /// Sets a text.
    pub fn text(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.to_owned(), Value::Text(value.into()));
        self
    }

    /// Sets a flag.
    pub fn flag(&mut self, name: &str, value: bool) -> &mut Self {
        self.0.insert(name.to_owned(), Value::Flag(value));
        self
    }

    /// Sets a list.
    pub fn list(&mut self, name: &str, items: Vec<Values>) -> &mut Self {
        self.0.insert(name.to_owned(), Value::List(items));
        self
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

/// How values are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// HTML: every value escaped.
    Html,
    /// Plain text: values as they are.
    Text,
}

/// A template that cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` without `}}}}` at byte {0}")]
    Unclosed(usize),
    #[error("`{{{{/{found}}}}}` closes `{expected}`")]
    Mismatched { expected: String, found: String },
    #[error("section `{0}` is never closed")]
    Unterminated(String),
    #[error("`{{{{{0}}}}}` has no value")]
    Missing(String),
    #[error("`{{{{{0}}}}}` is a list, not a text")]
    NotText(String),
    #[error("no partial `{0}`")]
    NoPartial(String),
    #[error("partials nest too deeply (a partial includes itself?)")]
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node<'a> {
    Literal(&'a str),
    Var(&'a str),
    Section {
        name: &'a str,
        inverted: bool,
        body: Vec<Node<'a>>,
    },
    Partial(&'a str),
}

/// Where a standalone tag's line starts and ends, when the tag is alone on it.
fn standalone(src: &str, open: usize, end: usize) -> Option<(usize, usize)> {
    let line_start = src[..open].rfind('\n').map_or(0, |i| i + 1);
    if !src[line_start..open].chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let after = &src[end..];
    let line_end = match after.find('\n') {
        Some(i) => end + i + 1,
        None => src.len(),
    };
    let trailing = &src[end..line_end];
    if trailing
        .trim_end_matches(['\n', '\r'])
        .chars()
        .all(|c| c == ' ' || c == '\t')
    {
        Some((line_start, line_end))
    } else {
        None
    }
}

fn parse(src: &str) -> Result<Vec<Node<'_>>, TemplateError> {
    // The open sections, innermost last: (name, inverted, nodes before it).
    let mut stack: Vec<(&str, bool, Vec<Node>)> = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut at = 0;
    while let Some(found) = src[at..].find("{{") {
        let open = at + found;
        let close = src[open + 2..]
            .find("}}")
            .map(|i| open + 2 + i)
            .ok_or(TemplateError::Unclosed(open))?;
        let end = close + 2;
        let tag = src[open + 2..close].trim();
        let sigil = tag.chars().next().unwrap_or(' ');
        let name = tag.get(1..).unwrap_or("").trim();
        let (literal_end, next) = match sigil {
            '#' | '^' | '/' | '!' | '>' => standalone(src, open, end).unwrap_or((open, end)),
            _ => (open, end),
        };
        if literal_end > at {
            nodes.push(Node::Literal(&src[at..literal_end]));
        }
        at = next;
        match sigil {
            '!' => {}
            '#' | '^' => {
                stack.push((name, sigil == '^', std::mem::take(&mut nodes)));
            }
            '/' => {
                let Some((open_name, inverted, before)) = stack.pop() else {
                    return Err(TemplateError::Mismatched {
                        expected: String::new(),
                        found: name.to_owned(),
                    });
                };
                if open_name != name {
                    return Err(TemplateError::Mismatched {
                        expected: open_name.to_owned(),
                        found: name.to_owned(),
                    });
                }
                let body = std::mem::replace(&mut nodes, before);
                nodes.push(Node::Section {
                    name: open_name,
                    inverted,
                    body,
                });
            }
            '>' => nodes.push(Node::Partial(name)),
            _ => nodes.push(Node::Var(tag)),
        }
    }
    if at < src.len() {
        nodes.push(Node::Literal(&src[at..]));
    }
    if let Some((name, _, _)) = stack.pop() {
        return Err(TemplateError::Unterminated(name.to_owned()));
    }
    Ok(nodes)
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn lookup<'v>(scopes: &[&'v Values], name: &str) -> Option<&'v Value> {
    scopes.iter().rev().find_map(|scope| scope.get(name))
}

/// Where partials come from.
pub type Partials<'p> = dyn Fn(&str) -> Option<&'p str> + 'p;

struct Renderer<'p> {
    format: Format,
    partials: &'p Partials<'p>,
}

impl Renderer<'_> {
    fn render(
        &self,
        nodes: &[Node],
        scopes: &mut Vec<&Values>,
        depth: usize,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Literal(text) => out.push_str(text),
                Node::Var(name) => match lookup(scopes, name) {
                    Some(Value::Text(text)) => match self.format {
                        Format::Html => escape_html(text, out),
                        Format::Text => out.push_str(text),
                    },
                    Some(Value::Flag(_)) | Some(Value::List(_)) => {
                        return Err(TemplateError::NotText((*name).to_owned()))
                    }
                    None => return Err(TemplateError::Missing((*name).to_owned())),
                },
                Node::Section {
                    name,
                    inverted,
                    body,
                } => {
                    let value =
                        lookup(scopes, name).ok_or(TemplateError::Missing((*name).to_owned()))?;
                    let shown = match value {
                        Value::Text(text) => !text.is_empty(),
                        Value::Flag(flag) => *flag,
                        Value::List(items) => !items.is_empty(),
                    };
                    if *inverted {
                        if !shown {
                            self.render(body, scopes, depth, out)?;
                        }
                    } else if let Value::List(items) = value {
                        for item in items {
                            scopes.push(item);
                            let result = self.render(body, scopes, depth, out);
                            scopes.pop();
                            result?;
                        }
                    } else if shown {
                        self.render(body, scopes, depth, out)?;
                    }
                }
                Node::Partial(name) => {
                    if depth >= 8 {
                        return Err(TemplateError::TooDeep);
                    }
                    let src = (self.partials)(name)
                        .ok_or_else(|| TemplateError::NoPartial((*name).to_owned()))?;
                    let nodes = parse(src)?;
                    self.render(&nodes, scopes, depth + 1, out)?;
                }
            }
        }
        Ok(())
    }
}

/// Renders `src` with `values`, taking partials from `partials`.
pub fn render<'p>(
    src: &str,
    values: &Values,
    format: Format,
    partials: &'p Partials<'p>,
) -> Result<String, TemplateError> {
    let nodes = parse(src)?;
    let mut out = String::with_capacity(src.len() * 2);
    let renderer = Renderer { format, partials };
    renderer.render(&nodes, &mut vec![values], 0, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<&'static str> {
        None
    }

    fn html(src: &str, values: &Values) -> Result<String, TemplateError> {
        render(src, values, Format::Html, &none)
    }

    fn text(src: &str, values: &Values) -> Result<String, TemplateError> {
        render(src, values, Format::Text, &none)
    }

    #[test]
    fn values_are_escaped_in_html_and_kept_in_text() {
        let mut values = Values::new();
        values.text("name", "<script>alert('x')</script> & \"co\"");
        assert_eq!(
            html("<p title=\"{{name}}\">{{ name }}</p>", &values).unwrap(),
            "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</p>"
        );
        assert_eq!(
            text("Bonjour {{name}}", &values).unwrap(),
            "Bonjour <script>alert('x')</script> & \"co\""
        );
    }

    #[test]
    fn sections_repeat_lists_and_follow_flags_and_texts() {
        let mut line = Values::new();
        line.text("name", "Pneu");
        let mut other = Values::new();
        other.text("name", "Batterie");
        let mut values = Values::new();
        values
            .list("lines", vec![line, other])
            .flag("paid", false)
            .text("url", "https://pay.test/x")
            .text("empty", "")
            .text("shop", "Comptoir");
        let src = "{{#lines}}[{{name}} @ {{shop}}]{{/lines}}{{#paid}}paid{{/paid}}{{^paid}}due{{/paid}} {{#url}}<{{url}}>{{/url}}{{#empty}}never{{/empty}}{{^empty}}none{{/empty}}";
        assert_eq!(
            text(src, &values).unwrap(),
            "[Pneu @ Comptoir][Batterie @ Comptoir]due <https://pay.test/x>none"
        );
    }

    #[test]
    fn standalone_tags_take_their_line() {
        let mut values = Values::new();
        values.flag("yes", true).flag("no", false).text("x", "X");
        let src = "a\n{{#yes}}\n  {{x}}\n{{/yes}}\n{{#no}}\nhidden\n{{/no}}\n{{! a comment }}\nb {{#yes}}inline{{/yes}}\n";
        assert_eq!(text(src, &values).unwrap(), "a\n  X\nb inline\n");
    }

    #[test]
    fn partials_are_rendered_with_the_same_values() {
        let mut values = Values::new();
        values.text("who", "<Marie>");
        let partials = |name: &str| (name == "greeting").then_some("Bonjour {{who}}");
        assert_eq!(
            render("<p>{{> greeting}}</p>", &values, Format::Html, &partials).unwrap(),
            "<p>Bonjour &lt;Marie&gt;</p>"
        );
        assert_eq!(
            render("{{> nothing}}", &values, Format::Html, &partials),
            Err(TemplateError::NoPartial("nothing".into()))
        );
        let looping = |_: &str| Some("{{> again}}");
        assert_eq!(
            render("{{> again}}", &values, Format::Html, &looping),
            Err(TemplateError::TooDeep)
        );
    }

    #[test]
    fn mistakes_are_errors_not_empty_strings() {
        let values = Values::new();
        assert_eq!(
            html("{{nom}}", &values),
            Err(TemplateError::Missing("nom".into()))
        );
        assert_eq!(
            html("{{#a}}x{{/b}}", &values),
            Err(TemplateError::Mismatched {
                expected: "a".into(),
                found: "b".into()
            })
        );
        assert_eq!(
            html("{{#a}}x", &values),
            Err(TemplateError::Unterminated("a".into()))
        );
        assert_eq!(html("x {{oops", &values), Err(TemplateError::Unclosed(2)));
        let mut list = Values::new();
        list.list("lines", Vec::new());
        assert_eq!(
            html("{{lines}}", &list),
            Err(TemplateError::NotText("lines".into()))
        );
    }
}
