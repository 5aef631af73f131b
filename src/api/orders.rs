//! Orders from the storefront: `POST /api/orders` (idempotent with `Idempotency-Key`) and
//! `GET /api/orders/{orderNumber}?token=` for the customer's confirmation page.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use rand::RngCore;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use aggregates::metadata::Actor;
use aggregates::order::{OrderCommand, PaymentMethod};
use aggregates::{
    Billing, Email, Language, Phone, PickupLocation, PostalAddress, Totals, VatNumber,
};

use crate::api::auth::StorefrontKey;
use crate::api::error::{ApiError, FieldError};
use crate::api::extract::{ApiQuery, RawJson};
use crate::context::RequestContext;
use crate::http::AppState;
use crate::ordering::{place_order, OrderRequest, PlaceOrderError, PlacedOrder, RequestedItem};
use crate::payments::stripe::{Checkout, StripeGateway};

/// The order routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders", post(create))
        .route("/api/orders/{order_number}", get(confirmation))
}

/// A line of `POST /api/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewItem {
    product_id: String,
    #[serde(deserialize_with = "crate::api::extract::whole_number")]
    quantity: i64,
}

/// The body of `POST /api/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    items: Vec<NewItem>,
    customer_email: String,
    customer_name: String,
    customer_phone: String,
    pickup_location: String,
    payment_method: String,
    /// `fr` (the default) or `en`: the language of the shop's emails about the order.
    #[serde(default)]
    language: Option<String>,
    /// The company to invoice, when the customer buys for a business.
    #[serde(default)]
    billing: Option<NewBilling>,
}

/// A business customer's invoicing details in `POST /api/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBilling {
    company: String,
    street: String,
    postal_code: String,
    city: String,
    country: String,
    #[serde(default)]
    vat_number: Option<String>,
}

/// The invoicing details checked as the order will record them; errors name the field
/// as the request spells it (`billing.postalCode`).
fn parse_billing(body: &NewBilling) -> Result<Billing, Vec<FieldError>> {
    let mut errors = Vec::new();
    let vat_number = match body.vat_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match VatNumber::new(text) {
            Ok(number) => Some(number),
            Err(e) => {
                errors.push(FieldError {
                    field: "billing.vatNumber".into(),
                    message: e.to_string(),
                });
                None
            }
        },
    };
    let billing = Billing {
        company: body.company.clone(),
        address: PostalAddress {
            street: body.street.clone(),
            postal_code: body.postal_code.clone(),
            city: body.city.clone(),
            country: body.country.clone(),
        },
        vat_number,
    };
    match billing.checked() {
        Ok(billing) if errors.is_empty() => Ok(billing),
        Ok(_) => Err(errors),
        Err(e) => {
            let field = match e.field() {
                "postal_code" => "postalCode",
                other => other,
            };
            errors.insert(
                0,
                FieldError {
                    field: format!("billing.{field}"),
                    message: e.to_string(),
                },
            );
            Err(errors)
        }
    }
}

/// Most lines an order may have.
pub const MAX_LINES: usize = 50;

/// Checks an order request; `locations` are the shop's pickup locations (none configured:
/// any place named is taken as written).
fn parse(body: &NewOrder, locations: &[PickupLocation]) -> Result<OrderRequest, ApiError> {
    let mut errors = Vec::new();
    let mut refuse = |field: String, message: &str| {
        errors.push(FieldError {
            field,
            message: message.into(),
        })
    };
    if body.items.is_empty() || body.items.len() > MAX_LINES {
        refuse("items".into(), "an order has 1 to 50 lines");
    }
    let mut items = Vec::with_capacity(body.items.len());
    for (i, item) in body.items.iter().enumerate() {
        let product_id = Uuid::try_parse(item.product_id.trim());
        if product_id.is_err() {
            refuse(
                format!("items[{i}].productId"),
                "must be a product id (a UUID)",
            );
        }
        if !(1..=99).contains(&item.quantity) {
            refuse(
                format!("items[{i}].quantity"),
                "must be a whole number from 1 to 99",
            );
        }
        if let Ok(product_id) = product_id {
            if items
                .iter()
                .any(|it: &RequestedItem| it.product_id == product_id)
            {
                refuse(
                    format!("items[{i}].productId"),
                    "a product appears at most once; raise its quantity instead",
                );
            }
            items.push(RequestedItem {
                product_id,
                quantity: item.quantity.clamp(1, 99) as u32,
            });
        }
    }
    let email = Email::try_from(body.customer_email.as_str());
    if let Err(e) = &email {
        refuse("customerEmail".into(), &e.to_string());
    }
    let phone = Phone::try_from(body.customer_phone.as_str());
    if let Err(e) = &phone {
        refuse("customerPhone".into(), &e.to_string());
    }
    let name = body.customer_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        refuse("customerName".into(), "must be 1 to 100 characters");
    }
    let mut pickup = body.pickup_location.trim();
    if pickup.is_empty() || pickup.chars().count() > 200 {
        refuse("pickupLocation".into(), "must be 1 to 200 characters");
    } else if !locations.is_empty() {
        // The shop's own spelling is recorded, whatever the case the storefront sent.
        match locations
            .iter()
            .find(|l| l.name.to_lowercase() == pickup.to_lowercase())
        {
            Some(location) => pickup = &location.name,
            None => {
                let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
                refuse(
                    "pickupLocation".into(),
                    &format!(
                        "must be one of the shop's pickup locations: {}",
                        names.join(", ")
                    ),
                );
            }
        }
    }
    let method = match body.payment_method.as_str() {
        "pickup" => Some(PaymentMethod::Pickup),
        "stripe" => Some(PaymentMethod::Stripe),
        "oney" => Some(PaymentMethod::Oney),
        _ => {
            refuse(
                "paymentMethod".into(),
                "must be one of pickup, stripe, oney",
            );
            None
        }
    };
    let language = match body.language.as_deref() {
        None => Some(Language::Fr),
        Some(code) => {
            let language = Language::from_code(code);
            if language.is_none() {
                refuse("language".into(), "must be fr or en");
            }
            language
        }
    };
    let billing = match body.billing.as_ref().map(parse_billing).transpose() {
        Ok(billing) => billing,
        Err(refusals) => {
            errors.extend(refusals);
            None
        }
    };
    match (email, phone, method, language, errors.is_empty()) {
        (Ok(customer_email), Ok(customer_phone), Some(payment_method), Some(language), true) => {
            Ok(OrderRequest {
                order_id: Uuid::now_v7(),
                customer_email,
                customer_name: name.to_owned(),
                customer_phone,
                pickup_location: pickup.to_owned(),
                payment_method,
                items,
                language,
                billing,
            })
        }
        _ => Err(ApiError::Invalid(errors)),
    }
}

fn billing_json(billing: &Billing) -> Value {
    json!({
        "company": billing.company,
        "street": billing.address.street,
        "postalCode": billing.address.postal_code,
        "city": billing.address.city,
        "country": billing.address.country,
        "vatNumber": billing.vat_number.as_ref().map(VatNumber::as_str),
    })
}

fn totals_json(totals: &Totals) -> Value {
    json!({
        "totalHt": totals.total_ht.to_string(),
        "vat": totals.vat_breakdown.iter().map(|line| json!({
            "rate": line.rate.to_string(),
            "baseHt": line.base_ht.to_string(),
            "amount": line.vat.to_string(),
        })).collect::<Vec<_>>(),
        "totalVat": totals.total_vat.to_string(),
        "totalTtc": totals.total_ttc.to_string(),
    })
}

fn placed_json(placed: &PlacedOrder, token: &str, checkout: Option<&Checkout>) -> Value {
    let payment = match checkout {
        None => json!({
            "method": "pickup",
            "instructions": "Payez au retrait en magasin (espèces, carte ou chèque). Pay at pickup: cash, card or cheque.",
        }),
        Some(checkout) => json!({
            "method": "stripe",
            "instructions": "Payez en ligne sur la page de paiement sécurisée avant son expiration. Pay online on the secure payment page before it expires.",
            "url": checkout.url,
            "sessionId": checkout.session_id,
            "expiresAt": checkout.expires_at,
        }),
    };
    json!({
        "orderId": placed.order_id,
        "orderNumber": placed.order_number,
        "status": "pending",
        "paymentStatus": "pending",
        "totals": totals_json(&placed.totals),
        "customerToken": token,
        "payment": payment,
    })
}

fn refusal(error: PlaceOrderError) -> ApiError {
    match error {
        PlaceOrderError::NoItems => ApiError::field("items", "an order has 1 to 50 lines"),
        PlaceOrderError::BadQuantity { line } => ApiError::field(format!("items[{line}].quantity"), "must be a whole number from 1 to 99"),
        PlaceOrderError::DuplicateProduct { line, .. } => ApiError::field(format!("items[{line}].productId"), "a product appears at most once"),
        PlaceOrderError::UnknownProduct { line, .. } | PlaceOrderError::NotForSale { line, .. } => {
            ApiError::field(format!("items[{line}].productId"), "no product for sale has this id")
        }
        PlaceOrderError::InsufficientStock { line, product_id, requested, available } => ApiError::Conflict(format!(
            "items[{line}]: only {available} of product {product_id} available, {requested} requested"
        )),
        error if error.is_conflict() => ApiError::Conflict(format!("{error}; try again")),
        PlaceOrderError::Order(error) => ApiError::Unprocessable(error.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Places the order and records the customer's token.
async fn place(
    state: &AppState,
    key: StorefrontKey,
    context: &RequestContext,
    body: &NewOrder,
) -> Result<(StatusCode, Value), ApiError> {
    let shop = state.shop.get();
    let request = parse(body, shop.pickup_locations())?;
    // Checked before anything is reserved, so a refusal leaves nothing behind.
    let stripe = match request.payment_method {
        PaymentMethod::Pickup => None,
        PaymentMethod::Stripe => Some(state.payments.stripe.clone().ok_or_else(|| {
            ApiError::Unavailable(
                "payment provider not configured: `stripe` payments are not available; use `pickup`"
                    .into(),
            )
        })?),
        PaymentMethod::Oney => {
            return Err(ApiError::Unavailable(
                "`oney` payments are not available; use `pickup` or `stripe`".into(),
            ))
        }
    };
    let metadata = context.metadata(Actor::ApiKey(key.key_id));
    let placed = place_order(
        &state.bus,
        request,
        &metadata,
        Utc::now(),
        state.reservation_ttl,
    )
    .await
    .map_err(refusal)?;
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    let token = hex::encode(token);
    sqlx::query("insert into order_access (order_id, token_hash) values ($1, $2)")
        .bind(placed.order_id)
        .bind(Sha256::digest(token.as_bytes()).to_vec())
        .execute(&state.pool)
        .await?;
    let checkout = match stripe {
        Some(stripe) => Some(open_checkout(state, &stripe, &placed, &token, &metadata).await?),
        None => None,
    };
    // Read your writes: the confirmation page may be asked for right away.
    if let Ok(Some(position)) = state
        .bus
        .position_of("Order", &placed.order_id.to_string())
        .await
    {
        let _ = projections::runtime::wait_for(
            &state.pool,
            &["orders"],
            position,
            Duration::from_secs(2),
        )
        .await;
    }
    Ok((
        StatusCode::CREATED,
        placed_json(&placed, &token, checkout.as_ref()),
    ))
}

/// Opens the order's Stripe Checkout Session and records it on the order. When Stripe
/// cannot be reached the order is cancelled at once (its stock released) and the client is
/// told to try again: no order waits for a payment page nobody can open.
async fn open_checkout(
    state: &AppState,
    stripe: &StripeGateway,
    placed: &PlacedOrder,
    token: &str,
    metadata: &aggregates::EventMetadata,
) -> Result<Checkout, ApiError> {
    let id = placed.order_id.to_string();
    let order = state
        .bus
        .orders
        .load(&id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let opened = stripe
        .open_checkout(&order, token, state.reservation_ttl, Utc::now())
        .await;
    let checkout = match opened {
        Ok(checkout) => checkout,
        Err(error) => {
            tracing::error!(%error, order = %placed.order_number, "Stripe checkout not opened; the order is cancelled");
            let cancel = OrderCommand::CancelOrder {
                reason: aggregates::order::PAYMENT_UNAVAILABLE.into(),
            };
            if let Err(error) = state.bus.orders.execute(&id, cancel, metadata).await {
                tracing::error!(%error, order = %placed.order_number, "cancelling the unpayable order failed; the sweeper will release its stock");
            }
            return Err(ApiError::Unavailable(
                "the payment provider could not be reached; the order was not kept, try again"
                    .into(),
            ));
        }
    };
    let record = OrderCommand::OpenPaymentSession {
        provider: "stripe".into(),
        session_id: checkout.session_id.clone(),
        expires_at: checkout.expires_at,
        url: checkout.url.clone(),
    };
    state
        .bus
        .orders
        .execute(&id, record, metadata)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(checkout)
}

async fn create(
    key: StorefrontKey,
    context: RequestContext,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawJson(parsed, body): RawJson<NewOrder>,
) -> Result<Response, ApiError> {
    let Some(idempotency_key) = headers.get("idempotency-key") else {
        let (status, json) = place(&state, key, &context, &parsed).await?;
        return Ok((status, Json(json)).into_response());
    };
    let idempotency_key = idempotency_key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible characters".into())
        })?
        .to_owned();
    // The body as parsed, re-serialised: the same order sent with other whitespace is the same request.
    let canonical = serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap_or_default())
        .unwrap_or_default();
    let request_hash = Sha256::digest(&canonical).to_vec();
    let claimed: Option<i32> = sqlx::query_scalar(
        "insert into idempotency_keys (api_key_id, key, request_hash) values ($1, $2, $3)
         on conflict do nothing returning 1",
    )
    .bind(key.key_id)
    .bind(&idempotency_key)
    .bind(&request_hash)
    .fetch_optional(&state.pool)
    .await?;
    if claimed.is_none() {
        return replay(&state, key, &idempotency_key, &request_hash).await;
    }
    let outcome = place(&state, key, &context, &parsed).await;
    let (status, json) = match outcome {
        Ok(answer) => answer,
        Err(error @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
            // Nothing was decided: let a retry with the same key try again.
            sqlx::query("delete from idempotency_keys where api_key_id = $1 and key = $2")
                .bind(key.key_id)
                .bind(&idempotency_key)
                .execute(&state.pool)
                .await?;
            return Err(error);
        }
        Err(error) => {
            let response = error.into_response();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    sqlx::query(
        "update idempotency_keys set status = $3, response = $4 where api_key_id = $1 and key = $2",
    )
    .bind(key.key_id)
    .bind(&idempotency_key)
    .bind(i32::from(status.as_u16()))
    .bind(&json)
    .execute(&state.pool)
    .await?;
    Ok(stored_answer(status, json))
}

fn stored_answer(status: StatusCode, json: Value) -> Response {
    let mut response = (status, Json(json)).into_response();
    if !status.is_success() {
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
    }
    response
}

/// A key seen before: same body gets the first answer (waiting while the first request is
/// still being handled), another body is refused.
async fn replay(
    state: &AppState,
    key: StorefrontKey,
    idempotency_key: &str,
    request_hash: &[u8],
) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let row: Option<(Vec<u8>, Option<i32>, Option<Value>)> = sqlx::query_as(
            "select request_hash, status, response from idempotency_keys where api_key_id = $1 and key = $2",
        )
        .bind(key.key_id)
        .bind(idempotency_key)
        .fetch_optional(&state.pool)
        .await?;
        match row {
            Some((hash, _, _)) if hash != request_hash => {
                return Err(ApiError::Unprocessable(
                    "this Idempotency-Key was used with another request body".into(),
                ))
            }
            Some((_, Some(status), Some(json))) => {
                let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
                return Ok(stored_answer(status, json));
            }
            // The first request failed without deciding anything: the caller may retry.
            None => {
                return Err(ApiError::Conflict(
                    "the first request with this Idempotency-Key failed; send it again".into(),
                ))
            }
            Some(_) if tokio::time::Instant::now() >= deadline => {
                return Err(ApiError::Conflict(
                    "a request with this Idempotency-Key is still being handled".into(),
                ))
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// `token` of the confirmation page.
#[derive(Debug, Deserialize)]
pub struct TokenParam {
    token: Option<String>,
}

async fn confirmation(
    _key: StorefrontKey,
    State(state): State<AppState>,
    Path(order_number): Path<String>,
    ApiQuery(params): ApiQuery<TokenParam>,
) -> Result<Response, ApiError> {
    let token = params
        .token
        .ok_or_else(|| ApiError::field("token", "the customer token is required"))?;
    // No order number holds a NUL (which PostgreSQL could not even compare).
    if order_number.contains('\0') {
        return Err(ApiError::NotFound);
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: Uuid,
        order_number: String,
        customer_name: String,
        pickup_location: String,
        payment_method: String,
        payment_status: String,
        status: String,
        lines: Value,
        vat_breakdown: Value,
        total_ht: Decimal,
        total_vat: Decimal,
        total_ttc: Decimal,
        placed_at: chrono::DateTime<Utc>,
        billing: Option<sqlx::types::Json<Billing>>,
        token_hash: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(
        "select o.order_id, o.order_number, o.customer_name, o.pickup_location, o.payment_method,
                o.payment_status, o.status, o.lines, o.vat_breakdown, o.total_ht, o.total_vat,
                o.total_ttc, o.placed_at, o.billing, a.token_hash
         from orders o join order_access a on a.order_id = o.order_id
         where o.order_number = $1",
    )
    .bind(&order_number)
    .fetch_optional(&state.pool)
    .await?;
    // A wrong token and an unknown order look the same.
    let presented = Sha256::digest(token.as_bytes()).to_vec();
    let Some(row) = row.filter(|r| bool::from(r.token_hash.ct_eq(&presented))) else {
        return Err(ApiError::NotFound);
    };
    let money = |d: Decimal| {
        let mut d = d;
        d.rescale(2);
        d.to_string()
    };
    let lines: Vec<Value> = row
        .lines
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    json!({
                        "productId": l["product_id"],
                        "reference": l["reference"],
                        "name": l["name"],
                        "quantity": l["quantity"],
                        "unitPriceHt": l["unit_price_ht"],
                        "vatRate": l["vat_rate"],
                        "lineTotalHt": l["line_total_ht"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let vat: Vec<Value> = row
        .vat_breakdown
        .as_array()
        .map(|v| {
            v.iter()
                .map(|l| json!({ "rate": l["rate"], "baseHt": l["base_ht"], "amount": l["vat"] }))
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "orderId": row.order_id,
        "orderNumber": row.order_number,
        "customerName": row.customer_name,
        "pickupLocation": row.pickup_location,
        "paymentMethod": row.payment_method,
        "paymentStatus": row.payment_status,
        "status": row.status,
        "placedAt": row.placed_at,
        "lines": lines,
        "totals": { "totalHt": money(row.total_ht), "vat": vat, "totalVat": money(row.total_vat), "totalTtc": money(row.total_ttc) },
        "billing": row.billing.map(|b| billing_json(&b)),
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
