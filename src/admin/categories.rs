//! Categories: the list with product counts, create, edit, and delete when empty.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use aggregates::services::{CATEGORY_NAME_SCOPE, CATEGORY_SLUG_SCOPE};
use aggregates::staff::Permission;
use aggregates::{CategoryCommand, CategoryError, Slug};

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Texts};
use crate::admin::layout::Admin;
use crate::admin::{claimed_by_other, field, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/categories", get(list).post(create))
        .route("/admin/categories/validate", post(validate_live))
        .route("/admin/categories/{id}", get(edit).post(update))
        .route(
            "/admin/categories/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct CategoryRow {
    category_id: Uuid,
    name: String,
    slug: String,
    description: String,
    product_count: i64,
    updated_at: DateTime<Utc>,
}

async fn load(state: &AppState, id: Uuid) -> Result<CategoryRow, AdminError> {
    sqlx::query_as(
        "select category_id, name, slug, description, product_count, updated_at
           from category_list where category_id = $1 and not deleted",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
}

/// The slug input; its placeholder is the slug the name would give.
fn slug_input(values: &CategoryForm, invalid: bool, out_of_band: bool) -> Markup {
    let generated = Slug::from_name(&values.name)
        .map(|s| s.to_string())
        .unwrap_or_default();
    html! {
        input #slug name="slug" value=(values.slug) pattern="[a-z0-9]+(-[a-z0-9]+)*" maxlength="100"
            placeholder=(generated) aria-describedby="slug-hint"
            aria-invalid=[invalid.then_some("true")] hx-swap-oob=[out_of_band.then_some("true")];
    }
}

#[derive(Debug, Deserialize)]
struct ValidateQuery {
    id: Option<Uuid>,
}

/// Live validation: the name and slug checked against the domain's rules and the claims
/// already made, answered as out-of-band fragments.
async fn validate_live(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ValidateQuery>,
    Form(values): Form<CategoryForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let mut errors = FieldErrors::new();
    let name = values.name.trim();
    if name.chars().count() > 100 {
        errors.insert("name", fill(t.field_too_long, &[("max", "100")]));
    } else if !name.is_empty()
        && claimed_by_other(&state, CATEGORY_NAME_SCOPE, &name.to_lowercase(), query.id).await?
    {
        errors.insert("name", t.name_taken.into());
    }
    let slug = if values.slug.trim().is_empty() {
        Slug::from_name(name).ok()
    } else {
        parse_slug(t, &values.slug, &mut errors)
    };
    if let Some(slug) = slug {
        if claimed_by_other(&state, CATEGORY_SLUG_SCOPE, slug.as_str(), query.id).await? {
            errors.insert("slug", t.slug_taken.into());
        }
    }
    if values.description.trim().chars().count() > 5000 {
        errors.insert("description", fill(t.field_too_long, &[("max", "5000")]));
    }
    let body = html! {
        @for key in ["name", "slug", "description"] {
            p.error #{"err-" (key)} role="alert" hx-swap-oob="true" {
                @if let Some(error) = errors.get(key) { (error) }
            }
        }
        @if values.slug.trim().is_empty() { (slug_input(&values, false, true)) }
    };
    Ok(admin.fragment(body, None))
}

/// Field errors from what the domain refused (the category aggregate is the one judge).
fn field_errors(t: &Texts, error: &CategoryError) -> Option<FieldErrors> {
    let mut errors = FieldErrors::new();
    match error {
        CategoryError::NameEmpty => errors.insert("name", t.field_required.into()),
        CategoryError::NameTooLong => {
            errors.insert("name", fill(t.field_too_long, &[("max", "100")]))
        }
        CategoryError::NameTaken(_) => errors.insert("name", t.name_taken.into()),
        CategoryError::SlugTaken(_) => errors.insert("slug", t.slug_taken.into()),
        CategoryError::InvalidSlug(_) => errors.insert("slug", t.invalid_slug.into()),
        CategoryError::DescriptionTooLong => {
            errors.insert("description", fill(t.field_too_long, &[("max", "5000")]))
        }
        _ => return None,
    };
    Some(errors)
}

fn form(
    admin: &Admin,
    action: &str,
    category_id: Option<Uuid>,
    values: &CategoryForm,
    errors: &FieldErrors,
    submit: &str,
) -> Markup {
    let t = admin.t;
    let validate_url = match category_id {
        Some(id) => format!("/admin/categories/validate?id={id}"),
        None => "/admin/categories/validate".to_owned(),
    };
    html! {
        form method="post" action=(action) {
            (admin.csrf_field())
            // Live validation, as for products: errors and the generated slug, debounced.
            div hx-post=(validate_url) hx-trigger="input changed delay:400ms from:closest form"
                hx-swap="none" hx-sync="this:queue last" aria-hidden="true" {}
            (field("name", t.name, None, errors, html! {
                input #name name="name" value=(values.name) required maxlength="100"
                    aria-invalid=[errors.contains_key("name").then_some("true")];
            }))
            (field("slug", t.slug, Some(t.slug_hint), errors, html! {
                (slug_input(values, errors.contains_key("slug"), false))
            }))
            (field("description", t.description, None, errors, html! {
                textarea #description name="description" rows="3" maxlength="5000" { (values.description) }
            }))
            div.form-actions {
                button.btn.btn-primary type="submit" { (submit) span.spinner aria-hidden="true" {} }
            }
        }
    }
}

async fn list(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    render_list(
        &state,
        &admin,
        &CategoryForm::default(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

async fn render_list(
    state: &AppState,
    admin: &Admin,
    values: &CategoryForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let rows: Vec<CategoryRow> = sqlx::query_as(
        "select category_id, name, slug, description, product_count, updated_at
           from category_list where not deleted order by lower(name)",
    )
    .fetch_all(&state.pool)
    .await?;
    let editable = admin.may(Permission::EditCatalog);
    let content = html! {
        div.page-header { h1 { (t.categories_title) } }
        div.grid-2 {
            section.card {
                @if rows.is_empty() { p.empty { (t.no_categories) } } @else {
                    div.table-wrap tabindex="0" { table.data {
                        thead { tr {
                            th scope="col" { (t.name) } th scope="col" { (t.slug) }
                            th.num scope="col" { (t.products_in_category) }
                            @if editable { th scope="col" { (t.actions) } }
                        } }
                        tbody { @for row in &rows { tr {
                            td { @if editable { a href={"/admin/categories/" (row.category_id)} { (row.name) } } @else { (row.name) } }
                            td { code { (row.slug) } }
                            td.num { a href={"/admin/products?category=" (row.category_id)} { (row.product_count) } }
                            @if editable { td {
                                a.btn.btn-danger.btn-small href={"/admin/categories/" (row.category_id) "/delete"}
                                    hx-get={"/admin/categories/" (row.category_id) "/delete"} hx-target="#modal" hx-boost="false" { (t.delete) }
                            } }
                        } } }
                    } }
                }
            }
            @if editable {
                section.card {
                    h2 { (t.category_new) }
                    (form(admin, "/admin/categories", None, values, errors, t.save))
                }
            }
        }
    };
    Ok(admin
        .page_with_status(t.categories_title, content, status)
        .await)
}

fn parse_slug(t: &Texts, raw: &str, errors: &mut FieldErrors) -> Option<Slug> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match Slug::new(raw) {
        Ok(slug) => Some(slug),
        Err(_) => {
            errors.insert("slug", t.invalid_slug.into());
            None
        }
    }
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(values): Form<CategoryForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let mut errors = FieldErrors::new();
    let slug = parse_slug(t, &values.slug, &mut errors);
    if !errors.is_empty() {
        return render_list(
            &state,
            &admin,
            &values,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let id = Uuid::now_v7();
    let command = CategoryCommand::CreateCategory {
        category_id: id,
        name: values.name.clone(),
        slug,
        description: values.description.clone(),
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .categories
        .execute(&id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {
            settle(&state, "Category", &id.to_string()).await;
            admin.flash("success", t.category_created).await;
            Ok(Redirect::to("/admin/categories").into_response())
        }
        Err(CommandError::Refused(error)) => match field_errors(t, &error) {
            Some(errors) => {
                render_list(
                    &state,
                    &admin,
                    &values,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => Err(AdminError::internal("creating a category", error)),
        },
        Err(error) => Err(AdminError::internal("creating a category", error)),
    }
}

async fn edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let row = load(&state, id).await?;
    let values = CategoryForm {
        name: row.name.clone(),
        slug: row.slug.clone(),
        description: row.description.clone(),
    };
    render_edit(&admin, &row, &values, &FieldErrors::new(), StatusCode::OK).await
}

async fn render_edit(
    admin: &Admin,
    row: &CategoryRow,
    values: &CategoryForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let action = format!("/admin/categories/{}", row.category_id);
    let french = admin.lang == crate::admin::i18n::Lang::Fr;
    let content = html! {
        div.page-header {
            h1 { (t.category_edit) " · " (row.name) }
            div.page-actions { a.btn.btn-ghost href="/admin/categories" { (t.back) } }
        }
        section.card {
            (form(admin, &action, Some(row.category_id), values, errors, t.save))
            p.muted { (t.products_in_category) " : " (row.product_count) " · " (crate::admin::layout::local_time(&row.updated_at, french)) }
        }
    };
    Ok(admin
        .page_with_status(t.category_edit, content, status)
        .await)
}

async fn update(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(values): Form<CategoryForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let mut errors = FieldErrors::new();
    let slug = parse_slug(t, &values.slug, &mut errors);
    if !errors.is_empty() {
        return render_edit(
            &admin,
            &row,
            &values,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Changes are judged against the category's own stream, not the (possibly lagging)
    // view.
    let current = state
        .bus
        .categories
        .load(&id.to_string())
        .await
        .map_err(|e| AdminError::internal("loading a category", e))?;
    let mut commands = Vec::new();
    if values.name.trim() != current.name() {
        commands.push(CategoryCommand::RenameCategory {
            name: values.name.clone(),
        });
    }
    if let Some(slug) = slug.filter(|s| Some(s) != current.slug()) {
        commands.push(CategoryCommand::ChangeCategorySlug { slug });
    }
    if values.description.trim() != current.description() {
        commands.push(CategoryCommand::ChangeCategoryDescription {
            description: values.description.clone(),
        });
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    for command in commands {
        match state
            .bus
            .categories
            .execute(&id.to_string(), command, &metadata)
            .await
        {
            Ok(()) => {}
            Err(CommandError::Refused(error)) => {
                return match field_errors(t, &error) {
                    Some(errors) => {
                        settle(&state, "Category", &id.to_string()).await;
                        render_edit(
                            &admin,
                            &row,
                            &values,
                            &errors,
                            StatusCode::UNPROCESSABLE_ENTITY,
                        )
                        .await
                    }
                    None => Err(AdminError::internal("editing a category", error)),
                };
            }
            Err(error) => return Err(AdminError::internal("editing a category", error)),
        }
    }
    settle(&state, "Category", &id.to_string()).await;
    admin.flash("success", t.saved).await;
    Ok(Redirect::to("/admin/categories").into_response())
}

/// The confirmation: a dialog for htmx, a page without JavaScript.
async fn confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let question = fill(t.delete_confirm, &[("name", &row.name)]);
    let body = html! {
        div.confirm {
            h2 { (question) }
            @if row.product_count > 0 {
                p.alert.alert-error role="alert" {
                    (fill(t.category_not_empty, &[("name", &row.name), ("count", &row.product_count.to_string())]))
                }
            }
            form.dialog-actions method="post" action={"/admin/categories/" (id) "/delete"} {
                (admin.csrf_field())
                button.btn.btn-danger type="submit" disabled[row.product_count > 0] { (t.delete) }
                a.btn.btn-ghost href="/admin/categories" data-close-dialog { (t.dismiss) }
            }
        }
    };
    Ok(admin.confirmation(&question, body).await)
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .categories
        .execute(&id.to_string(), CategoryCommand::DeleteCategory, &metadata)
        .await
    {
        Ok(()) => {
            settle(&state, "Category", &id.to_string()).await;
            admin.flash("success", t.category_deleted).await;
        }
        Err(CommandError::Refused(CategoryError::HasProducts { count })) => {
            let message = fill(
                t.category_not_empty,
                &[("name", &row.name), ("count", &count.to_string())],
            );
            admin.flash("error", message).await;
        }
        Err(error) => return Err(AdminError::internal("deleting a category", error)),
    }
    Ok(Redirect::to("/admin/categories").into_response())
}
