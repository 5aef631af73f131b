//! The staff admin: server-rendered pages (Maud), lively with htmx, working without
//! JavaScript. Each area exports its `router()`; this module adds sessions, the CSRF
//! guard, error pages and the static assets around them.

mod account;
pub mod audit;
pub mod categories;
pub mod chart;
pub mod customers;
pub mod dashboard;
pub mod error;
pub mod history;
pub mod i18n;
pub mod invoices;
pub mod layout;
pub mod login;
pub mod markdown;
pub mod media;
pub mod orders;
mod outbox;
pub mod products;
pub mod reviews;
pub mod session;
pub mod settings;
pub mod shop_settings;
pub mod staff;
pub mod store;

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::http::AppState;

/// How staff sessions behave.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// A session unused this long ends (`COMPTOIR_SESSION_IDLE_MINUTES`, default 60).
    pub idle_timeout: chrono::Duration,
    /// A session ends this long after sign-in whatever happens
    /// (`COMPTOIR_SESSION_MAX_HOURS`, default 12).
    pub absolute_lifetime: chrono::Duration,
    /// Whether the session cookie is `Secure`.
    pub secure_cookies: bool,
    /// The address staff reach the shop at (`COMPTOIR_PUBLIC_URL`), accepted as an `Origin`
    /// even when a proxy rewrites `Host`.
    pub public_origin: Option<String>,
    /// Requests to the admin per minute and client (`COMPTOIR_ADMIN_RATE_PER_MINUTE`,
    /// default 1200): far above a person's pace, live validation included, low enough that
    /// nobody floods the session and security tables from one address.
    pub requests_per_minute: u32,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            idle_timeout: chrono::Duration::minutes(60),
            absolute_lifetime: chrono::Duration::hours(12),
            secure_cookies: true,
            public_origin: None,
            requests_per_minute: 1200,
        }
    }
}

impl AdminSettings {
    /// From the environment. The cookie is `Secure` unless the shop is explicitly served
    /// over plain HTTP on this machine: a loopback address with no public URL, or a public
    /// URL `http://localhost...`/`http://127.0.0.1...`.
    pub fn from_env(bind: SocketAddr) -> Result<AdminSettings, String> {
        let number = |name: &str, default: i64| -> Result<i64, String> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number, not `{v}`")),
                Err(_) => Ok(default),
            }
        };
        let public_origin = std::env::var("COMPTOIR_PUBLIC_URL")
            .ok()
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty());
        if let Some(url) = &public_origin {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "COMPTOIR_PUBLIC_URL must start with http:// or https://, not `{url}`"
                ));
            }
        }
        let plain_local = match &public_origin {
            Some(url) => {
                let host = url.trim_start_matches("http://");
                url.starts_with("http://")
                    && ["localhost", "127.0.0.1", "[::1]"]
                        .iter()
                        .any(|h| host == *h || host.starts_with(&format!("{h}:")))
            }
            None => bind.ip().is_loopback(),
        };
        Ok(AdminSettings {
            idle_timeout: chrono::Duration::minutes(number("COMPTOIR_SESSION_IDLE_MINUTES", 60)?),
            absolute_lifetime: chrono::Duration::hours(number("COMPTOIR_SESSION_MAX_HOURS", 12)?),
            secure_cookies: !plain_local,
            public_origin,
            requests_per_minute: u32::try_from(number("COMPTOIR_ADMIN_RATE_PER_MINUTE", 1200)?)
                .map_err(|_| "COMPTOIR_ADMIN_RATE_PER_MINUTE is too large".to_owned())?,
        })
    }
}

/// Only this site's scripts, styles and images; no framing. Stored text that slipped past
/// escaping still could not run.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The admin's CSP: [`CSP`], plus, when browsers upload images straight to the bucket
/// (`upload_origin`, from [`crate::media::Media::browser_upload_origin`]), `connect-src`
/// opened to that origin and no other: the images tab's presigned PUT goes there.
pub fn content_security_policy(upload_origin: Option<&str>) -> String {
    match upload_origin {
        // The origin is checked when derived (`media::store::origin_of`): no space or `;`
        // can add a directive.
        Some(origin) => CSP.replacen(
            "default-src 'self'; ",
            &format!("default-src 'self'; connect-src 'self' {origin}; "),
            1,
        ),
        None => CSP.to_owned(),
    }
}

/// Requests to the sign-in routes per minute and client.
const LOGIN_PER_MINUTE: u32 = 30;

/// The admin's routes, behind sessions, the CSRF guard and the error pages.
pub fn router(state: &AppState) -> Router<AppState> {
    let settings = &state.admin;
    let store = store::SessionRows::new(state.pool.clone());
    let idle = time::Duration::seconds(settings.idle_timeout.num_seconds());
    let sessions = SessionManagerLayer::new(store)
        .with_name("comptoir_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every request counts as activity (typing in a checked-live form included).
        .with_always_save(true);
    let pages = Router::new()
        // Sign-in attempts from one client are also rate limited, before any password
        // work: the throttle in `auth` counts failures, this bounds the load.
        .merge(login::router().route_layer(state.limits.rate_limit(LOGIN_PER_MINUTE)))
        .merge(dashboard::router())
        .merge(products::router())
        .merge(categories::router())
        .merge(reviews::router())
        .merge(orders::router())
        .merge(invoices::router())
        .merge(customers::router())
        .merge(audit::router())
        .merge(settings::router())
        .merge(shop_settings::router())
        .merge(staff::router())
        .merge(outbox::router())
        .merge(media::router(state.media.clone()))
        .merge(account::router())
        .route("/preferences", post(preferences))
        .route("/admin/{*rest}", get(not_found).post(not_found))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::csrf_guard,
        ))
        .layer(sessions)
        .layer(state.limits.rate_limit(settings.requests_per_minute))
        .layer(middleware::from_fn(error::error_pages))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&content_security_policy(
                state.media.browser_upload_origin(),
            ))
            .unwrap_or_else(|error| {
                tracing::error!(%error, "the bucket's origin does not fit in the CSP; uploads to it will be blocked");
                HeaderValue::from_static(CSP)
            }),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ));
    Router::new()
        .route("/admin/static/{file}", get(asset))
        .merge(pages)
}

async fn not_found(_: layout::Admin) -> error::AdminError {
    error::AdminError::NotFound
}

#[derive(Debug, Deserialize)]
struct Preferences {
    lang: Option<String>,
    theme: Option<String>,
    back: Option<String>,
}

/// Remembers the language and theme (cookies for a year), then goes back where the form
/// was. Works signed out too (the sign-in page has the switchers).
async fn preferences(Form(form): Form<Preferences>) -> Response {
    let mut response = Redirect::to(&safe_back(form.back.as_deref())).into_response();
    let year = 365 * 24 * 3600;
    if let Some(lang) = form.lang.as_deref().and_then(i18n::Lang::parse) {
        let cookie = format!("lang={}; Path=/; Max-Age={year}; SameSite=Lax", lang.code());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    if let Some(theme) = form.theme.as_deref().and_then(layout::Theme::parse) {
        let cookie = format!(
            "theme={}; Path=/; Max-Age={year}; SameSite=Lax",
            theme.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A path of this site to go back to: anything else (another host, `//evil`, a scheme)
/// becomes the dashboard, so no form can redirect off site.
pub fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

/// The admin's static files, compiled into the binary (no CDN, no file to deploy).
async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "admin.css" => (
            include_bytes!("../../templates/static/admin.css"),
            "text/css; charset=utf-8",
        ),
        "admin.js" => (
            include_bytes!("../../templates/static/admin.js"),
            "text/javascript; charset=utf-8",
        ),
        "htmx.min.js" => (
            include_bytes!("../../templates/static/htmx.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Read your writes: after a command, waits (two seconds at most) until every read model
/// has applied the aggregate's latest event, so the page the browser is sent to next shows
/// the change. Past the bound the page shows what is there; the toast still tells.
pub async fn settle(state: &AppState, aggregate_type: &str, id: &str) {
    let Ok(Some(position)) = state.bus.position_of(aggregate_type, id).await else {
        return;
    };
    // The read models' names never change: listed once.
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        projections::read_models()
            .iter()
            .map(|v| v.name())
            .collect()
    });
    if let Err(error) = projections::runtime::wait_for(
        &state.pool,
        names,
        position,
        std::time::Duration::from_secs(2),
    )
    .await
    {
        tracing::warn!(%error, "could not wait for the read models");
    }
}

/// Whether a unique value (a reference, a slug, a name) is claimed by anything but
/// `except`: the command side's own claims, so live checks agree with what a submit will
/// find.
pub async fn claimed_by_other(
    state: &AppState,
    scope: &str,
    value: &str,
    except: Option<uuid::Uuid>,
) -> Result<bool, error::AdminError> {
    let owner: Option<uuid::Uuid> =
        sqlx::query_scalar("select owner_id from unique_keys where scope = $1 and value = $2")
            .bind(scope)
            .bind(value)
            .fetch_optional(&state.pool)
            .await?;
    Ok(owner.is_some_and(|o| Some(o) != except))
}

/// Errors next to their fields: field name -> message.
/// An `ilike` pattern matching text that contains `q` as typed: `%`, `_` and `\` in it are
/// matched literally, not as wildcards.
pub fn contains_pattern(q: &str) -> String {
    format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

pub type FieldErrors = std::collections::BTreeMap<&'static str, String>;

/// A form field with its label, hint and error, the input given by `input`.
pub fn field(
    id: &str,
    label: &str,
    hint: Option<&str>,
    errors: &FieldErrors,
    input: maud::Markup,
) -> maud::Markup {
    let error = errors.get(id);
    maud::html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            (input)
            @if let Some(hint) = hint { p.hint #{(id) "-hint"} { (hint) } }
            p.error #{"err-" (id)} role="alert" { @if let Some(error) = error { (error) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bucket_taking_uploads_opens_connect_src() {
        assert_eq!(content_security_policy(None), CSP);
        assert_eq!(
            content_security_policy(Some("https://media.r2.example")),
            "default-src 'self'; connect-src 'self' https://media.r2.example; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
    }

    #[test]
    fn going_back_never_leaves_the_site() {
        assert_eq!(
            safe_back(Some("/admin/products?page=2")),
            "/admin/products?page=2"
        );
        assert_eq!(safe_back(Some("//evil.test/x")), "/admin");
        assert_eq!(safe_back(Some("https://evil.test")), "/admin");
        assert_eq!(safe_back(Some("/\\evil.test")), "/admin");
        assert_eq!(safe_back(None), "/admin");
    }
}
