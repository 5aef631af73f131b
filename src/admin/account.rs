//! One's own account: who one is signed in as, and changing one's own password. Every
//! signed-in staff member may; the current password is asked first and checked like a
//! sign-in (throttled, a wrong one counting toward the lockout), and a change ends the
//! member's other sessions while this one stays signed in.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use aggregates::StaffAccountCommand;

use crate::admin::error::AdminError;
use crate::admin::i18n::fill;
use crate::admin::layout::{role_label, Admin};
use crate::admin::session;
use crate::admin::{field, settle, FieldErrors};
use crate::auth::{self, Attempt, PasswordError, SecurityEventKind};
use crate::context::RequestContext;
use crate::http::AppState;

const PAGE: &str = "/admin/account";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page))
        .route("/admin/account/password", post(change_password))
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    Ok(render(&admin, &FieldErrors::new(), StatusCode::OK).await)
}

/// The account page. Passwords are never sent back: a refused form comes back empty,
/// with its errors.
async fn render(admin: &Admin, errors: &FieldErrors, status: StatusCode) -> Response {
    let t = admin.t;
    let hint = fill(
        t.password_hint,
        &[("min", &auth::MIN_PASSWORD_LEN.to_string())],
    );
    let invalid = |id: &str| errors.contains_key(id).then_some("true");
    let content = html! {
        div.page-header { h1 { (t.account_title) } }
        @if admin.user.must_change_password {
            p.alert.alert-warning role="alert" { (t.password_temporary) }
        }
        section.card {
            p { strong { (t.staff_name) " : " } (admin.user.name) }
            p { strong { (t.staff_email) " : " } (admin.user.email) }
            p { strong { (t.staff_role) " : " } (role_label(t, admin.user.role)) }
        }
        section.card {
            h2 { (t.password_change) }
            form method="post" action="/admin/account/password" {
                (admin.csrf_field())
                // For password managers: whose password this is (not submitted).
                input type="text" value=(admin.user.email) autocomplete="username" hidden readonly;
                (field("current_password", t.password_current, None, errors, html! {
                    input #current_password type="password" name="current_password"
                        autocomplete="current-password" required
                        aria-invalid=[invalid("current_password")]
                        aria-describedby="err-current_password";
                }))
                (field("new_password", t.password_new, Some(&hint), errors, html! {
                    input #new_password type="password" name="new_password"
                        autocomplete="new-password" required
                        minlength=(auth::MIN_PASSWORD_LEN) maxlength=(auth::MAX_PASSWORD_LEN)
                        aria-invalid=[invalid("new_password")]
                        aria-describedby="new_password-hint err-new_password";
                }))
                (field("confirm_password", t.password_confirm, None, errors, html! {
                    input #confirm_password type="password" name="confirm_password"
                        autocomplete="new-password" required
                        aria-invalid=[invalid("confirm_password")]
                        aria-describedby="err-confirm_password";
                }))
                div.form-actions {
                    button.btn.btn-primary type="submit" { (t.password_submit) span.spinner aria-hidden="true" {} }
                }
            }
        }
    };
    admin
        .page_with_status(t.account_title, content, status)
        .await
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// What checking the current password found.
enum Current {
    Right,
    Wrong,
    /// Too many failures lately: not even looked at, for this many more minutes.
    Locked(i64),
    /// No turn to verify a password came in time.
    Busy,
}

/// Checks the current password exactly as a sign-in would: one at a time per address and
/// client, refused while sign-ins are locked, and a wrong one recorded as a failed sign-in
/// so that it counts toward the same lockout. Otherwise a stolen session would be a free
/// password-guessing oracle.
async fn check_current(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    password: String,
) -> Result<Current, AdminError> {
    let email = admin.user.email.as_str();
    let client_ip = context.client_ip.as_deref();
    let attempt = Attempt {
        email: Some(email),
        staff_id: Some(admin.user.id),
        client_ip,
        user_agent: context.user_agent.as_deref(),
    };
    let Some(_turn) = auth::verification_turn(Duration::from_secs(10)).await else {
        return Ok(Current::Busy);
    };
    let mut tx = state.pool.begin().await?;
    auth::lock_attempts(&mut tx, email, client_ip).await?;
    if let Some(until) = auth::locked_until(&mut tx, email, client_ip).await? {
        let left = (until - Utc::now()).num_seconds();
        if left > 0 {
            auth::record(&mut *tx, SecurityEventKind::LoginThrottled, &attempt).await?;
            tx.commit().await?;
            return Ok(Current::Locked((left + 59) / 60));
        }
    }
    let account = state
        .bus
        .staff
        .load(&admin.user.id.to_string())
        .await
        .map_err(|e| AdminError::internal("loading the staff account", e))?;
    let hash = account.password_hash().map(str::to_owned);
    if auth::verify_password(password, hash).await {
        tx.commit().await?;
        return Ok(Current::Right);
    }
    auth::record(&mut *tx, SecurityEventKind::LoginFailed, &attempt).await?;
    tx.commit().await?;
    Ok(Current::Wrong)
}

async fn change_password(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let mut errors = FieldErrors::new();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    match auth::check_policy(&form.new_password) {
        Ok(()) => {}
        Err(PasswordError::TooShort) => {
            let min = auth::MIN_PASSWORD_LEN.to_string();
            errors.insert("new_password", fill(t.password_too_short, &[("min", &min)]));
        }
        Err(PasswordError::TooLong) => {
            let max = auth::MAX_PASSWORD_LEN.to_string();
            errors.insert("new_password", fill(t.password_too_long, &[("max", &max)]));
        }
        Err(error @ PasswordError::Hashing(_)) => {
            return Err(AdminError::internal("checking a password", error))
        }
    }
    if form.confirm_password != form.new_password {
        errors.insert("confirm_password", t.password_mismatch.into());
    } else if !form.new_password.is_empty() && form.new_password == form.current_password {
        errors.insert("new_password", t.password_same.into());
    }
    // Checked whatever else is wrong, so one submit tells everything.
    if form.current_password.is_empty() {
        errors.insert("current_password", t.field_required.into());
    } else {
        match check_current(&state, &admin, &context, form.current_password).await? {
            Current::Right => {}
            Current::Wrong => {
                errors.insert("current_password", t.password_wrong.into());
            }
            Current::Locked(minutes) => {
                let minutes = minutes.to_string();
                errors.insert(
                    "current_password",
                    fill(t.password_locked, &[("minutes", &minutes)]),
                );
                status = StatusCode::TOO_MANY_REQUESTS;
            }
            Current::Busy => {
                errors.insert("current_password", t.login_busy.into());
                status = StatusCode::SERVICE_UNAVAILABLE;
            }
        }
    }
    if !errors.is_empty() {
        return Ok(render(&admin, &errors, status).await);
    }
    let password_hash = auth::hash_password_async(form.new_password)
        .await
        .map_err(|e| AdminError::internal("hashing a password", e))?;
    // Sessions opened before `at` end (every other session of this member); this one is
    // signed in again just after, so it opens after `at` and stays. Signing in again also
    // gives it a new id and CSRF token, and restarts its lifetime: the member has just
    // proved the password.
    let at = Utc::now();
    let id = admin.user.id.to_string();
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    state
        .bus
        .staff
        .execute(
            &id,
            StaffAccountCommand::ChangeStaffPassword {
                password_hash,
                at,
                temporary: false,
            },
            &metadata,
        )
        .await
        .map_err(|e| AdminError::internal("changing one's password", e))?;
    session::sign_in(&admin.user.session, admin.user.id).await?;
    let attempt = Attempt {
        email: Some(&admin.user.email),
        staff_id: Some(admin.user.id),
        client_ip: context.client_ip.as_deref(),
        user_agent: context.user_agent.as_deref(),
    };
    auth::record(&state.pool, SecurityEventKind::PasswordChanged, &attempt).await?;
    tracing::info!(staff_id = %admin.user.id, "staff password changed");
    settle(&state, "StaffAccount", &id).await;
    admin.flash("success", t.password_changed).await;
    // The page's CSRF token changed: htmx must load a whole new page (its body attributes
    // carry the token), not swap the old one's content.
    if admin.hx.request {
        let mut response = StatusCode::OK.into_response();
        response
            .headers_mut()
            .insert("hx-redirect", HeaderValue::from_static(PAGE));
        return Ok(response);
    }
    Ok(Redirect::to(PAGE).into_response())
}
