//! Orders: the list (status tabs with counts, filters, search, sorting, pages) and an
//! order's page (customer, pickup, lines, totals per VAT rate, payment, invoice numbers,
//! timeline) with the status moves the order allows, each behind a confirmation;
//! cancelling asks for a reason (the stock keeper then releases or returns the stock).
//! An invoiced order's lines can be refunded, some units at a time: each refund is a
//! credit note.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use aggregates::order::RefundLineInput;
use aggregates::staff::Permission;
use aggregates::{Billing, OrderCommand, OrderLine, VatLine};

use crate::admin::dashboard::{order_status_label, SHOP_TIME_ZONE};
use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{list_link, local_time, pagination, Admin};
use crate::admin::{field, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;

const PAGE_SIZE: i64 = 25;
const STATUSES: [&str; 5] = [
    "pending",
    "confirmed",
    "ready_for_pickup",
    "completed",
    "cancelled",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/orders", get(list))
        .route("/admin/orders/{number}", get(detail))
        .route(
            "/admin/orders/{number}/move",
            get(confirm_move).post(move_order),
        )
        .route("/admin/orders/{number}/payment", post(record_payment))
        .route("/admin/orders/{number}/refund", post(refund))
        .route("/admin/documents/{number}", get(document))
}

/// An invoice or credit note of an order, as the register lists it.
struct Document {
    number: String,
    kind: String,
    total_ttc: Decimal,
    stored: bool,
}

async fn documents_of(state: &AppState, order_id: Uuid) -> Result<Vec<Document>, AdminError> {
    let rows: Vec<(String, String, Decimal, bool)> = sqlx::query_as(
        "select number, kind, total_ttc, pdf_key is not null from invoice_register
         where order_id = $1 order by issued_at, position",
    )
    .bind(order_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(number, kind, total_ttc, stored)| Document {
            number,
            kind,
            total_ttc,
            stored,
        })
        .collect())
}

/// `GET /admin/documents/{number}`: the PDF of an invoice or credit note exactly as stored
/// when it was issued (checked against its recorded SHA-256). Anyone who sees orders sees
/// their invoices: the counter prints them for customers.
async fn document(
    State(state): State<AppState>,
    admin: Admin,
    Path(number): Path<String>,
) -> Result<Response, AdminError> {
    use axum::http::{header, HeaderValue};
    admin.require(Permission::ViewOrders)?;
    let pdf = crate::invoices::stored_pdf(&state.pool, &state.media, &number)
        .await
        .map_err(|e| AdminError::internal("invoice PDF", e))?
        .ok_or(AdminError::NotFound)?;
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let safe: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{safe}.pdf\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn payment_status_label(t: &Texts, status: &str) -> String {
    match status {
        "pending" => t.pay_pending,
        "paid" => t.pay_paid,
        "failed" => t.pay_failed,
        "refunded" => t.pay_refunded,
        other => return other.to_owned(),
    }
    .to_owned()
}

fn method_label(t: &Texts, method: &str) -> String {
    match method {
        "stripe" => t.method_stripe,
        "oney" => t.method_oney,
        "pickup" => t.method_pickup,
        other => return other.to_owned(),
    }
    .to_owned()
}

#[derive(Debug, Default, Clone, Deserialize)]
struct ListQuery {
    status: Option<String>,
    payment: Option<String>,
    method: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
}

impl ListQuery {
    fn link(&self, changes: &[(&str, Option<&str>)]) -> String {
        let current = [
            ("status", &self.status),
            ("payment", &self.payment),
            ("method", &self.method),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("sort", &self.sort),
            ("dir", &self.dir),
            ("page", &self.page),
        ];
        list_link("/admin/orders", &current, changes)
    }

    fn date(value: &Option<String>) -> Option<NaiveDate> {
        value
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    order_number: String,
    customer_name: String,
    customer_email: String,
    payment_method: String,
    payment_status: String,
    status: String,
    total_ttc: Decimal,
    placed_at: DateTime<Utc>,
    total: i64,
}

/// The filters every part of the list shares (all but the status, which the tabs count).
fn filtered<'a>(sql: &mut QueryBuilder<'a, Postgres>, query: &ListQuery) {
    if let Some(payment) = query
        .payment
        .as_deref()
        .filter(|p| matches!(*p, "pending" | "paid" | "failed" | "refunded"))
    {
        sql.push(" and payment_status = ")
            .push_bind(payment.to_owned());
    }
    if let Some(method) = query
        .method
        .as_deref()
        .filter(|m| matches!(*m, "stripe" | "oney" | "pickup"))
    {
        sql.push(" and payment_method = ")
            .push_bind(method.to_owned());
    }
    // Dates are the shop's days (Paris), both ends included.
    if let Some(from) = ListQuery::date(&query.from) {
        sql.push(" and placed_at >= (")
            .push_bind(from)
            .push("::timestamp at time zone ")
            .push_bind(SHOP_TIME_ZONE)
            .push(")");
    }
    if let Some(to) = ListQuery::date(&query.to) {
        sql.push(" and placed_at < ((")
            .push_bind(to)
            .push("::date + 1)::timestamp at time zone ")
            .push_bind(SHOP_TIME_ZONE)
            .push(")");
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::admin::contains_pattern(q);
        sql.push(" and (order_number ilike ")
            .push_bind(pattern.clone())
            .push(" or customer_email ilike ")
            .push_bind(pattern.clone())
            .push(" or customer_name ilike ")
            .push_bind(pattern)
            .push(")");
    }
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewOrders)?;
    let t = admin.t;
    let lang = admin.lang;
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let status = query
        .status
        .as_deref()
        .filter(|s| STATUSES.contains(s))
        .map(str::to_owned);
    let mut counts_sql: QueryBuilder<Postgres> =
        QueryBuilder::new("select status, count(*) from orders where true");
    filtered(&mut counts_sql, &query);
    counts_sql.push(" group by status");
    let counts: Vec<(String, i64)> = counts_sql.build_query_as().fetch_all(&state.pool).await?;
    let count_of = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let all: i64 = counts.iter().map(|(_, n)| n).sum();

    let (sort_key, column) = match query.sort.as_deref() {
        Some("total") => ("total", "total_ttc"),
        Some("number") => ("number", "order_number"),
        Some("customer") => ("customer", "lower(customer_name)"),
        _ => ("placed", "placed_at"),
    };
    let descending = match query.dir.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort_key == "placed",
    };
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select order_number, customer_name, customer_email, payment_method, payment_status,
                status, total_ttc, placed_at, count(*) over () as total
           from orders where true",
    );
    filtered(&mut sql, &query);
    if let Some(status) = &status {
        sql.push(" and status = ").push_bind(status.clone());
    }
    sql.push(" order by ")
        .push(column)
        .push(if descending { " desc" } else { " asc" })
        .push(", order_number desc limit ")
        .push_bind(PAGE_SIZE)
        .push(" offset ")
        .push_bind((page - 1) * PAGE_SIZE);
    let rows: Vec<ListRow> = sql.build_query_as().fetch_all(&state.pool).await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let sortable = |key: &str, label: &str| {
        let active = sort_key == key;
        let next_dir = if active && !descending { "desc" } else { "asc" };
        let href = query.link(&[("sort", Some(key)), ("dir", Some(next_dir)), ("page", None)]);
        let aria = active.then_some(if descending {
            "descending"
        } else {
            "ascending"
        });
        html! { th scope="col" aria-sort=[aria] { a.sort href=(href) { (label) } } }
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let content = html! {
        div.page-header { h1 { (t.orders_title) } }
        nav.tabs aria-label=(t.status) {
            a href=(query.link(&[("status", None), ("page", None)])) aria-current=[status.is_none().then_some("page")] {
                (t.all) " (" (all) ")"
            }
            @for s in STATUSES {
                a href=(query.link(&[("status", Some(s)), ("page", None)])) aria-current=[(status.as_deref() == Some(s)).then_some("page")] {
                    (order_status_label(t, s)) " (" (count_of(s)) ")"
                }
            }
        }
        form.filters method="get" action="/admin/orders" role="search" {
            @if let Some(status) = &status { input type="hidden" name="status" value=(status); }
            label for="q" { (t.search) }
            input #q type="search" name="q" value=(text(&query.q)) placeholder=(t.search_orders);
            label for="f-payment" { (t.payment_status) }
            select #f-payment name="payment" {
                option value="" { (t.all) }
                @for p in ["pending", "paid", "failed", "refunded"] {
                    option value=(p) selected[query.payment.as_deref() == Some(p)] { (payment_status_label(t, p)) }
                }
            }
            label for="f-method" { (t.payment_method) }
            select #f-method name="method" {
                option value="" { (t.all) }
                @for m in ["pickup", "stripe", "oney"] {
                    option value=(m) selected[query.method.as_deref() == Some(m)] { (method_label(t, m)) }
                }
            }
            label for="f-from" { (t.date_from) }
            input #f-from type="date" name="from" value=(text(&query.from));
            label for="f-to" { (t.date_to) }
            input #f-to type="date" name="to" value=(text(&query.to));
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/orders" { (t.reset) }
        }
        p.muted { (fill(t.orders_count, &[("count", &total.to_string())])) }
        @if rows.is_empty() { p.empty { (t.no_orders_match) } } @else {
            div.table-wrap tabindex="0" { table.data {
                thead { tr {
                    (sortable("number", t.order_number))
                    (sortable("customer", t.customer))
                    th scope="col" { (t.status) }
                    th scope="col" { (t.payment_method) }
                    (sortable("total", t.total_ttc))
                    (sortable("placed", t.placed_at))
                } }
                tbody { @for row in &rows { tr {
                    td { a href={"/admin/orders/" (row.order_number)} { (row.order_number) } }
                    td { (row.customer_name) br; span.muted { (row.customer_email) } }
                    td { span class={"badge badge-" (row.status)} { (order_status_label(t, &row.status)) } }
                    td { (method_label(t, &row.payment_method)) br; span.muted { (payment_status_label(t, &row.payment_status)) } }
                    td.num { (admin.money(row.total_ttc)) }
                    td { (local_time(&row.placed_at, lang == Lang::Fr)) }
                } } }
            } }
        }
        (pagination(t, page, pages, |p| query.link(&[("page", Some(&p.to_string()))])))
    };
    Ok(admin.page(t.orders_title, content).await)
}

#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    order_id: Uuid,
    order_number: String,
    customer_email: String,
    customer_name: String,
    customer_phone: String,
    pickup_location: String,
    payment_method: String,
    payment_status: String,
    payment_provider: Option<String>,
    payment_reference: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    status: String,
    cancel_reason: Option<String>,
    lines: Json<Vec<OrderLine>>,
    vat_breakdown: Json<Vec<VatLine>>,
    total_ht: Decimal,
    total_ttc: Decimal,
    invoice_number: Option<String>,
    credit_note_number: Option<String>,
    placed_at: DateTime<Utc>,
    billing: Option<Json<Billing>>,
}

async fn load(state: &AppState, number: &str) -> Result<OrderRow, AdminError> {
    sqlx::query_as(
        "select order_id, order_number, customer_email, customer_name, customer_phone,
                pickup_location, payment_method, payment_status, payment_provider,
                payment_reference, paid_at, status, cancel_reason, lines, vat_breakdown,
                total_ht, total_ttc, invoice_number, credit_note_number, placed_at, billing
           from orders where order_number = $1",
    )
    .bind(number)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)
}

/// The moves an order in `status` allows, with their labels.
fn moves(t: &Texts, status: &str) -> Vec<(&'static str, &'static str)> {
    let mut moves = match status {
        "pending" => vec![("confirm", t.order_confirm)],
        "confirmed" => vec![("ready", t.order_ready)],
        "ready_for_pickup" => vec![("complete", t.order_complete)],
        _ => Vec::new(),
    };
    if matches!(status, "pending" | "confirmed" | "ready_for_pickup") {
        moves.push(("cancel", t.order_cancel));
    }
    moves
}

async fn detail(
    State(state): State<AppState>,
    admin: Admin,
    Path(number): Path<String>,
) -> Result<Response, AdminError> {
    render(
        &state,
        &admin,
        &number,
        &RefundValues::default(),
        &RefundErrors::default(),
    )
    .await
}

/// The order's page; `refund` is the refund form as typed, with its errors when it was
/// refused (the page then answers 422).
async fn render(
    state: &AppState,
    admin: &Admin,
    number: &str,
    refund: &RefundValues,
    errors: &RefundErrors,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewOrders)?;
    let t = admin.t;
    let lang = admin.lang;
    let french = lang == Lang::Fr;
    let order = load(state, number).await?;
    let refund_form = refund_section(state, admin, &order, refund, errors).await?;
    let timeline = crate::admin::history::of_order(state, lang, order.order_id).await?;
    let documents = documents_of(state, order.order_id).await?;
    let document_link = |d: &Document| {
        html! {
            @if d.stored {
                a href={"/admin/documents/" (crate::admin::error::urlencode(&d.number))} { (d.number) }
            } @else { (d.number) }
        }
    };
    let title = fill(t.order_title, &[("number", &order.order_number)]);
    let may_move = admin.may(Permission::ChangeOrderStatus);
    let base = format!("/admin/orders/{}", order.order_number);
    let content = html! {
        div.page-header {
            div {
                h1 { (title) }
                p.muted {
                    span class={"badge badge-" (order.status)} { (order_status_label(t, &order.status)) }
                    " · " (local_time(&order.placed_at, french)) " · " (admin.money(order.total_ttc)) " " (t.ttc)
                }
                @if let Some(reason) = &order.cancel_reason {
                    p.alert.alert-info { (fill(t.order_cancelled_because, &[("reason", reason)])) }
                }
            }
            div.page-actions {
                a.btn.btn-ghost href="/admin/orders" { (t.back) }
                @if may_move {
                    @for (action, label) in moves(t, &order.status) {
                        a class={"btn " @if action == "cancel" { "btn-danger" } @else { "btn-primary" }}
                            href={(base) "/move?action=" (action)} hx-get={(base) "/move?action=" (action)}
                            hx-target="#modal" hx-boost="false" { (label) }
                    }
                }
            }
        }
        div.grid-2 {
            section.card {
                h2 { (t.customer_label) }
                dl {
                    dt { (t.name) } dd { (order.customer_name) }
                    dt { (t.staff_email) } dd {
                        a href={"mailto:" (order.customer_email)} { (order.customer_email) }
                        @if admin.may(Permission::ViewCustomers) {
                            " · " a href={"/admin/customers?email=" (crate::admin::error::urlencode(&order.customer_email))} { (t.nav_customers) }
                        }
                    }
                    dt { (t.phone) } dd { (order.customer_phone) }
                    dt { (t.pickup_location) } dd { (order.pickup_location) }
                }
                @if let Some(Json(billing)) = &order.billing {
                    h3 { (t.ord_billing) }
                    dl #order-billing {
                        dt { (t.ord_billing_company) } dd { (billing.company) }
                        dt { (t.ord_billing_address) } dd {
                            @for (i, line) in billing.address_lines().iter().enumerate() {
                                @if i > 0 { br; }
                                (line)
                            }
                        }
                        @if let Some(vat) = &billing.vat_number {
                            dt { (t.ord_billing_vat) } dd { code { (vat) } }
                        }
                    }
                }
            }
            section.card {
                h2 { (t.payment_method) }
                dl {
                    dt { (t.payment_method) } dd { (method_label(t, &order.payment_method)) }
                    dt { (t.payment_status) } dd { (payment_status_label(t, &order.payment_status)) }
                    @if let Some(provider) = &order.payment_provider {
                        dt { (t.payment_reference) } dd {
                            (fill(t.paid_with, &[("provider", &crate::admin::history::provider_label(t, provider, order.payment_reference.as_deref().unwrap_or("")))]))
                            @if let Some(reference) = &order.payment_reference { " · " code { (reference) } }
                            @if let Some(at) = &order.paid_at { " · " (local_time(at, french)) }
                        }
                    }
                    dt { (t.invoice_number) } dd {
                        @match documents.iter().find(|d| d.kind == "invoice") {
                            Some(invoice) => (document_link(invoice)),
                            None => (order.invoice_number.as_deref().unwrap_or(t.none)),
                        }
                    }
                    dt { (t.credit_note_number) } dd {
                        @let notes: Vec<&Document> = documents.iter().filter(|d| d.kind == "credit_note").collect();
                        @if notes.is_empty() { (order.credit_note_number.as_deref().unwrap_or(t.none)) }
                        @for (i, note) in notes.iter().enumerate() {
                            @if i > 0 { ", " }
                            (document_link(note)) " (" (admin.money(-note.total_ttc)) ")"
                        }
                    }
                }
                // Pickup orders are paid at the counter, in person.
                @if may_move && order.payment_method == "pickup" && order.payment_status == "pending"
                    && !matches!(order.status.as_str(), "cancelled") {
                    form.inline method="post" action={(base) "/payment"} {
                        (admin.csrf_field())
                        label for="means" { (t.payment_means) }
                        select #means name="means" {
                            @for (value, label) in [("cash", t.pay_cash), ("card", t.pay_card), ("cheque", t.pay_cheque)] {
                                option value=(value) { (label) }
                            }
                        }
                        button.btn.btn-primary.btn-wrap type="submit" {
                            (t.record_payment) " · " (admin.money(order.total_ttc)) span.spinner aria-hidden="true" {}
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (t.lines) }
            div.table-wrap tabindex="0" { table.data {
                thead { tr {
                    th scope="col" { (t.reference) } th scope="col" { (t.name) }
                    th.num scope="col" { (t.quantity) } th.num scope="col" { (t.unit_price_ht) }
                    th.num scope="col" { (t.vat_rate) } th.num scope="col" { (t.line_total_ht) }
                } }
                tbody { @for line in &order.lines.0 { tr {
                    td { code { (line.reference) } }
                    td { a href={"/admin/products/" (line.product_id)} { (line.name) } }
                    td.num { (line.quantity) }
                    td.num { (admin.money(line.unit_price_ht.amount())) }
                    td.num { (rate(line.vat_rate.percent(), french)) " %" }
                    td.num { (admin.money(line.line_total_ht.amount())) }
                } } }
                tfoot {
                    tr { th scope="row" colspan="5" { (t.total_ht) } td.num #order-total-ht { (admin.money(order.total_ht)) } }
                    @for vat in &order.vat_breakdown.0 {
                        tr {
                            th scope="row" colspan="5" {
                                (fill(t.vat_at, &[("rate", &rate(vat.rate.percent(), french))]))
                                " (" (admin.money(vat.base_ht.amount())) ")"
                            }
                            td.num { (admin.money(vat.vat.amount())) }
                        }
                    }
                    tr { th scope="row" colspan="5" { (t.total_ttc) } td.num #order-total-ttc { strong { (admin.money(order.total_ttc)) } } }
                }
            } }
        }
        (refund_form)
        section.card {
            h2 { (t.timeline) }
            (crate::admin::history::table(t, lang, &timeline, false))
        }
    };
    if errors.is_empty() {
        Ok(admin.page(&title, content).await)
    } else {
        Ok(admin
            .page_with_status(&title, content, StatusCode::UNPROCESSABLE_ENTITY)
            .await)
    }
}

/// The refund form as typed: units per product, the reason, and the credit note's id
/// chosen when the form was shown, so that a form sent twice asks for one credit note.
#[derive(Debug, Default)]
struct RefundValues {
    credit_id: Option<Uuid>,
    units: std::collections::BTreeMap<Uuid, String>,
    reason: String,
}

/// What was wrong with a refund form: per product, for the reason, for the whole form.
#[derive(Debug, Default)]
struct RefundErrors {
    lines: std::collections::BTreeMap<Uuid, String>,
    reason: Option<String>,
    form: Option<String>,
}

impl RefundErrors {
    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.reason.is_none() && self.form.is_none()
    }
}

impl RefundValues {
    /// Reads the posted fields: `credit_id`, `reason` and `units-<product id>`.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut values = RefundValues::default();
        for (name, value) in pairs {
            match name.as_str() {
                "credit_id" => values.credit_id = Uuid::try_parse(value.trim()).ok(),
                "reason" => values.reason = value,
                _ => {
                    if let Some(id) = name
                        .strip_prefix("units-")
                        .and_then(|id| Uuid::try_parse(id).ok())
                    {
                        values.units.insert(id, value);
                    }
                }
            }
        }
        values
    }
}

/// The lines of `order` with units still to refund: (line as invoiced, units left).
async fn refundable(
    state: &AppState,
    order: &OrderRow,
) -> Result<Vec<(OrderLine, u32)>, AdminError> {
    let aggregate = state
        .bus
        .orders
        .load(&order.order_id.to_string())
        .await
        .map_err(|e| AdminError::internal("loading an order", e))?;
    let left = aggregate.lines_left_to_credit();
    Ok(aggregate
        .lines()
        .iter()
        .map(|line| {
            let units = left
                .iter()
                .find(|l| l.product_id == line.product_id)
                .map_or(0, |l| l.quantity);
            (line.clone(), units)
        })
        .collect())
}

/// The refund form, for those who may refund an invoiced order with units left.
async fn refund_section(
    state: &AppState,
    admin: &Admin,
    order: &OrderRow,
    values: &RefundValues,
    errors: &RefundErrors,
) -> Result<Markup, AdminError> {
    if !admin.may(Permission::RefundOrders)
        || order.invoice_number.is_none()
        || !matches!(order.payment_status.as_str(), "paid" | "refunded")
    {
        return Ok(html! {});
    }
    let lines = refundable(state, order).await?;
    if lines.iter().all(|(_, left)| *left == 0) {
        return Ok(html! {});
    }
    let t = admin.t;
    let credit_id = values.credit_id.unwrap_or_else(Uuid::now_v7);
    let reason_error = errors.reason.as_deref();
    Ok(html! {
        section.card #refund {
            h2 { (t.ord_refund) }
            p.hint { (t.ord_refund_hint) }
            @if let Some(error) = &errors.form {
                p.alert.alert-error role="alert" { (error) }
            }
            form method="post" action={"/admin/orders/" (order.order_number) "/refund"} {
                (admin.csrf_field())
                input type="hidden" name="credit_id" value=(credit_id);
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        th scope="col" { (t.reference) } th scope="col" { (t.name) }
                        th.num scope="col" { (t.quantity) } th.num scope="col" { (t.ord_refunded) }
                        th.num scope="col" { (t.ord_refund_units) }
                    } }
                    tbody { @for (line, left) in &lines {
                        @let id = format!("units-{}", line.product_id);
                        @let error = errors.lines.get(&line.product_id);
                        tr {
                            td { code { (line.reference) } }
                            td { label for=(id) { (line.name) } }
                            td.num { (line.quantity) }
                            td.num { (line.quantity - left) }
                            td.num {
                                @if *left > 0 {
                                    div.field.invalid[error.is_some()] {
                                        input #(id) name=(id) type="number" inputmode="numeric" min="0" max=(left) step="1"
                                            value=(values.units.get(&line.product_id).map_or("", String::as_str))
                                            aria-describedby={"err-" (id)} aria-invalid=[error.map(|_| "true")];
                                        p.error #{"err-" (id)} role="alert" { @if let Some(error) = error { (error) } }
                                    }
                                } @else { "—" }
                            }
                        }
                    } }
                } }
                div.field.invalid[reason_error.is_some()] {
                    label for="refund-reason" { (t.ord_refund_reason) }
                    textarea #refund-reason name="reason" rows="2" maxlength="500" required
                        aria-describedby="err-refund-reason" aria-invalid=[reason_error.map(|_| "true")] { (values.reason) }
                    p.error #err-refund-reason role="alert" { @if let Some(error) = reason_error { (error) } }
                }
                button.btn.btn-danger type="submit" { (t.ord_refund_submit) span.spinner aria-hidden="true" {} }
            }
        }
    })
}

/// `POST /admin/orders/{number}/refund`: asks for a credit note of the units typed. The
/// number and the PDF follow from the series and the publisher.
async fn refund(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(number): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    admin.require(Permission::RefundOrders)?;
    let t = admin.t;
    let values = RefundValues::from_pairs(pairs);
    let order = load(&state, &number).await?;
    let lines = refundable(&state, &order).await?;
    let mut errors = RefundErrors::default();
    let mut wanted = Vec::new();
    for (line, left) in &lines {
        let typed = values.units.get(&line.product_id).map_or("", |v| v.trim());
        if typed.is_empty() {
            continue;
        }
        match typed.parse::<u32>() {
            Ok(0) => {}
            Ok(units) if units <= *left => wanted.push(RefundLineInput {
                product_id: line.product_id,
                quantity: units,
            }),
            _ => {
                errors.lines.insert(
                    line.product_id,
                    fill(t.ord_refund_too_many, &[("count", &left.to_string())]),
                );
            }
        }
    }
    if wanted.is_empty() && errors.lines.is_empty() {
        errors.form = Some(t.ord_refund_nothing.to_owned());
    }
    let reason: String = values.reason.trim().chars().take(500).collect();
    if reason.is_empty() {
        errors.reason = Some(t.ord_refund_reason_required.to_owned());
    }
    let Some(credit_id) = values.credit_id else {
        return Err(AdminError::NotFound);
    };
    if !errors.is_empty() {
        return render(&state, &admin, &number, &values, &errors).await;
    }
    let command = OrderCommand::RefundLines {
        credit_id,
        lines: wanted,
        reason,
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let id = order.order_id.to_string();
    match state.bus.orders.execute(&id, command, &metadata).await {
        Ok(()) => {
            settle(&state, "Order", &id).await;
            admin.flash("success", t.ord_refund_done).await;
            Ok(Redirect::to(&format!("/admin/orders/{number}")).into_response())
        }
        // The order changed meanwhile, or a refund made in the provider left less to give
        // back than these lines are worth: the form is shown again, saying so.
        Err(CommandError::Refused(error)) => {
            tracing::info!(%error, order = %number, "refund refused");
            let message = match error {
                aggregates::OrderError::CreditExceedsInvoice { amount, left } => fill(
                    t.ord_refund_exceeds,
                    &[
                        ("amount", &admin.money(amount.amount())),
                        ("left", &admin.money(left.amount())),
                    ],
                ),
                _ => t.order_move_refused.to_owned(),
            };
            let errors = RefundErrors {
                form: Some(message),
                ..RefundErrors::default()
            };
            render(&state, &admin, &number, &values, &errors).await
        }
        Err(error) => Err(AdminError::internal("refunding lines", error)),
    }
}

fn rate(percent: Decimal, french: bool) -> String {
    let text = percent.normalize().to_string();
    if french {
        text.replace('.', ",")
    } else {
        text
    }
}

#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

fn move_dialog(
    admin: &Admin,
    order: &OrderRow,
    action: &str,
    label: &str,
    values: &MoveForm,
    errors: &FieldErrors,
) -> Markup {
    let t = admin.t;
    html! {
        div.confirm {
            h2 { (fill(t.order_move_confirm, &[("action", label), ("number", &order.order_number)])) }
            form method="post" action={"/admin/orders/" (order.order_number) "/move"} {
                (admin.csrf_field())
                input type="hidden" name="action" value=(action);
                @if action == "cancel" {
                    (field("reason", t.order_cancel_reason, None, errors, html! {
                        textarea #reason name="reason" rows="3" maxlength="500" required { (values.reason) }
                    }))
                }
                div.dialog-actions {
                    button class={"btn " @if action == "cancel" { "btn-danger" } @else { "btn-primary" }} type="submit" {
                        (label) span.spinner aria-hidden="true" {}
                    }
                    a.btn.btn-ghost href={"/admin/orders/" (order.order_number)} data-close-dialog { (t.dismiss) }
                }
            }
        }
    }
}

async fn confirm_move(
    State(state): State<AppState>,
    admin: Admin,
    Path(number): Path<String>,
    Query(values): Query<MoveForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ChangeOrderStatus)?;
    let t = admin.t;
    let order = load(&state, &number).await?;
    let Some((action, label)) = moves(t, &order.status)
        .into_iter()
        .find(|(a, _)| *a == values.action)
    else {
        admin.flash("error", t.order_move_refused).await;
        return Ok(Redirect::to(&format!("/admin/orders/{number}")).into_response());
    };
    let body = move_dialog(&admin, &order, action, label, &values, &FieldErrors::new());
    Ok(admin.confirmation(label, body).await)
}

async fn move_order(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(number): Path<String>,
    Form(values): Form<MoveForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ChangeOrderStatus)?;
    let t = admin.t;
    let order = load(&state, &number).await?;
    let back = format!("/admin/orders/{number}");
    let command = match values.action.as_str() {
        "confirm" => OrderCommand::ConfirmOrder,
        "ready" => OrderCommand::MarkReadyForPickup,
        "complete" => OrderCommand::CompleteOrder,
        "cancel" => {
            if values.reason.trim().is_empty() {
                let mut errors = FieldErrors::new();
                errors.insert("reason", t.cancel_reason_required.into());
                let body = move_dialog(&admin, &order, "cancel", t.order_cancel, &values, &errors);
                return Ok(admin
                    .page_with_status(t.order_cancel, body, StatusCode::UNPROCESSABLE_ENTITY)
                    .await);
            }
            OrderCommand::CancelOrder {
                reason: values.reason.trim().chars().take(500).collect(),
            }
        }
        _ => return Err(AdminError::NotFound),
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let id = order.order_id.to_string();
    match state.bus.orders.execute(&id, command, &metadata).await {
        Ok(()) => {
            settle(&state, "Order", &id).await;
            admin.flash("success", t.order_moved).await;
        }
        // The order moved on meanwhile (another staff member, a payment): say so and show
        // where it stands.
        Err(CommandError::Refused(error)) => {
            tracing::info!(%error, order = %number, "order move refused");
            admin.flash("error", t.order_move_refused).await;
        }
        Err(error) => return Err(AdminError::internal("moving an order", error)),
    }
    Ok(Redirect::to(&back).into_response())
}

#[derive(Debug, Deserialize)]
struct PaymentForm {
    means: String,
}

/// Records the payment of a pickup order taken at the counter: the order's total, by cash,
/// card or cheque.
async fn record_payment(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(number): Path<String>,
    Form(form): Form<PaymentForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ChangeOrderStatus)?;
    let t = admin.t;
    let order = load(&state, &number).await?;
    let means = match form.means.as_str() {
        means @ ("cash" | "card" | "cheque") => means,
        _ => return Err(AdminError::NotFound),
    };
    let back = format!("/admin/orders/{number}");
    if order.payment_method != "pickup" {
        admin.flash("error", t.order_move_refused).await;
        return Ok(Redirect::to(&back).into_response());
    }
    let amount = aggregates::Money::new(order.total_ttc)
        .map_err(|e| AdminError::internal("an order's total", e))?;
    let command = OrderCommand::ConfirmPayment {
        provider: "pickup".into(),
        reference: format!("counter-{means}-{number}"),
        amount,
        paid_at: Utc::now(),
        provider_event_id: None,
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let id = order.order_id.to_string();
    match state.bus.orders.execute(&id, command, &metadata).await {
        Ok(()) => {
            settle(&state, "Order", &id).await;
            admin.flash("success", t.payment_recorded).await;
        }
        Err(CommandError::Refused(error)) => {
            tracing::info!(%error, order = %number, "counter payment refused");
            admin.flash("error", t.order_move_refused).await;
        }
        Err(error) => return Err(AdminError::internal("recording a payment", error)),
    }
    Ok(Redirect::to(&back).into_response())
}
