//! Stripe Checkout end to end, without Stripe: sessions are created against a local HTTP
//! stand-in for Stripe's API (the client pointed at it by configuration), and webhooks are
//! payloads shaped like Stripe's real events (from `tests/fixtures/stripe/`, Stripe's own
//! published fixtures), signed with `Webhook::generate_test_header`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

use common::{published_product, TestDb};
use comptoir::api::limits::ApiLimits;
use comptoir::http::{router, AppState};
use comptoir::payments::stripe::{StripeGateway, StripeSettings};
use comptoir::payments::Payments;
use projections::Projector;

const WEBHOOK_SECRET: &str = "whsec_test_comptoir";

/// What the stand-in received: the form fields and the idempotency key of each request.
#[derive(Debug, Clone, Default)]
struct Received {
    requests: Vec<(String, HashMap<String, String>, Option<String>)>,
}

/// A stand-in for `POST /v1/checkout/sessions` that answers like Stripe (or fails with
/// `fail` set).
async fn stand_in(fail: bool) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let seen = received.clone();
    let session: Value =
        serde_json::from_str(include_str!("fixtures/stripe/checkout.session.json")).unwrap();
    let app = Router::new().fallback(
        move |headers: HeaderMap, uri: axum::http::Uri, body: Bytes| {
            let seen = seen.clone();
            let mut session = session.clone();
            async move {
                let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
                let key = headers
                    .get("idempotency-key")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.lock()
                    .unwrap()
                    .requests
                    .push((uri.path().to_owned(), form.clone(), key));
                if fail {
                    let error =
                        json!({ "error": { "type": "api_error", "message": "stand-in is down" } });
                    return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(error));
                }
                let id = format!("cs_test_{}", form["client_reference_id"].replace('-', ""));
                session["id"] = json!(id);
                session["url"] = json!(format!("https://checkout.stripe.com/c/pay/{id}"));
                session["client_reference_id"] = json!(form["client_reference_id"]);
                session["metadata"] = json!({ "order_id": form["metadata[order_id]"] });
                session["expires_at"] = json!(form["expires_at"].parse::<i64>().unwrap());
                (StatusCode::OK, axum::Json(session))
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/"), received)
}

struct Shop {
    db: TestDb,
    app: Router,
    key: String,
}

impl Shop {
    async fn new(stripe_base: Option<String>) -> Shop {
        let db = TestDb::new().await;
        let payments = match stripe_base {
            None => Payments::default(),
            Some(base) => Payments {
                stripe: Some(Arc::new(
                    StripeGateway::new(StripeSettings {
                        secret_key: "sk_test_comptoir".into(),
                        webhook_secret: WEBHOOK_SECRET.into(),
                        api_base: Some(base),
                        success_url: "https://shop.test/merci/{order}?token={token}".into(),
                        cancel_url: "https://shop.test/panier/{order}?token={token}".into(),
                    })
                    .unwrap(),
                )),
            },
        };
        let state = AppState {
            reservation_ttl: chrono::Duration::minutes(45),
            limits: ApiLimits {
                per_minute: 100_000,
                writes_per_minute: 100_000,
                ..ApiLimits::default()
            },
            payments,
            ..common::state(&db)
        };
        let key = comptoir::api::keys::create(&db.pool, "storefront")
            .await
            .unwrap()
            .key;
        Shop {
            app: router(state),
            db,
            key,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    async fn order(&self, product: Uuid, quantity: u32, method: &str) -> (StatusCode, Value) {
        let body = json!({
            "items": [{ "productId": product, "quantity": quantity }],
            "customerEmail": "client@example.fr", "customerName": "Client Test",
            "customerPhone": "06 12 34 56 78", "pickupLocation": "Atelier",
            "paymentMethod": method, "language": "en",
        });
        self.send(
            Request::post("/api/orders")
                .header("x-api-key", &self.key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn webhook(&self, payload: &str, signature: Option<String>) -> (StatusCode, Value) {
        let mut request =
            Request::post("/api/webhooks/stripe").header(header::CONTENT_TYPE, "application/json");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        self.send(request.body(Body::from(payload.to_owned())).unwrap())
            .await
    }

    /// Runs every consumer (read models, stock keeper, invoicer) until caught up.
    async fn settle(&self) {
        let projector = Projector::new(
            self.db.pool.clone(),
            comptoir::app::consumers(&self.db.bus()),
        );
        for _ in 0..3 {
            projector.run_once().await.unwrap();
        }
    }

    async fn events_of(&self, order_id: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select event_type from events where aggregate_type = 'Order' and aggregate_id = $1 order by sequence",
        )
        .bind(order_id)
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }

    async fn available(&self, product: Uuid) -> i64 {
        sqlx::query_scalar("select available from stock_levels where product_id = $1")
            .bind(product)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }
}

/// A Stripe event of `kind` about the session of `order_id`, as Stripe would send it.
fn event(kind: &str, event_id: &str, order_id: &str, paid: bool) -> String {
    let mut session: Value =
        serde_json::from_str(include_str!("fixtures/stripe/checkout.session.json")).unwrap();
    let mut envelope: Value =
        serde_json::from_str(include_str!("fixtures/stripe/event.json")).unwrap();
    session["id"] = json!(format!("cs_test_{}", order_id.replace('-', "")));
    session["metadata"] = json!({ "order_id": order_id });
    session["client_reference_id"] = json!(order_id);
    session["amount_total"] = json!(21576);
    session["currency"] = json!("eur");
    session["status"] = json!(if kind.ends_with("expired") {
        "expired"
    } else {
        "complete"
    });
    session["payment_status"] = json!(if paid { "paid" } else { "unpaid" });
    envelope["id"] = json!(event_id);
    envelope["type"] = json!(kind);
    envelope["created"] = json!(chrono::Utc::now().timestamp());
    envelope["data"]["object"] = session;
    envelope.to_string()
}

fn signed(payload: &str) -> Option<String> {
    Some(stripe_webhook::Webhook::generate_test_header(
        payload,
        WEBHOOK_SECRET,
        None,
    ))
}

#[tokio::test]
async fn a_stripe_order_opens_a_checkout_session_shaped_like_the_order() {
    let (base, received) = stand_in(false).await;
    let shop = Shop::new(Some(base)).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-1", "89.90", 5).await;
    let (status, placed) = shop.order(product, 2, "stripe").await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let order_id = placed["orderId"].as_str().unwrap().to_owned();
    let number = placed["orderNumber"].as_str().unwrap();
    let token = placed["customerToken"].as_str().unwrap();
    assert_eq!(placed["payment"]["method"], "stripe");
    let url = placed["payment"]["url"].as_str().unwrap();
    assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");
    comptoir_check(&placed);

    let requests = received.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 1);
    let (path, form, key) = &requests[0];
    assert!(path.ends_with("/v1/checkout/sessions"), "{path}");
    assert_eq!(
        key.as_deref(),
        Some(order_id.as_str()),
        "the order id is the idempotency key"
    );
    assert_eq!(form["mode"], "payment");
    assert_eq!(form["line_items[0][quantity]"], "2");
    // 89.90 HT at 20 % is 107.88 TTC: in cents, per unit.
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "10788");
    assert_eq!(form["line_items[0][price_data][currency]"], "eur");
    assert!(form["line_items[0][price_data][product_data][name]"].contains("PN-STRIPE-1"));
    assert_eq!(form["customer_email"], "client@example.fr");
    assert_eq!(form["metadata[order_id]"], order_id);
    assert_eq!(form["client_reference_id"], order_id);
    assert_eq!(form["locale"], "en");
    assert_eq!(
        form["success_url"],
        format!("https://shop.test/merci/{number}?token={token}")
    );
    assert_eq!(
        form["cancel_url"],
        format!("https://shop.test/panier/{number}?token={token}")
    );
    // The session lapses with the reservation (45 minutes here).
    let expires: i64 = form["expires_at"].parse().unwrap();
    let in_minutes = (expires - chrono::Utc::now().timestamp()) / 60;
    assert!((44..=45).contains(&in_minutes), "{in_minutes}");

    assert_eq!(
        shop.events_of(&order_id).await,
        ["OrderPlaced", "PaymentSessionOpened"]
    );
    let url_recorded: String = sqlx::query_scalar(
        "select payload::jsonb->'PaymentSessionOpened'->>'url' from events where aggregate_id = $1 and event_type = 'PaymentSessionOpened'",
    )
    .bind(&order_id)
    .fetch_one(&shop.db.pool)
    .await
    .unwrap();
    assert_eq!(url_recorded, url);
}

/// The answer conforms to the OpenAPI description.
fn comptoir_check(placed: &Value) {
    let doc = comptoir::api::openapi::document();
    let schema = &doc["components"]["schemas"]["OrderPlaced"]["properties"]["payment"];
    for field in ["method", "instructions", "url", "sessionId", "expiresAt"] {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field} is described"
        );
        assert!(
            placed["payment"].get(field).is_some(),
            "{field} is answered"
        );
    }
}

#[tokio::test]
async fn when_stripe_cannot_be_reached_the_order_is_not_kept_and_its_stock_is_back() {
    let (base, _) = stand_in(true).await;
    let shop = Shop::new(Some(base)).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-2", "10.00", 3).await;
    let (status, body) = shop.order(product, 3, "stripe").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    shop.settle().await;
    assert_eq!(shop.available(product).await, 3);
    let cancelled: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'OrderCancelled'")
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!(cancelled, 1);
}

#[tokio::test]
async fn without_stripe_stripe_and_oney_orders_are_refused_and_leave_nothing_behind() {
    let shop = Shop::new(None).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-3", "10.00", 3).await;
    for method in ["stripe", "oney"] {
        let (status, body) = shop.order(product, 1, method).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method}: {body}");
    }
    let orders: i64 =
        sqlx::query_scalar("select count(*) from events where aggregate_type = 'Order'")
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!(orders, 0);
    let payload = event(
        "checkout.session.completed",
        "evt_1",
        &Uuid::now_v7().to_string(),
        true,
    );
    let (status, _) = shop.webhook(&payload, signed(&payload)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn webhooks_are_verified_and_act_once_whatever_the_order_they_come_in() {
    let (base, _) = stand_in(false).await;
    let shop = Shop::new(Some(base)).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-4", "89.90", 10).await;
    let (_, placed) = shop.order(product, 2, "stripe").await;
    let order_id = placed["orderId"].as_str().unwrap().to_owned();
    let completed = event("checkout.session.completed", "evt_paid_1", &order_id, true);

    // Missing, wrong and stale signatures: 400, a security event, nothing changed.
    let forged = stripe_webhook::Webhook::generate_test_header(&completed, "whsec_wrong", None);
    let stale = stripe_webhook::Webhook::generate_test_header(
        &completed,
        WEBHOOK_SECRET,
        Some(chrono::Utc::now().timestamp() - 600),
    );
    for signature in [
        None,
        Some(forged),
        Some(stale),
        Some("t=1,v1=zz".to_owned()),
    ] {
        let (status, body) = shop.webhook(&completed, signature.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{signature:?}: {body}");
    }
    let refused: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'webhook_refused'")
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!(refused, 4);
    assert_eq!(
        shop.events_of(&order_id).await,
        ["OrderPlaced", "PaymentSessionOpened"]
    );

    // The real one, then again: one payment.
    for _ in 0..2 {
        let (status, body) = shop.webhook(&completed, signed(&completed)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // `expired` arriving late, after `completed`: nothing.
    let expired = event("checkout.session.expired", "evt_late_1", &order_id, false);
    let (status, body) = shop.webhook(&expired, signed(&expired)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        shop.events_of(&order_id).await,
        ["OrderPlaced", "PaymentSessionOpened", "PaymentConfirmed"]
    );
    let (provider_event, amount): (String, String) = sqlx::query_as(
        "select payload::jsonb->'PaymentConfirmed'->>'provider_event_id', payload::jsonb->'PaymentConfirmed'->>'amount'
           from events where aggregate_id = $1 and event_type = 'PaymentConfirmed'",
    )
    .bind(&order_id)
    .fetch_one(&shop.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (provider_event.as_str(), amount.as_str()),
        ("evt_paid_1", "215.76")
    );

    // What a confirmed payment sets off: stock committed, an invoice number.
    shop.settle().await;
    let (on_hand, reserved): (i64, i64) =
        sqlx::query_as("select on_hand, reserved from stock_levels where product_id = $1")
            .bind(product)
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!((on_hand, reserved), (8, 0));
    let year = comptoir::process::Invoicer::year_of(chrono::Utc::now());
    let invoice: Option<String> =
        sqlx::query_scalar("select invoice_number from orders where order_id = $1")
            .bind(Uuid::parse_str(&order_id).unwrap())
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!(invoice, Some(format!("FA-{year}-000001")));
    // Running the process managers again changes nothing.
    let before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&shop.db.pool)
        .await
        .unwrap();
    sqlx::query("update projection_checkpoints set last_position = 0, last_tx = 0 where name in ('stock-keeper', 'invoicer')")
        .execute(&shop.db.pool)
        .await
        .ok();
    shop.settle().await;
    let after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&shop.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);

    // Unknown types and unknown orders are acknowledged.
    let other = event(
        "checkout.session.completed",
        "evt_other",
        &Uuid::now_v7().to_string(),
        true,
    );
    let (status, body) = shop.webhook(&other, signed(&other)).await;
    assert_eq!(
        (status, body["ignored"].as_str()),
        (StatusCode::OK, Some("unknown order"))
    );
}

#[tokio::test]
async fn twenty_deliveries_at_once_confirm_one_payment() {
    let (base, _) = stand_in(false).await;
    let shop = Arc::new(Shop::new(Some(base)).await);
    let product = published_product(&shop.db.bus(), "PN-STRIPE-5", "89.90", 10).await;
    let (_, placed) = shop.order(product, 2, "stripe").await;
    let order_id = placed["orderId"].as_str().unwrap().to_owned();
    let completed = event("checkout.session.completed", "evt_burst", &order_id, true);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let shop = shop.clone();
        let completed = completed.clone();
        tasks.push(tokio::spawn(async move {
            shop.webhook(&completed, signed(&completed)).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let confirmed = shop
        .events_of(&order_id)
        .await
        .iter()
        .filter(|e| *e == "PaymentConfirmed")
        .count();
    assert_eq!(confirmed, 1);
}

#[tokio::test]
async fn a_lapsed_or_failed_payment_cancels_the_order_and_releases_its_stock() {
    let (base, _) = stand_in(false).await;
    let shop = Shop::new(Some(base)).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-6", "10.00", 4).await;
    let (_, first) = shop.order(product, 2, "stripe").await;
    let (_, second) = shop.order(product, 2, "stripe").await;
    shop.settle().await;
    assert_eq!(shop.available(product).await, 0);
    let first_id = first["orderId"].as_str().unwrap().to_owned();
    let second_id = second["orderId"].as_str().unwrap().to_owned();

    let expired = event("checkout.session.expired", "evt_exp", &first_id, false);
    assert_eq!(
        shop.webhook(&expired, signed(&expired)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        shop.events_of(&first_id).await,
        [
            "OrderPlaced",
            "PaymentSessionOpened",
            "PaymentSessionExpired",
            "OrderCancelled"
        ]
    );
    // Completed without payment yet (a bank transfer), then failed.
    let pending = event(
        "checkout.session.completed",
        "evt_pending",
        &second_id,
        false,
    );
    let (status, body) = shop.webhook(&pending, signed(&pending)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["ignored"].is_string(), "{body}");
    let failed = event(
        "checkout.session.async_payment_failed",
        "evt_fail",
        &second_id,
        false,
    );
    assert_eq!(
        shop.webhook(&failed, signed(&failed)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        shop.events_of(&second_id).await,
        [
            "OrderPlaced",
            "PaymentSessionOpened",
            "PaymentFailed",
            "OrderCancelled"
        ]
    );
    shop.settle().await;
    assert_eq!(shop.available(product).await, 4);
    let reason: String = sqlx::query_scalar(
        "select payload::jsonb->'OrderCancelled'->>'reason' from events where aggregate_id = $1 and event_type = 'OrderCancelled'",
    )
    .bind(&first_id)
    .fetch_one(&shop.db.pool)
    .await
    .unwrap();
    assert_eq!(reason, "payment expired");
}

/// A `charge.refunded` notice: `refunded` cents refunded so far on the charge of the
/// payment `payment_intent`, naming the order in its metadata when `order_id` is given.
fn charge_refunded(
    event_id: &str,
    order_id: Option<&str>,
    payment_intent: &str,
    refunded: i64,
) -> String {
    let mut charge: Value =
        serde_json::from_str(include_str!("fixtures/stripe/charge.json")).unwrap();
    let mut envelope: Value =
        serde_json::from_str(include_str!("fixtures/stripe/event.json")).unwrap();
    charge["amount"] = json!(21576);
    charge["amount_captured"] = json!(21576);
    charge["amount_refunded"] = json!(refunded);
    charge["refunded"] = json!(refunded == 21576);
    charge["captured"] = json!(true);
    charge["currency"] = json!("eur");
    charge["payment_intent"] = json!(payment_intent);
    charge["metadata"] = match order_id {
        Some(id) => json!({ "order_id": id }),
        None => json!({}),
    };
    envelope["id"] = json!(event_id);
    envelope["type"] = json!("charge.refunded");
    envelope["created"] = json!(chrono::Utc::now().timestamp());
    envelope["data"]["object"] = charge;
    envelope.to_string()
}

#[tokio::test]
async fn a_refund_made_in_stripe_issues_a_credit_note_for_what_is_new() {
    let (base, received) = stand_in(false).await;
    let shop = Shop::new(Some(base)).await;
    let product = published_product(&shop.db.bus(), "PN-STRIPE-6", "89.90", 10).await;
    let (_, placed) = shop.order(product, 2, "stripe").await;
    let order_id = placed["orderId"].as_str().unwrap().to_owned();
    // The payment carries the order id, so its charge (and a refund of it) names the order.
    let requests = received.lock().unwrap().requests.clone();
    assert_eq!(
        requests[0].1.get("payment_intent_data[metadata][order_id]"),
        Some(&order_id)
    );
    let completed = event("checkout.session.completed", "evt_paid_r", &order_id, true);
    assert_eq!(
        shop.webhook(&completed, signed(&completed)).await.0,
        StatusCode::OK
    );
    shop.settle().await;

    // 50 € refunded in Stripe's dashboard, the notice delivered twice.
    let intent = "pi_1PgafyB7WZ01zgkWSjxsAJo3";
    let first = charge_refunded("evt_refund_1", Some(&order_id), intent, 5000);
    for _ in 0..2 {
        let (status, body) = shop.webhook(&first, signed(&first)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The rest, in a notice without the order id (found by its payment), then an older
    // notice arriving late.
    let rest = charge_refunded("evt_refund_2", None, intent, 21576);
    let (status, body) = shop.webhook(&rest, signed(&rest)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let late = charge_refunded("evt_refund_0", Some(&order_id), intent, 2000);
    let (status, body) = shop.webhook(&late, signed(&late)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    shop.settle().await;

    let year = comptoir::process::Invoicer::year_of(chrono::Utc::now());
    let notes: Vec<(String, String, String)> = sqlx::query_as(
        "select number, corrects, total_ttc::text from invoice_register
         where kind = 'credit_note' order by sequence",
    )
    .fetch_all(&shop.db.pool)
    .await
    .unwrap();
    let invoice = format!("FA-{year}-000001");
    assert_eq!(
        notes,
        [
            (
                format!("AV-{year}-000001"),
                invoice.clone(),
                "50.00".to_owned()
            ),
            (format!("AV-{year}-000002"), invoice, "165.76".to_owned()),
        ]
    );
    let status: String =
        sqlx::query_scalar("select payment_status from orders where order_id = $1")
            .bind(Uuid::parse_str(&order_id).unwrap())
            .fetch_one(&shop.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "refunded");
}
