//! Who is signed in, and the guards around it: the `StaffUser` extractor (sessions checked
//! against the staff account's own stream, so a disabled account or "log out everywhere"
//! takes effect on the very next request), the CSRF guard, and flash messages.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use uuid::Uuid;

use aggregates::staff::{Permission, StaffRole};

use crate::admin::error::AdminError;
use crate::auth::{self, Attempt, SecurityEventKind};
use crate::context::RequestContext;
use crate::http::AppState;

const SIGNED_IN: &str = "staff";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
/// The header htmx sends the token in (set once on `<body hx-headers>`).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field plain forms send it in.
pub const CSRF_FIELD: &str = "_csrf";
/// Largest form the CSRF guard reads to find the token.
const FORM_LIMIT: usize = 256 * 1024;

/// What the session remembers of a sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub staff_id: Uuid,
    pub logged_in_at: DateTime<Utc>,
}

/// A message shown once, after a redirect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `error` or `info`.
    pub kind: String,
    pub message: String,
}

/// The session's CSRF token, made on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AdminError> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// Signs `staff_id` in: a new session id (no fixation), a new CSRF token.
pub async fn sign_in(session: &Session, staff_id: Uuid) -> Result<(), AdminError> {
    session.cycle_id().await?;
    session.remove_value(CSRF).await?;
    session
        .insert(
            SIGNED_IN,
            SignedIn {
                staff_id,
                logged_in_at: Utc::now(),
            },
        )
        .await?;
    csrf_token(session).await?;
    Ok(())
}

/// Who is signed in on this session, without checking the account (the sign-in page uses
/// it to skip itself).
pub async fn signed_in(session: &Session) -> Option<SignedIn> {
    session.get::<SignedIn>(SIGNED_IN).await.ok().flatten()
}

/// Leaves a message for the next page.
pub async fn flash(session: &Session, kind: &str, message: impl Into<String>) {
    let flash = Flash {
        kind: kind.to_owned(),
        message: message.into(),
    };
    if let Err(error) = session.insert(FLASH, flash).await {
        tracing::warn!(%error, "flash message lost");
    }
}

/// Takes the message left for this page, if any (the session is only changed when there
/// is one).
pub async fn take_flash(session: &Session) -> Option<Flash> {
    session.get::<Flash>(FLASH).await.ok().flatten()?;
    session.remove::<Flash>(FLASH).await.ok().flatten()
}

/// The signed-in staff member. Every admin handler takes it (or `Admin`, which holds it);
/// it answers "sign in" for anyone else.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    pub csrf: String,
    pub session: Session,
    /// Signed in with a password made up for them: they must choose their own first.
    pub must_change_password: bool,
}

impl StaffUser {
    /// Whether the role allows `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role.may(permission)
    }

    /// Refuses unless the role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AdminError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(AdminError::Forbidden)
        }
    }
}

/// Where to come back to after signing in: this page for a plain GET, the page htmx was
/// on for its requests, the dashboard for a form post (which is not replayed).
fn come_back_to(parts: &Parts) -> String {
    let page_of = |url: &str| {
        url.split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
    };
    if is_htmx(&parts.headers) {
        if let Some(page) = parts
            .headers
            .get("hx-current-url")
            .and_then(|v| v.to_str().ok())
            .and_then(page_of)
        {
            return page;
        }
    }
    match (&parts.method, parts.uri.path_and_query()) {
        (&Method::GET, Some(path)) => path.as_str().to_owned(),
        _ => "/admin".to_owned(),
    }
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, why)| AdminError::internal("session", why))?;
        let next = come_back_to(parts);
        let sign_in = |reason: Option<&'static str>| AdminError::SignIn {
            next: next.clone(),
            reason,
            htmx: is_htmx(&parts.headers),
        };
        let Some(signed) = signed_in(&session).await else {
            return Err(sign_in(None));
        };
        if Utc::now() - signed.logged_in_at > state.admin.absolute_lifetime {
            session.flush().await?;
            return Err(sign_in(Some("expired")));
        }
        let account = state
            .bus
            .staff
            .load(&signed.staff_id.to_string())
            .await
            .map_err(|e| AdminError::internal("loading the staff account", e))?;
        let revoked = account
            .sessions_valid_after()
            .is_some_and(|after| signed.logged_in_at < after);
        if !account.exists() || account.is_disabled() || revoked {
            session.flush().await?;
            return Err(sign_in(Some("ended")));
        }
        let csrf = csrf_token(&session).await?;
        Ok(StaffUser {
            id: signed.staff_id,
            email: account.email().map(|e| e.to_string()).unwrap_or_default(),
            name: account.display_name().to_owned(),
            role: account.role(),
            csrf,
            session,
            must_change_password: account.must_change_password(),
        })
    }
}

/// Whether the request comes from a page of this site, by the browser's own word: the
/// `Origin` header (the configured public URL, or this host with the scheme the site is
/// served with: https when cookies are `Secure`), else `Sec-Fetch-Site`. Clients that send
/// neither (not a browser, or a very old one) are left to the token.
fn same_origin(headers: &HeaderMap, public_origin: Option<&str>, https: bool) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if public_origin.is_some_and(|allowed| allowed.trim_end_matches('/') == origin) {
            return true;
        }
        let scheme = if https { "https" } else { "http" };
        return match (origin.split_once("://"), host) {
            (Some((origin_scheme, origin_host)), Some(host)) => {
                origin_scheme == scheme && origin_host == host
            }
            _ => false,
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Refuses every state-changing request that does not come from this site or does not
/// carry the session's CSRF token (header or form field). Safe methods pass.
pub async fn csrf_guard(
    State(state): State<AppState>,
    context: RequestContext,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let refuse = |why: &'static str| {
        let state = state.clone();
        let context = context.clone();
        async move {
            tracing::warn!(why, ip = ?context.client_ip, "cross-site request refused");
            let attempt = Attempt {
                client_ip: context.client_ip.as_deref(),
                user_agent: context.user_agent.as_deref(),
                ..Attempt::default()
            };
            if let Err(error) =
                auth::record(&state.pool, SecurityEventKind::CsrfRefused, &attempt).await
            {
                tracing::warn!(%error, "security event not recorded");
            }
            AdminError::Csrf.into_response()
        }
    };
    let https = state.admin.secure_cookies;
    if !same_origin(
        request.headers(),
        state.admin.public_origin.as_deref(),
        https,
    ) {
        return refuse("origin").await;
    }
    let expected = match session.get::<String>(CSRF).await {
        Ok(Some(token)) => token,
        // A same-site form whose session has ended meanwhile (left open past the idle
        // timeout): nothing is done, and the staff member is asked to sign in again.
        Ok(None) => {
            return AdminError::SignIn {
                next: "/admin".into(),
                reason: Some("expired"),
                htmx: is_htmx(request.headers()),
            }
            .into_response()
        }
        Err(error) => return AdminError::from(error).into_response(),
    };
    let header_token = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (token, request) = match header_token {
        Some(token) => (Some(token), request),
        None => {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            // Kept as sent: a multipart boundary is case-sensitive.
            let multipart = content_type
                .get(.."multipart/form-data".len())
                .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"));
            if multipart {
                // An image upload from a browser without JavaScript (with it, the token
                // travels in the header and nothing is held here): the token is a field
                // of the body, which is held in memory up to the upload limit to find it.
                let limit = crate::admin::media::upload_body_limit(&state.media.limits);
                let (parts, body) = request.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
                    return AdminError::TooLarge {
                        max_bytes: state.media.limits.max_bytes,
                    }
                    .into_response();
                };
                let token = multipart_field(&content_type, bytes.clone(), CSRF_FIELD).await;
                (token, Request::from_parts(parts, Body::from(bytes)))
            } else {
                if !content_type.starts_with("application/x-www-form-urlencoded") {
                    return refuse("no token").await;
                }
                let (parts, body) = request.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
                    return refuse("form too large").await;
                };
                let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                    .ok()
                    .and_then(|fields| {
                        fields
                            .into_iter()
                            .find(|(k, _)| k == CSRF_FIELD)
                            .map(|(_, v)| v)
                    });
                (token, Request::from_parts(parts, Body::from(bytes)))
            }
        }
    };
    let valid = token.is_some_and(|token| bool::from(token.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return refuse("bad token").await;
    }
    next.run(request).await
}

/// The text of the field `name` of a multipart body, read with axum's own parser. Only
/// the start of the body is parsed: the token must come before the files (the upload form
/// puts it first), which also keeps the parser within its default body limit.
async fn multipart_field(
    content_type: &str,
    body: axum::body::Bytes,
    name: &str,
) -> Option<String> {
    use axum::extract::{FromRequest, Multipart};
    const HEAD: usize = 16 * 1024;
    let head = body.slice(..body.len().min(HEAD));
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(head))
        .ok()?;
    let mut multipart = Multipart::from_request(request, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn another_origin_is_refused() {
        let h = headers(&[("host", "shop.test"), ("origin", "https://evil.test")]);
        assert!(!same_origin(&h, None, true));
        let h = headers(&[("host", "shop.test"), ("origin", "null")]);
        assert!(!same_origin(&h, None, true));
        let h = headers(&[("host", "shop.test"), ("sec-fetch-site", "cross-site")]);
        assert!(!same_origin(&h, None, true));
        // The same host over plain HTTP is another origin when the site is HTTPS.
        let h = headers(&[("host", "shop.test"), ("origin", "http://shop.test")]);
        assert!(!same_origin(&h, None, true));
    }

    #[test]
    fn this_origin_passes() {
        let h = headers(&[
            ("host", "shop.test:8080"),
            ("origin", "http://shop.test:8080"),
        ]);
        assert!(same_origin(&h, None, false));
        let h = headers(&[("host", "shop.test"), ("origin", "https://shop.test")]);
        assert!(same_origin(&h, None, true));
        let h = headers(&[("host", "10.0.0.2"), ("origin", "https://shop.test")]);
        assert!(same_origin(&h, Some("https://shop.test/"), true));
        let h = headers(&[("host", "shop.test"), ("sec-fetch-site", "same-origin")]);
        assert!(same_origin(&h, None, true));
    }
}
