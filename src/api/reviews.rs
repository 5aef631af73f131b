//! `POST /api/reviews`: a customer's review, pending until a moderator approves it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use aggregates::metadata::Actor;
use aggregates::review::{ReviewCommand, ReviewError};
use aggregates::services::UniqueKeys;
use aggregates::Email;

use crate::api::auth::StorefrontKey;
use crate::api::error::{ApiError, FieldError};
use crate::api::extract::ApiJson;
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::services::PgUniqueKeys;

/// The review routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/reviews", post(submit))
}

/// The body of `POST /api/reviews`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReview {
    product_id: String,
    customer_name: String,
    customer_email: String,
    #[serde(deserialize_with = "crate::api::extract::whole_number")]
    rating: i64,
    comment: String,
    order_id: Option<String>,
}

/// One review per product and email address.
const SCOPE: &str = "review_author";

async fn submit(
    key: StorefrontKey,
    context: RequestContext,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewReview>,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let mut refuse = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let product_id = Uuid::try_parse(body.product_id.trim()).ok();
    if product_id.is_none() {
        refuse("productId", "must be a product id (a UUID)");
    }
    let order_id = match body
        .order_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => match Uuid::try_parse(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                refuse("orderId", "must be an order id (a UUID)");
                None
            }
        },
    };
    let email = Email::try_from(body.customer_email.as_str()).map_err(|e| e.to_string());
    if let Err(message) = &email {
        refuse("customerEmail", message);
    }
    let name = body.customer_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        refuse("customerName", "must be 1 to 100 characters");
    }
    if !(1..=5).contains(&body.rating) {
        refuse("rating", "must be a whole number from 1 to 5");
    }
    let comment_length = body.comment.trim().chars().count();
    if !(10..=5000).contains(&comment_length) {
        refuse("comment", "must be 10 to 5,000 characters");
    }
    let (Some(product_id), Ok(email), true) = (product_id, email, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    if !crate::api::catalog::is_published(&state, product_id).await? {
        return Err(ApiError::field(
            "productId",
            "no published product has this id",
        ));
    }

    let review_id = Uuid::now_v7();
    let keys = PgUniqueKeys::new(state.pool.clone());
    // Mailboxes are case-insensitive in practice, whatever RFC 5321 allows.
    let author = format!("{product_id}:{}", email.as_str().to_lowercase());
    let claimed = keys
        .claim(SCOPE, &author, review_id)
        .await
        .map_err(|e| ApiError::Internal(e.0))?;
    if !claimed {
        return Err(ApiError::Conflict(
            "this email address has already reviewed this product".into(),
        ));
    }
    let command = ReviewCommand::SubmitReview {
        review_id,
        product_id,
        order_id,
        customer_name: name.to_owned(),
        customer_email: email,
        rating: body.rating as u8,
        comment: body.comment.trim().to_owned(),
        submitted_at: Utc::now(),
    };
    let metadata = context.metadata(Actor::ApiKey(key.key_id));
    if let Err(error) = state
        .bus
        .reviews
        .execute(&review_id.to_string(), command, &metadata)
        .await
    {
        let _ = keys.release(SCOPE, &author, review_id).await;
        return Err(match error {
            CommandError::Refused(ReviewError::Service(e)) => ApiError::Internal(e.0),
            CommandError::Refused(refusal) => ApiError::Unprocessable(refusal.to_string()),
            CommandError::Conflict { .. } => ApiError::Conflict(error.to_string()),
            CommandError::Store(message) => ApiError::Internal(message),
        });
    }
    let review = state
        .bus
        .reviews
        .load(&review_id.to_string())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = serde_json::json!({
        "id": review_id,
        "status": "pending",
        "verifiedPurchase": review.is_verified_purchase(),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
