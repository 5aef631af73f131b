//! The storefront's API keys (owner only), a tab of the settings: created (the secret shown
//! once, only its hash kept), listed, revoked (the storefront is refused from its next
//! request). Each change is a security event, with who did it and from where.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use aggregates::staff::Permission;

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang};
use crate::admin::layout::{local_time, Admin};
use crate::admin::shop_settings::tabs;
use crate::admin::{field, FieldErrors};
use crate::api::keys::{self, KeyError};
use crate::auth::{self, Attempt, SecurityEventKind};
use crate::context::RequestContext;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/settings/api-keys", get(list).post(create))
        .route(
            "/admin/settings/api-keys/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
}

#[derive(Debug, Default, Deserialize)]
struct KeyForm {
    #[serde(default)]
    name: String,
}

async fn list(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApiKeys)?;
    render(
        &state,
        &admin,
        &KeyForm::default(),
        &FieldErrors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    admin: &Admin,
    values: &KeyForm,
    errors: &FieldErrors,
    created: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let keys = keys::list(&state.pool)
        .await
        .map_err(|e| AdminError::internal("listing API keys", e))?;
    let content = html! {
        div.page-header { h1 { (t.set_title) } }
        (tabs(t, "/admin/settings/api-keys"))
        @if let Some((name, key)) = &created {
            section.card.alert.alert-info #key-once role="status" {
                p { strong { (fill(t.api_key_created, &[("name", name)])) } }
                p { (t.api_key_once) }
                p { code.secret { (key) } }
            }
        }
        section.card {
            @if keys.is_empty() { p.empty { (t.no_api_keys) } } @else {
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        th scope="col" { (t.api_key_name) } th scope="col" { (t.created_at) }
                        th scope="col" { (t.status) } th scope="col" { (t.actions) }
                    } }
                    tbody { @for key in &keys { tr {
                        td { code { (key.name) } }
                        td { (local_time(&key.created_at, french)) }
                        td {
                            @match &key.revoked_at {
                                None => span.badge.badge-ok { (t.api_key_live) },
                                Some(at) => span.badge.badge-danger { (fill(t.api_key_revoked_at, &[("when", &local_time(at, french))])) },
                            }
                        }
                        td {
                            @if key.revoked_at.is_none() {
                                a.btn.btn-danger.btn-small href={"/admin/settings/api-keys/" (key.key_id) "/revoke"}
                                    hx-get={"/admin/settings/api-keys/" (key.key_id) "/revoke"} hx-target="#modal" hx-boost="false" { (t.api_key_revoke) }
                            }
                        }
                    } } }
                } }
            }
        }
        section.card {
            h2 { (t.api_key_create) }
            form method="post" action="/admin/settings/api-keys" {
                (admin.csrf_field())
                (field("name", t.api_key_name, Some(t.api_key_name_hint), errors, html! {
                    input #name name="name" value=(values.name) required maxlength="60" aria-describedby="name-hint";
                }))
                div.form-actions { button.btn.btn-primary type="submit" { (t.api_key_create) span.spinner aria-hidden="true" {} } }
            }
        }
    };
    Ok(admin
        .page_with_status(t.api_keys_title, content, status)
        .await)
}

async fn record(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    kind: SecurityEventKind,
) -> Result<(), AdminError> {
    let attempt = Attempt {
        email: Some(&admin.user.email),
        staff_id: Some(admin.user.id),
        client_ip: context.client_ip.as_deref(),
        user_agent: context.user_agent.as_deref(),
    };
    auth::record(&state.pool, kind, &attempt).await?;
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(values): Form<KeyForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApiKeys)?;
    let t = admin.t;
    match keys::create(&state.pool, &values.name).await {
        Ok(created) => {
            record(&state, &admin, &context, SecurityEventKind::ApiKeyCreated).await?;
            render(
                &state,
                &admin,
                &KeyForm::default(),
                &FieldErrors::new(),
                Some((created.name, created.key)),
                StatusCode::OK,
            )
            .await
        }
        Err(error @ (KeyError::BadName | KeyError::NameTaken(_))) => {
            let mut errors = FieldErrors::new();
            let message = if matches!(error, KeyError::BadName) {
                t.api_key_bad_name
            } else {
                t.api_key_name_taken
            };
            errors.insert("name", message.into());
            render(
                &state,
                &admin,
                &values,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(AdminError::internal("creating an API key", error)),
    }
}

async fn confirm_revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApiKeys)?;
    let t = admin.t;
    let keys = keys::list(&state.pool)
        .await
        .map_err(|e| AdminError::internal("listing API keys", e))?;
    let key = keys
        .iter()
        .find(|k| k.key_id == id && k.revoked_at.is_none())
        .ok_or(AdminError::NotFound)?;
    let question = fill(t.api_key_revoke_confirm, &[("name", &key.name)]);
    let action = format!("/admin/settings/api-keys/{id}/revoke");
    let body = admin.confirm_dialog(
        &question,
        &action,
        t.api_key_revoke,
        "/admin/settings/api-keys",
        html! {},
    );
    Ok(admin.confirmation(&question, body).await)
}

async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApiKeys)?;
    match keys::revoke(&state.pool, &id.to_string()).await {
        Ok(_) => {
            record(&state, &admin, &context, SecurityEventKind::ApiKeyRevoked).await?;
            admin.flash("success", admin.t.api_key_revoked).await;
        }
        Err(KeyError::NotFound(_)) => return Err(AdminError::NotFound),
        Err(error) => return Err(AdminError::internal("revoking an API key", error)),
    }
    Ok(Redirect::to("/admin/settings/api-keys").into_response())
}
