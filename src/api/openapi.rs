//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the public API. Written by hand
//! next to the handlers it describes; the contract tests check answers against it.

use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::AppState;

/// The description's route (public: it holds no data).
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { Json(document()).into_response() }),
    )
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

/// Adds OpenAPI links to the `status` answer of `responses`: where the storefront (and a
/// stateful fuzzer) goes next with what the answer holds.
fn with_links(mut responses: Value, status: &str, links: Value) -> Value {
    responses[status]["links"] = links;
    responses
}

/// The whole description.
pub fn document() -> Value {
    let money =
        json!({ "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$", "examples": ["89.90"] });
    let rate = json!({ "type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$", "examples": ["20", "5.5"] });
    let uuid = json!({ "type": "string", "format": "uuid" });
    let common_errors = |extra: &[(&str, &str)]| {
        let mut responses = serde_json::Map::new();
        responses.insert("401".into(), problem("Missing or wrong API key"));
        responses.insert("429".into(), json!({
            "description": "Too many requests",
            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
        }));
        responses.insert("503".into(), problem("The database is unavailable"));
        for (code, description) in extra {
            responses.insert((*code).into(), problem(description));
        }
        responses
    };
    let cached = |schema: &str, extra: &[(&str, &str)]| {
        let mut responses = common_errors(extra);
        let mut ok = ok("OK", schema);
        ok["headers"] = json!({ "ETag": { "schema": { "type": "string" } }, "Cache-Control": { "schema": { "type": "string" } } });
        responses.insert("200".into(), ok);
        responses.insert(
            "304".into(),
            json!({ "description": "Not modified (If-None-Match matched the ETag)" }),
        );
        Value::Object(responses)
    };
    let if_none_match = json!({ "name": "If-None-Match", "in": "header", "required": false, "schema": { "type": "string" } });

    let submit_review_responses = {
        let mut r = common_errors(&[
            ("400", "Malformed JSON"),
            ("409", "This email has already reviewed this product"),
            ("413", "Body too large"),
            ("415", "Not JSON"),
            ("422", "A field is invalid (named in `errors`)"),
        ]);
        r.insert("201".into(), ok("Created", "ReviewCreated"));
        Value::Object(r)
    };
    let place_order_responses = {
        let mut r = common_errors(&[
                        ("400", "Malformed JSON or Idempotency-Key"),
                        ("409", "Not enough stock (the product and what is available are named), or a concurrent change"),
                        ("413", "Body too large"),
                        ("415", "Not JSON"),
                        ("422", "A field is invalid, a product is unknown or not for sale (the line is named), or the Idempotency-Key was used with another body")
                    ]);
        r.insert("201".into(), ok("Created", "OrderPlaced"));
        r.insert(
            "503".into(),
            problem("The database is unavailable, or the payment provider is not configured"),
        );
        Value::Object(r)
    };
    let get_order_responses = {
        let mut r = common_errors(&[
            ("404", "No such order, or a wrong token"),
            ("422", "The token is missing"),
        ]);
        r.insert("200".into(), ok("OK", "OrderConfirmation"));
        Value::Object(r)
    };

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Comptoir storefront API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The catalog, reviews and orders of the shop. Every request but this description needs an `X-API-Key`. Errors are RFC 9457 problem documents. Amounts are decimal strings."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "apiKey": [] }],
        "paths": {
            "/api/products": { "get": {
                "operationId": "listProducts",
                "summary": "Published products, paginated",
                "parameters": [
                    query("category", "Category slug", json!({ "type": "string", "maxLength": 120 })),
                    query("status", "Only `published` is accepted (nothing else is public)", json!({ "type": "string", "enum": ["published"] })),
                    query("page", "Page, from 1", json!({ "type": "integer", "minimum": 1, "maximum": 100000, "default": 1 })),
                    query("limit", "Items per page", json!({ "type": "integer", "minimum": 1, "maximum": 100, "default": 20 })),
                    query("q", "Search names (French stemming) and reference prefixes", json!({ "type": "string", "maxLength": 100 })),
                    query("sort", "Order", json!({ "type": "string", "enum": crate::api::catalog::Sort::VALUES, "default": "name" })),
                    if_none_match.clone()
                ],
                "responses": with_links(cached("ProductPage", &[("422", "A parameter is invalid (named in `errors`)")]), "200", json!({
                    "GetFirstProduct": { "operationId": "getProduct", "parameters": { "slug": "$response.body#/items/0/slug" }, "description": "The first product of the page" },
                    "ListFirstProductReviews": { "operationId": "listReviews", "parameters": { "productId": "$response.body#/items/0/id" }, "description": "The approved reviews of the first product of the page" }
                }))
            }},
            "/api/products/{slug}": { "get": {
                "operationId": "getProduct",
                "summary": "A published product with its approved reviews",
                "parameters": [
                    { "name": "slug", "in": "path", "required": true, "schema": { "type": "string" } },
                    if_none_match.clone()
                ],
                "responses": {
                    "200": ok("OK", "ProductDetail"),
                    "301": { "description": "The slug changed: Location gives the current one", "headers": { "Location": { "schema": { "type": "string" } } } },
                    "304": { "description": "Not modified" },
                    "401": problem("Missing or wrong API key"),
                    "404": problem("No published product has this slug"),
                    "429": problem("Too many requests"),
                    "503": problem("The database is unavailable")
                }
            }},
            "/api/categories": { "get": {
                "operationId": "listCategories",
                "summary": "Categories with their published-product counts",
                "parameters": [if_none_match.clone()],
                "responses": cached("CategoryList", &[])
            }},
            "/api/shop": { "get": {
                "operationId": "getShop",
                "summary": "The shop's name, currency and pickup locations (the names orders accept)",
                "responses": {
                    "200": ok("OK", "Shop"),
                    "401": problem("Missing or wrong API key"),
                    "429": problem("Too many requests")
                }
            }},
            "/api/reviews/{productId}": { "get": {
                "operationId": "listReviews",
                "summary": "Approved reviews of a product",
                "parameters": [
                    { "name": "productId", "in": "path", "required": true, "schema": uuid },
                    query("status", "Only `approved` is accepted", json!({ "type": "string", "enum": ["approved"] })),
                    if_none_match
                ],
                "responses": cached("ReviewList", &[("404", "No published product has this id"), ("422", "A parameter is invalid (named in `errors`)")])
            }},
            "/api/reviews": { "post": {
                "operationId": "submitReview",
                "summary": "Submit a review (pending until moderated)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewReview" } } } },
                "responses": submit_review_responses
            }},
            "/api/orders": { "post": {
                "operationId": "placeOrder",
                "summary": "Place an order (stock reserved for every line, all or nothing)",
                "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false, "description": "Same key and body: the first answer again, nothing new created. Same key, other body: 422.", "schema": { "type": "string", "minLength": 1, "maxLength": 255 } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewOrder" } } } },
                "responses": with_links(place_order_responses, "201", json!({
                    "GetOrder": { "operationId": "getOrder", "parameters": { "orderNumber": "$response.body#/orderNumber", "token": "$response.body#/customerToken" }, "description": "The customer's confirmation page of the order just placed" }
                }))
            }},
            "/api/orders/{orderNumber}": { "get": {
                "operationId": "getOrder",
                "summary": "The customer's confirmation page data",
                "parameters": [
                    { "name": "orderNumber", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "token", "in": "query", "required": true, "schema": { "type": "string" } }
                ],
                "responses": get_order_responses
            }},
            "/api/webhooks/payment": { "post": {
                "operationId": "paymentWebhook",
                "summary": "Payment provider notifications (signed by the provider, no API key)",
                "security": [],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "description": "The provider's event, exactly as signed" } } } },
                "responses": {
                    "200": { "description": "Received (and acted on, or acknowledged and ignored)", "content": { "application/json": { "schema": { "type": "object", "required": ["received"], "properties": {
                        "received": { "type": "boolean" }, "event": { "type": "string" }, "type": { "type": "string" }, "ignored": { "type": "string" }
                    } } } } },
                    "400": problem("Missing or wrong signature, or a notification that cannot be read"),
                    "413": problem("Body too large"),
                    "503": problem("No payment provider is configured, or the notification could not be recorded now (the provider delivers it again)")
                }
            }},
            "/api/openapi.json": { "get": {
                "operationId": "openapi",
                "summary": "This description",
                "security": [],
                "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }}
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" } },
            "schemas": {
                "Problem": { "type": "object", "required": ["type", "title", "status"], "properties": {
                    "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                    "detail": { "type": "string" },
                    "errors": { "type": "array", "items": { "type": "object", "required": ["field", "message"], "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } }
                }},
                "Product": { "type": "object", "required": ["id", "reference", "slug", "name", "description", "category", "priceHt", "vatRate", "priceTtc", "stockStatus", "images", "metaDescription", "rating"], "properties": {
                    "id": uuid, "reference": { "type": "string" }, "slug": { "type": "string" }, "name": { "type": "string" },
                    "description": { "type": "string" },
                    "category": { "type": "object", "required": ["slug", "name"], "properties": { "slug": { "type": "string" }, "name": { "type": "string" } } },
                    "priceHt": money, "vatRate": rate, "priceTtc": money,
                    "stockStatus": { "type": "string", "enum": ["available", "out_of_stock"] },
                    "images": { "type": "array", "items": { "type": "object", "required": ["url", "thumbnailUrl", "alt"], "properties": { "id": { "type": "string", "format": "uuid" }, "url": { "type": "string" }, "thumbnailUrl": { "type": "string" }, "alt": { "type": "string" } } } },
                    "metaDescription": { "type": "string" },
                    "rating": { "type": "object", "required": ["average", "count"], "properties": { "average": { "type": ["string", "null"] }, "count": { "type": "integer" } } }
                }},
                "ProductPage": { "type": "object", "required": ["items", "page", "limit", "total", "pageCount"], "properties": {
                    "items": { "type": "array", "items": { "$ref": "#/components/schemas/Product" } },
                    "page": { "type": "integer" }, "limit": { "type": "integer" }, "total": { "type": "integer" }, "pageCount": { "type": "integer" }
                }},
                "Review": { "type": "object", "required": ["id", "customerName", "rating", "comment", "verifiedPurchase", "submittedAt"], "properties": {
                    "id": uuid, "customerName": { "type": "string" }, "rating": { "type": "integer", "minimum": 1, "maximum": 5 },
                    "comment": { "type": "string" }, "verifiedPurchase": { "type": "boolean" }, "submittedAt": { "type": "string", "format": "date-time" },
                    "response": { "type": ["string", "null"] }, "respondedAt": { "type": ["string", "null"], "format": "date-time" }
                }},
                "RatingSummary": { "type": "object", "required": ["average", "count", "distribution"], "properties": {
                    "average": { "type": ["string", "null"] }, "count": { "type": "integer" },
                    "distribution": { "type": "array", "items": { "type": "integer" }, "minItems": 5, "maxItems": 5, "description": "Counts of 1 to 5 stars" }
                }},
                "ProductDetail": { "allOf": [{ "$ref": "#/components/schemas/Product" }, { "type": "object", "required": ["reviews", "ratingSummary"], "properties": {
                    "reviews": { "type": "array", "items": { "$ref": "#/components/schemas/Review" } },
                    "ratingSummary": { "$ref": "#/components/schemas/RatingSummary" }
                }}]},
                "CategoryList": { "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": { "type": "object", "required": ["id", "slug", "name", "description", "productCount"], "properties": {
                    "id": uuid, "slug": { "type": "string" }, "name": { "type": "string" }, "description": { "type": "string" }, "productCount": { "type": "integer" }
                }}}}},
                "Shop": { "type": "object", "required": ["name", "currency", "pickupLocations"], "properties": {
                    "name": { "type": ["string", "null"], "description": "The seller's registered name, once set" },
                    "currency": { "type": "string", "description": "ISO 4217 code of every amount" },
                    "pickupLocations": { "type": "array", "description": "Empty: any place named is accepted", "items": { "type": "object", "required": ["id", "name", "address", "openingHours"], "properties": {
                        "id": uuid, "name": { "type": "string" }, "address": { "type": "string" }, "openingHours": { "type": "string" }
                    }}}
                }},
                "ReviewList": { "type": "object", "required": ["items", "ratingSummary"], "properties": {
                    "items": { "type": "array", "items": { "$ref": "#/components/schemas/Review" } },
                    "ratingSummary": { "$ref": "#/components/schemas/RatingSummary" }
                }},
                "NewReview": { "type": "object", "additionalProperties": false, "required": ["productId", "customerName", "customerEmail", "rating", "comment"], "properties": {
                    "productId": uuid, "customerName": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "customerEmail": { "type": "string", "format": "email", "maxLength": 254 },
                    "rating": { "type": "integer", "minimum": 1, "maximum": 5 },
                    "comment": { "type": "string", "minLength": 10, "maxLength": 5000 },
                    "orderId": { "type": ["string", "null"], "format": "uuid", "description": "Marks a verified purchase when that order holds the product and the email matches" }
                }},
                "ReviewCreated": { "type": "object", "required": ["id", "status", "verifiedPurchase"], "properties": {
                    "id": uuid, "status": { "type": "string", "enum": ["pending"] }, "verifiedPurchase": { "type": "boolean" }
                }},
                "NewOrder": { "type": "object", "additionalProperties": false, "required": ["items", "customerEmail", "customerName", "customerPhone", "pickupLocation", "paymentMethod"], "properties": {
                    "items": { "type": "array", "minItems": 1, "maxItems": 50, "items": { "type": "object", "additionalProperties": false, "required": ["productId", "quantity"], "properties": {
                        "productId": uuid, "quantity": { "type": "integer", "minimum": 1, "maximum": 99 }
                    }}},
                    "customerEmail": { "type": "string", "format": "email", "maxLength": 254 },
                    "customerName": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "customerPhone": { "type": "string", "minLength": 6, "maxLength": 30, "pattern": "^[ \\t\\r\\n]*\\+?[ .-]*([0-9][ .-]*){6,20}[ \\t\\r\\n]*$", "description": "6 to 20 digits, an optional leading +, spaces, dots and hyphens", "examples": ["06 12 34 56 78", "+33 6 12 34 56 78"] },
                    "pickupLocation": { "type": "string", "minLength": 1, "maxLength": 200, "description": "One of the names `GET /api/shop` lists, when it lists any" },
                    "language": { "type": "string", "enum": ["fr", "en"], "description": "The language of the shop's emails about this order (default fr)" },
                    "paymentMethod": { "type": "string", "enum": ["pickup", "stripe", "oney"] },
                    "billing": { "$ref": "#/components/schemas/Billing" }
                }},
                "Billing": { "type": "object", "additionalProperties": false, "required": ["company", "street", "postalCode", "city", "country"],
                    "description": "For a customer buying for a business: the invoice is made out to this company and states the payment terms owed to a business",
                    "properties": {
                        "company": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S" },
                        "street": { "type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S", "description": "Several lines separated by line breaks" },
                        "postalCode": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S" },
                        "city": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S" },
                        "country": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S" },
                        "vatNumber": { "type": ["string", "null"], "description": "Intra-community VAT number, e.g. FR11123456782" }
                    }
                },
                "Totals": { "type": "object", "required": ["totalHt", "vat", "totalVat", "totalTtc"], "properties": {
                    "totalHt": money,
                    "vat": { "type": "array", "items": { "type": "object", "required": ["rate", "baseHt", "amount"], "properties": { "rate": rate, "baseHt": money, "amount": money } } },
                    "totalVat": money, "totalTtc": money
                }},
                "OrderPlaced": { "type": "object", "required": ["orderId", "orderNumber", "status", "paymentStatus", "totals", "customerToken", "payment"], "properties": {
                    "orderId": uuid, "orderNumber": { "type": "string" }, "status": { "type": "string" }, "paymentStatus": { "type": "string" },
                    "totals": { "$ref": "#/components/schemas/Totals" },
                    "customerToken": { "type": "string", "description": "Give it back with GET /api/orders/{orderNumber}?token=" },
                    "payment": { "type": "object", "required": ["method", "instructions"], "properties": {
                        "method": { "type": "string", "enum": ["pickup", "stripe"] }, "instructions": { "type": "string" },
                        "url": { "type": ["string", "null"], "description": "stripe: the hosted payment page to send the customer to" },
                        "sessionId": { "type": "string" }, "expiresAt": { "type": "string", "format": "date-time", "description": "stripe: the page lapses then, and the order is cancelled" }
                    } }
                }},
                "OrderConfirmation": { "type": "object", "required": ["orderId", "orderNumber", "customerName", "pickupLocation", "paymentMethod", "paymentStatus", "status", "placedAt", "lines", "totals"], "properties": {
                    "orderId": uuid, "orderNumber": { "type": "string" }, "customerName": { "type": "string" }, "pickupLocation": { "type": "string" },
                    "paymentMethod": { "type": "string" }, "paymentStatus": { "type": "string" }, "status": { "type": "string" },
                    "placedAt": { "type": "string", "format": "date-time" },
                    "lines": { "type": "array", "items": { "type": "object", "required": ["productId", "reference", "name", "quantity", "unitPriceHt", "vatRate", "lineTotalHt"], "properties": {
                        "productId": uuid, "reference": { "type": "string" }, "name": { "type": "string" }, "quantity": { "type": "integer" },
                        "unitPriceHt": money, "vatRate": rate, "lineTotalHt": money
                    }}},
                    "totals": { "$ref": "#/components/schemas/Totals" },
                    "billing": { "oneOf": [{ "$ref": "#/components/schemas/Billing" }, { "type": "null" }], "description": "The company invoiced, for a business customer" }
                }}
            }
        }
    })
}
