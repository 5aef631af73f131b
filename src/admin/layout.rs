//! The admin's frame: `page()` wraps a page's content in the sidebar, top bar and toasts;
//! `bare()` is the frame of the sign-in and error pages. The `Admin` extractor gathers what
//! every page needs (who, language, theme, whether htmx asked for a fragment).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde_json::json;

use aggregates::staff::{Permission, StaffRole};

use crate::admin::error::AdminError;
use crate::admin::i18n::{self, Lang, Texts};
use crate::admin::session::{self, StaffUser, CSRF_FIELD};
use crate::http::AppState;

/// The colour theme: the system's unless the user picked one (a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// Every choice, in the order the switcher lists them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn code(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(code: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn from_headers(headers: &HeaderMap) -> Theme {
        i18n::cookie(headers, "theme")
            .and_then(|v| Theme::parse(&v))
            .unwrap_or_default()
    }

    fn label(self, t: &Texts) -> &'static str {
        match self {
            Theme::System => t.theme_system,
            Theme::Light => t.theme_light,
            Theme::Dark => t.theme_dark,
        }
    }
}

/// What htmx said about the request.
#[derive(Debug, Clone, Default)]
pub struct Hx {
    /// Sent by htmx.
    pub request: bool,
    /// A boosted link or form: it wants the whole page.
    pub boosted: bool,
    /// The id of the element that triggered it (live validation uses it).
    pub trigger: Option<String>,
}

impl Hx {
    fn from_headers(headers: &HeaderMap) -> Hx {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Hx {
            request: get("hx-request") == Some("true"),
            boosted: get("hx-boosted") == Some("true"),
            trigger: get("hx-trigger").map(str::to_owned),
        }
    }

    /// Whether to answer with a fragment rather than a whole page.
    pub fn fragment(&self) -> bool {
        self.request && !self.boosted
    }
}

/// Everything a page needs about its request.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user: StaffUser,
    pub lang: Lang,
    pub t: &'static Texts,
    pub theme: Theme,
    pub hx: Hx,
    /// The path, for the sidebar's current entry and "back here" redirects.
    pub path: String,
    /// The path with its query, for the preference forms to come back to.
    pub uri: String,
    /// The shop's currency, for every amount shown.
    pub currency: aggregates::Currency,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let user = StaffUser::from_request_parts(parts, state).await?;
        // A made-up password (a new account, a reset) is replaced before anything else.
        if user.must_change_password && !parts.uri.path().starts_with("/admin/account") {
            return Err(AdminError::ChangePassword {
                htmx: Hx::from_headers(&parts.headers).request,
            });
        }
        let lang = Lang::negotiate(&parts.headers);
        Ok(Admin {
            user,
            lang,
            t: lang.texts(),
            theme: Theme::from_headers(&parts.headers),
            hx: Hx::from_headers(&parts.headers),
            path: parts.uri.path().to_owned(),
            uri: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            currency: state.shop.get().currency().clone(),
        })
    }
}

impl Admin {
    /// Refuses unless the role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AdminError> {
        self.user.require(permission)
    }

    /// Whether the role allows `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.user.may(permission)
    }

    /// An amount in the shop's currency, written the staff member's way (`1 234,50 €`).
    pub fn money(&self, value: rust_decimal::Decimal) -> String {
        crate::admin::chart::money(value, self.lang == Lang::Fr, self.currency.symbol())
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.user.csrf); }
    }

    /// Leaves a toast for the next page (after a redirect).
    pub async fn flash(&self, kind: &str, message: impl Into<String>) {
        session::flash(&self.user.session, kind, message).await;
    }

    /// The whole page around `content`, with the pending toast. A boosted htmx request
    /// gets the toast as an `HX-Trigger` event; a plain one finds it in the page.
    pub async fn page(&self, title: &str, content: Markup) -> Response {
        let flash = session::take_flash(&self.user.session).await;
        let inline = if self.hx.request { None } else { flash.clone() };
        let markup = self.frame(title, content, inline);
        let mut response = markup.into_response();
        no_store(response.headers_mut());
        if let (true, Some(flash)) = (self.hx.request, flash) {
            toast_header(&mut response, &flash.kind, &flash.message);
        }
        response
    }

    /// [`Admin::page`] answered with `status` (a form shown again with its errors: 422).
    pub async fn page_with_status(
        &self,
        title: &str,
        content: Markup,
        status: axum::http::StatusCode,
    ) -> Response {
        let mut response = self.page(title, content).await;
        *response.status_mut() = status;
        response
    }

    /// A confirmation before a destructive action: a dialog's content when htmx asks for
    /// it, a whole page without JavaScript.
    pub async fn confirmation(&self, title: &str, body: Markup) -> Response {
        if self.hx.fragment() {
            return self.fragment(body, None);
        }
        self.page(title, body).await
    }

    /// A fragment for htmx, with an optional toast.
    pub fn fragment(&self, content: Markup, toast: Option<(&str, &str)>) -> Response {
        let mut response = content.into_response();
        no_store(response.headers_mut());
        if let Some((kind, message)) = toast {
            toast_header(&mut response, kind, message);
        }
        response
    }

    fn frame(&self, title: &str, content: Markup, flash: Option<session::Flash>) -> Markup {
        let t = self.t;
        let nav: Vec<(&str, &str, bool)> = vec![
            ("/admin", t.nav_dashboard, true),
            (
                "/admin/orders",
                t.nav_orders,
                self.may(Permission::ViewOrders),
            ),
            (
                "/admin/invoices",
                t.nav_invoices,
                self.may(Permission::ViewInvoices),
            ),
            (
                "/admin/products",
                t.nav_products,
                self.may(Permission::ViewCatalog),
            ),
            (
                "/admin/categories",
                t.nav_categories,
                self.may(Permission::ViewCatalog),
            ),
            (
                "/admin/reviews",
                t.nav_reviews,
                self.may(Permission::ViewReviews),
            ),
            (
                "/admin/customers",
                t.nav_customers,
                self.may(Permission::ViewCustomers),
            ),
        ];
        let admin_nav: Vec<(&str, &str, bool)> = vec![
            ("/admin/audit", t.nav_audit, self.may(Permission::ViewAudit)),
            (
                "/admin/staff",
                t.nav_staff,
                self.may(Permission::ManageStaff),
            ),
            (
                "/admin/outbox",
                t.nav_outbox,
                self.may(Permission::ManageEmails),
            ),
            (
                "/admin/settings",
                t.nav_settings,
                self.may(Permission::ManageSettings),
            ),
        ];
        let current = |href: &str| {
            if href == "/admin" {
                self.path == "/admin"
            } else {
                self.path == href || self.path.starts_with(&format!("{href}/"))
            }
        };
        let hx_headers = json!({ "x-csrf-token": self.user.csrf }).to_string();
        let body = html! {
            body.admin hx-boost="true" hx-headers=(hx_headers) data-error-message=(t.error_generic) {
                div #progress aria-hidden="true" {}
                a.skip-link href="#main" { (t.skip_to_content) }
                input #nav-toggle.nav-toggle type="checkbox" aria-label=(t.menu) aria-controls="sidebar";
                nav #sidebar.sidebar aria-label=(t.menu) {
                    a.brand href="/admin" { "Comptoir" }
                    p.nav-section { (t.nav_section_shop) }
                    ul.nav {
                        @for (href, label, shown) in &nav {
                            @if *shown {
                                li { a href=(href) aria-current=[current(href).then_some("page")] { (label) } }
                            }
                        }
                    }
                    @if admin_nav.iter().any(|(_, _, shown)| *shown) {
                        p.nav-section { (t.nav_section_admin) }
                        ul.nav {
                            @for (href, label, shown) in &admin_nav {
                                @if *shown {
                                    li { a href=(href) aria-current=[current(href).then_some("page")] { (label) } }
                                }
                            }
                        }
                    }
                }
                label.nav-backdrop for="nav-toggle" aria-hidden="true" {}
                div.shell {
                    header.topbar {
                        label.menu-toggle for="nav-toggle" { (t.menu) }
                        span.topbar-title { (title) }
                        (preferences(self.lang, self.theme, &self.uri, &self.user.csrf))
                        // The account's menu: a disclosure, so it opens without JavaScript.
                        details.user-menu {
                            summary.topbar-user {
                                span.user-name { (self.user.name) }
                                " "
                                span.user-role.badge { (role_label(t, self.user.role)) }
                            }
                            div.user-menu-panel {
                                a.btn.btn-ghost.btn-small href="/admin/account" { (t.password_change) }
                                form.logout method="post" action="/logout" hx-boost="false" {
                                    (self.csrf_field())
                                    button.btn.btn-ghost.btn-small type="submit" { (t.logout) }
                                }
                                form.logout method="post" action="/admin/sessions/end-all" hx-boost="false" {
                                    (self.csrf_field())
                                    button.btn.btn-ghost.btn-small type="submit" { (t.logout_everywhere) }
                                }
                            }
                        }
                    }
                    main #main.content tabindex="-1" { (content) }
                }
                div #toasts.toasts aria-live="polite" {
                    @if let Some(flash) = &flash {
                        (toast(t, &flash.kind, &flash.message))
                    }
                }
                dialog #modal aria-modal="true" {}
            }
        };
        document(self.lang, self.theme, title, body)
    }
}

/// A toast, as the server renders it.
pub fn toast(t: &Texts, kind: &str, message: &str) -> Markup {
    html! {
        div class={"toast toast-" (kind)} role="status" {
            span { (message) }
            button.toast-close type="button" aria-label=(t.close) { "×" }
        }
    }
}

fn toast_header(response: &mut Response, kind: &str, message: &str) {
    let event = json!({ "showToast": { "kind": kind, "message": message } }).to_string();
    // Header values are ASCII: everything else travels as JSON `\uXXXX` escapes.
    let mut ascii = String::with_capacity(event.len());
    for c in event.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&ascii) {
        response.headers_mut().insert("hx-trigger", value);
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The language and theme switchers: plain forms, so they work without JavaScript.
pub fn preferences(lang: Lang, theme: Theme, back: &str, csrf: &str) -> Markup {
    let t = lang.texts();
    html! {
        form.pref method="post" action="/preferences" hx-boost="false" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            input type="hidden" name="back" value=(back);
            label { span.visually-hidden { (t.language) }
                select name="lang" aria-label=(t.language) {
                    @for option in Lang::ALL {
                        option value=(option.code()) selected[option == lang] lang=(option.code()) { (option.name()) }
                    }
                }
            }
            label { span.visually-hidden { (t.theme) }
                select name="theme" aria-label=(t.theme) {
                    @for option in Theme::ALL {
                        option value=(option.code()) selected[option == theme] { (option.label(t)) }
                    }
                }
            }
            button.btn.btn-ghost.btn-small type="submit" { (t.apply) }
        }
    }
}

/// The name of a role in the page's language.
pub fn role_label(t: &Texts, role: StaffRole) -> &'static str {
    match role {
        StaffRole::Owner => t.role_owner,
        StaffRole::Manager => t.role_manager,
        StaffRole::Operator => t.role_operator,
        StaffRole::Accountant => t.role_accountant,
        StaffRole::Support => t.role_support,
    }
}

/// A page without the admin frame (sign-in, errors).
pub fn bare(lang: Lang, theme: Theme, title: &str, content: Markup) -> Markup {
    document(lang, theme, title, html! { body.login { (content) } })
}

fn document(lang: Lang, theme: Theme, title: &str, body: Markup) -> Markup {
    // htmx swaps 4xx answers too: a 422 carries the form with its errors.
    let htmx_config = r#"{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"4..","swap":true},{"code":"...","swap":true,"error":true}],"historyCacheSize":0,"includeIndicatorStyles":false}"#;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) data-theme=[(theme != Theme::System).then(|| theme.code())] {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                meta name="htmx-config" content=(htmx_config);
                title { (title) " · Comptoir" }
                link rel="stylesheet" href="/admin/static/admin.css";
                link rel="icon" href="data:,";
                // In the head: htmx re-runs scripts found in the swapped body of boosted pages.
                script src="/admin/static/htmx.min.js" defer {}
                script src="/admin/static/admin.js" defer {}
            }
            (body)
        }
    }
}

/// Previous / "page n of m" / next, for a list whose page `p` is at `link(p)`.
pub fn pagination(t: &Texts, page: i64, pages: i64, link: impl Fn(i64) -> String) -> Markup {
    html! {
        @if pages > 1 {
            nav.pagination aria-label="pagination" {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { (t.previous) } }
                @else { span.disabled { (t.previous) } }
                span aria-current="page" { (i18n::fill(t.page_of, &[("page", &page.to_string()), ("pages", &pages.to_string())])) }
                @if page < pages { a href=(link(page + 1)) rel="next" { (t.next) } }
                @else { span.disabled { (t.next) } }
            }
        }
    }
}

/// A list's address: `base` with its current query parameters, some replaced (`None`
/// removes one). Empty values are left out.
pub fn list_link(
    base: &str,
    current: &[(&str, &Option<String>)],
    changes: &[(&str, Option<&str>)],
) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (key, value) in current {
        let value = match changes.iter().find(|(k, _)| k == key) {
            Some((_, v)) => v.map(str::to_owned),
            None => (*value).clone(),
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            pairs.push((key, value));
        }
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

impl Admin {
    /// The confirmation before a destructive action: the question, a form posting to
    /// `action` with `fields` and a danger button, and a way back to `back`.
    pub fn confirm_dialog(
        &self,
        question: &str,
        action: &str,
        button: &str,
        back: &str,
        fields: Markup,
    ) -> Markup {
        html! {
            div.confirm {
                h2 { (question) }
                form method="post" action=(action) {
                    (self.csrf_field())
                    (fields)
                    div.dialog-actions {
                        button.btn.btn-danger type="submit" { (button) span.spinner aria-hidden="true" {} }
                        a.btn.btn-ghost href=(back) data-close-dialog { (self.t.dismiss) }
                    }
                }
            }
        }
    }
}

/// `at` in the shop's time zone (Paris: UTC+1, UTC+2 in summer by the EU rule, from the
/// last Sunday of March to the last Sunday of October, 01:00 UTC both), as staff read it.
pub fn local_time(at: &chrono::DateTime<chrono::Utc>, french: bool) -> String {
    use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
    let last_sunday = |month: u32| {
        let first_next = NaiveDate::from_ymd_opt(at.year(), month + 1, 1).unwrap_or_default();
        let last = first_next - Duration::days(1);
        let back = i64::from(last.weekday().num_days_from_sunday());
        let day = last - Duration::days(back);
        Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap_or_default())
    };
    let summer = *at >= last_sunday(3) && *at < last_sunday(10);
    let local = at.naive_utc() + Duration::hours(if summer { 2 } else { 1 });
    if french {
        local.format("%d/%m/%Y %H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn toasts_travel_in_an_ascii_header() {
        let mut response = Response::default();
        toast_header(&mut response, "success", "Produit enregistré ✓");
        let value = response.headers()["hx-trigger"].to_str().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(value).unwrap();
        assert_eq!(parsed["showToast"]["message"], "Produit enregistré ✓");
    }

    #[test]
    fn paris_time_follows_summer_time() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(local_time(&winter, true), "15/01/2026 13:00");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(local_time(&summer, false), "2026-07-01 14:00");
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let before = Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 0).unwrap();
        assert_eq!(local_time(&before, true), "29/03/2026 01:59");
        let after = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert_eq!(local_time(&after, true), "29/03/2026 03:00");
        let end = Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
        assert_eq!(local_time(&end, true), "25/10/2026 02:00");
    }
}
