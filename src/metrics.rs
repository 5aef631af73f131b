//! `/metrics` in the OpenMetrics text format, which Prometheus scrapes natively: HTTP
//! requests and latency per route, commands and concurrency conflicts per aggregate,
//! refusals by the rate limits, and, computed at each scrape from the database, the lag of
//! every projection and the email outbox's backlog.
//!
//! Counters live for the process (one registry, like the tracing subscriber); gauges that
//! describe the database are read when scraped, so two servers on one database report the
//! same lag and nothing goes stale between scrapes.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::{encode, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::http::AppState;

/// What the scraper is answered with.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: a catalog read takes a millisecond, a sign-in (Argon2)
/// a few hundred, an export several seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// The route's pattern (`/api/products/{slug}`), never the path itself, so the number
    /// of series stays bounded whatever clients ask for.
    route: String,
    method: &'static str,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    aggregate: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AggregateLabels {
    aggregate: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

type LatencyFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The process's counters and histograms.
struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: LatencyFamily,
    rate_limited: Family<RouteLabels, Counter>,
    commands: Family<CommandLabels, Counter>,
    conflicts: Family<AggregateLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("comptoir");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status class",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time until the answer's head was ready (a streamed body is not counted)",
            latency.clone(),
        );
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 by a rate limit, by route pattern",
            rate_limited.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register(
            "commands",
            "Commands executed, by aggregate and outcome (ok, refused, conflict, error)",
            commands.clone(),
        );
        let conflicts = Family::<AggregateLabels, Counter>::default();
        registry.register(
            "command_conflicts",
            "Optimistic-concurrency conflicts met (each one retried, up to the bound)",
            conflicts.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            commands,
            conflicts,
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// How a command ended, for [`command_executed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Events written.
    Ok,
    /// The aggregate said no (a rule of the domain).
    Refused,
    /// Still conflicting after every retry.
    Conflict,
    /// The store failed.
    Error,
}

impl CommandOutcome {
    fn label(self) -> &'static str {
        match self {
            CommandOutcome::Ok => "ok",
            CommandOutcome::Refused => "refused",
            CommandOutcome::Conflict => "conflict",
            CommandOutcome::Error => "error",
        }
    }
}

/// Counts one command on `aggregate` (its `Aggregate::TYPE`).
pub fn command_executed(aggregate: &'static str, outcome: CommandOutcome) {
    METRICS
        .commands
        .get_or_create(&CommandLabels {
            aggregate,
            outcome: outcome.label(),
        })
        .inc();
}

/// Counts one optimistic-concurrency conflict on `aggregate`, retried or not.
pub fn conflict(aggregate: &'static str) {
    METRICS
        .conflicts
        .get_or_create(&AggregateLabels { aggregate })
        .inc();
}

fn method_label(method: &Method) -> &'static str {
    // Extension methods are any token a client likes: one label for all of them.
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware (added with `Router::layer`, so the route's pattern is known): counts and
/// times every answer, timeouts and body-limit refusals included, and the 429s of the
/// rate limits.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        // No route matched: one series for every unknown path.
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        METRICS
            .rate_limited
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .inc();
    }
    let labels = HttpLabels {
        route,
        method,
        status: status_class(status),
    };
    METRICS
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    METRICS.requests.get_or_create(&labels).inc();
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>`. Both sides are hashed first, so
/// the comparison takes the same time whatever the lengths and wherever they differ.
pub fn authorised(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
    else {
        return false;
    };
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(token.0.as_bytes());
    bool::from(given.ct_eq(&expected))
}

/// `GET /metrics`: the counters, then the database's gauges. Only routed when a token is
/// configured; a request without it (or with another) gets 401.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap, token: Secret) -> Response {
    if !authorised(&headers, &token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response();
    }
    let mut text = String::new();
    let mut gauges = Registry::with_prefix("comptoir");
    let database_up = Gauge::<i64>::default();
    gauges.register(
        "database_up",
        "Whether the database answered this scrape (1) or not (0)",
        database_up.clone(),
    );
    match tokio::time::timeout(Duration::from_secs(5), database_gauges(&state.pool)).await {
        Ok(Ok(read)) => {
            database_up.set(1);
            read.register(&mut gauges);
        }
        Ok(Err(error)) => tracing::warn!(%error, "metrics: database gauges unavailable"),
        Err(_) => tracing::warn!("metrics: the database took more than 5 s to answer"),
    }
    let encoded =
        encode_registry(&mut text, &METRICS.registry).and_then(|()| encode(&mut text, &gauges));
    if let Err(error) = encoded {
        tracing::error!(%error, "metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response()
}

/// The gauges read from the database at scrape time, ready to encode.
#[derive(Debug)]
struct DatabaseGauges {
    lag: Family<ProjectionLabels, Gauge>,
    failed: Family<ProjectionLabels, Gauge>,
    outbox: Family<StatusLabels, Gauge>,
}

async fn database_gauges(pool: &sqlx::PgPool) -> Result<DatabaseGauges, sqlx::Error> {
    // The lag counts the events after each checkpoint, as `/health/ready` does: a
    // consumer that is caught up costs an index probe.
    let consumers: Vec<(String, i64, bool)> = sqlx::query_as(
        "select c.name,
                (select count(*) from events e
                  where (e.transaction_id, e.position) > (c.last_tx::text::xid8, c.last_position)),
                c.failed_position is not null or c.failed_error is not null
           from projection_checkpoints c
          order by c.name",
    )
    .fetch_all(pool)
    .await?;
    let backlog: Vec<(String, i64)> = sqlx::query_as(
        "select status, count(*) from email_outbox where status <> 'sent' group by status",
    )
    .fetch_all(pool)
    .await?;
    let gauges = DatabaseGauges {
        lag: Family::default(),
        failed: Family::default(),
        outbox: Family::default(),
    };
    for (name, lag, failed) in consumers {
        let labels = ProjectionLabels { projection: name };
        gauges.lag.get_or_create(&labels).set(lag);
        gauges.failed.get_or_create(&labels).set(i64::from(failed));
    }
    for status in ["pending", "sending", "failed"] {
        let count = backlog
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        gauges
            .outbox
            .get_or_create(&StatusLabels { status })
            .set(count);
    }
    Ok(gauges)
}

impl DatabaseGauges {
    fn register(self, registry: &mut Registry) {
        registry.register(
            "projection_lag_events",
            "Events in the stream that a consumer has not applied yet",
            self.lag,
        );
        registry.register(
            "projection_failed",
            "Whether a consumer is stopped on an event it could not apply (1) or not (0)",
            self.failed,
        );
        registry.register(
            "email_outbox",
            "Emails not sent yet, by status (pending, sending, failed)",
            self.outbox,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_authorised() {
        let token = Secret("metrics-token-0123456789".into());
        assert!(authorised(
            &bearer("Bearer metrics-token-0123456789"),
            &token
        ));
        assert!(authorised(
            &bearer("bearer metrics-token-0123456789"),
            &token
        ));
        assert!(!authorised(
            &bearer("Bearer metrics-token-012345678"),
            &token
        ));
        assert!(!authorised(
            &bearer("Bearer metrics-token-0123456789x"),
            &token
        ));
        assert!(!authorised(
            &bearer("Basic metrics-token-0123456789"),
            &token
        ));
        assert!(!authorised(&bearer("metrics-token-0123456789"), &token));
        assert!(!authorised(&HeaderMap::new(), &token));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
    }
}
