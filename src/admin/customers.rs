//! Customers, read only: found by email or name among the orders and reviews, each with
//! their orders and reviews. The shop keeps no customer accounts; a customer is an email
//! address that placed orders or wrote reviews.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use maud::html;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use aggregates::staff::Permission;

use crate::admin::dashboard::{excerpt, order_status_label};
use crate::admin::error::AdminError;
use crate::admin::i18n::Lang;
use crate::admin::layout::{local_time, Admin};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/customers", get(customers))
}

#[derive(Debug, Default, Deserialize)]
struct CustomerQuery {
    /// Search among customers.
    q: Option<String>,
    /// One customer, by address.
    email: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct CustomerRow {
    customer_email: String,
    customer_name: String,
    orders: i64,
    spent: Decimal,
    last_order: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    order_number: String,
    status: String,
    total_ttc: Decimal,
    placed_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct ReviewRow {
    review_id: Uuid,
    product: Option<String>,
    rating: i32,
    comment: String,
    status: String,
    submitted_at: DateTime<Utc>,
}

async fn customers(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<CustomerQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewCustomers)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let euros = |v: Decimal| admin.money(v);
    let q = query.q.as_deref().map(str::trim).unwrap_or("");
    let pattern = crate::admin::contains_pattern(q);
    let found: Vec<CustomerRow> = sqlx::query_as(
        "select customer_email, max(customer_name) as customer_name, count(*) as orders,
                coalesce(sum(total_ttc) filter (where status <> 'cancelled'), 0) as spent,
                max(placed_at) as last_order
           from orders
          where $1 = '%%' or customer_email ilike $1 or customer_name ilike $1
          group by customer_email order by max(placed_at) desc limit 50",
    )
    .bind(&pattern)
    .fetch_all(&state.pool)
    .await?;
    let selected = match query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(email) => {
            let orders: Vec<OrderRow> = sqlx::query_as(
                "select order_number, status, total_ttc, placed_at from orders
                  where lower(customer_email) = lower($1) order by placed_at desc",
            )
            .bind(email)
            .fetch_all(&state.pool)
            .await?;
            let reviews: Vec<ReviewRow> = sqlx::query_as(
                "select r.review_id, p.name as product, r.rating, r.comment, r.status,
                        r.submitted_at
                   from reviews r left join admin_products p using (product_id)
                  where lower(r.customer_email) = lower($1) order by r.submitted_at desc",
            )
            .bind(email)
            .fetch_all(&state.pool)
            .await?;
            Some((email.to_owned(), orders, reviews))
        }
        None => None,
    };
    let content = html! {
        div.page-header { h1 { (t.customers_title) } }
        form.filters method="get" action="/admin/customers" role="search" {
            label for="q" { (t.search) }
            input #q type="search" name="q" value=(q) placeholder=(t.customer_search);
            button.btn type="submit" { (t.search) span.spinner aria-hidden="true" {} }
        }
        @if let Some((email, orders, reviews)) = &selected {
            section.card #customer {
                h2 { (email) }
                @if orders.is_empty() && reviews.is_empty() { p.empty { (t.customer_not_found) } }
                @if !orders.is_empty() {
                    h3 { (t.customer_orders) }
                    div.table-wrap tabindex="0" { table.data {
                        thead { tr { th scope="col" { (t.order_number) } th scope="col" { (t.status) }
                            th.num scope="col" { (t.total_ttc) } th scope="col" { (t.placed_at) } } }
                        tbody { @for order in orders { tr {
                            td { a href={"/admin/orders/" (order.order_number)} { (order.order_number) } }
                            td { span class={"badge badge-" (order.status)} { (order_status_label(t, &order.status)) } }
                            td.num { (euros(order.total_ttc)) }
                            td { (local_time(&order.placed_at, french)) }
                        } } }
                    } }
                }
                @if !reviews.is_empty() {
                    h3 { (t.customer_reviews) }
                    ul {
                        @for review in reviews {
                            li {
                                @if admin.may(Permission::ViewReviews) {
                                    a href={"/admin/reviews/" (review.review_id)} { (review.product.as_deref().unwrap_or(t.none)) }
                                } @else { (review.product.as_deref().unwrap_or(t.none)) }
                                " · " (review.rating) "/5 · " (excerpt(&review.comment, 100))
                                " · " span.muted { (review.status) " · " (local_time(&review.submitted_at, french)) }
                            }
                        }
                    }
                }
            }
        }
        @if found.is_empty() { p.empty { (t.no_customers) } } @else {
            section.card {
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        th scope="col" { (t.customer) } th scope="col" { (t.staff_email) }
                        th.num scope="col" { (t.orders_label) } th.num scope="col" { (t.orders_total) }
                        th scope="col" { (t.last_order) }
                    } }
                    tbody { @for row in &found { tr {
                        td { (row.customer_name) }
                        td { a href={"/admin/customers?email=" (crate::admin::error::urlencode(&row.customer_email))} { (row.customer_email) } }
                        td.num { (row.orders) }
                        td.num { (euros(row.spent)) }
                        td { (local_time(&row.last_order, french)) }
                    } } }
                } }
            }
        }
    };
    Ok(admin.page(t.customers_title, content).await)
}
