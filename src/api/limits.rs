//! What protects the public API from its clients: CORS for the configured origins, body
//! and time limits, and per-IP rate limits (tower_governor) keyed on the peer address or,
//! behind a proxy, on the header that proxy sets (and only that one).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Response};
use axum::response::IntoResponse;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::api::error::ApiError;

/// The API's protective settings.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Origins allowed by CORS (`COMPTOIR_CORS_ORIGINS`, comma separated).
    pub cors_origins: Vec<String>,
    /// The header holding the client address set by a trusted proxy
    /// (`COMPTOIR_TRUSTED_PROXY_HEADER`, e.g. `CF-Connecting-IP`); none: the peer address.
    pub trusted_proxy_header: Option<String>,
    /// Requests per minute per client on the whole API (`COMPTOIR_RATE_PER_MINUTE`).
    pub per_minute: u32,
    /// Requests per minute per client for placing orders and posting reviews
    /// (`COMPTOIR_WRITE_RATE_PER_MINUTE`).
    pub writes_per_minute: u32,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            cors_origins: Vec::new(),
            trusted_proxy_header: None,
            per_minute: 100,
            writes_per_minute: 5,
        }
    }
}

impl ApiLimits {
    /// From the environment, with the defaults above.
    pub fn from_env() -> Result<Self, String> {
        let number = |name: &str, default: u32| -> Result<u32, String> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number, not `{v}`")),
                Err(_) => Ok(default),
            }
        };
        Ok(ApiLimits {
            cors_origins: std::env::var("COMPTOIR_CORS_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            trusted_proxy_header: std::env::var("COMPTOIR_TRUSTED_PROXY_HEADER")
                .ok()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
            per_minute: number("COMPTOIR_RATE_PER_MINUTE", 100)?,
            writes_per_minute: number("COMPTOIR_WRITE_RATE_PER_MINUTE", 5)?,
        })
    }

    /// CORS: the origins configured here plus those of the shop's settings (read at each
    /// request, so a change in the admin applies at once), preflight answered, the API's
    /// headers allowed.
    pub fn cors(&self, shop: crate::shop::ShopProfile) -> CorsLayer {
        let configured: Arc<[String]> = self.cors_origins.iter().cloned().collect();
        let allowed = move |origin: &HeaderValue, _: &axum::http::request::Parts| {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            configured.iter().any(|o| o == origin)
                || shop
                    .get()
                    .cors_origins()
                    .iter()
                    .any(|o| o.as_str() == origin)
        };
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(allowed))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(Duration::from_secs(3600))
    }

    /// A per-client limit of `per_minute` requests (bursts up to that many).
    pub fn rate_limit(
        &self,
        per_minute: u32,
    ) -> GovernorLayer<ClientIp, governor::middleware::NoOpMiddleware, axum::body::Body> {
        // At most u32::MAX a minute, so the period is never under a nanosecond.
        let period = Duration::from_nanos(60_000_000_000 / u64::from(per_minute.max(1)));
        let config = GovernorConfigBuilder::default()
            .period(period)
            .burst_size(per_minute.max(1))
            .key_extractor(ClientIp {
                header: self.trusted_proxy_header.clone().map(Arc::from),
            })
            .finish()
            .expect("a positive period and burst always make a configuration");
        forget_idle_clients(Arc::downgrade(config.limiter()));
        GovernorLayer::new(config).error_handler(too_many)
    }
}

/// The limiter keeps a bucket per client address: drop the full ones every minute so
/// memory does not grow with every address ever seen. The thread ends with the limiter.
fn forget_idle_clients<T>(limiter: std::sync::Weak<T>)
where
    T: RetainRecent + Send + Sync + 'static,
{
    let spawned = std::thread::Builder::new()
        .name("rate-limit-gc".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(60));
            match limiter.upgrade() {
                Some(limiter) => limiter.retain_recent(),
                None => return,
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the rate limiter's clean-up");
    }
}

/// What the clean-up needs of a keyed rate limiter.
trait RetainRecent {
    fn retain_recent(&self);
}

impl<M> RetainRecent
    for governor::RateLimiter<
        IpAddr,
        governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
        governor::clock::DefaultClock,
        M,
    >
where
    M: governor::middleware::RateLimitingMiddleware<governor::clock::QuantaInstant>,
{
    fn retain_recent(&self) {
        governor::RateLimiter::retain_recent(self);
    }
}

fn too_many(error: GovernorError) -> Response<axum::body::Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => ApiError::TooManyRequests {
            retry_after: wait_time.max(1),
        }
        .into_response(),
        _ => ApiError::BadRequest("the client address could not be determined".into())
            .into_response(),
    }
}

/// The client's address: the trusted proxy header when configured, else the peer.
#[derive(Debug, Clone)]
pub struct ClientIp {
    header: Option<Arc<str>>,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        if let Some(name) = &self.header {
            if let Some(ip) = request
                .headers()
                .get(name.as_ref())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
            {
                return Ok(ip);
            }
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            // Requests without a socket (router tests) share one bucket.
            .or(Some(IpAddr::from([127, 0, 0, 1])))
            .ok_or(GovernorError::UnableToExtractKey)
    }
}
