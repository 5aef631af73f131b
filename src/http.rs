//! The HTTP surface: one `router(state)`, each area adding its own routes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::commands::CommandBus;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub bus: Arc<CommandBus>,
    /// Lag (events) above which `/health/ready` reports not ready.
    pub max_lag: i64,
    /// How long an order's stock reservation holds before the sweeper releases it.
    pub reservation_ttl: chrono::Duration,
    /// Where image URLs point (`COMPTOIR_MEDIA_BASE_URL`, default `/media`).
    pub media_base_url: String,
    /// CORS origins, proxy header and rate limits of the public API.
    pub limits: crate::api::limits::ApiLimits,
    /// Catalog answers, valid until the projector applies new events.
    pub read_cache: Arc<crate::api::cache::ReadCache>,
    /// The shop's settings (legal identity, pickup locations, VAT rates, CORS origins).
    pub shop: crate::shop::ShopProfile,
    /// Online payment providers (Stripe when configured).
    pub payments: crate::payments::Payments,
    /// Where product images are stored (local directory or an S3-compatible bucket).
    pub media: crate::media::Media,
    /// Recently verified API keys.
    pub key_cache: Arc<crate::api::cache::KeyCache>,
    /// Staff sessions and cookies.
    pub admin: crate::admin::AdminSettings,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let api = crate::api::router(&state);
    let admin = crate::admin::router(&state);
    Router::new()
        .route("/health", get(health))
        .route("/health/ready", get(ready))
        .merge(api)
        .merge(admin)
        .merge(crate::invoices::router())
        .merge(crate::media::serve::router(state.media.clone()))
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Liveness: the process answers.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every consumer is healthy and caught up.
async fn ready(State(state): State<AppState>) -> Response {
    let check = async {
        let mut conn = state.pool.acquire().await?;
        sqlx::query("select 1").execute(&mut *conn).await?;
        let checkpoints = projections::runtime::checkpoints(&state.pool).await?;
        let mut consumers = Vec::new();
        let mut ok = true;
        for checkpoint in checkpoints {
            let lag = projections::stream::count_after(&mut conn, checkpoint.position()).await?;
            let failed = checkpoint.failed_position.is_some() || checkpoint.failed_error.is_some();
            ok &= !failed && lag <= state.max_lag;
            consumers.push(json!({
                "name": checkpoint.name,
                "position": checkpoint.last_position,
                "lag": lag,
                "failed_position": checkpoint.failed_position,
                "error": checkpoint.failed_error,
            }));
        }
        Ok::<_, sqlx::Error>((ok, consumers))
    };
    match tokio::time::timeout(Duration::from_secs(5), check).await {
        Ok(Ok((ok, consumers))) => {
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = json!({
                "status": if ok { "ready" } else { "degraded" },
                "database": "ok",
                "projections": consumers,
            });
            (status, Json(body)).into_response()
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            unavailable()
        }
        Err(_) => unavailable(),
    }
}

fn unavailable() -> Response {
    let body = json!({ "status": "unavailable", "database": "unavailable" });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
