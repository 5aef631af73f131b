//! The dashboard: revenue, what needs doing, the latest orders and reviews, all read from
//! projections (`orders`, `admin_products`, `reviews`). Each block shows only if the role
//! may see it.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use maud::html;
use rust_decimal::Decimal;

use aggregates::staff::Permission;

use crate::admin::chart;
use crate::admin::error::AdminError;
use crate::admin::i18n::Texts;
use crate::admin::layout::Admin;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

/// The shop's calendar: days start at midnight in Paris.
pub const SHOP_TIME_ZONE: &str = "Europe/Paris";

/// The label of an order status.
pub fn order_status_label(t: &Texts, status: &str) -> String {
    match status {
        "pending" => t.order_status_pending,
        "confirmed" => t.order_status_confirmed,
        "ready_for_pickup" => t.order_status_ready_for_pickup,
        "completed" => t.order_status_completed,
        "cancelled" => t.order_status_cancelled,
        other => return other.to_owned(),
    }
    .to_owned()
}

/// Revenue (TTC, HT) over the last day, 7 days, 30 days.
struct Revenue {
    today: (Decimal, Decimal),
    week: (Decimal, Decimal),
    month: (Decimal, Decimal),
}

#[derive(sqlx::FromRow)]
struct LatestOrder {
    order_number: String,
    customer_name: String,
    total_ttc: Decimal,
    status: String,
    placed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PendingReview {
    review_id: uuid::Uuid,
    product: Option<String>,
    customer_name: String,
    rating: i32,
    comment: String,
    submitted_at: DateTime<Utc>,
}

async fn dashboard(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    let t = admin.t;
    let french = admin.lang == crate::admin::i18n::Lang::Fr;
    let pool = &state.pool;
    let revenue_block = if admin.may(Permission::ViewRevenue) {
        // Revenue counts every order not cancelled, by the day it was placed, in Paris:
        // one pass over the last 31 days gives each day's TTC and HT; the totals are sums
        // of those 30 days.
        let days: Vec<(NaiveDate, Decimal, Decimal)> = sqlx::query_as(
            "with today as materialized (select (now() at time zone $1)::date as d),
             placed as (
                 select (placed_at at time zone $1)::date as day, total_ttc, total_ht
                   from orders
                  where status <> 'cancelled' and placed_at >= now() - interval '31 days'
             )
             select g.day::date, coalesce(sum(p.total_ttc), 0), coalesce(sum(p.total_ht), 0)
               from today
              cross join generate_series(today.d - 29, today.d, interval '1 day') as g(day)
               left join placed p on p.day = g.day::date
              group by g.day order by g.day",
        )
        .bind(SHOP_TIME_ZONE)
        .fetch_all(pool)
        .await?;
        let total = |last: usize| {
            days.iter()
                .rev()
                .take(last)
                .fold((Decimal::ZERO, Decimal::ZERO), |(ttc, ht), (_, t, h)| {
                    (ttc + t, ht + h)
                })
        };
        let revenue = Revenue {
            today: total(1),
            week: total(7),
            month: total(30),
        };
        let chart_days: Vec<(NaiveDate, Decimal)> =
            days.iter().map(|(day, ttc, _)| (*day, *ttc)).collect();
        let money = |v: Decimal| admin.money(v);
        let stat = |label: &str, ttc: Decimal, ht: Decimal| {
            html! {
                div.stat {
                    div.stat-label { (label) }
                    div.stat-value { (money(ttc)) " " small { (t.ttc) } }
                    div.stat-sub { (money(ht)) " " (t.ht) }
                }
            }
        };
        Some(html! {
            section.stats aria-label=(t.revenue_chart) {
                (stat(t.revenue_today, revenue.today.0, revenue.today.1))
                (stat(t.revenue_7, revenue.week.0, revenue.week.1))
                (stat(t.revenue_30, revenue.month.0, revenue.month.1))
            }
            section.card {
                h2 { (t.revenue_chart) }
                (chart::revenue(&chart_days, t.revenue_chart, t.revenue_chart_caption, french, admin.currency.symbol()))
            }
        })
    } else {
        None
    };
    let pending_orders: i64 = sqlx::query_scalar(
        "select count(*) from orders where status in ('pending', 'confirmed', 'ready_for_pickup')",
    )
    .fetch_one(pool)
    .await?;
    let out_of_stock: Option<i64> = if admin.may(Permission::ViewCatalog) {
        Some(
            sqlx::query_scalar(
                "select count(*) from admin_products where status <> 'archived' and available <= 0",
            )
            .fetch_one(pool)
            .await?,
        )
    } else {
        None
    };
    let reviews: Option<(i64, Vec<PendingReview>)> = if admin.may(Permission::ViewReviews) {
        let count: i64 =
            sqlx::query_scalar("select count(*) from reviews where status = 'pending'")
                .fetch_one(pool)
                .await?;
        let list: Vec<PendingReview> = sqlx::query_as(
            "select r.review_id, p.name as product, r.customer_name, r.rating, r.comment, r.submitted_at
               from reviews r left join admin_products p using (product_id)
              where r.status = 'pending' order by r.submitted_at limit 10",
        )
        .fetch_all(pool)
        .await?;
        Some((count, list))
    } else {
        None
    };
    let latest: Vec<LatestOrder> = sqlx::query_as(
        "select order_number, customer_name, total_ttc, status, placed_at
           from orders order by placed_at desc limit 10",
    )
    .fetch_all(pool)
    .await?;
    let when = |at: &DateTime<Utc>| crate::admin::layout::local_time(at, french);
    let content = html! {
        div.page-header { h1 { (t.dashboard_title) } }
        @if let Some(block) = revenue_block { (block) }
        section.stats {
            div.stat { div.stat-label { (t.orders_pending) } div.stat-value { (pending_orders) } }
            @if let Some(count) = out_of_stock {
                div.stat { div.stat-label { (t.out_of_stock_count) }
                    div.stat-value { a href="/admin/products?stock=out" { (count) } } }
            }
            @if let Some((count, _)) = &reviews {
                div.stat { div.stat-label { (t.reviews_pending) }
                    div.stat-value { a href="/admin/reviews?status=pending" { (count) } } }
            }
        }
        div.grid-2 {
            section.card {
                h2 { (t.latest_orders) }
                @if latest.is_empty() { p.empty { (t.no_orders) } } @else {
                    div.table-wrap tabindex="0" { table.data {
                        thead { tr { th scope="col" { (t.order_number) } th scope="col" { (t.customer) }
                            th scope="col" { (t.status) } th.num scope="col" { (t.total_ttc) } th scope="col" { (t.placed_at) } } }
                        tbody { @for order in &latest { tr {
                            td { a href={"/admin/orders/" (order.order_number)} { (order.order_number) } }
                            td { (order.customer_name) }
                            td { span class={"badge badge-" (order.status)} { (order_status_label(t, &order.status)) } }
                            td.num { (admin.money(order.total_ttc)) }
                            td { (when(&order.placed_at)) }
                        } } }
                    } }
                }
            }
            @if let Some((_, list)) = &reviews {
                section.card {
                    h2 { (t.reviews_awaiting) }
                    @if list.is_empty() { p.empty { (t.no_reviews) } } @else {
                        div.table-wrap tabindex="0" { table.data {
                            thead { tr { th scope="col" { (t.product) } th scope="col" { (t.customer) }
                                th.num scope="col" { (t.rating) } th scope="col" { (t.comment) } th scope="col" { (t.submitted_at) } } }
                            tbody { @for review in list { tr {
                                td { (review.product.as_deref().unwrap_or(t.none)) }
                                td { (review.customer_name) }
                                td.num { (review.rating) "/5" }
                                td { a href={"/admin/reviews/" (review.review_id)} { (excerpt(&review.comment, 60)) } }
                                td { (when(&review.submitted_at)) }
                            } } }
                        } }
                    }
                }
            }
        }
    };
    Ok(admin.page(t.dashboard_title, content).await)
}

/// The first `max` characters of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}
