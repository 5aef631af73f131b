//! The staff list (owner only) with its security actions: end a member's
//! sessions, disable or re-enable an account. Creating and editing accounts from the admin
//! comes with the staff & settings part; `comptoir staff create` does it meanwhile.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use maud::html;
use uuid::Uuid;

use aggregates::staff::{Permission, StaffRole};
use aggregates::StaffAccountCommand;

use crate::admin::error::AdminError;
use crate::admin::i18n::fill;
use crate::admin::layout::{role_label, Admin};
use crate::admin::settle;
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/staff", get(list))
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
    let t = admin.t;
    let rows: Vec<StaffRow> = sqlx::query_as(
        "select staff_id, email, display_name, role, disabled from staff_accounts
          order by disabled, lower(display_name)",
    )
    .fetch_all(&state.pool)
    .await?;
    let content = html! {
        div.page-header { h1 { (t.staff_title) } }
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
                    td { @if let Some(role) = role { (role_label(t, role)) } @else { (row.role) } }
                    td { @if row.disabled { span.badge.badge-danger { (t.staff_disabled) } } @else { span.badge.badge-ok { (t.staff_active) } } }
                    td {
                        form method="post" action={"/admin/staff/" (row.staff_id) "/end-sessions"}
                            hx-confirm=(fill(t.staff_end_sessions_confirm, &[("name", &row.display_name)])) {
                            (admin.csrf_field())
                            button.btn.btn-small type="submit" { (t.staff_end_sessions) }
                        }
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
    };
    Ok(admin.page(t.staff_title, content).await)
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
    let body = html! {
        div.confirm {
            h2 { (question) }
            form.dialog-actions method="post" action={"/admin/staff/" (id) "/disable"} {
                (admin.csrf_field())
                button.btn.btn-danger type="submit" { (t.staff_disable) }
                a.btn.btn-ghost href="/admin/staff" data-close-dialog { (t.cancel) }
            }
        }
    };
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
