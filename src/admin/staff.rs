//! The staff list (owner only) with its security actions: end a member's
//! sessions, disable or re-enable an account. Creating and editing accounts from the admin
//! comes with the staff & settings part; `comptoir staff create` does it meanwhile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use aggregates::staff::{Permission, StaffRole};
use aggregates::StaffAccountCommand;

use crate::admin::error::AdminError;
use crate::admin::i18n::fill;
use crate::admin::layout::{role_label, Admin};
use crate::admin::{field, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/staff", get(list).post(create))
        .route("/admin/staff/{id}/role", post(change_role))
        .route(
            "/admin/staff/{id}/password",
            get(confirm_reset).post(reset_password),
        )
        .route("/admin/staff/{id}/end-sessions", post(end_sessions))
        .route(
            "/admin/staff/{id}/disable",
            get(confirm_disable).post(disable),
        )
        .route("/admin/staff/{id}/enable", post(enable))
}

#[derive(Debug, sqlx::FromRow)]
struct StaffRow {
    staff_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    disabled: bool,
}

async fn load(state: &AppState, id: Uuid) -> Result<StaffRow, AdminError> {
    sqlx::query_as(
        "select staff_id, email, display_name, role, disabled from staff_accounts where staff_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)
}

async fn list(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    render_list(
        &state,
        &admin,
        &NewStaff::blank(),
        &FieldErrors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct NewStaff {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

impl NewStaff {
    /// An empty form; the role preselected is the least powerful, so a hurried submit never
    /// creates another owner.
    fn blank() -> Self {
        NewStaff {
            role: StaffRole::Support.as_str().to_owned(),
            ..NewStaff::default()
        }
    }
}

/// The staff page; `shown_once` is a temporary password to show this one time.
async fn render_list(
    state: &AppState,
    admin: &Admin,
    values: &NewStaff,
    errors: &FieldErrors,
    shown_once: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let rows: Vec<StaffRow> = sqlx::query_as(
        "select staff_id, email, display_name, role, disabled from staff_accounts
          order by disabled, lower(display_name)",
    )
    .fetch_all(&state.pool)
    .await?;
    let content = html! {
        div.page-header { h1 { (t.staff_title) } }
        @if let Some((message, password)) = &shown_once {
            section.card.alert.alert-info #password-once role="status" {
                p { strong { (message) } }
                p { (t.staff_password_once) }
                p { code.secret { (password) } }
            }
        }
        section.card { div.table-wrap tabindex="0" { table.data {
            thead { tr {
                th scope="col" { (t.name) } th scope="col" { (t.staff_email) }
                th scope="col" { (t.staff_role) } th scope="col" { (t.staff_state) } th scope="col" { (t.actions) }
            } }
            tbody { @for row in &rows {
                @let role = row.role.parse::<StaffRole>().ok();
                tr {
                    td { (row.display_name) }
                    td { (row.email) }
                    td {
                        @if row.staff_id == admin.user.id {
                            @if let Some(role) = role { (role_label(t, role)) } @else { (row.role) }
                        } @else {
                            form.inline method="post" action={"/admin/staff/" (row.staff_id) "/role"} {
                                (admin.csrf_field())
                                label.visually-hidden for={"role-" (row.staff_id)} { (t.staff_change_role) }
                                select id={"role-" (row.staff_id)} name="role" {
                                    @for option in StaffRole::ALL {
                                        option value=(option.as_str()) selected[Some(option) == role] { (role_label(t, option)) }
                                    }
                                }
                                button.btn.btn-small type="submit" { (t.staff_change_role) }
                            }
                        }
                    }
                    td { @if row.disabled { span.badge.badge-danger { (t.staff_disabled) } } @else { span.badge.badge-ok { (t.staff_active) } } }
                    td {
                        form method="post" action={"/admin/staff/" (row.staff_id) "/end-sessions"}
                            hx-confirm=(fill(t.staff_end_sessions_confirm, &[("name", &row.display_name)])) {
                            (admin.csrf_field())
                            button.btn.btn-small type="submit" { (t.staff_end_sessions) }
                        }
                        a.btn.btn-small href={"/admin/staff/" (row.staff_id) "/password"}
                            hx-get={"/admin/staff/" (row.staff_id) "/password"} hx-target="#modal" hx-boost="false" { (t.staff_reset_password) }
                        @if row.staff_id != admin.user.id {
                            @if row.disabled {
                                form method="post" action={"/admin/staff/" (row.staff_id) "/enable"} {
                                    (admin.csrf_field())
                                    button.btn.btn-small type="submit" { (t.staff_enable) }
                                }
                            } @else {
                                a.btn.btn-danger.btn-small href={"/admin/staff/" (row.staff_id) "/disable"}
                                    hx-get={"/admin/staff/" (row.staff_id) "/disable"} hx-target="#modal" hx-boost="false" { (t.staff_disable) }
                            }
                        }
                    }
                }
            } }
        } } }
        section.card {
            h2 { (t.staff_new) }
            form method="post" action="/admin/staff" {
                (admin.csrf_field())
                div.inline {
                    (field("email", t.staff_email, None, errors, html! {
                        input #email type="email" name="email" value=(values.email) required maxlength="254";
                    }))
                    (field("name", t.staff_name, None, errors, html! {
                        input #name name="name" value=(values.name) required maxlength="100";
                    }))
                    (field("role", t.staff_role, None, errors, html! {
                        select #role name="role" {
                            @for option in StaffRole::ALL {
                                option value=(option.as_str()) selected[values.role == option.as_str()] { (role_label(t, option)) }
                            }
                        }
                    }))
                }
                div.form-actions { button.btn.btn-primary type="submit" { (t.staff_create) span.spinner aria-hidden="true" {} } }
            }
        }
    };
    Ok(admin.page_with_status(t.staff_title, content, status).await)
}

/// A temporary password and its hash.
async fn issue_password() -> Result<(String, String), AdminError> {
    let password = crate::auth::temporary_password();
    let hash = crate::auth::hash_password_async(password.clone())
        .await
        .map_err(|e| AdminError::internal("hashing a password", e))?;
    Ok((password, hash))
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(values): Form<NewStaff>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    let t = admin.t;
    let mut errors = FieldErrors::new();
    let email = aggregates::Email::new(&values.email);
    if email.is_err() {
        errors.insert("email", t.invalid_email.into());
    }
    let name = values.name.trim();
    if name.is_empty() {
        errors.insert("name", t.field_required.into());
    } else if name.chars().count() > 100 {
        errors.insert("name", fill(t.field_too_long, &[("max", "100")]));
    }
    let role = values.role.parse::<StaffRole>();
    if role.is_err() {
        errors.insert("role", t.field_required.into());
    }
    let (Ok(email), Ok(role), true) = (email, role, errors.is_empty()) else {
        return render_list(
            &state,
            &admin,
            &values,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (password, password_hash) = issue_password().await?;
    let staff_id = Uuid::now_v7();
    let command = StaffAccountCommand::CreateStaffAccount {
        staff_id,
        email: email.clone(),
        display_name: name.to_owned(),
        role,
        password_hash,
        temporary: true,
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .staff
        .execute(&staff_id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {}
        Err(CommandError::Refused(aggregates::StaffAccountError::EmailTaken(_))) => {
            errors.insert("email", t.staff_email_taken.into());
            return render_list(
                &state,
                &admin,
                &values,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(error) => return Err(AdminError::internal("creating a staff account", error)),
    }
    settle(&state, "StaffAccount", &staff_id.to_string()).await;
    let message = fill(t.staff_created, &[("email", email.as_str())]);
    render_list(
        &state,
        &admin,
        &NewStaff::blank(),
        &FieldErrors::new(),
        Some((message, password)),
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    load(&state, id).await?;
    // An owner demoting themselves could leave the shop without one.
    if id == admin.user.id {
        admin.flash("error", admin.t.staff_own_role).await;
        return Ok(Redirect::to("/admin/staff").into_response());
    }
    let role = form
        .role
        .parse::<StaffRole>()
        .map_err(|_| AdminError::NotFound)?;
    run(
        &state,
        &admin,
        &context,
        id,
        StaffAccountCommand::ChangeStaffRole { role },
    )
    .await
}

async fn confirm_reset(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let question = fill(t.staff_reset_confirm, &[("name", &row.display_name)]);
    let action = format!("/admin/staff/{id}/password");
    let body = admin.confirm_dialog(
        &question,
        &action,
        t.staff_reset_password,
        "/admin/staff",
        html! {},
    );
    Ok(admin.confirmation(&question, body).await)
}

/// A new temporary password, shown once on the page that answers (never stored in a
/// session or a log); the account's sessions end.
async fn reset_password(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let (password, password_hash) = issue_password().await?;
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let command = StaffAccountCommand::ChangeStaffPassword {
        password_hash,
        at: Utc::now(),
        temporary: true,
    };
    state
        .bus
        .staff
        .execute(&id.to_string(), command, &metadata)
        .await
        .map_err(|e| AdminError::internal("resetting a password", e))?;
    settle(&state, "StaffAccount", &id.to_string()).await;
    // Resetting one's own password ends this session too, from the next request on: the
    // page below still shows the new password once.
    let message = fill(t.staff_password_reset, &[("email", &row.email)]);
    render_list(
        &state,
        &admin,
        &NewStaff::blank(),
        &FieldErrors::new(),
        Some((message, password)),
        StatusCode::OK,
    )
    .await
}

async fn run(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    id: Uuid,
    command: StaffAccountCommand,
) -> Result<Response, AdminError> {
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .staff
        .execute(&id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {
            settle(state, "StaffAccount", &id.to_string()).await;
            admin.flash("success", admin.t.staff_done).await;
        }
        Err(CommandError::Refused(error)) => {
            tracing::info!(%error, "staff change refused");
            admin.flash("error", admin.t.refused_generic).await
        }
        Err(error) => return Err(AdminError::internal("changing a staff account", error)),
    }
    Ok(Redirect::to("/admin/staff").into_response())
}

async fn end_sessions(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    load(&state, id).await?;
    let response = run(
        &state,
        &admin,
        &context,
        id,
        StaffAccountCommand::EndStaffSessions { at: Utc::now() },
    )
    .await?;
    if id == admin.user.id {
        return Ok(Redirect::to("/login?reason=ended").into_response());
    }
    Ok(response)
}

async fn confirm_disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let question = fill(t.staff_disable_confirm, &[("name", &row.display_name)]);
    let action = format!("/admin/staff/{id}/disable");
    let body = admin.confirm_dialog(
        &question,
        &action,
        t.staff_disable,
        "/admin/staff",
        html! {},
    );
    Ok(admin.confirmation(&question, body).await)
}

async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    load(&state, id).await?;
    if id == admin.user.id {
        admin.flash("error", admin.t.staff_self_forbidden).await;
        return Ok(Redirect::to("/admin/staff").into_response());
    }
    run(
        &state,
        &admin,
        &context,
        id,
        StaffAccountCommand::DisableStaffAccount { at: Utc::now() },
    )
    .await
}

async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageStaff)?;
    load(&state, id).await?;
    run(
        &state,
        &admin,
        &context,
        id,
        StaffAccountCommand::EnableStaffAccount,
    )
    .await
}
