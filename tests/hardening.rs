//! What keeps a hostile or broken client from hurting the shop, against the real router and
//! a private PostgreSQL: security headers on every kind of answer, HSTS only over HTTPS,
//! body limits, the request timeout (and long downloads not cut by it), the header read
//! timeout of the server loop, `/metrics` behind its token, and request logs that carry
//! their request id and no secret.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

use common::TestDb;
use comptoir::api::limits::ApiLimits;
use comptoir::http::{router, router_with, AppState, HttpSettings};
use comptoir::payments::stripe::{StripeGateway, StripeSettings};
use comptoir::payments::Payments;

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";
const STRIPE_SECRET: &str = "sk_test_hardening_secret_4242";
const WEBHOOK_SECRET: &str = "whsec_hardening_secret_4242";
const PASSWORD: &str = "une phrase de passe tres secrete";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The headers every answer carries, whoever produced it.
fn assert_hardened(answer: &Answer, what: &str) {
    let csp = header(answer, "content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        header(answer, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(header(answer, "x-frame-options"), Some("DENY"), "{what}");
    assert!(header(answer, "referrer-policy").is_some(), "{what}");
    let permissions = header(answer, "permissions-policy")
        .unwrap_or_else(|| panic!("{what}: no Permissions-Policy"));
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    assert!(
        header(answer, "x-request-id").is_some(),
        "{what}: no request id"
    );
}

/// The sign-in page's session cookie and CSRF token, as a browser gets them.
async fn sign_in_page(app: &Router) -> (String, String) {
    let page = get(app, "/login").await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("comptoir_session="))
        })
        .unwrap()
        .to_owned();
    let at = page.body.find("name=\"_csrf\" value=\"").unwrap() + 20;
    (cookie, page.body[at..at + 64].to_owned())
}

fn stripe() -> Payments {
    Payments {
        stripe: Some(Arc::new(
            StripeGateway::new(StripeSettings {
                secret_key: STRIPE_SECRET.into(),
                webhook_secret: WEBHOOK_SECRET.into(),
                // Never called: every notification below is refused before.
                api_base: Some("http://127.0.0.1:9/".into()),
                success_url: "https://shop.test/merci/{order}?token={token}".into(),
                cancel_url: "https://shop.test/panier/{order}?token={token}".into(),
            })
            .unwrap(),
        )),
    }
}

async fn api_key(db: &TestDb) -> String {
    comptoir::api::keys::create(&db.pool, "storefront")
        .await
        .unwrap()
        .key
}

fn api_request(method: Method, uri: &str, key: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("x-api-key", key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    common::init_logs();
    let db = TestDb::new().await;
    let key = api_key(&db).await;
    let app = router(AppState {
        payments: stripe(),
        ..common::state(&db)
    });

    let products = send(&app, api_request(Method::GET, "/api/products", &key, "")).await;
    assert_eq!(products.status, StatusCode::OK, "{}", products.body);
    let missing = send(
        &app,
        api_request(Method::GET, "/api/products/nothing-here", &key, ""),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let invalid = send(
        &app,
        api_request(Method::POST, "/api/orders", &key, r#"{"items": "several"}"#),
    )
    .await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.body
    );
    let webhook = send(
        &app,
        Request::post("/api/webhooks/stripe")
            .header("stripe-signature", "t=1,v1=forged")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(webhook.status, StatusCode::BAD_REQUEST, "{}", webhook.body);
    let login = get(&app, "/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let admin_signed_out = get(&app, "/admin/orders").await;
    assert!(admin_signed_out.status.is_redirection());
    let admin_unknown = get(&app, "/admin/no-such-page").await;
    let unknown = get(&app, "/no-such-page").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = get(&app, "/health/ready").await;
    let media = get(&app, "/media/ab/cd.jpg").await;
    assert_eq!(media.status, StatusCode::NOT_FOUND);
    let asset = get(&app, "/admin/static/admin.css").await;
    assert_eq!(asset.status, StatusCode::OK);
    let wrong_method = send(
        &app,
        Request::delete("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);

    for (what, answer) in [
        ("API 200", &products),
        ("API 404", &missing),
        ("API 422", &invalid),
        ("webhook refusal", &webhook),
        ("sign-in page", &login),
        ("admin redirect", &admin_signed_out),
        ("admin unknown page", &admin_unknown),
        ("unknown path", &unknown),
        ("health", &health),
        ("readiness", &ready),
        ("media", &media),
        ("admin asset", &asset),
        ("405", &wrong_method),
    ] {
        assert_hardened(answer, what);
        assert!(
            header(answer, "strict-transport-security").is_none(),
            "{what}: HSTS over plain HTTP"
        );
    }

    // JSON and everything that is not an admin page: nothing may load, nothing may frame.
    for answer in [&products, &missing, &webhook, &health, &media, &unknown] {
        assert!(header(answer, "content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'"));
    }
    // The admin keeps its own policy (scripts from itself only) and its referrer policy.
    let admin_csp = header(&login, "content-security-policy").unwrap();
    assert!(admin_csp.contains("script-src 'self'"), "{admin_csp}");
    assert_eq!(header(&login, "referrer-policy"), Some("same-origin"));
    // No admin answer is kept by a cache, redirects included; its static files are.
    for (what, answer) in [
        ("sign-in page", &login),
        ("admin redirect", &admin_signed_out),
        ("admin unknown page", &admin_unknown),
    ] {
        let cache = header(answer, "cache-control").unwrap_or_default();
        assert!(cache.contains("no-store"), "{what}: {cache:?}");
    }
    assert_eq!(
        header(&asset, "cache-control"),
        Some("public, max-age=3600")
    );
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_shop_is_served_over_https() {
    common::init_logs();
    let db = TestDb::new().await;
    let forwarded = |uri: &str| {
        Request::get(uri)
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap()
    };

    // Plain HTTP, no proxy trusted: a client's X-Forwarded-Proto changes nothing.
    let plain = router(common::state(&db));
    let answer = send(&plain, forwarded("/health")).await;
    assert!(header(&answer, "strict-transport-security").is_none());

    // Its public address is https://: on every answer, admin and API alike.
    let https = router(AppState {
        admin: comptoir::admin::AdminSettings {
            public_origin: Some("https://shop.test".into()),
            ..Default::default()
        },
        ..common::state(&db)
    });
    for uri in ["/health", "/login", "/api/products", "/nothing"] {
        let answer = get(&https, uri).await;
        let hsts = header(&answer, "strict-transport-security")
            .unwrap_or_else(|| panic!("{uri}: no HSTS"));
        assert!(hsts.starts_with("max-age="), "{hsts}");
    }

    // Behind a trusted proxy: when the proxy says the client came over HTTPS.
    let proxied = router(AppState {
        limits: ApiLimits {
            trusted_proxy_header: Some("x-real-ip".into()),
            ..ApiLimits::default()
        },
        ..common::state(&db)
    });
    let over_https = send(&proxied, forwarded("/login")).await;
    assert!(header(&over_https, "strict-transport-security").is_some());
    let over_http = get(&proxied, "/login").await;
    assert!(header(&over_http, "strict-transport-security").is_none());
}

#[tokio::test]
async fn bodies_over_the_limits_are_refused_with_413() {
    common::init_logs();
    let db = TestDb::new().await;
    let key = api_key(&db).await;
    let state = AppState {
        payments: stripe(),
        admin: comptoir::admin::AdminSettings {
            secure_cookies: false,
            ..Default::default()
        },
        ..common::state(&db)
    };
    let media_limit = comptoir::admin::media::upload_body_limit(&state.media.limits);
    let app = router(state);

    // The API's own limit (64 KiB), on its routes and on the webhooks.
    let big_json = format!(r#"{{"padding": "{}"}}"#, "x".repeat(100 * 1024));
    let order = send(
        &app,
        api_request(Method::POST, "/api/orders", &key, big_json.clone()),
    )
    .await;
    assert_eq!(
        order.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        order.body
    );
    assert_hardened(&order, "API 413");
    let webhook = send(
        &app,
        Request::post("/api/webhooks/stripe")
            .header("stripe-signature", "t=1,v1=forged")
            .body(Body::from(big_json))
            .unwrap(),
    )
    .await;
    assert_eq!(webhook.status, StatusCode::PAYLOAD_TOO_LARGE);

    // The admin: a form read by its handler stops at the default limit (1 MiB; axum's
    // own would take 2), an upload the CSRF guard holds stops at the upload limit, with
    // the admin's page naming it.
    let (cookie, csrf) = sign_in_page(&app).await;
    let form = format!("email=a%40b.c&password={}", "x".repeat(1536 * 1024));
    let answer = send(
        &app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie.as_str())
            .header(header::ORIGIN, "http://shop.test")
            .header(header::HOST, "shop.test")
            .header("x-csrf-token", csrf.as_str())
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );
    assert_hardened(&answer, "admin form 413");
    let mut upload =
        b"--x\r\ncontent-disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
            .to_vec();
    upload.resize(media_limit + 1024, b'a');
    let answer = send(
        &app,
        Request::post("/admin/products/00000000-0000-0000-0000-000000000000/images")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .header(header::COOKIE, cookie.as_str())
            .header(header::ORIGIN, "http://shop.test")
            .header(header::HOST, "shop.test")
            .body(Body::from(upload))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.body.contains("<html"), "{}", answer.body);
    assert_hardened(&answer, "admin upload 413");
    // A body that does not announce its length is cut at the limit as it streams.
    let chunks =
        futures_util::stream::iter((0..4).map(|_| Ok::<_, std::io::Error>(vec![b' '; 32 * 1024])));
    let streamed = send(
        &app,
        api_request(Method::POST, "/api/orders", &key, Body::from_stream(chunks)),
    )
    .await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_503_and_long_downloads_are_not_cut() {
    common::init_logs();
    let db = TestDb::new().await;
    let settings = HttpSettings {
        request_timeout: Duration::from_millis(300),
        ..HttpSettings::default()
    };
    let app = router_with(common::state(&db), &settings);
    sqlx::query(
        "insert into projection_checkpoints (name, last_tx, last_position, events_applied)
         values ('catalog', 0, 0, 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    // A lock makes the readiness check wait on the database, well past the timeout.
    let mut blocker = db.pool.begin().await.unwrap();
    sqlx::query("lock table projection_checkpoints in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let slow = get(&app, "/health/ready").await;
    let waited = started.elapsed();
    blocker.rollback().await.unwrap();
    assert_eq!(slow.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    assert_hardened(&slow, "timeout");
    assert_eq!(get(&app, "/health/ready").await.status, StatusCode::OK);

    // The timeout covers the answer's head only: a body streamed for longer than it
    // (an export) arrives whole. Checked on tower-http's layer itself.
    let streaming = Router::new()
        .route(
            "/export",
            axum::routing::get(|| async {
                let rows = futures_util::stream::unfold(0u32, |row| async move {
                    if row == 6 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok::<_, std::io::Error>(format!("row {row}\n")), row + 1))
                });
                Body::from_stream(rows)
            }),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(300),
        ));
    let export = get(&streaming, "/export").await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.body.lines().count(), 6, "{}", export.body);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    common::init_logs();
    let db = TestDb::new().await;
    let settings = HttpSettings {
        header_read_timeout: Duration::from_millis(500),
        ..HttpSettings::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router_with(common::state(&db), &settings);
    let server = tokio::spawn(async move {
        comptoir::http::serve(listener, app, &settings, async {
            let _ = stopped.await;
        })
        .await
    });

    // A well-behaved client is answered, with its address known to the handlers.
    let health = reqwest::get(format!("http://{address}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: shop\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection stayed open");
    // Closed by the timer, not refused at once.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed after {:?}",
        started.elapsed()
    );
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || rest.starts_with("HTTP/1.1 408"),
        "{rest}"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A metric's value in an OpenMetrics text, 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &Router) -> String {
    let answer = send(
        app,
        Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(header(&answer, "content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(answer.body.ends_with("# EOF\n"));
    answer.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_their_token_and_count_requests_commands_conflicts_and_refusals() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let settings = HttpSettings {
        metrics_token: Some(comptoir::config::Secret(METRICS_TOKEN.into())),
        ..HttpSettings::default()
    };
    let app = router_with(common::state(&db), &settings);

    // Without a token configured, the route does not exist.
    assert_eq!(
        get(&router(common::state(&db)), "/metrics").await.status,
        StatusCode::NOT_FOUND
    );
    // With one, nothing without it.
    let anonymous = get(&app, "/metrics").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_hardened(&anonymous, "metrics 401");
    for wrong in [
        "Bearer wrong-token".to_owned(),
        format!("Bearer {METRICS_TOKEN}x"),
        format!("Basic {METRICS_TOKEN}"),
        METRICS_TOKEN.to_owned(),
    ] {
        let answer = send(
            &app,
            Request::get("/metrics")
                .header(header::AUTHORIZATION, wrong.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(!answer.body.contains("comptoir_"));
    }

    // A few requests, commands, a refusal by the rate limit and conflicts.
    let product = common::published_product(&bus, "HARD-1", "10.00", 5).await;
    assert_eq!(get(&app, "/health").await.status, StatusCode::OK);
    let limited = router(AppState {
        limits: ApiLimits {
            per_minute: 1,
            ..ApiLimits::default()
        },
        ..common::state(&db)
    });
    let first = get(&limited, "/api/products").await;
    let second = get(&limited, "/api/products").await;
    assert_ne!(first.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    projections::Projector::new(db.pool.clone(), comptoir::app::consumers(&bus))
        .run_once()
        .await
        .unwrap();

    let conflicts = r#"comptoir_command_conflicts_total{aggregate="Stock"}"#;
    let before = value(&scrape(&app).await, conflicts);
    let id = product.to_string();
    for _ in 0..20 {
        // Writers racing on one stock: each retry after a conflict is counted.
        let writers: Vec<_> = (0..12)
            .map(|_| {
                let (bus, id) = (bus.clone(), id.clone());
                tokio::spawn(async move {
                    let receive = aggregates::stock::StockCommand::ReceiveStock {
                        product_id: product,
                        quantity: 1,
                        note: "course".into(),
                    };
                    bus.stock
                        .execute(&id, receive, &aggregates::metadata::EventMetadata::system())
                        .await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        if value(&scrape(&app).await, conflicts) > before {
            break;
        }
    }

    let text = scrape(&app).await;
    assert!(value(&text, conflicts) > before, "{text}");
    for series in [
        r#"comptoir_http_requests_total{route="/health",method="GET",status="2xx"}"#,
        r#"comptoir_http_requests_total{route="/metrics",method="GET",status="4xx"}"#,
        r#"comptoir_http_request_duration_seconds_count{route="/health",method="GET",status="2xx"}"#,
        r#"comptoir_rate_limited_total{route="/api/products"}"#,
        r#"comptoir_commands_total{aggregate="Product",outcome="ok"}"#,
        r#"comptoir_commands_total{aggregate="Stock",outcome="ok"}"#,
        "comptoir_database_up",
    ] {
        assert!(value(&text, series) >= 1.0, "{series} missing:\n{text}");
    }
    for family in [
        "# TYPE comptoir_http_request_duration_seconds histogram",
        r#"comptoir_projection_lag_events{projection="catalog"}"#,
        r#"comptoir_projection_failed{projection="catalog"} 0"#,
        r#"comptoir_email_outbox{status="pending"}"#,
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    // The stock events written since the projector ran are the catalog's lag.
    assert!(
        value(
            &text,
            r#"comptoir_projection_lag_events{projection="catalog"}"#
        ) >= 12.0
    );
    assert!(!text.contains(METRICS_TOKEN));
}

/// Log lines written by the subscriber under test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn request_logs_carry_their_request_id_and_never_a_secret() {
    let db = TestDb::new().await;
    let key = api_key(&db).await;
    comptoir::auth::create_account(
        &db.bus(),
        "owner@shop.test",
        "La patronne",
        "owner",
        PASSWORD.into(),
        aggregates::Actor::System,
    )
    .await
    .unwrap();
    let settings = HttpSettings {
        metrics_token: Some(comptoir::config::Secret(METRICS_TOKEN.into())),
        ..HttpSettings::default()
    };
    let app = router_with(
        AppState {
            payments: stripe(),
            admin: comptoir::admin::AdminSettings {
                secure_cookies: false,
                ..Default::default()
            },
            ..common::state(&db)
        },
        &settings,
    );

    let captured = Captured::default();
    let subscriber = comptoir::telemetry::subscriber(
        comptoir::telemetry::LogFormat::Json,
        tracing_subscriber::EnvFilter::new("debug"),
        captured.clone(),
    );
    let guard = tracing::subscriber::set_default(subscriber);

    let with_id = |request: Request<Body>, id: &str| {
        let mut request = request;
        request
            .headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        request
    };
    // Signing in, with a session cookie and the form's token: the password travels.
    let page = send(
        &app,
        with_id(
            Request::get("/login").body(Body::empty()).unwrap(),
            "req-page",
        ),
    )
    .await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("comptoir_session="))
        })
        .unwrap()
        .to_owned();
    let session = cookie.trim_start_matches("comptoir_session=").to_owned();
    let csrf_at = page.body.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = page.body[csrf_at..csrf_at + 64].to_owned();
    let form = serde_urlencoded::to_string([
        ("email", "owner@shop.test"),
        ("password", PASSWORD),
        ("_csrf", csrf.as_str()),
    ])
    .unwrap();
    let signed_in = send(
        &app,
        with_id(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, cookie.as_str())
                .header(header::ORIGIN, "http://shop.test")
                .header(header::HOST, "shop.test")
                .body(Body::from(form))
                .unwrap(),
            "req-login",
        ),
    )
    .await;
    assert!(signed_in.status.is_redirection(), "{}", signed_in.status);
    // The API with its key, a customer's token in the query, the metrics with theirs, a
    // forged payment notification.
    send(
        &app,
        with_id(
            api_request(Method::GET, "/api/products", &key, ""),
            "req-api",
        ),
    )
    .await;
    send(
        &app,
        with_id(
            api_request(
                Method::GET,
                "/api/orders/C-2026-00001?token=customer-token-secret",
                &key,
                "",
            ),
            "req-order",
        ),
    )
    .await;
    send(
        &app,
        with_id(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
            "req-metrics",
        ),
    )
    .await;
    send(
        &app,
        with_id(
            Request::post("/api/webhooks/stripe")
                .header("stripe-signature", format!("t=1,v1={WEBHOOK_SECRET}"))
                .body(Body::from("{}"))
                .unwrap(),
            "req-webhook",
        ),
    )
    .await;
    drop(guard);

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [
        PASSWORD,
        key.as_str(),
        session.as_str(),
        csrf.as_str(),
        METRICS_TOKEN,
        STRIPE_SECRET,
        WEBHOOK_SECRET,
        "customer-token-secret",
    ] {
        assert!(!output.contains(secret), "`{secret}` was logged:\n{output}");
    }
    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    // Every line written while a request is handled, in nested spans too (the session
    // store's, the handler's), names the request: its span is the outermost of `spans`.
    let of_request = |id: &str| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .filter(|line| line["spans"][0]["request_id"] == *id)
            .collect()
    };
    for id in [
        "req-page",
        "req-login",
        "req-api",
        "req-order",
        "req-metrics",
        "req-webhook",
    ] {
        // At least the access line: its status and latency.
        assert!(
            of_request(id)
                .iter()
                .any(|line| line["message"] == "finished processing request"
                    && line["level"] == "INFO"
                    && line["status"].is_number()
                    && line["span"]["request_id"] == *id),
            "{id}: no access line in\n{output}"
        );
    }
    assert!(
        of_request("req-login")
            .iter()
            .any(|line| line["message"] == "staff signed in" && line["span"]["name"] != "request"),
        "the handler's own line, in a nested span, names its request:\n{output}"
    );
    // No line of a request escapes its span.
    for line in &lines {
        if line["target"] == "comptoir::admin::login" {
            assert_eq!(line["spans"][0]["name"], "request", "{line}");
        }
    }
}
