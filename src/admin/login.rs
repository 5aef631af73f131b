//! Signing in and out.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use std::time::Duration;

use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use aggregates::StaffAccountCommand;

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang};
use crate::admin::layout::{self, Admin, Theme};
use crate::admin::safe_back;
use crate::admin::session::{self, CSRF_FIELD};
use crate::auth::{self, Attempt, SecurityEventKind};
use crate::context::RequestContext;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(submit))
        .route("/logout", post(logout))
        .route("/admin/sessions/end-all", post(end_all))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    reason: Option<String>,
}

struct LoginPage<'a> {
    lang: Lang,
    theme: Theme,
    csrf: &'a str,
    email: &'a str,
    next: &'a str,
    error: Option<String>,
    info: Option<&'static str>,
}

fn render(page: LoginPage<'_>) -> Markup {
    let t = page.lang.texts();
    layout::bare(
        page.lang,
        page.theme,
        t.login_title,
        html! {
            main.login-card {
                h1 { (t.login_title) }
                @if let Some(info) = page.info { p.alert.alert-info role="status" { (info) } }
                @if let Some(error) = &page.error { p.alert.alert-error role="alert" #login-error { (error) } }
                form method="post" action="/login" {
                    input type="hidden" name=(CSRF_FIELD) value=(page.csrf);
                    input type="hidden" name="next" value=(page.next);
                    div.field {
                        label for="email" { (t.login_email) }
                        input #email type="email" name="email" value=(page.email) autocomplete="username" required autofocus
                            aria-describedby=[page.error.as_ref().map(|_| "login-error")];
                    }
                    div.field {
                        label for="password" { (t.login_password) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                    }
                    div.form-actions { button.btn.btn-primary type="submit" { (t.login_submit) } }
                }
                (layout::preferences(page.lang, page.theme, &format!("/login?next={}", crate::admin::error::urlencode(page.next)), page.csrf))
            }
        },
    )
}

async fn form(
    session: Session,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AdminError> {
    let next = safe_back(query.next.as_deref());
    if session::signed_in(&session).await.is_some() && query.reason.is_none() {
        return Ok(Redirect::to(&next).into_response());
    }
    let lang = Lang::negotiate(&headers);
    let t = lang.texts();
    let csrf = session::csrf_token(&session).await?;
    let info = match query.reason.as_deref() {
        Some("ended") => Some(t.login_ended),
        Some("expired") => Some(t.login_expired),
        Some("bye") => Some(t.login_logged_out),
        _ => None,
    };
    Ok(render(LoginPage {
        lang,
        theme: Theme::from_headers(&headers),
        csrf: &csrf,
        email: "",
        next: &next,
        error: None,
        info,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    context: RequestContext,
    Form(credentials): Form<Credentials>,
) -> Result<Response, AdminError> {
    let lang = Lang::negotiate(&headers);
    let t = lang.texts();
    let next = safe_back(credentials.next.as_deref());
    let email: String = credentials.email.trim().chars().take(254).collect();
    let attempt = |staff_id: Option<Uuid>| Attempt {
        email: Some(email.as_str()),
        staff_id,
        client_ip: context.client_ip.as_deref(),
        user_agent: context.user_agent.as_deref(),
    };
    let refuse = |status: StatusCode, error: String, csrf: String| {
        let page = render(LoginPage {
            lang,
            theme: Theme::from_headers(&headers),
            csrf: &csrf,
            email: &email,
            next: &next,
            error: Some(error),
            info: None,
        });
        (status, page).into_response()
    };
    let client_ip = context.client_ip.as_deref();
    let Some(_turn) = auth::verification_turn(Duration::from_secs(10)).await else {
        let csrf = session::csrf_token(&session).await?;
        return Ok(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            t.login_busy.into(),
            csrf,
        ));
    };
    // One transaction holding this address's and this client's locks: the count, the
    // check and the record of this attempt happen as one.
    let mut tx = state.pool.begin().await?;
    auth::lock_attempts(&mut tx, &email, client_ip).await?;
    if let Some(until) = auth::locked_until(&mut tx, &email, client_ip).await? {
        let left = (until - Utc::now()).num_seconds().max(0);
        if left > 0 {
            auth::record(&mut *tx, SecurityEventKind::LoginThrottled, &attempt(None)).await?;
            tx.commit().await?;
            let minutes = ((left + 59) / 60).to_string();
            let csrf = session::csrf_token(&session).await?;
            return Ok(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                fill(t.login_locked, &[("minutes", &minutes)]),
                csrf,
            ));
        }
    }
    // The same work whether the address is known or not (a stream is loaded either way,
    // an unknown one is checked against a decoy hash): the answer's timing tells nothing.
    let staff_id = auth::account_for(&state.pool, &email).await?;
    let account = state
        .bus
        .staff
        .load(&staff_id.unwrap_or(Uuid::nil()).to_string())
        .await
        .map_err(|e| AdminError::internal("loading the staff account", e))?;
    let hash = account
        .exists()
        .then(|| account.password_hash().map(str::to_owned))
        .flatten();
    let matches = auth::verify_password(credentials.password, hash).await;
    // A disabled account gets the same answer as a wrong password: the form must not
    // confirm a password to whoever is trying them.
    let (Some(staff_id), true, false) = (staff_id, matches, account.is_disabled()) else {
        auth::record(&mut *tx, SecurityEventKind::LoginFailed, &attempt(staff_id)).await?;
        tx.commit().await?;
        let csrf = session::csrf_token(&session).await?;
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            t.login_failed.into(),
            csrf,
        ));
    };
    auth::record(
        &mut *tx,
        SecurityEventKind::LoginSucceeded,
        &attempt(Some(staff_id)),
    )
    .await?;
    tx.commit().await?;
    session::sign_in(&session, staff_id).await?;
    tracing::info!(%staff_id, "staff signed in");
    Ok(Redirect::to(&next).into_response())
}

async fn logout(
    State(state): State<AppState>,
    session: Session,
    context: RequestContext,
) -> Result<Response, AdminError> {
    if let Some(signed) = session::signed_in(&session).await {
        let attempt = Attempt {
            staff_id: Some(signed.staff_id),
            client_ip: context.client_ip.as_deref(),
            user_agent: context.user_agent.as_deref(),
            ..Attempt::default()
        };
        auth::record(&state.pool, SecurityEventKind::Logout, &attempt).await?;
    }
    session.flush().await?;
    Ok(Redirect::to("/login?reason=bye").into_response())
}

/// "Log out everywhere": every session of this account ends, this one included.
async fn end_all(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
) -> Result<Response, AdminError> {
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    state
        .bus
        .staff
        .execute(
            &admin.user.id.to_string(),
            StaffAccountCommand::EndStaffSessions { at: Utc::now() },
            &metadata,
        )
        .await
        .map_err(|e| AdminError::internal("ending sessions", e))?;
    admin.user.session.flush().await?;
    Ok(Redirect::to("/login?reason=ended").into_response())
}
