//! The admin's one error type. Handlers return it; [`error_pages`] turns it into a page in
//! the staff member's language (the error itself knows nothing of the request).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::admin::i18n::Lang;
use crate::admin::layout;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Not signed in (or no longer): back to the sign-in page.
    #[error("sign in required")]
    SignIn {
        /// Where to come back to.
        next: String,
        /// `ended`, `expired` or none.
        reason: Option<&'static str>,
        /// Asked by htmx: answer with `HX-Redirect` rather than a 303.
        htmx: bool,
    },
    /// Signed in with a temporary password: to the account page to choose one.
    #[error("a new password is required")]
    ChangePassword {
        /// Asked by htmx: answer with `HX-Redirect` rather than a 303.
        htmx: bool,
    },
    /// The role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// No such page or thing.
    #[error("not found")]
    NotFound,
    /// A state-changing request without a valid CSRF token or from another origin.
    #[error("cross-site request refused")]
    Csrf,
    /// A form too large to read (an upload over the limit, sent without JavaScript).
    #[error("request body over {max_bytes} bytes")]
    TooLarge {
        /// The upload limit, in bytes.
        max_bytes: u64,
    },
    /// Anything unexpected: logged, shown as an opaque 500 with the request id.
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    /// Wraps an unexpected failure with what was being done.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> AdminError {
        AdminError::Internal(format!("{context}: {error}"))
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        AdminError::internal("database", error)
    }
}

impl From<tower_sessions::session::Error> for AdminError {
    fn from(error: tower_sessions::session::Error) -> Self {
        AdminError::internal("session store", error)
    }
}

/// Which page [`error_pages`] renders, left in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    Forbidden,
    NotFound,
    Csrf,
    /// The upload limit, in bytes.
    TooLarge(u64),
    Internal,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let failure = match self {
            AdminError::SignIn { next, reason, htmx } => {
                let mut target = format!("/login?next={}", urlencode(&next));
                if let Some(reason) = reason {
                    target.push_str("&reason=");
                    target.push_str(reason);
                }
                if htmx {
                    let mut response = StatusCode::UNAUTHORIZED.into_response();
                    if let Ok(value) = HeaderValue::from_str(&target) {
                        response.headers_mut().insert("hx-redirect", value);
                    }
                    return response;
                }
                return Redirect::to(&target).into_response();
            }
            AdminError::ChangePassword { htmx } => {
                let target = "/admin/account?reason=temporary";
                if htmx {
                    let mut response = StatusCode::FORBIDDEN.into_response();
                    response
                        .headers_mut()
                        .insert("hx-redirect", HeaderValue::from_static(target));
                    return response;
                }
                return Redirect::to(target).into_response();
            }
            AdminError::Forbidden => (StatusCode::FORBIDDEN, Failure::Forbidden),
            AdminError::NotFound => (StatusCode::NOT_FOUND, Failure::NotFound),
            AdminError::Csrf => (StatusCode::FORBIDDEN, Failure::Csrf),
            AdminError::TooLarge { max_bytes } => {
                (StatusCode::PAYLOAD_TOO_LARGE, Failure::TooLarge(max_bytes))
            }
            AdminError::Internal(error) => {
                tracing::error!(%error, "admin request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Failure::Internal)
            }
        };
        let (status, failure) = failure;
        let mut response = status.into_response();
        response.extensions_mut().insert(failure);
        response
    }
}

/// Renders the page of an [`AdminError`] in the language the request asks for.
pub async fn error_pages(request: Request, next: Next) -> Response {
    let lang = Lang::negotiate(request.headers());
    let theme = layout::Theme::from_headers(request.headers());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let Some(failure) = response.extensions().get::<Failure>().copied() else {
        return response;
    };
    let t = lang.texts();
    let (title, body) = match failure {
        Failure::Forbidden => (t.forbidden_title, t.forbidden_body.to_owned()),
        Failure::NotFound => (t.not_found_title, t.not_found_body.to_owned()),
        Failure::Csrf => (t.forbidden_title, t.csrf_failed.to_owned()),
        Failure::TooLarge(max_bytes) => (
            t.too_large_title,
            crate::admin::i18n::fill(
                t.too_large_body,
                &[("max", &crate::admin::media::megabytes(max_bytes))],
            ),
        ),
        Failure::Internal => (t.forbidden_title, t.error_generic.to_owned()),
    };
    let title = if matches!(failure, Failure::Internal) {
        "500"
    } else {
        title
    };
    let markup = layout::bare(
        lang,
        theme,
        title,
        html! {
            main.login-card role="main" {
                h1 { (title) }
                p.alert.alert-error role="alert" { (body) }
                @if let Some(id) = &request_id { p.muted { "request id: " code { (id) } } }
                p { a href="/admin" { (t.nav_dashboard) } }
            }
        },
    );
    let mut page = (response.status(), markup).into_response();
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}
