//! Review moderation: the queue (pending first) with filters by status and product, a
//! review's page to approve it, reject it with feedback, or answer it publicly, and a
//! product's reviews with their average rating. Reads the `reviews` view; writes through
//! the Review aggregate.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use maud::html;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use aggregates::staff::Permission;
use aggregates::{ReviewCommand, ReviewError};

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{local_time, pagination, Admin};
use crate::admin::{field, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;

const PAGE_SIZE: i64 = 25;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/reviews", get(list))
        .route("/admin/reviews/{id}", get(detail))
        .route("/admin/reviews/{id}/approve", post(approve))
        .route("/admin/reviews/{id}/reject", post(reject))
        .route("/admin/reviews/{id}/respond", post(respond))
}

fn status_label(t: &Texts, status: &str) -> &'static str {
    match status {
        "approved" => t.review_status_approved,
        "rejected" => t.review_status_rejected,
        _ => t.review_status_pending,
    }
}

fn stars(rating: i32) -> String {
    let rating = rating.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(rating), "☆".repeat(5 - rating))
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ReviewRow {
    review_id: Uuid,
    product_id: Uuid,
    product: Option<String>,
    verified_purchase: bool,
    customer_name: String,
    customer_email: String,
    rating: i32,
    comment: String,
    status: String,
    feedback: Option<String>,
    response: Option<String>,
    submitted_at: DateTime<Utc>,
}

const COLUMNS: &str = "r.review_id, r.product_id, p.name as product, r.verified_purchase,
    r.customer_name, r.customer_email, r.rating, r.comment, r.status, r.feedback, r.response,
    r.submitted_at";

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    product: Option<String>,
    page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewReviews)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let status = query
        .status
        .as_deref()
        .filter(|s| matches!(*s, "pending" | "approved" | "rejected"));
    let product = query
        .product
        .as_deref()
        .and_then(|p| p.parse::<Uuid>().ok());
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "select {COLUMNS}, count(*) over () as total
           from reviews r left join admin_products p using (product_id) where true"
    ));
    if let Some(status) = status {
        sql.push(" and r.status = ").push_bind(status.to_owned());
    }
    if let Some(product) = product {
        sql.push(" and r.product_id = ").push_bind(product);
    }
    // The queue: what waits for moderation first, oldest first; then the rest, newest first.
    sql.push(
        " order by (r.status = 'pending') desc,
                   case when r.status = 'pending' then r.submitted_at end asc,
                   r.submitted_at desc
          limit ",
    )
    .push_bind(PAGE_SIZE)
    .push(" offset ")
    .push_bind((page - 1) * PAGE_SIZE);
    let rows: Vec<ReviewRowWithTotal> = sql.build_query_as().fetch_all(&state.pool).await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let products: Vec<(Uuid, String)> = sqlx::query_as(
        "select distinct r.product_id, p.name from reviews r
           join admin_products p using (product_id) order by p.name",
    )
    .fetch_all(&state.pool)
    .await?;
    let average = match product {
        Some(product) => Some(
            sqlx::query_as::<_, (Option<Decimal>, i64)>(
                "select round(avg(rating)::numeric, 1), count(*) from reviews
                  where product_id = $1 and status = 'approved'",
            )
            .bind(product)
            .fetch_one(&state.pool)
            .await?,
        ),
        None => None,
    };
    let link = |page: i64| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(status) = status {
            pairs.push(("status", status.to_owned()));
        }
        if let Some(product) = product {
            pairs.push(("product", product.to_string()));
        }
        pairs.push(("page", page.to_string()));
        format!(
            "/admin/reviews?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let content = html! {
        div.page-header { h1 { (t.reviews_title) } }
        form.filters method="get" action="/admin/reviews" {
            label for="f-status" { (t.status) }
            select #f-status name="status" {
                option value="" { (t.all) }
                @for value in ["pending", "approved", "rejected"] {
                    option value=(value) selected[status == Some(value)] { (status_label(t, value)) }
                }
            }
            label for="f-product" { (t.product) }
            select #f-product name="product" {
                option value="" { (t.all_products) }
                @for (id, name) in &products {
                    option value=(id) selected[product == Some(*id)] { (name) }
                }
            }
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/reviews" { (t.reset) }
        }
        @if let Some((average, count)) = average {
            p.stat-line #average-rating {
                (fill(t.average_rating, &[
                    ("average", &average.map(|a| if french { a.to_string().replace('.', ",") } else { a.to_string() }).unwrap_or_else(|| t.none.to_owned())),
                    ("count", &count.to_string()),
                ]))
            }
        }
        @if rows.is_empty() { p.empty { (t.no_reviews_match) } } @else {
            div.table-wrap tabindex="0" { table.data {
                thead { tr {
                    th scope="col" { (t.product) } th scope="col" { (t.customer) }
                    th scope="col" { (t.rating) } th scope="col" { (t.comment) }
                    th scope="col" { (t.status) } th scope="col" { (t.submitted_at) }
                } }
                tbody { @for row in &rows { tr {
                    td { a href={"/admin/reviews?product=" (row.review.product_id)} { (row.review.product.as_deref().unwrap_or(t.none)) } }
                    td {
                        // The review's page is also reached from here: on a phone the
                        // comment column is off-screen.
                        a href={"/admin/reviews/" (row.review.review_id)} { (row.review.customer_name) }
                        @if row.review.verified_purchase { " " span.badge.badge-ok { (t.review_verified) } }
                    }
                    td { span aria-label={(row.review.rating) "/5"} { (stars(row.review.rating)) } }
                    td { a href={"/admin/reviews/" (row.review.review_id)} { (crate::admin::dashboard::excerpt(&row.review.comment, 80)) } }
                    td { span class={"badge badge-" (if row.review.status == "approved" { "published" } else if row.review.status == "rejected" { "danger" } else { "pending" })} { (status_label(t, &row.review.status)) } }
                    td { (local_time(&row.review.submitted_at, french)) }
                } } }
            } }
        }
        (pagination(t, page, pages, link))
    };
    Ok(admin.page(t.reviews_title, content).await)
}

#[derive(Debug, sqlx::FromRow)]
struct ReviewRowWithTotal {
    #[sqlx(flatten)]
    review: ReviewRow,
    total: i64,
}

async fn load(state: &AppState, id: Uuid) -> Result<ReviewRow, AdminError> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from reviews r left join admin_products p using (product_id)
          where r.review_id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
struct ModerationForm {
    #[serde(default)]
    feedback: String,
    #[serde(default)]
    response: String,
}

async fn detail(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewReviews)?;
    let row = load(&state, id).await?;
    let values = ModerationForm {
        feedback: row.feedback.clone().unwrap_or_default(),
        response: row.response.clone().unwrap_or_default(),
    };
    render_detail(&admin, &row, &values, &FieldErrors::new(), StatusCode::OK).await
}

async fn render_detail(
    admin: &Admin,
    row: &ReviewRow,
    values: &ModerationForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let base = format!("/admin/reviews/{}", row.review_id);
    let title = fill(t.review_title, &[("name", &row.customer_name)]);
    let moderate = admin.may(Permission::ModerateReviews);
    let content = html! {
        div.page-header {
            div {
                h1 { (title) }
                p.muted {
                    a href={"/admin/reviews?product=" (row.product_id)} { (row.product.as_deref().unwrap_or(t.none)) }
                    " · " span class={"badge badge-" (if row.status == "approved" { "published" } else if row.status == "rejected" { "danger" } else { "pending" })} { (status_label(t, &row.status)) }
                    @if row.verified_purchase { " · " span.badge.badge-ok { (t.review_verified) } }
                }
            }
            div.page-actions { a.btn.btn-ghost href="/admin/reviews" { (t.back) } }
        }
        section.card {
            p.review-rating aria-label={(row.rating) "/5"} { (stars(row.rating)) " " (row.rating) "/5" }
            blockquote.review-comment { (row.comment) }
            p.muted {
                (row.customer_name) " · " (row.customer_email) " · "
                (local_time(&row.submitted_at, french))
            }
            @if let Some(feedback) = &row.feedback {
                h2 { (t.review_feedback_shown) } p { (feedback) }
            }
            @if let Some(response) = &row.response {
                h2 { (t.review_response_shown) } p { (response) }
            }
        }
        @if moderate {
            div.grid-2 {
                section.card {
                    @if row.status != "approved" {
                        form method="post" action={(base) "/approve"} {
                            (admin.csrf_field())
                            button.btn.btn-primary type="submit" { (t.approve) span.spinner aria-hidden="true" {} }
                        }
                    }
                    form method="post" action={(base) "/reject"} {
                        (admin.csrf_field())
                        (field("feedback", t.review_feedback, Some(t.review_feedback_hint), errors, html! {
                            textarea #feedback name="feedback" rows="3" maxlength="5000" required
                                aria-describedby="feedback-hint" { (values.feedback) }
                        }))
                        button.btn.btn-danger type="submit" { (t.reject) span.spinner aria-hidden="true" {} }
                    }
                }
                section.card {
                    form method="post" action={(base) "/respond"} {
                        (admin.csrf_field())
                        (field("response", t.review_response, Some(t.review_response_hint), errors, html! {
                            textarea #response name="response" rows="4" maxlength="5000" required
                                aria-describedby="response-hint" { (values.response) }
                        }))
                        button.btn type="submit" { (t.respond) span.spinner aria-hidden="true" {} }
                    }
                }
            }
        }
    };
    Ok(admin.page_with_status(&title, content, status).await)
}

/// Runs a moderation command; a refusal about a field is shown next to it.
async fn moderate(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    id: Uuid,
    command: ReviewCommand,
    values: &ModerationForm,
    done: &str,
) -> Result<Response, AdminError> {
    admin.require(Permission::ModerateReviews)?;
    let t = admin.t;
    let row = load(state, id).await?;
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .reviews
        .execute(&id.to_string(), command, &metadata)
        .await
    {
        Ok(()) => {
            settle(state, "Review", &id.to_string()).await;
            admin.flash("success", done).await;
            Ok(Redirect::to(&format!("/admin/reviews/{id}")).into_response())
        }
        Err(CommandError::Refused(error)) => {
            let mut errors = FieldErrors::new();
            match error {
                ReviewError::FeedbackRequired => {
                    errors.insert("feedback", t.feedback_required.into())
                }
                ReviewError::ResponseRequired => {
                    errors.insert("response", t.response_required.into())
                }
                ReviewError::ResponseTooLong => {
                    errors.insert("response", fill(t.field_too_long, &[("max", "5000")]))
                }
                ReviewError::NotFound => return Err(AdminError::NotFound),
                other => return Err(AdminError::internal("moderating a review", other)),
            };
            render_detail(
                admin,
                &row,
                values,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(AdminError::internal("moderating a review", error)),
    }
}

async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    let values = ModerationForm::default();
    let done = admin.t.review_approved;
    moderate(
        &state,
        &admin,
        &context,
        id,
        ReviewCommand::ApproveReview,
        &values,
        done,
    )
    .await
}

async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(values): Form<ModerationForm>,
) -> Result<Response, AdminError> {
    let command = ReviewCommand::RejectReview {
        feedback: values.feedback.clone(),
    };
    let done = admin.t.review_rejected;
    moderate(&state, &admin, &context, id, command, &values, done).await
}

async fn respond(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(values): Form<ModerationForm>,
) -> Result<Response, AdminError> {
    let command = ReviewCommand::RespondToReview {
        response: values.response.clone(),
        responded_at: Utc::now(),
    };
    let done = admin.t.review_responded;
    moderate(&state, &admin, &context, id, command, &values, done).await
}
