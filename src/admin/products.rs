//! Products: the filtered, sortable list with bulk publishing; create and edit with live
//! validation (TTC price, slug availability, Markdown preview, counters); stock with
//! adjustments and movements; the storefront preview; the history; the images (upload,
//! order, alt text, deletion; their JSON routes are in `media.rs`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use aggregates::services::{PRODUCT_REFERENCE_SCOPE, PRODUCT_SLUG_SCOPE};
use aggregates::staff::Permission;
use aggregates::{
    Money, ProductCommand, ProductError, Reference, Slug, StockCommand, StockError, VatRate,
};

use crate::admin::error::{urlencode, AdminError};
use crate::admin::history::{self, Streams};
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{list_link, local_time, pagination, Admin};
use crate::admin::media as media_ui;
use crate::admin::{claimed_by_other, field, markdown, safe_back, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::media::{ImageView, Media, MediaError};

/// Products per page of the list.
const PAGE_SIZE: i64 = 25;
/// At or under this many units available (and above zero), stock is "low".
pub const LOW_STOCK: i64 = 3;
/// The VAT rates the form offers: the shop's settings' (the French rates until the owner
/// changes them); anything else is "custom".
fn offered_rates(state: &AppState) -> Vec<String> {
    state
        .shop
        .get()
        .vat_rates()
        .iter()
        .map(ToString::to_string)
        .collect()
}
const META_MAX: usize = 160;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/products", get(list).post(create))
        .route("/admin/products/new", get(new_form))
        .route("/admin/products/validate", post(validate_live))
        .route("/admin/products/bulk", post(bulk))
        .route("/admin/products/{id}", get(details).post(update))
        .route(
            "/admin/products/{id}/stock",
            get(stock_tab).post(adjust_stock),
        )
        .route("/admin/products/{id}/preview", get(preview_tab))
        .route("/admin/products/{id}/history", get(history_tab))
        .route("/admin/products/{id}/images", get(images_tab))
        // Its POST is the deletion itself, in `media.rs`.
        .route(
            "/admin/products/{id}/images/{image}/delete",
            get(confirm_delete_image),
        )
        .route("/admin/products/{id}/status", post(change_status))
        .route("/admin/products/{id}/archive", get(confirm_archive))
}

fn french(admin: &Admin) -> bool {
    admin.lang == Lang::Fr
}

fn status_label(t: &Texts, status: &str) -> &'static str {
    match status {
        "published" => t.status_published,
        "archived" => t.status_archived,
        _ => t.status_draft,
    }
}

/// `in_stock`, `low_stock` or `out_of_stock`, with its label.
fn stock_state(t: &Texts, available: i64) -> (&'static str, &'static str) {
    if available <= 0 {
        ("out_of_stock", t.stock_out)
    } else if available <= LOW_STOCK {
        ("low_stock", t.stock_low)
    } else {
        ("in_stock", t.stock_in)
    }
}

async fn categories(state: &AppState) -> Result<Vec<(Uuid, String)>, AdminError> {
    Ok(sqlx::query_as(
        "select category_id, name from category_list where not deleted order by lower(name)",
    )
    .fetch_all(&state.pool)
    .await?)
}

// ---------------------------------------------------------------- list

#[derive(Debug, Default, Clone, Deserialize)]
struct ListQuery {
    q: Option<String>,
    category: Option<String>,
    status: Option<String>,
    stock: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
}

impl ListQuery {
    fn sort_column(&self) -> (&'static str, &'static str) {
        let key = self.sort.as_deref().unwrap_or("updated");
        match key {
            "name" => ("name", "lower(p.name)"),
            "reference" => ("reference", "p.reference"),
            "category" => ("category", "lower(c.name)"),
            "price" => ("price", "p.price_ht"),
            "stock" => ("stock", "p.available"),
            "status" => ("status", "p.status"),
            _ => ("updated", "p.updated_at"),
        }
    }

    fn descending(&self) -> bool {
        match self.dir.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => self.sort_column().0 == "updated",
        }
    }

    fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| *p >= 1 && *p <= 100_000)
            .unwrap_or(1)
    }

    /// This list's address with some parameters replaced.
    fn link(&self, changes: &[(&str, Option<&str>)]) -> String {
        let current = [
            ("q", &self.q),
            ("category", &self.category),
            ("status", &self.status),
            ("stock", &self.stock),
            ("sort", &self.sort),
            ("dir", &self.dir),
            ("page", &self.page),
        ];
        list_link("/admin/products", &current, changes)
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    product_id: Uuid,
    reference: String,
    name: String,
    category_name: Option<String>,
    price_ht: Decimal,
    vat_rate: Decimal,
    status: String,
    available: i64,
    updated_at: DateTime<Utc>,
    total: i64,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let t = admin.t;
    let page = query.page();
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select p.product_id, p.reference, p.name, c.name as category_name, p.price_ht,
                p.vat_rate, p.status, p.available, p.updated_at, count(*) over () as total
           from admin_products p left join category_list c using (category_id) where true",
    );
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::admin::contains_pattern(q);
        sql.push(" and (p.name ilike ")
            .push_bind(pattern.clone())
            .push(" or p.reference ilike ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(category) = query
        .category
        .as_deref()
        .and_then(|c| c.parse::<Uuid>().ok())
    {
        sql.push(" and p.category_id = ").push_bind(category);
    }
    if let Some(status @ ("draft" | "published" | "archived")) = query.status.as_deref() {
        sql.push(" and p.status = ").push_bind(status.to_owned());
    }
    match query.stock.as_deref() {
        Some("out") => {
            sql.push(" and p.available <= 0");
        }
        Some("low") => {
            sql.push(" and p.available between 1 and ")
                .push_bind(LOW_STOCK);
        }
        Some("in") => {
            sql.push(" and p.available > ").push_bind(LOW_STOCK);
        }
        _ => {}
    }
    let (sort_key, column) = query.sort_column();
    let descending = query.descending();
    sql.push(" order by ")
        .push(column)
        .push(if descending { " desc" } else { " asc" })
        .push(", p.reference limit ")
        .push_bind(PAGE_SIZE)
        .push(" offset ")
        .push_bind((page - 1) * PAGE_SIZE);
    let rows: Vec<ListRow> = sql.build_query_as().fetch_all(&state.pool).await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let categories = categories(&state).await?;
    let editable = admin.may(Permission::EditCatalog);
    let sortable = |key: &str, label: &str| {
        let active = sort_key == key;
        let next_dir = if active && !descending { "desc" } else { "asc" };
        let href = query.link(&[("sort", Some(key)), ("dir", Some(next_dir)), ("page", None)]);
        let aria = active.then_some(if descending {
            "descending"
        } else {
            "ascending"
        });
        html! {
            th scope="col" aria-sort=[aria] {
                a.sort href=(href) title=(fill(t.sort_by, &[("column", label)])) { (label) }
            }
        }
    };
    let selected = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    let content = html! {
        div.page-header {
            h1 { (t.products_title) }
            @if editable { div.page-actions { a.btn.btn-primary href="/admin/products/new" { (t.product_new) } } }
        }
        form.filters method="get" action="/admin/products" role="search" {
            label for="q" { (t.search) }
            input #q type="search" name="q" value=(query.q.clone().unwrap_or_default())
                placeholder=(format!("{} / {}", t.name, t.reference));
            label for="f-category" { (t.category) }
            select #f-category name="category" {
                option value="" { (t.all) }
                @for (id, name) in &categories {
                    option value=(id) selected[selected(&query.category, &id.to_string())] { (name) }
                }
            }
            label for="f-status" { (t.product_status) }
            select #f-status name="status" {
                option value="" { (t.all) }
                @for (value, label) in [("draft", t.status_draft), ("published", t.status_published), ("archived", t.status_archived)] {
                    option value=(value) selected[selected(&query.status, value)] { (label) }
                }
            }
            label for="f-stock" { (t.stock_status) }
            select #f-stock name="stock" {
                option value="" { (t.all) }
                @for (value, label) in [("in", t.stock_in), ("low", t.stock_low), ("out", t.stock_out)] {
                    option value=(value) selected[selected(&query.stock, value)] { (label) }
                }
            }
            @if let Some(sort) = &query.sort { input type="hidden" name="sort" value=(sort); }
            @if let Some(dir) = &query.dir { input type="hidden" name="dir" value=(dir); }
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/products" { (t.reset) }
        }
        p.muted { (fill(t.products_count, &[("count", &total.to_string())])) }
        form #bulk method="post" action="/admin/products/bulk" {
            (admin.csrf_field())
            input type="hidden" name="back" value=(admin.uri);
            @if editable {
                div.bulk-actions {
                    button.btn.btn-small type="submit" name="action" value="publish" { (t.bulk_publish) }
                    button.btn.btn-small type="submit" name="action" value="unpublish" { (t.bulk_unpublish) }
                }
            }
            @if rows.is_empty() { p.empty { (t.no_products) } } @else {
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        @if editable { th.select scope="col" { span.visually-hidden { (t.select_all) } } }
                        (sortable("reference", t.reference))
                        (sortable("name", t.name))
                        (sortable("category", t.category))
                        (sortable("price", t.price_ht))
                        th.num scope="col" { (t.price_ttc) }
                        (sortable("stock", t.available))
                        (sortable("status", t.product_status))
                        (sortable("updated", t.when))
                    } }
                    tbody { @for row in &rows {
                        @let (stock_class, stock_label) = stock_state(t, row.available);
                        @let ttc = VatRate::new(row.vat_rate).ok().zip(Money::new(row.price_ht).ok())
                            .map(|(rate, price)| price.with_vat(rate).amount());
                        tr {
                            @if editable { td.select {
                                input type="checkbox" name="ids" value=(row.product_id)
                                    aria-label=(fill(t.select_row, &[("name", &row.name)]));
                            } }
                            td { code { (row.reference) } }
                            td { a href={"/admin/products/" (row.product_id)} { (row.name) } }
                            td { (row.category_name.as_deref().unwrap_or(t.none)) }
                            td.num { (admin.money(row.price_ht)) }
                            td.num { @if let Some(ttc) = ttc { (admin.money(ttc)) } }
                            td.num { span class={"badge badge-" (stock_class)} { (stock_label) } " " (row.available) }
                            td { span class={"badge badge-" (row.status)} { (status_label(t, &row.status)) } }
                            td { (local_time(&row.updated_at, french(&admin))) }
                        }
                    } }
                } }
            }
        }
        (pagination(t, page, pages, |p| query.link(&[("page", Some(&p.to_string()))])))
    };
    Ok(admin.page(t.products_title, content).await)
}

/// Publishes or unpublishes the ticked products; says how many it changed and refused.
async fn bulk(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let value = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let back = safe_back(value("back"));
    let ids: Vec<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let command = match value("action") {
        Some("publish") => ProductCommand::PublishProduct,
        Some("unpublish") => ProductCommand::UnpublishProduct,
        _ => return Err(AdminError::NotFound),
    };
    if ids.is_empty() {
        admin.flash("error", t.bulk_none_selected).await;
        return Ok(Redirect::to(&back).into_response());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let (mut done, mut failed, mut last_changed) = (0, 0, None);
    for id in &ids {
        match state
            .bus
            .products
            .execute(&id.to_string(), command.clone(), &metadata)
            .await
        {
            Ok(()) => {
                done += 1;
                last_changed = Some(id);
            }
            Err(CommandError::Refused(_)) => failed += 1,
            Err(error) => return Err(AdminError::internal("bulk change", error)),
        }
    }
    // The views apply events in order: once the last change is in, all of them are.
    if let Some(last) = last_changed {
        settle(&state, "Product", &last.to_string()).await;
    }
    let message = fill(
        t.bulk_done,
        &[("done", &done.to_string()), ("failed", &failed.to_string())],
    );
    admin
        .flash(if failed == 0 { "success" } else { "info" }, message)
        .await;
    Ok(Redirect::to(&back).into_response())
}

// ---------------------------------------------------------------- the form

#[derive(Debug, Default, Clone, Deserialize)]
struct ProductForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    price_ht: String,
    #[serde(default)]
    vat_rate: String,
    #[serde(default)]
    vat_custom: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    meta_description: String,
    publish: Option<String>,
}

/// What the form holds once checked.
#[derive(Debug, Default)]
struct Checked {
    reference: Option<Reference>,
    slug: Option<Slug>,
    category_id: Option<Uuid>,
    price: Option<Money>,
    vat: Option<VatRate>,
}

fn parse_decimal(raw: &str) -> Option<Decimal> {
    let cleaned: String = raw
        .trim()
        .replace(['\u{202f}', '\u{a0}', ' '], "")
        .replace(',', ".");
    cleaned.parse::<Decimal>().ok()
}

impl ProductForm {
    fn vat_text(&self) -> String {
        if self.vat_rate == "custom" {
            self.vat_custom.clone()
        } else {
            self.vat_rate.clone()
        }
    }

    /// Checks every field the way the domain will, so errors show before submitting.
    fn check(
        &self,
        t: &Texts,
        creating: bool,
        categories: &[(Uuid, String)],
    ) -> (FieldErrors, Checked) {
        let mut errors = FieldErrors::new();
        let mut checked = Checked::default();
        let name = self.name.trim();
        if name.is_empty() {
            errors.insert("name", t.field_required.into());
        } else if name.chars().count() > 200 {
            errors.insert("name", fill(t.field_too_long, &[("max", "200")]));
        }
        if creating {
            if self.reference.trim().is_empty() {
                errors.insert("reference", t.field_required.into());
            } else {
                match Reference::new(&self.reference) {
                    Ok(reference) => checked.reference = Some(reference),
                    Err(_) => {
                        errors.insert("reference", t.invalid_reference.into());
                    }
                }
            }
        }
        if !self.slug.trim().is_empty() {
            match Slug::new(self.slug.trim()) {
                Ok(slug) => checked.slug = Some(slug),
                Err(_) => {
                    errors.insert("slug", t.invalid_slug.into());
                }
            }
        }
        match self.category_id.parse::<Uuid>() {
            Ok(id) if categories.iter().any(|(c, _)| *c == id) => checked.category_id = Some(id),
            _ => {
                errors.insert("category_id", t.unknown_category.into());
            }
        }
        match parse_decimal(&self.price_ht).and_then(|d| Money::new(d).ok()) {
            Some(price) if !price.is_zero() => checked.price = Some(price),
            _ => {
                errors.insert("price_ht", t.invalid_price.into());
            }
        }
        match parse_decimal(&self.vat_text()).and_then(|d| VatRate::new(d).ok()) {
            Some(rate) => checked.vat = Some(rate),
            None => {
                errors.insert("vat_rate", t.invalid_vat.into());
            }
        }
        if self.meta_description.trim().chars().count() > META_MAX {
            errors.insert(
                "meta_description",
                fill(t.field_too_long, &[("max", "160")]),
            );
        }
        (errors, checked)
    }

    fn ttc(&self) -> Option<Decimal> {
        let price = parse_decimal(&self.price_ht).and_then(|d| Money::new(d).ok())?;
        let rate = parse_decimal(&self.vat_text()).and_then(|d| VatRate::new(d).ok())?;
        Some(price.with_vat(rate).amount())
    }

    /// The slug the product will have: the one typed, or one made from the name.
    fn effective_slug(&self) -> Option<Slug> {
        if self.slug.trim().is_empty() {
            Slug::from_name(&self.name).ok()
        } else {
            Slug::new(self.slug.trim()).ok()
        }
    }
}

/// A refusal of the product aggregate that is not about one field, in words.
fn refusal(t: &Texts, error: &ProductError) -> &'static str {
    match error {
        ProductError::Archived | ProductError::AlreadyArchived => t.refused_archived,
        _ => t.refused_generic,
    }
}

/// Field errors from what the product aggregate refused.
fn domain_errors(t: &Texts, error: &ProductError) -> Option<FieldErrors> {
    let mut errors = FieldErrors::new();
    match error {
        ProductError::NameEmpty => errors.insert("name", t.field_required.into()),
        ProductError::NameTooLong => {
            errors.insert("name", fill(t.field_too_long, &[("max", "200")]))
        }
        ProductError::MetaDescriptionTooLong => errors.insert(
            "meta_description",
            fill(t.field_too_long, &[("max", "160")]),
        ),
        ProductError::PriceNotPositive => errors.insert("price_ht", t.invalid_price.into()),
        ProductError::CategoryNotFound(_) => {
            errors.insert("category_id", t.unknown_category.into())
        }
        ProductError::ReferenceTaken(_) => errors.insert("reference", t.reference_taken.into()),
        ProductError::SlugTaken(_) => errors.insert("slug", t.slug_taken.into()),
        ProductError::InvalidSlug(_) => errors.insert("slug", t.invalid_slug.into()),
        _ => return None,
    };
    Some(errors)
}

fn product_form(
    admin: &Admin,
    action: &str,
    product_id: Option<Uuid>,
    values: &ProductForm,
    errors: &FieldErrors,
    categories: &[(Uuid, String)],
    rates: &[String],
) -> Markup {
    let t = admin.t;
    let creating = product_id.is_none();
    let invalid = |key: &str| errors.contains_key(key).then_some("true");
    let vat_choice = values.vat_rate.clone();
    let custom = !rates.contains(&vat_choice);
    let validate_url = match product_id {
        Some(id) => format!("/admin/products/validate?id={id}"),
        None => "/admin/products/validate".to_owned(),
    };
    let meta_len = values.meta_description.chars().count();
    html! {
        form.product-form method="post" action=(action) novalidate {
            (admin.csrf_field())
            // Live validation: every change, debounced, is checked by the server, which
            // answers with out-of-band fragments (errors, TTC price, preview, counter).
            div hx-post=(validate_url) hx-trigger="input changed delay:400ms from:closest form, change from:closest form"
                hx-swap="none" hx-sync="this:queue last" aria-hidden="true" {}
            div.inline {
                @if creating {
                    (field("reference", t.reference, None, errors, html! {
                        input #reference name="reference" value=(values.reference) required maxlength="40"
                            autocomplete="off" aria-invalid=[invalid("reference")];
                    }))
                }
                (field("name", t.name, None, errors, html! {
                    input #name name="name" value=(values.name) required maxlength="200" aria-invalid=[invalid("name")];
                }))
            }
            div.inline {
                (field("slug", t.slug, Some(t.slug_hint), errors, html! {
                    input #slug name="slug" value=(values.slug) maxlength="100" aria-describedby="slug-hint"
                        placeholder=(values.effective_slug().map(|s| s.to_string()).unwrap_or_default())
                        aria-invalid=[invalid("slug")];
                }))
                (field("category_id", t.category, None, errors, html! {
                    select #category_id name="category_id" required aria-invalid=[invalid("category_id")] {
                        option value="" { "—" }
                        @for (id, name) in categories {
                            option value=(id) selected[values.category_id == id.to_string()] { (name) }
                        }
                    }
                }))
            }
            fieldset {
                legend { (t.price_ttc) }
                div.inline {
                    (field("price_ht", t.price_ht, None, errors, html! {
                        input #price_ht name="price_ht" value=(values.price_ht) inputmode="decimal" required
                            aria-invalid=[invalid("price_ht")];
                    }))
                    (field("vat_rate", t.vat_rate, None, errors, html! {
                        select #vat_rate name="vat_rate" aria-invalid=[invalid("vat_rate")] {
                            @for rate in rates {
                                option value=(rate) selected[&vat_choice == rate] { (rate.replace('.', if french(admin) { "," } else { "." })) " %" }
                            }
                            option value="custom" selected[custom] { (t.vat_custom) }
                        }
                    }))
                    div.field {
                        label for="vat_custom" { (t.vat_custom) }
                        input #vat_custom name="vat_custom" value=(values.vat_custom) inputmode="decimal";
                    }
                    div.field {
                        span.label { (t.price_ttc) }
                        output #price-ttc.computed for="price_ht vat_rate vat_custom" aria-live="polite" {
                            @if let Some(ttc) = values.ttc() { (admin.money(ttc)) } @else { (t.none) }
                        }
                    }
                }
            }
            div.grid-2 {
                (field("description", t.description, Some(t.description_hint), errors, html! {
                    textarea #description name="description" rows="10" aria-describedby="description-hint" { (values.description) }
                }))
                div.field {
                    span.label { (t.preview) }
                    div #description-preview.preview { (markdown::render(&values.description)) }
                }
            }
            (field("meta_description", t.meta_description, Some(t.meta_hint), errors, html! {
                textarea #meta_description name="meta_description" rows="2" data-counter=(META_MAX)
                    aria-describedby="meta_description-hint meta_description-counter"
                    aria-invalid=[invalid("meta_description")] { (values.meta_description) }
                span #meta_description-counter class={"counter" @if meta_len > META_MAX { " over" }} {
                    (meta_len) " / " (META_MAX)
                }
            }))
            @if creating {
                div.field {
                    label { input type="checkbox" name="publish" value="yes" checked[values.publish.is_some()]; " " (t.publish) }
                }
            }
            div.form-actions {
                button.btn.btn-primary type="submit" { (t.save) span.spinner aria-hidden="true" {} }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct ValidateQuery {
    id: Option<Uuid>,
}

/// Live validation: the errors of every field, the TTC price, the Markdown preview and the
/// counter, as out-of-band fragments swapped into the form.
async fn validate_live(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ValidateQuery>,
    Form(values): Form<ProductForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let categories = categories(&state).await?;
    let creating = query.id.is_none();
    let (mut errors, checked) = values.check(t, creating, &categories);
    if let Some(reference) = &checked.reference {
        if claimed_by_other(
            &state,
            PRODUCT_REFERENCE_SCOPE,
            reference.as_str(),
            query.id,
        )
        .await?
        {
            errors.insert("reference", t.reference_taken.into());
        }
    }
    let slug = values.effective_slug();
    let slug_taken = match &slug {
        Some(slug) => claimed_by_other(&state, PRODUCT_SLUG_SCOPE, slug.as_str(), query.id).await?,
        None => false,
    };
    if slug_taken {
        errors.insert("slug", t.slug_taken.into());
    }
    // Only the fields the staff member has reached: an untouched empty field of a new
    // product is not an error yet.
    let touched = |key: &str| -> bool {
        match key {
            "reference" => !values.reference.is_empty() || !creating,
            "name" => !values.name.is_empty() || !creating,
            "category_id" => !values.category_id.is_empty() || !creating,
            "price_ht" => !values.price_ht.is_empty() || !creating,
            _ => true,
        }
    };
    let meta_len = values.meta_description.chars().count();
    let keys = [
        "reference",
        "name",
        "slug",
        "category_id",
        "price_ht",
        "vat_rate",
        "meta_description",
    ];
    let body = html! {
        @for key in keys {
            p.error #{"err-" (key)} role="alert" hx-swap-oob="true" {
                @if touched(key) { @if let Some(error) = errors.get(key) { (error) } }
            }
        }
        output #price-ttc.computed hx-swap-oob="true" aria-live="polite" {
            @if let Some(ttc) = values.ttc() { (admin.money(ttc)) } @else { (t.none) }
        }
        div #description-preview.preview hx-swap-oob="true" { (markdown::render(&values.description)) }
        span #meta_description-counter hx-swap-oob="true" class={"counter" @if meta_len > META_MAX { " over" }} {
            (meta_len) " / " (META_MAX)
        }
        @if values.slug.trim().is_empty() {
            input #slug name="slug" value="" maxlength="100" aria-describedby="slug-hint" hx-swap-oob="true"
                placeholder=(slug.map(|s| s.to_string()).unwrap_or_default());
        }
    };
    Ok(admin.fragment(body, None))
}

async fn new_form(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let categories = categories(&state).await?;
    let values = ProductForm {
        vat_rate: state.shop.get().default_vat_rate().to_string(),
        ..ProductForm::default()
    };
    render_new(
        &offered_rates(&state),
        &admin,
        &values,
        &FieldErrors::new(),
        &categories,
        StatusCode::OK,
    )
    .await
}

async fn render_new(
    rates: &[String],
    admin: &Admin,
    values: &ProductForm,
    errors: &FieldErrors,
    categories: &[(Uuid, String)],
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let content = html! {
        div.page-header {
            h1 { (t.product_new) }
            div.page-actions { a.btn.btn-ghost href="/admin/products" { (t.back) } }
        }
        section.card { (product_form(admin, "/admin/products", None, values, errors, categories, rates)) }
    };
    Ok(admin.page_with_status(t.product_new, content, status).await)
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(values): Form<ProductForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let categories = categories(&state).await?;
    let (errors, checked) = values.check(t, true, &categories);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (Some(reference), Some(category_id), Some(price_ht), Some(vat_rate), true) = (
        checked.reference,
        checked.category_id,
        checked.price,
        checked.vat,
        errors.is_empty(),
    ) else {
        return render_new(
            &offered_rates(&state),
            &admin,
            &values,
            &errors,
            &categories,
            unprocessable,
        )
        .await;
    };
    let id = Uuid::now_v7();
    let command = ProductCommand::CreateProduct {
        product_id: id,
        reference,
        name: values.name.trim().to_owned(),
        slug: checked.slug,
        description: values.description.clone(),
        category_id,
        price_ht,
        vat_rate,
        meta_description: values.meta_description.trim().to_owned(),
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .products
        .execute(&id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {}
        Err(CommandError::Refused(error)) => {
            return match domain_errors(t, &error) {
                Some(errors) => {
                    render_new(
                        &offered_rates(&state),
                        &admin,
                        &values,
                        &errors,
                        &categories,
                        unprocessable,
                    )
                    .await
                }
                None => Err(AdminError::internal("creating a product", error)),
            };
        }
        Err(error) => return Err(AdminError::internal("creating a product", error)),
    }
    let mut message = t.created;
    if values.publish.is_some() {
        match state
            .bus
            .products
            .execute(&id.to_string(), ProductCommand::PublishProduct, &metadata)
            .await
        {
            Ok(()) => message = t.published,
            Err(error) => tracing::warn!(%error, "new product not published"),
        }
    }
    settle(&state, "Product", &id.to_string()).await;
    admin.flash("success", message).await;
    Ok(Redirect::to(&format!("/admin/products/{id}")).into_response())
}

// ---------------------------------------------------------------- one product

#[derive(Debug, Clone, sqlx::FromRow)]
struct ProductRow {
    product_id: Uuid,
    reference: String,
    name: String,
    slug: String,
    category_id: Uuid,
    category_name: Option<String>,
    price_ht: Decimal,
    vat_rate: Decimal,
    price_ttc: Decimal,
    status: String,
    description: String,
    meta_description: String,
    images: sqlx::types::Json<Vec<projections::views::catalog::CatalogImage>>,
    on_hand: i64,
    reserved: i64,
    available: i64,
}

async fn load(state: &AppState, id: Uuid) -> Result<ProductRow, AdminError> {
    sqlx::query_as(
        "select a.product_id, a.reference, a.name, a.slug, a.category_id, l.name as category_name,
                a.price_ht, a.vat_rate, c.price_ttc, a.status, c.description, c.meta_description,
                c.images, coalesce(s.on_hand, 0) as on_hand, coalesce(s.reserved, 0) as reserved,
                coalesce(s.available, 0) as available
           from admin_products a
           join catalog_products c using (product_id)
           left join stock_levels s using (product_id)
           left join category_list l on l.category_id = a.category_id
          where a.product_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Details,
    Stock,
    Preview,
    History,
    Images,
}

/// The product page's frame: title, status, actions, tabs.
async fn product_page(
    admin: &Admin,
    row: &ProductRow,
    tab: Tab,
    body: Markup,
    status: StatusCode,
) -> Response {
    let t = admin.t;
    let base = format!("/admin/products/{}", row.product_id);
    let tabs = [
        (Tab::Details, base.clone(), t.tab_details),
        (Tab::Stock, format!("{base}/stock"), t.tab_stock),
        (Tab::Preview, format!("{base}/preview"), t.tab_preview),
        (Tab::History, format!("{base}/history"), t.tab_history),
        (Tab::Images, format!("{base}/images"), t.tab_images),
    ];
    let editable = admin.may(Permission::EditCatalog) && row.status != "archived";
    let content = html! {
        div.page-header {
            div {
                h1 { (row.name) }
                p.muted {
                    code { (row.reference) } " · "
                    span class={"badge badge-" (row.status)} { (status_label(t, &row.status)) } " · "
                    (admin.money(row.price_ttc)) " " (t.ttc)
                }
            }
            div.page-actions {
                a.btn.btn-ghost href="/admin/products" { (t.back) }
                @if editable {
                    form method="post" action={(base) "/status"} {
                        (admin.csrf_field())
                        @if row.status == "published" {
                            button.btn type="submit" name="action" value="unpublish" { (t.unpublish) span.spinner aria-hidden="true" {} }
                        } @else {
                            button.btn.btn-primary type="submit" name="action" value="publish" { (t.publish) span.spinner aria-hidden="true" {} }
                        }
                    }
                    a.btn.btn-danger href={(base) "/archive"} hx-get={(base) "/archive"} hx-target="#modal" hx-boost="false" { (t.archive) }
                }
            }
        }
        nav.tabs aria-label=(row.name) {
            @for (which, href, label) in &tabs {
                a href=(href) aria-current=[(*which == tab).then_some("page")] { (label) }
            }
        }
        div.tab-panel { (body) }
    };
    admin.page_with_status(&row.name, content, status).await
}

async fn details(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let row = load(&state, id).await?;
    let values = form_of(&row, french(&admin), &offered_rates(&state));
    render_details(
        &state,
        &admin,
        &row,
        &values,
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

fn form_of(row: &ProductRow, french: bool, rates: &[String]) -> ProductForm {
    let rate = row.vat_rate.normalize().to_string();
    let preset = rates.contains(&rate);
    ProductForm {
        reference: row.reference.clone(),
        name: row.name.clone(),
        slug: row.slug.clone(),
        category_id: row.category_id.to_string(),
        price_ht: if french {
            row.price_ht.to_string().replace('.', ",")
        } else {
            row.price_ht.to_string()
        },
        vat_rate: if preset {
            rate.clone()
        } else {
            "custom".into()
        },
        vat_custom: if preset { String::new() } else { rate },
        description: row.description.clone(),
        meta_description: row.meta_description.clone(),
        publish: None,
    }
}

async fn render_details(
    state: &AppState,
    admin: &Admin,
    row: &ProductRow,
    values: &ProductForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let body = if admin.may(Permission::EditCatalog) && row.status != "archived" {
        let categories = categories(state).await?;
        let action = format!("/admin/products/{}", row.product_id);
        html! { section.card { (product_form(admin, &action, Some(row.product_id), values, errors, &categories, &offered_rates(state))) } }
    } else {
        html! {
            section.card {
                dl {
                    dt { (t.reference) } dd { code { (row.reference) } }
                    dt { (t.category) } dd { (row.category_name.as_deref().unwrap_or(t.none)) }
                    dt { (t.price_ht) } dd { (admin.money(row.price_ht)) }
                    dt { (t.vat_rate) } dd { (row.vat_rate.normalize()) " %" }
                    dt { (t.slug) } dd { code { (row.slug) } }
                    dt { (t.meta_description) } dd { (row.meta_description) }
                }
                div.preview { (markdown::render(&row.description)) }
            }
        }
    };
    Ok(product_page(admin, row, Tab::Details, body, status).await)
}

async fn update(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(values): Form<ProductForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let categories = categories(&state).await?;
    let (errors, checked) = values.check(t, false, &categories);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (Some(category_id), Some(price_ht), Some(vat_rate), true) = (
        checked.category_id,
        checked.price,
        checked.vat,
        errors.is_empty(),
    ) else {
        return render_details(&state, &admin, &row, &values, &errors, unprocessable).await;
    };
    // What changed is judged against the product's own stream, not the view (which may
    // lag): a price set back to what the view still shows is a real change.
    let current = state
        .bus
        .products
        .load(&id.to_string())
        .await
        .map_err(|e| AdminError::internal("loading a product", e))?;
    let mut commands = Vec::new();
    let name = values.name.trim().to_owned();
    let meta = values.meta_description.trim().to_owned();
    if name != current.name()
        || values.description != current.description()
        || Some(category_id) != current.category_id()
        || meta != current.meta_description()
    {
        commands.push(ProductCommand::EditProductDetails {
            name,
            description: values.description.clone(),
            category_id,
            meta_description: meta,
        });
    }
    if price_ht != current.price_ht() {
        commands.push(ProductCommand::ChangeProductPrice { price_ht });
    }
    if vat_rate != current.vat_rate() {
        commands.push(ProductCommand::ChangeProductVatRate { vat_rate });
    }
    if let Some(slug) = checked.slug.filter(|s| Some(s) != current.slug()) {
        commands.push(ProductCommand::ChangeProductSlug { slug });
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    for command in commands {
        match state
            .bus
            .products
            .execute(&id.to_string(), command, &metadata)
            .await
        {
            Ok(()) => {}
            Err(CommandError::Refused(error)) => {
                settle(&state, "Product", &id.to_string()).await;
                let row = load(&state, id).await?;
                return match domain_errors(t, &error) {
                    Some(errors) => {
                        render_details(&state, &admin, &row, &values, &errors, unprocessable).await
                    }
                    None => {
                        admin.flash("error", refusal(t, &error)).await;
                        Ok(Redirect::to(&format!("/admin/products/{id}")).into_response())
                    }
                };
            }
            Err(error) => return Err(AdminError::internal("editing a product", error)),
        }
    }
    settle(&state, "Product", &id.to_string()).await;
    admin.flash("success", t.saved).await;
    Ok(Redirect::to(&format!("/admin/products/{id}")).into_response())
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    action: String,
}

async fn change_status(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let (command, message) = match form.action.as_str() {
        "publish" => (ProductCommand::PublishProduct, t.published),
        "unpublish" => (ProductCommand::UnpublishProduct, t.unpublished),
        "archive" => (ProductCommand::ArchiveProduct, t.archived),
        _ => return Err(AdminError::NotFound),
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .products
        .execute(&id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {
            settle(&state, "Product", &id.to_string()).await;
            admin.flash("success", message).await;
        }
        Err(CommandError::Refused(ProductError::NotFound)) => return Err(AdminError::NotFound),
        Err(CommandError::Refused(error)) => admin.flash("error", refusal(t, &error)).await,
        Err(error) => return Err(AdminError::internal("changing a product's status", error)),
    }
    Ok(Redirect::to(&format!("/admin/products/{id}")).into_response())
}

async fn confirm_archive(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let body = admin.confirm_dialog(
        t.archive_confirm,
        &format!("/admin/products/{id}/status"),
        t.archive,
        &format!("/admin/products/{id}"),
        html! { input type="hidden" name="action" value="archive"; },
    );
    Ok(admin.confirmation(&row.name, body).await)
}

// ---------------------------------------------------------------- stock

#[derive(Debug, Default, Deserialize)]
struct StockForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    note: String,
}

async fn stock_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let row = load(&state, id).await?;
    render_stock(
        &state,
        &admin,
        &row,
        &StockForm::default(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

async fn render_stock(
    state: &AppState,
    admin: &Admin,
    row: &ProductRow,
    values: &StockForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let movements =
        history::of_product(state, admin.lang, row.product_id, Streams::Stock, 100).await?;
    let (stock_class, stock_label) = stock_state(t, row.available);
    let reasons = [
        ("received", t.reason_received),
        ("inventory", t.reason_inventory),
        ("damaged", t.reason_damaged),
        ("correction", t.reason_correction),
    ];
    let body = html! {
        section.stats {
            div.stat { div.stat-label { (t.on_hand) } div.stat-value #stock-on-hand { (row.on_hand) } }
            div.stat { div.stat-label { (t.reserved) } div.stat-value { (row.reserved) } }
            div.stat { div.stat-label { (t.available) } div.stat-value #stock-available { (row.available) } }
            div.stat { div.stat-label { (t.stock_status) } div.stat-value { span class={"badge badge-" (stock_class)} { (stock_label) } } }
        }
        @if admin.may(Permission::AdjustStock) {
            section.card {
                h2 { (t.stock_adjust) }
                form method="post" action={"/admin/products/" (row.product_id) "/stock"} {
                    (admin.csrf_field())
                    div.inline {
                        (field("reason", t.stock_reason, None, errors, html! {
                            select #reason name="reason" {
                                @for (value, label) in reasons {
                                    option value=(value) selected[values.reason == value] { (label) }
                                }
                            }
                        }))
                        (field("quantity", t.stock_quantity, Some(t.stock_inventory_hint), errors, html! {
                            input #quantity name="quantity" value=(values.quantity) inputmode="numeric" required
                                aria-describedby="quantity-hint" aria-invalid=[errors.contains_key("quantity").then_some("true")];
                        }))
                        (field("note", t.stock_note, None, errors, html! {
                            input #note name="note" value=(values.note) maxlength="200";
                        }))
                    }
                    div.form-actions { button.btn.btn-primary type="submit" { (t.stock_adjust) span.spinner aria-hidden="true" {} } }
                }
            }
        }
        section.card {
            h2 { (t.stock_movements) }
            (history::table(t, admin.lang, &movements, true))
        }
    };
    Ok(product_page(admin, row, Tab::Stock, body, status).await)
}

async fn adjust_stock(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(values): Form<StockForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::AdjustStock)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let quantity = values
        .quantity
        .trim()
        .trim_start_matches('+')
        .parse::<i64>()
        .ok();
    let note = values.note.trim().chars().take(200).collect::<String>();
    let with_note = |reason: &str| {
        if note.is_empty() {
            reason.to_owned()
        } else {
            format!("{reason}: {note}")
        }
    };
    let command = match (values.reason.as_str(), quantity) {
        ("received", Some(q)) if q > 0 && q <= i64::from(u32::MAX) => {
            Some(StockCommand::ReceiveStock {
                product_id: id,
                quantity: u32::try_from(q).unwrap_or(u32::MAX),
                note: note.clone(),
            })
        }
        ("damaged", Some(q)) if q > 0 => Some(StockCommand::AdjustStock {
            product_id: id,
            delta: -q,
            reason: with_note("damaged"),
        }),
        // The difference is worked out by the stock itself, when the command runs.
        ("inventory", Some(q)) if (0..=i64::from(u32::MAX)).contains(&q) => {
            Some(StockCommand::CountStock {
                product_id: id,
                counted: u32::try_from(q).unwrap_or(u32::MAX),
                reason: with_note("inventory"),
            })
        }
        ("correction", Some(q)) if q != 0 => Some(StockCommand::AdjustStock {
            product_id: id,
            delta: q,
            reason: with_note("correction"),
        }),
        _ => {
            let mut errors = FieldErrors::new();
            errors.insert("quantity", t.quantity_invalid.into());
            return render_stock(
                &state,
                &admin,
                &row,
                &values,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if let Some(command) = command {
        let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
        match state
            .bus
            .stock
            .execute(&id.to_string(), command, &metadata)
            .await
        {
            Ok(()) => {}
            Err(CommandError::Refused(error)) => {
                let mut errors = FieldErrors::new();
                let message = match error {
                    StockError::InsufficientStock {
                        requested,
                        available,
                    } => fill(
                        t.stock_insufficient,
                        &[
                            ("requested", &requested.to_string()),
                            ("available", &available.to_string()),
                        ],
                    ),
                    StockError::QuantityOutOfRange | StockError::QuantityNotPositive => {
                        t.quantity_invalid.to_owned()
                    }
                    _ => t.refused_generic.to_owned(),
                };
                errors.insert("quantity", message);
                return render_stock(
                    &state,
                    &admin,
                    &row,
                    &values,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            Err(error) => return Err(AdminError::internal("adjusting stock", error)),
        }
        settle(&state, "Stock", &id.to_string()).await;
    }
    admin.flash("success", t.stock_adjusted).await;
    Ok(Redirect::to(&format!("/admin/products/{id}/stock")).into_response())
}

// ---------------------------------------------------------------- preview, history, images

async fn preview_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let media = &state.media_base_url;
    let body = html! {
        p.muted { (t.storefront_preview_note) }
        article.storefront-preview {
            @if let Some(image) = row.images.0.first() {
                img src={(media) "/" (urlencode(&image.key))} alt=(image.alt_text);
            }
            h2.sf-title { (row.name) }
            p.sf-price { (admin.money(row.price_ttc)) " " (t.ttc) }
            p {
                @if row.available > 0 { (fill(t.in_stock_label, &[("count", &row.available.to_string())])) }
                @else { (t.out_of_stock_label) }
            }
            div.sf-desc { (markdown::render(&row.description)) }
        }
    };
    Ok(product_page(&admin, &row, Tab::Preview, body, StatusCode::OK).await)
}

async fn history_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let row = load(&state, id).await?;
    let entries =
        history::of_product(&state, admin.lang, id, Streams::ProductAndStock, 500).await?;
    let body = html! { section.card { (history::table(admin.t, admin.lang, &entries, true)) } };
    Ok(product_page(&admin, &row, Tab::History, body, StatusCode::OK).await)
}

/// What the file picker offers (the server checks the content, whatever the name says).
const IMAGE_TYPES: &str = "image/jpeg,image/png,image/webp,image/heic,image/heif";

#[derive(Debug, Default, Deserialize)]
struct ImagesQuery {
    /// `list`: only the list of images (what the tab's script swaps in after a change).
    part: Option<String>,
}

/// A product's images, fresh from its stream (a change made a moment ago is there).
async fn current_images(state: &AppState, id: Uuid) -> Result<Vec<ImageView>, AdminError> {
    crate::media::list(&state.media, &state.bus, id)
        .await
        .map_err(|error| match error {
            MediaError::ProductNotFound => AdminError::NotFound,
            error => AdminError::internal("listing a product's images", error),
        })
}

/// The images tab: the images in order, each with its move buttons, alt text and delete
/// link; above them the upload form, a drop zone for the script. All of it plain forms.
async fn images_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
    Query(query): Query<ImagesQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let images = current_images(&state, id).await?;
    let editable = admin.may(Permission::EditCatalog) && row.status != "archived";
    let list = image_list(&admin, id, &images, editable);
    if query.part.as_deref() == Some("list") {
        return Ok(admin.fragment(list, None));
    }
    let body = html! {
        @if editable {
            (uploader(&admin, &state.media, id))
        } @else if admin.may(Permission::EditCatalog) {
            p.alert.alert-info { (t.img_err_archived) }
        }
        (list)
        // Outside the list, which the script replaces: what a move did, said aloud.
        div #images-status.visually-hidden role="status" aria-live="polite" {}
    };
    Ok(product_page(&admin, &row, Tab::Images, body, StatusCode::OK).await)
}

/// The upload form: works as a plain multipart form; the script turns it into a drop zone
/// with a progress bar per file, and reads its words from the templates beside it. The
/// drop zone tells the script how to send files: `data-upload="presign"` when the store
/// takes them straight from the browser (a presigned PUT to the bucket, then the process
/// call), `multipart` when they go through the app like the plain form.
fn uploader(admin: &Admin, media: &Media, product_id: Uuid) -> Markup {
    let t = admin.t;
    let limits = &media.limits;
    let action = media_ui::images_tab(product_id);
    let max = media_ui::megabytes(limits.max_bytes);
    let presign = media.browser_upload_origin().is_some();
    html! {
        section.card.uploader #image-uploader aria-labelledby="images-add-title" {
            h2 #images-add-title { (t.images_add) }
            form #image-upload method="post" action=(action) enctype="multipart/form-data"
                hx-boost="false" data-max-bytes=(limits.max_bytes) {
                // First: the CSRF guard finds the token at the start of a multipart body.
                (admin.csrf_field())
                div.dropzone #image-dropzone data-upload=(if presign { "presign" } else { "multipart" })
                    data-presign=[presign.then(|| format!("{action}/presign"))]
                    data-process=[presign.then(|| format!("{action}/process"))] {
                    p.dropzone-text { (t.images_drop) }
                    label for="image-files" { (t.images_choose) }
                    input #image-files type="file" name="file" multiple accept=(IMAGE_TYPES)
                        aria-describedby="image-files-hint";
                    p.hint #image-files-hint { (fill(t.images_formats, &[("max", &max)])) }
                }
                div.field {
                    label for="image-alt" { (t.images_alt_new) }
                    input #image-alt name="alt" aria-describedby="image-alt-hint";
                    p.hint #image-alt-hint { (t.images_alt_new_hint) }
                }
                div.form-actions.upload-submit {
                    button.btn.btn-primary type="submit" { (t.images_send) }
                }
            }
            ul #image-uploads.uploads aria-label=(t.images_uploads) {}
            // One file's line, cloned by the script; its words, filled with the file's name.
            template #upload-template data-label=(t.images_progress) data-waiting=(t.images_waiting)
                data-uploading=(t.images_uploading) data-processing=(t.images_processing)
                data-done=(t.images_done) {
                li.upload {
                    span.upload-name {}
                    progress max="100" value="0" {}
                    span.upload-status {}
                }
            }
            // The server's error codes in words, for the script (no inline script here).
            template #image-messages data-reordered=(t.images_reordered)
                data-moved=(t.images_moved) data-alt-saved=(t.images_alt_saved) {
                @for code in media_ui::ERROR_CODES {
                    span data-code=(code) { (media_ui::explain(t, code, limits).unwrap_or_default()) }
                }
                span data-code="network" { (t.img_err_network) }
                span data-code="bucket_unreachable" { (t.img_err_bucket_unreachable) }
                span data-code="bucket_refused" { (t.img_err_bucket_refused) }
            }
        }
    }
}

/// The images, in order (the fragment the script swaps in after a change).
fn image_list(admin: &Admin, product_id: Uuid, images: &[ImageView], editable: bool) -> Markup {
    let t = admin.t;
    let base = media_ui::images_tab(product_id);
    let count = images.len().to_string();
    html! {
        section.card #product-images aria-labelledby="images-title"
            data-refresh={(base) "?part=list"} data-order={(base) "/order"} {
            h2 #images-title { (t.images_title) " " span.muted { "(" (count) ")" } }
            @if images.is_empty() { p.empty { (t.images_none) } } @else {
                @if editable { p.hint { (t.images_help) } }
                ol.images #image-list {
                    @for (index, image) in images.iter().enumerate() {
                        @let position = (index + 1).to_string();
                        @let at = [("position", position.as_str()), ("count", count.as_str())];
                        @let url = format!("{base}/{}", image.id);
                        li.image-item data-image-id=(image.id) {
                            // The picture is the handle for dragging: the alt text field
                            // stays selectable.
                            figure draggable=[editable.then_some("true")] {
                                img src=(image.thumbnail_url) alt=(image.alt) loading="lazy" width="300" height="300"
                                    draggable=[editable.then_some("false")];
                                figcaption {
                                    span.image-position { (fill(t.images_position, &at)) }
                                    @if index == 0 { " " span.badge.badge-published { (t.images_main) } }
                                    @if !editable { span.image-alt { (image.alt) } }
                                }
                            }
                            @if editable {
                                form.image-move method="post" action={(url) "/move"} hx-boost="false" {
                                    (admin.csrf_field())
                                    button.btn.btn-small type="submit" name="direction" value="up"
                                        disabled[index == 0]
                                        aria-label=(fill(t.images_move_up_label, &at)) { (t.images_move_up) }
                                    button.btn.btn-small type="submit" name="direction" value="down"
                                        disabled[index + 1 == images.len()]
                                        aria-label=(fill(t.images_move_down_label, &at)) { (t.images_move_down) }
                                }
                                form.image-alt method="post" action={(url) "/alt"} hx-boost="false" {
                                    (admin.csrf_field())
                                    label for={"alt-" (image.id)} {
                                        (t.images_alt) span.visually-hidden { " " (fill(t.images_alt_of, &at)) }
                                    }
                                    div.alt-row {
                                        input #{"alt-" (image.id)} name="alt" value=(image.alt) required;
                                        button.btn.btn-small type="submit" {
                                            (t.save) span.visually-hidden { " " (t.images_alt) " " (fill(t.images_alt_of, &at)) }
                                        }
                                    }
                                }
                                // Apart from the rest, at the bottom: the one action that loses something.
                                div.image-delete {
                                    a.btn.btn-danger.btn-small href={(url) "/delete"} hx-get={(url) "/delete"}
                                        hx-target="#modal" hx-boost="false"
                                        aria-label=(fill(t.images_delete_label, &at)) { (t.delete) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The confirmation before deleting an image: a dialog with the script, a page without.
async fn confirm_delete_image(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, image)): Path<(Uuid, Uuid)>,
) -> Result<Response, AdminError> {
    admin.require(Permission::EditCatalog)?;
    let t = admin.t;
    let row = load(&state, id).await?;
    let images = current_images(&state, id).await?;
    let (index, view) = images
        .iter()
        .enumerate()
        .find(|(_, i)| i.id == image)
        .ok_or(AdminError::NotFound)?;
    let base = media_ui::images_tab(id);
    let position = (index + 1).to_string();
    let count = images.len().to_string();
    let at = [("position", position.as_str()), ("count", count.as_str())];
    let body = admin.confirm_dialog(
        t.images_delete_confirm,
        &format!("{base}/{image}/delete"),
        t.delete,
        &base,
        html! {
            figure.confirm-image {
                img src=(view.thumbnail_url) alt=(view.alt);
                figcaption { (fill(t.images_position, &at)) " · " (row.name) }
            }
        },
    );
    Ok(admin.confirmation(&row.name, body).await)
}
