//! Contract tests of the storefront API against the real router and a private PostgreSQL,
//! with every answer checked against the OpenAPI description.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

use aggregates::metadata::EventMetadata;
use aggregates::product::ProductCommand;
use common::{published_product, TestDb};
use comptoir::api::limits::ApiLimits;
use comptoir::http::{router, AppState};
use projections::Projector;

struct Api {
    db: TestDb,
    app: Router,
    key: String,
    shop: comptoir::shop::ShopProfile,
}

impl Api {
    async fn new(limits: ApiLimits) -> Api {
        let db = TestDb::new().await;
        let shop = comptoir::shop::ShopProfile::default();
        let state = AppState {
            limits,
            shop: shop.clone(),
            ..common::state(&db)
        };
        let key = comptoir::api::keys::create(&db.pool, "storefront")
            .await
            .unwrap()
            .key;
        Api {
            app: router(state),
            db,
            key,
            shop,
        }
    }

    async fn relaxed() -> Api {
        Api::new(ApiLimits {
            per_minute: 100_000,
            writes_per_minute: 100_000,
            cors_origins: vec!["https://shop.example".into()],
            ..ApiLimits::default()
        })
        .await
    }

    async fn settle(&self) {
        Projector::new(
            self.db.pool.clone(),
            comptoir::app::consumers(&self.db.bus()),
        )
        .run_once()
        .await
        .unwrap();
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                headers.get(header::CONTENT_TYPE).unwrap(),
                "application/problem+json",
                "{status} {body}"
            );
            assert_eq!(body["status"], status.as_u16(), "{body}");
        }
        (status, headers, body)
    }

    async fn get(&self, uri: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
        self.send(
            Request::get(uri)
                .header("x-api-key", &self.key)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, uri: &str, body: &Value) -> (StatusCode, axum::http::HeaderMap, Value) {
        self.send(
            Request::post(uri)
                .header("x-api-key", &self.key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}

/// Checks `value` against a schema of the OpenAPI description (the subset it uses).
fn conforms(value: &Value, schema: &Value, doc: &Value, path: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return conforms(value, &doc["components"]["schemas"][name], doc, path);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().try_for_each(|s| conforms(value, s, doc, path));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
    if !type_ok {
        return Err(format!("{path}: {value} is not {types:?}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{path}: {value} not in {options:?}"));
        }
    }
    if let (Some(pattern), Some(text)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) {
        // The description's patterns are simple: check the money one literally.
        if pattern.contains("[0-9]{2}$")
            && !(text.contains('.') && text.rsplit('.').next().unwrap().len() == 2)
        {
            return Err(format!("{path}: {text} does not match {pattern}"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{path}: missing `{name}`"));
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, inner) in object {
                if let Some(property) = properties.get(name) {
                    conforms(inner, property, doc, &format!("{path}.{name}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            conforms(item, items, doc, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn check(doc: &Value, path: &str, method: &str, status: StatusCode, body: &Value) {
    let responses = &doc["paths"][path][method]["responses"];
    let response = &responses[status.as_str()];
    assert!(
        !response.is_null(),
        "{method} {path} does not describe {status}"
    );
    let content = &response["content"];
    let schema = if status.is_success() {
        &content["application/json"]["schema"]
    } else {
        &content["application/problem+json"]["schema"]
    };
    if !schema.is_null() {
        conforms(body, schema, doc, "body")
            .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
    }
}

async fn catalog(api: &Api) -> (Uuid, Uuid, Uuid) {
    let bus = api.db.bus();
    let tyre = published_product(&bus, "PN-100", "100.00", 5).await;
    let battery = published_product(&bus, "BAT-200", "45.50", 0).await;
    let draft = published_product(&bus, "ENT-300", "9.99", 3).await;
    bus.products
        .execute(
            &draft.to_string(),
            ProductCommand::UnpublishProduct,
            &EventMetadata::system(),
        )
        .await
        .unwrap();
    api.settle().await;
    (tyre, battery, draft)
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused_and_told_nothing() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    for key in [
        None,
        Some("nope"),
        Some("ck_00000000000000000000000000000000_00"),
    ] {
        let mut request = Request::get("/api/products");
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let (status, _, body) = api.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.get("detail").is_none());
        check(&doc, "/api/products", "get", status, &body);
    }
    comptoir::api::keys::revoke(&api.db.pool, "storefront")
        .await
        .unwrap();
    let (status, _, _) = api.get("/api/categories").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked key stops working at once"
    );
    let (status, _, body) = api
        .send(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_product_list_is_paginated_filtered_searched_and_cached() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, battery, _) = catalog(&api).await;

    let (status, headers, body) = api.get("/api/products?limit=1&sort=price").await;
    assert_eq!(status, StatusCode::OK);
    check(&doc, "/api/products", "get", status, &body);
    assert_eq!(
        (body["total"].as_i64(), body["pageCount"].as_i64()),
        (Some(2), Some(2)),
        "{body}"
    );
    assert_eq!(body["items"][0]["id"], battery.to_string());
    assert_eq!(body["items"][0]["priceTtc"], "54.60");
    assert_eq!(body["items"][0]["stockStatus"], "out_of_stock");
    assert!(headers.get(header::CACHE_CONTROL).is_some());

    let etag = headers
        .get(header::ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let request = Request::get("/api/products?limit=1&sort=price")
        .header("x-api-key", &api.key)
        .header(header::IF_NONE_MATCH, &etag);
    let (status, _, _) = api.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    let (_, _, body) = api.get("/api/products?q=pn-1").await;
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        1,
        "reference prefix: {body}"
    );
    assert_eq!(body["items"][0]["id"], tyre.to_string());
    let (_, _, body) = api.get("/api/products?q=produits").await;
    assert_eq!(body["total"], 2, "French stemming finds `Produit`: {body}");
    let (_, _, body) = api
        .get("/api/products?status=published&page=2&limit=1")
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, _, body) = api.get("/api/products?category=nothing-here").await;
    assert_eq!(body["total"], 0);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("status=draft", "status"),
        ("sort=cheap", "sort"),
    ] {
        let (status, _, body) = api.get(&format!("/api/products?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        check(&doc, "/api/products", "get", status, &body);
    }
}

#[tokio::test]
async fn a_product_shows_its_reviews_and_an_old_slug_redirects() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, draft) = catalog(&api).await;
    let (status, _, body) = api.get("/api/products/produit-pn-100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    check(&doc, "/api/products/{slug}", "get", status, &body);
    assert_eq!(body["reference"], "PN-100");
    assert_eq!(body["ratingSummary"]["count"], 0);

    let change = ProductCommand::ChangeProductSlug {
        slug: aggregates::Slug::new("pneu-route").unwrap(),
    };
    api.db
        .bus()
        .products
        .execute(&tyre.to_string(), change, &EventMetadata::system())
        .await
        .unwrap();
    api.settle().await;
    let (status, headers, _) = api.get("/api/products/produit-pn-100").await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        headers.get(header::LOCATION).unwrap(),
        "/api/products/pneu-route"
    );

    let (status, _, _) = api.get("/api/products/produit-ent-300").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft is never public");
    let (status, _, _) = api.get(&format!("/api/reviews/{draft}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = api
        .get(&format!("/api/reviews/{tyre}?status=approved"))
        .await;
    assert_eq!(status, StatusCode::OK);
    check(&doc, "/api/reviews/{productId}", "get", status, &body);
    for (uri, field) in [
        (format!("/api/reviews/{tyre}?status=pending"), "status"),
        ("/api/reviews/not-a-uuid".to_owned(), "productId"),
    ] {
        let (status, _, body) = api.get(&uri).await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{uri}"
        );
    }
    let (status, _, body) = api
        .send(
            Request::post("/api/webhooks/payment")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    check(&doc, "/api/webhooks/payment", "post", status, &body);
    let (status, _, _) = api.get("/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = api.get("/api/categories").await;
    assert_eq!(status, StatusCode::OK);
    check(&doc, "/api/categories", "get", status, &body);
    let counts: i64 = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["productCount"].as_i64().unwrap())
        .sum();
    assert_eq!(counts, 2, "only published products are counted: {body}");
}

#[tokio::test]
async fn reviews_are_checked_pending_verified_and_one_per_email() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    let review = |email: &str, order: Option<&str>| {
        json!({
            "productId": tyre, "customerName": "Léa <script>", "customerEmail": email, "rating": 5,
            "comment": "Très bon pneu, tient bien la route.", "orderId": order,
        })
    };
    let (status, _, body) = api
        .post("/api/reviews", &review("lea@example.fr", None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    check(&doc, "/api/reviews", "post", status, &body);
    assert_eq!(
        (body["status"].as_str(), body["verifiedPurchase"].as_bool()),
        (Some("pending"), Some(false))
    );

    let (status, _, body) = api
        .post("/api/reviews", &review("LEA@example.fr", None))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A verified purchase: an order holding the product, by the same email.
    let placed = common::place(&api.db.bus(), &[(tyre, 1)]).await.unwrap();
    let (status, _, body) = api
        .post(
            "/api/reviews",
            &review("client@example.fr", Some(&placed.order_id.to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["verifiedPurchase"], true);

    for (patch, field) in [
        (json!({"rating": 6}), "rating"),
        (json!({"rating": "5"}), "rating"),
        (json!({"comment": "court"}), "comment"),
        (json!({"customerEmail": "pas-une-adresse"}), "customerEmail"),
        (json!({"productId": "42"}), "productId"),
        (json!({"productId": Uuid::now_v7()}), "productId"),
        (json!({"extra": 1}), "extra"),
    ] {
        let mut body = review("autre@example.fr", None);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, _, answer) = api.post("/api/reviews", &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{patch}: {answer}"
        );
        assert_eq!(answer["errors"][0]["field"], field, "{patch}: {answer}");
        check(&doc, "/api/reviews", "post", status, &answer);
    }
    let (status, _, _) = api
        .send(
            Request::post("/api/reviews")
                .header("x-api-key", &api.key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"rating\":"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = api
        .send(
            Request::post("/api/reviews")
                .header("x-api-key", &api.key)
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({ "comment": "x".repeat(70 * 1024) });
    let (status, _, _) = api.post("/api/reviews", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

fn order(items: Value, method: &str) -> Value {
    json!({
        "items": items, "customerEmail": "client@example.fr", "customerName": "Client Test",
        "customerPhone": "06 12 34 56 78", "pickupLocation": "Atelier de Lyon", "paymentMethod": method,
    })
}

#[tokio::test]
async fn an_order_is_placed_confirmed_and_shown_to_its_customer_only() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, battery, draft) = catalog(&api).await;
    let (status, _, body) = api
        .post(
            "/api/orders",
            &order(json!([{ "productId": tyre, "quantity": 2 }]), "pickup"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    check(&doc, "/api/orders", "post", status, &body);
    assert_eq!(body["totals"]["totalTtc"], "240.00");
    assert_eq!(body["totals"]["vat"][0]["amount"], "40.00");
    let number = body["orderNumber"].as_str().unwrap().to_owned();
    let token = body["customerToken"].as_str().unwrap().to_owned();

    // `serve` runs the projector live; here it is run by hand.
    api.settle().await;
    let (status, _, page) = api
        .get(&format!("/api/orders/{number}?token={token}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    check(&doc, "/api/orders/{orderNumber}", "get", status, &page);
    assert_eq!(page["lines"][0]["quantity"], 2);
    let (status, _, _) = api.get(&format!("/api/orders/{number}?token=wrong")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api.get("/api/orders/C-1999-00001?token=x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = api.get(&format!("/api/orders/{number}")).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("token"))
    );
    // The key that placed the order is the actor of its events.
    let actors: Vec<String> = sqlx::query_scalar("select distinct metadata->>'actor_kind' from events where event_type in ('OrderPlaced', 'StockReserved')")
        .fetch_all(&api.db.pool)
        .await
        .unwrap();
    assert_eq!(actors, vec!["api_key".to_owned()]);

    let (status, _, body) = api
        .post(
            "/api/orders",
            &order(json!([{ "productId": tyre, "quantity": 1 }]), "stripe"),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("payment provider not configured"));

    let (status, _, body) = api.post("/api/orders", &order(json!([{ "productId": tyre, "quantity": 1 }, { "productId": battery, "quantity": 1 }]), "pickup")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&battery.to_string()),
        "{body}"
    );
    check(&doc, "/api/orders", "post", status, &body);

    for (items, field) in [
        (
            json!([{ "productId": draft, "quantity": 1 }]),
            "items[0].productId",
        ),
        (
            json!([{ "productId": tyre, "quantity": 100 }]),
            "items[0].quantity",
        ),
        (
            json!([{ "productId": tyre, "quantity": 1 }, { "productId": tyre, "quantity": 1 }]),
            "items[1].productId",
        ),
        (json!([]), "items"),
        (
            Value::Array(
                (0..51)
                    .map(|_| json!({ "productId": Uuid::now_v7(), "quantity": 1 }))
                    .collect(),
            ),
            "items",
        ),
        (
            json!([{ "productId": tyre, "quantity": "1" }]),
            "items[0].quantity",
        ),
    ] {
        let (status, _, body) = api.post("/api/orders", &order(items, "pickup")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let (status, _, body) = api
        .post(
            "/api/orders",
            &order(json!([{ "productId": tyre, "quantity": 1 }]), "cash"),
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("paymentMethod"))
    );

    // Nothing refused above left a reservation behind.
    api.settle().await;
    let reserved: i64 =
        sqlx::query_scalar("select coalesce(sum(reserved), 0)::bigint from stock_levels")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    assert_eq!(reserved, 0);
}

#[tokio::test]
async fn a_business_customer_s_invoicing_details_are_checked_recorded_and_shown() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    let with = |billing: Value| {
        let mut body = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup");
        body["billing"] = billing;
        body
    };
    let garage = json!({
        "company": " Garage du Rhône ", "street": "4 quai Perrache\nBâtiment B",
        "postalCode": "69002", "city": "Lyon", "country": "France", "vatNumber": "FR11123456782",
    });

    // Each refusal names its field as the request spells it; nothing is placed.
    let refusals = [
        ("company", json!("  "), "billing.company"),
        ("postalCode", json!(""), "billing.postalCode"),
        ("city", json!("Ly\ton"), "billing.city"),
        ("country", json!("x".repeat(201)), "billing.country"),
        ("vatNumber", json!("FR00000000000"), "billing.vatNumber"),
    ];
    for (key, value, field) in refusals {
        let mut billing = garage.clone();
        billing[key] = value;
        let (status, _, body) = api.post("/api/orders", &with(billing)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
        check(&doc, "/api/orders", "post", status, &body);
    }
    let mut missing = garage.clone();
    missing.as_object_mut().unwrap().remove("street");
    let (status, _, body) = api.post("/api/orders", &with(missing)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let placed: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'OrderPlaced'")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    assert_eq!(placed, 0);

    let (status, _, body) = api.post("/api/orders", &with(garage)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let number = body["orderNumber"].as_str().unwrap().to_owned();
    let token = body["customerToken"].as_str().unwrap().to_owned();
    api.settle().await;
    let (status, _, page) = api
        .get(&format!("/api/orders/{number}?token={token}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    check(&doc, "/api/orders/{orderNumber}", "get", status, &page);
    assert_eq!(page["billing"]["company"], "Garage du Rhône");
    assert_eq!(page["billing"]["street"], "4 quai Perrache\nBâtiment B");
    assert_eq!(page["billing"]["vatNumber"], "FR11123456782");

    // An individual's order has no invoicing details.
    let (_, _, body) = api
        .post(
            "/api/orders",
            &order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup"),
        )
        .await;
    api.settle().await;
    let (_, _, page) = api
        .get(&format!(
            "/api/orders/{}?token={}",
            body["orderNumber"].as_str().unwrap(),
            body["customerToken"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page["billing"], Value::Null);
}

#[tokio::test]
async fn an_idempotency_key_creates_one_order_however_often_it_is_sent() {
    let api = Arc::new(Api::relaxed().await);
    let (tyre, _, _) = catalog(&api).await;
    let body = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (api, body) = (api.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let request = Request::post("/api/orders")
                .header("x-api-key", &api.key)
                .header("idempotency-key", "order-42")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            api.send(request).await
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for task in tasks {
        let (status, _, answer) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        numbers.insert(answer["orderNumber"].as_str().unwrap().to_owned());
    }
    assert_eq!(numbers.len(), 1);
    let orders: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'OrderPlaced'")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    assert_eq!(orders, 1);

    let other = order(json!([{ "productId": tyre, "quantity": 2 }]), "pickup");
    let request = Request::post("/api/orders")
        .header("x-api-key", &api.key)
        .header("idempotency-key", "order-42")
        .header(header::CONTENT_TYPE, "application/json");
    let (status, _, _) = api
        .send(request.body(Body::from(other.to_string())).unwrap())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn fifty_storefront_orders_for_seven_units_sell_seven_and_leave_no_reservation() {
    let api = Arc::new(Api::relaxed().await);
    let product = published_product(&api.db.bus(), "PN-7", "50.00", 7).await;
    api.settle().await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post(
                "/api/orders",
                &order(json!([{ "productId": product, "quantity": 1 }]), "pickup"),
            )
            .await
            .0
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 7);
    api.settle().await;
    let stock = api.db.bus().stock.load(&product.to_string()).await.unwrap();
    assert_eq!(
        (stock.on_hand(), stock.available(), stock.reserved()),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_cors_admits_only_configured_origins() {
    let api = Api::new(ApiLimits {
        per_minute: 100,
        writes_per_minute: 2,
        cors_origins: vec!["https://shop.example".into()],
        trusted_proxy_header: None,
    })
    .await;
    let (tyre, _, _) = catalog(&api).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            api.post(
                "/api/orders",
                &order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup"),
            )
            .await,
        );
    }
    assert_eq!(statuses[2].0, StatusCode::TOO_MANY_REQUESTS);
    assert!(statuses[2].1.get(header::RETRY_AFTER).is_some());

    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/products")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "x-api-key")
            .body(Body::empty())
            .unwrap()
    };
    let response = api
        .app
        .clone()
        .oneshot(preflight("https://shop.example"))
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://shop.example"
    );
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .unwrap()
        .to_str()
        .unwrap()
        .contains("x-api-key"));
    let response = api
        .app
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
}

#[tokio::test]
async fn the_shop_settings_name_the_pickup_locations_orders_accept_and_the_origins_cors_admits() {
    use aggregates::{ShopSettingsCommand, WebOrigin, SHOP_SETTINGS_ID};

    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    let (status, headers, shop) = api.get("/api/shop").await;
    assert_eq!(status, StatusCode::OK, "{shop}");
    check(&doc, "/api/shop", "get", status, &shop);
    assert_eq!(shop["currency"], "EUR");
    assert_eq!(shop["pickupLocations"], json!([]));
    assert!(headers.get(header::CACHE_CONTROL).is_some());
    // No location configured: any place named is taken as written.
    let line = json!([{ "productId": tyre, "quantity": 1 }]);
    let mut anywhere = order(line.clone(), "pickup");
    anywhere["pickupLocation"] = json!("Au garage");
    assert_eq!(
        api.post("/api/orders", &anywhere).await.0,
        StatusCode::CREATED
    );

    let bus = api.db.bus();
    let system = EventMetadata::system();
    for (name, address) in [
        ("Atelier de Lyon", "12 rue de la Moto"),
        ("Dépôt Est", "4 avenue des Pistons"),
    ] {
        bus.settings
            .execute(
                SHOP_SETTINGS_ID,
                ShopSettingsCommand::AddPickupLocation {
                    location_id: Uuid::now_v7(),
                    name: name.into(),
                    address: address.into(),
                    opening_hours: "9 h – 18 h".into(),
                },
                &system,
            )
            .await
            .unwrap();
    }
    api.shop.reload(&bus).await.unwrap();
    let (status, _, shop) = api.get("/api/shop").await;
    check(&doc, "/api/shop", "get", status, &shop);
    assert_eq!(shop["pickupLocations"][1]["name"], "Dépôt Est");
    assert_eq!(shop["pickupLocations"][0]["address"], "12 rue de la Moto");

    let mut lowercase = order(line.clone(), "pickup");
    lowercase["pickupLocation"] = json!("  atelier DE lyon ");
    let (status, _, placed) = api.post("/api/orders", &lowercase).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    api.settle().await;
    let (_, _, page) = api
        .get(&format!(
            "/api/orders/{}?token={}",
            placed["orderNumber"].as_str().unwrap(),
            placed["customerToken"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page["pickupLocation"], "Atelier de Lyon", "{page}");
    let (status, _, refused) = api.post("/api/orders", &anywhere).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    check(&doc, "/api/orders", "post", status, &refused);
    assert_eq!(refused["errors"][0]["field"], "pickupLocation");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Atelier de Lyon, Dépôt Est"), "{message}");

    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/shop")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = |response: &axum::response::Response| {
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let before = api
        .app
        .clone()
        .oneshot(preflight("https://new-shop.example"))
        .await
        .unwrap();
    assert_eq!(allowed(&before), None);
    bus.settings
        .execute(
            SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeCorsOrigins {
                origins: vec![WebOrigin::new("https://new-shop.example/").unwrap()],
            },
            &system,
        )
        .await
        .unwrap();
    api.shop.reload(&bus).await.unwrap();
    let after = api
        .app
        .clone()
        .oneshot(preflight("https://new-shop.example"))
        .await
        .unwrap();
    assert_eq!(allowed(&after).as_deref(), Some("https://new-shop.example"));
    // The configured origin still applies beside the settings'.
    let configured = api
        .app
        .clone()
        .oneshot(preflight("https://shop.example"))
        .await
        .unwrap();
    assert_eq!(
        allowed(&configured).as_deref(),
        Some("https://shop.example")
    );
    let other = api
        .app
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(allowed(&other), None);
}

#[tokio::test]
async fn cached_catalog_answers_follow_the_projector_and_revoked_keys_stop_at_once() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let product = published_product(&bus, "PN-1", "100.00", 3).await;
    let (changes_tx, changes_rx) = tokio::sync::watch::channel(0u64);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = Projector::new(db.pool.clone(), comptoir::app::consumers(&bus))
        .with_changes(changes_tx)
        .spawn(shutdown.clone());
    let key_cache = Arc::new(comptoir::api::cache::KeyCache::new(
        std::time::Duration::from_secs(300),
    ));
    tasks.push(tokio::spawn(comptoir::api::cache::follow_revocations(
        db.pool.clone(),
        key_cache.clone(),
        shutdown,
    )));
    let state = AppState {
        bus: bus.clone(),
        limits: ApiLimits {
            per_minute: 100_000,
            writes_per_minute: 100_000,
            ..ApiLimits::default()
        },
        read_cache: Arc::new(comptoir::api::cache::ReadCache::new(
            changes_rx,
            std::time::Duration::from_secs(60),
        )),
        key_cache,
        ..common::state(&db)
    };
    let key = comptoir::api::keys::create(&db.pool, "storefront")
        .await
        .unwrap()
        .key;
    let app = router(state);
    let get = |uri: &'static str| {
        let (app, key) = (app.clone(), key.clone());
        async move {
            let response = app
                .oneshot(
                    Request::get(uri)
                        .header("x-api-key", key)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let price = |body: &Value| body["items"][0]["priceHt"].as_str().map(str::to_owned);
    let mut seen = None;
    for _ in 0..200 {
        let (_, body) = get("/api/products").await;
        seen = price(&body);
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen.as_deref(), Some("100.00"));

    let change = ProductCommand::ChangeProductPrice {
        price_ht: aggregates::Money::try_from("80.00").unwrap(),
    };
    bus.products
        .execute(&product.to_string(), change, &EventMetadata::system())
        .await
        .unwrap();
    let mut fresh = false;
    for _ in 0..200 {
        let (_, body) = get("/api/products").await;
        if price(&body).as_deref() == Some("80.00") {
            fresh = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(fresh, "the cached list follows the projector");

    comptoir::api::keys::revoke(&db.pool, "storefront")
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..100 {
        if get("/api/categories").await.0 == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "a revoked key is dropped from the cache");
    let _ = stop.send(true);
    for task in tasks {
        task.await.unwrap();
    }
}

// ------------------------------------------------- what the API fuzzer (tests/api_fuzz.rs) found

/// Posts `body` as JSON, byte for byte.
async fn post_raw(api: &Api, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let (status, _, body) = api
        .send(
            Request::post(uri)
                .header("x-api-key", &api.key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    (status, body)
}

fn refused_field(status: StatusCode, body: &Value) -> (StatusCode, Option<&str>) {
    (status, body["errors"][0]["field"].as_str())
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

#[tokio::test]
async fn text_holding_a_nul_character_is_refused_by_name_never_a_500() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    // PostgreSQL stores no U+0000 in text or jsonb: these were 500s.
    let review = json!({
        "productId": tyre, "customerName": "Léa", "customerEmail": "lea@example.fr", "rating": 4,
        "comment": "Très bon pneu\u{0}, tient la route.",
    });
    let (status, _, body) = api.post("/api/reviews", &review).await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("comment")),
        "{body}"
    );
    check(&doc, "/api/reviews", "post", status, &body);
    let mut business = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup");
    business["billing"] = json!({ "company": "Garage\u{0}", "street": "4 quai Perrache",
        "postalCode": "69002", "city": "Lyon", "country": "France" });
    let (status, _, body) = api.post("/api/orders", &business).await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("billing.company")),
        "{body}"
    );
    let (status, _, body) = api.get("/api/products?category=pn%00eus").await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("category")),
        "{body}"
    );
    check(&doc, "/api/products", "get", status, &body);
    let (status, _, body) = api.get("/api/products?q=%00").await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("q")),
        "{body}"
    );
    let (status, _, _) = api.get("/api/products/pn%00100").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api.get("/api/orders/C-2026%0000001?token=x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing was stored.
    let (events,): (i64,) = sqlx::query_as(
        "select count(*) from events where event_type in ('ReviewSubmitted', 'OrderPlaced')",
    )
    .fetch_one(&api.db.pool)
    .await
    .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_vat_number_with_letters_outside_ascii_is_refused_by_name_not_a_panic() {
    let api = Api::relaxed().await;
    let (tyre, _, _) = catalog(&api).await;
    let mut business = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup");
    // Cut inside the `²`, this closed the connection without an answer.
    for vat in ["J²D7Z", "FRé1234567890"] {
        business["billing"] = json!({ "company": "Garage du Rhône", "street": "4 quai Perrache",
            "postalCode": "69002", "city": "Lyon", "country": "France", "vatNumber": vat });
        let (status, _, body) = api.post("/api/orders", &business).await;
        assert_eq!(
            refused_field(status, &body),
            (UNPROCESSABLE, Some("billing.vatNumber")),
            "{vat}: {body}"
        );
    }
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_named_in_a_problem_document() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    // serde_urlencoded refuses duplicates: a 400 the description did not list, and in
    // plain text for the reviews.
    let (status, _, body) = api
        .get("/api/products?status=published&status=published")
        .await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("status")),
        "{body}"
    );
    check(&doc, "/api/products", "get", status, &body);
    let (status, _, body) = api
        .get(&format!(
            "/api/reviews/{tyre}?status=approved&status=approved"
        ))
        .await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("status")),
        "{body}"
    );
    check(&doc, "/api/reviews/{productId}", "get", status, &body);
    let (status, _, body) = api.get("/api/orders/C-2026-00001?token=a&token=b").await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("token")),
        "{body}"
    );
    check(&doc, "/api/orders/{orderNumber}", "get", status, &body);
}

#[tokio::test]
async fn whole_numbers_written_with_a_decimal_point_are_whole_numbers() {
    let api = Api::relaxed().await;
    let (tyre, _, _) = catalog(&api).await;
    // JSON Schema's `integer`, which the description gives, includes 2.0.
    let (status, body) = post_raw(
        &api,
        "/api/orders",
        order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup")
            .to_string()
            .replace(r#""quantity":1"#, r#""quantity":2.0"#)
            .into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["totals"]["totalTtc"], "240.00");
    let review = r#"{"productId": "ID", "customerName": "Léa", "customerEmail": "lea@example.fr",
        "rating": 5.0, "comment": "Très bon pneu, tient la route."}"#
        .replace("ID", &tyre.to_string());
    let (status, body) = post_raw(&api, "/api/reviews", review.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = post_raw(
        &api,
        "/api/orders",
        order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup")
            .to_string()
            .replace(r#""quantity":1"#, r#""quantity":1.5"#)
            .into_bytes(),
    )
    .await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("items[0].quantity")),
        "{body}"
    );
}

#[tokio::test]
async fn a_missing_field_is_named_and_a_body_must_be_one_json_object() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let (tyre, _, _) = catalog(&api).await;
    let mut unpaid = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup");
    unpaid.as_object_mut().unwrap().remove("paymentMethod");
    let (status, _, body) = api.post("/api/orders", &unpaid).await;
    assert_eq!(
        refused_field(status, &body),
        (UNPROCESSABLE, Some("paymentMethod")),
        "{body}"
    );
    check(&doc, "/api/orders", "post", status, &body);
    let (status, _, body) = api
        .post("/api/reviews", &json!({ "productId": tyre }))
        .await;
    assert_eq!(status, UNPROCESSABLE, "{body}");
    assert!(
        body["errors"][0]["field"]
            .as_str()
            .is_some_and(|f| !f.is_empty()),
        "{body}"
    );
    // serde would fill the order from an array, field by field.
    let positional = json!([[{ "productId": tyre, "quantity": 1 }], "client@example.fr",
        "Client", "06 12 34 56 78", "Atelier", "pickup"]);
    let (status, body) = post_raw(&api, "/api/orders", positional.to_string().into_bytes()).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (UNPROCESSABLE, Some("the body must be a JSON object"))
    );
    let (status, _) = post_raw(&api, "/api/orders", b"null".to_vec()).await;
    assert_eq!(status, UNPROCESSABLE);
    let mut trailing = order(json!([{ "productId": tyre, "quantity": 1 }]), "pickup")
        .to_string()
        .into_bytes();
    trailing.extend_from_slice(b" x");
    let (status, body) = post_raw(&api, "/api/orders", trailing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (events,): (i64,) =
        sqlx::query_as("select count(*) from events where event_type = 'OrderPlaced'")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_document_on_every_route() {
    let api = Api::relaxed().await;
    let doc = comptoir::api::openapi::document();
    let mut big = order(json!([]), "pickup");
    big["customerName"] = json!("x".repeat(comptoir::api::BODY_LIMIT));
    // `Api::send` checks that every 4xx is `application/problem+json`: the orders and the
    // payment notifications read raw bytes, whose rejection was plain text.
    for (uri, path) in [
        ("/api/orders", "/api/orders"),
        ("/api/reviews", "/api/reviews"),
        ("/api/webhooks/payment", "/api/webhooks/payment"),
    ] {
        let (status, body) = post_raw(&api, uri, big.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}: {body}");
        check(&doc, path, "post", status, &body);
    }
}

#[test]
fn the_description_links_an_order_to_its_confirmation_page() {
    let doc = comptoir::api::openapi::document();
    let link = &doc["paths"]["/api/orders"]["post"]["responses"]["201"]["links"]["GetOrder"];
    assert_eq!(link["operationId"], "getOrder");
    assert_eq!(link["parameters"]["token"], "$response.body#/customerToken");
    let webhook = &doc["paths"]["/api/webhooks/payment"]["post"]["responses"];
    for status in ["200", "400", "413", "503"] {
        assert!(!webhook[status].is_null(), "the webhook's {status}");
    }
}
