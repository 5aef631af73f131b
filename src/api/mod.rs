//! The public JSON API the storefront reads and writes. Everything it reads comes from
//! projections; everything it writes is a command.

pub mod auth;
pub mod cache;
pub mod catalog;
pub mod error;
pub mod extract;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod orders;
pub mod reviews;
pub mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, post};
use axum::Router;

use crate::api::error::ApiError;
use crate::http::AppState;

/// Largest body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The API's routes with their protections.
pub fn router(state: &AppState) -> Router<AppState> {
    let limits = &state.limits;
    let writes = Router::new()
        .merge(orders::router())
        .merge(reviews::router())
        .route_layer(limits.rate_limit(limits.writes_per_minute));
    Router::new()
        .merge(catalog::router())
        .merge(writes)
        .merge(openapi::router())
        .route("/api/{*rest}", any(|| async { ApiError::NotFound }))
        .layer(limits.rate_limit(limits.per_minute))
        // Outside the storefront's per-client limit: Stripe sends from a few addresses, in
        // bursts, and every notification is authenticated by its signature first.
        .route("/api/webhooks/payment", post(webhooks::payment))
        .route("/api/webhooks/stripe", post(webhooks::payment))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(limits.cors(state.shop.clone()))
}
