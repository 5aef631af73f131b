//! The HTTP surface: one `router(state)`, each area adding its own routes, and around them
//! what every answer shares: security headers, a request timeout, body limits, the request
//! id, tracing and metrics. [`serve`] runs it with a header read timeout on each connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::commands::CommandBus;
use crate::config::Secret;

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

/// Largest body any route reads unless it sets its own limit: no admin form or JSON
/// document of the shop comes near it. The API sets 64 KiB, image uploads their own.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The policy of every answer but the admin's pages (which set their own, stricter about
/// what they load and opened to the image bucket): JSON, images and PDFs load nothing and
/// may not be framed.
pub const DEFAULT_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Browser features nothing in the shop uses, denied to every page.
pub const PERMISSIONS_POLICY: &str =
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

/// Two years, subdomains included (the value hstspreload.org asks for, without `preload`,
/// which is a decision for the shop's owner).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// How the HTTP layer protects itself (`Debug` redacts the token).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Longest time to answer a request's head (`COMPTOIR_REQUEST_TIMEOUT_SECONDS`,
    /// default 30). Reading the request body counts (an upload must arrive within it);
    /// streaming the answer's body does not (long exports are not cut).
    pub request_timeout: Duration,
    /// Longest time a client may take to send a request's headers on an HTTP/1 connection
    /// (slow-loris protection), 10 s.
    pub header_read_timeout: Duration,
    /// The bearer token `/metrics` asks for (`COMPTOIR_METRICS_TOKEN`); without one the
    /// route does not exist (404).
    pub metrics_token: Option<Secret>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            metrics_token: None,
        }
    }
}

impl HttpSettings {
    /// From the environment, with the defaults above.
    pub fn from_env() -> Result<HttpSettings, String> {
        let request_timeout = match std::env::var("COMPTOIR_REQUEST_TIMEOUT_SECONDS") {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!("COMPTOIR_REQUEST_TIMEOUT_SECONDS must be 1 to 3600 seconds, not `{v}`")
                })?,
            Err(_) => HttpSettings::default().request_timeout,
        };
        let metrics_token = match std::env::var("COMPTOIR_METRICS_TOKEN") {
            Ok(token) => {
                let token = token.trim().to_owned();
                // Guessable tokens would open the route to anyone who tries a few.
                if token.len() < 16 {
                    return Err(
                        "COMPTOIR_METRICS_TOKEN must be at least 16 characters (a random string)"
                            .into(),
                    );
                }
                Some(Secret(token))
            }
            Err(_) => None,
        };
        Ok(HttpSettings {
            request_timeout,
            metrics_token,
            ..HttpSettings::default()
        })
    }
}

/// The whole application, with the default [`HttpSettings`] (no `/metrics`).
pub fn router(state: AppState) -> Router {
    router_with(state, &HttpSettings::default())
}

/// The whole application.
pub fn router_with(state: AppState, settings: &HttpSettings) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = crate::api::router(&state);
    // Staff pages hold customers' data: no cache keeps them, error pages and redirects
    // included (the admin's static files say otherwise, and keep their value).
    let admin = crate::admin::router(&state).layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    let hsts = Hsts::of(&state);
    let mut app = Router::new()
        .route("/health", get(health))
        .route("/health/ready", get(ready));
    if let Some(token) = settings.metrics_token.clone() {
        app = app.route(
            "/metrics",
            get(
                move |state: State<AppState>, headers: axum::http::HeaderMap| {
                    crate::metrics::scrape(state, headers, token.clone())
                },
            ),
        );
    }
    let app = app
        .merge(api)
        .merge(admin)
        .merge(crate::invoices::router())
        .merge(crate::media::serve::router(state.media.clone()))
        // Every extractor reads at most this much unless its route says otherwise (the
        // API, image uploads: their layers are inner, so they win). No outer hard cap on
        // top: it would cut streamed uploads before the routes' own limits, whose refusals
        // name the limit (the admin's page, the API's problem+json), and a route that
        // reads no body holds none.
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        // 503 rather than 408: the usual cause is the server (a slow query), and browsers
        // silently resend a request answered 408.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
        ))
        // Outside the limits above, so timeouts and refusals are counted too.
        .layer(middleware::from_fn(crate::metrics::track))
        .with_state(state);
    security_headers(app, hsts)
        .layer(
            TraceLayer::new_for_http()
                // The path only: queries carry signed links' signatures and customers'
                // tokens. No header is recorded.
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
                })
                // One access line per request (status and latency), in the request's span.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// When answers carry `Strict-Transport-Security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hsts {
    /// The shop's public address is `https://`: always.
    Always,
    /// A proxy is trusted (`COMPTOIR_TRUSTED_PROXY_HEADER`): when it says the request came
    /// over HTTPS (`X-Forwarded-Proto: https`).
    ForwardedHttps,
    /// Plain HTTP as far as we know: never (browsers ignore it there anyway, and a local
    /// shop must stay reachable over http://).
    Never,
}

impl Hsts {
    fn of(state: &AppState) -> Hsts {
        if state
            .admin
            .public_origin
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
        {
            Hsts::Always
        } else if state.limits.trusted_proxy_header.is_some() {
            Hsts::ForwardedHttps
        } else {
            Hsts::Never
        }
    }
}

/// The headers every answer carries, each only when the answer did not set its own (the
/// admin's CSP, the invoices' referrer policy win).
fn security_headers(app: Router, hsts: Hsts) -> Router {
    let app = match hsts {
        Hsts::Always => app.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )),
        Hsts::ForwardedHttps => app.layer(middleware::from_fn(hsts_behind_proxy)),
        Hsts::Never => app,
    };
    [
        (header::CONTENT_SECURITY_POLICY, DEFAULT_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
    ]
    .into_iter()
    .fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

async fn hsts_behind_proxy(request: Request, next: Next) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        // A chain of proxies lists each hop's protocol; the client's is the first.
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if https
        && !response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish
/// (60 s at most). Unlike `axum::serve`, which gives hyper no timer, every HTTP/1
/// connection gets [`HttpSettings::header_read_timeout`]: a client trickling its headers
/// is dropped instead of holding a connection and its task.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    settings: &HttpSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, mostly: wait rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(service) = tower::Service::call(&mut make_service, peer).await;
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(60), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 60 s: closed");
    }
    Ok(())
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
