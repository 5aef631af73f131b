//! Payment notifications: `POST /api/webhooks/payment` (and `/api/webhooks/stripe`).
//!
//! The signature is checked on the raw body before anything is read; a missing, wrong or
//! stale one is a 400 and a security event, and changes nothing. Stripe delivers events at
//! least once and in any order: each command carries the event's id, which the order
//! records, so a repeated or late event changes nothing. A failure of our own (database
//! down, a conflict that persists) answers 503, so Stripe delivers again later.
//!
//! A refund made in Stripe's dashboard arrives as `charge.refunded`, with the total refunded
//! on the charge so far: the order takes back what is new since the last such notice with
//! a credit note (a repeated or older notice changes nothing).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::json;
use stripe_webhook::{EventObject, WebhookError};

use aggregates::metadata::{Actor, EventMetadata};
use aggregates::order::{OrderCommand, OrderError, PAYMENT_FAILED};

use crate::api::error::ApiError;
use crate::api::extract::ApiBytes;
use crate::auth::{self, Attempt, SecurityEventKind};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::payments::stripe::{money_of, SessionFacts};

/// The header Stripe signs its notifications with.
const SIGNATURE: &str = "stripe-signature";

/// Verifies and handles one notification.
pub async fn payment(
    State(state): State<AppState>,
    context: RequestContext,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let Some(stripe) = state.payments.stripe.clone() else {
        return Err(ApiError::Unavailable(
            "no payment provider is configured".into(),
        ));
    };
    let signature = headers.get(SIGNATURE).and_then(|v| v.to_str().ok());
    let payload = std::str::from_utf8(&body).ok();
    let (Some(signature), Some(payload)) = (signature, payload) else {
        refused(
            &state,
            &context,
            "missing Stripe-Signature or a body that is not UTF-8",
        )
        .await;
        return Err(ApiError::BadRequest(
            "a payment notification needs its Stripe-Signature header".into(),
        ));
    };
    let event = match stripe.verify(payload, signature) {
        Ok(event) => event,
        Err(WebhookError::BadParse(error)) => {
            // Genuine (the signature held) but not readable: Stripe keeps delivering it and
            // shows the failure in its dashboard, which is what someone must look at.
            tracing::error!(%error, "a signed payment notification could not be read");
            return Err(ApiError::BadRequest(format!(
                "the notification could not be read: {error}"
            )));
        }
        Err(error) => {
            refused(&state, &context, &error.to_string()).await;
            return Err(ApiError::BadRequest(format!(
                "the notification's signature is not valid: {error}"
            )));
        }
    };
    let event_id = event.id.as_str().to_owned();
    let kind = event.type_.as_str().to_owned();
    let created = DateTime::<Utc>::from_timestamp(event.created, 0).unwrap_or_else(Utc::now);
    let mut metadata = context.metadata(Actor::PaymentProvider("stripe".into()));
    metadata.causation_id = Some(event_id.clone());
    let handled = match &event.data.object {
        EventObject::CheckoutSessionCompleted(session) => {
            let facts = SessionFacts::of(session);
            if facts.paid {
                confirm(&state, &facts, &event_id, created, &metadata).await?
            } else {
                // Paid by a delayed method: `async_payment_succeeded` or `_failed` follows.
                Outcome::Ignored("completed, the payment still on its way")
            }
        }
        EventObject::CheckoutSessionAsyncPaymentSucceeded(session) => {
            confirm(
                &state,
                &SessionFacts::of(session),
                &event_id,
                created,
                &metadata,
            )
            .await?
        }
        EventObject::CheckoutSessionAsyncPaymentFailed(session) => {
            fail(&state, &SessionFacts::of(session), &event_id, &metadata).await?
        }
        EventObject::CheckoutSessionExpired(session) => {
            let facts = SessionFacts::of(session);
            let command = OrderCommand::ExpirePaymentSession {
                session_id: facts.session_id.clone(),
                provider_event_id: Some(event_id.clone()),
            };
            send(&state, &facts, command, &metadata).await?
        }
        EventObject::ChargeRefunded(charge) => {
            let refund = Refund {
                charge_id: charge.id.as_str().to_owned(),
                currency: charge.currency.to_string(),
                order_id: charge.metadata.get("order_id").cloned(),
                payment_intent: charge.payment_intent.as_ref().map(|p| p.id().to_string()),
                refunded_total: money_of(charge.amount_refunded),
            };
            refunded(&state, refund, &event_id, &metadata).await?
        }
        _ => Outcome::Ignored("not an event this shop acts on"),
    };
    let answer = match handled {
        Outcome::Done => json!({ "received": true, "event": event_id, "type": kind }),
        Outcome::Ignored(why) => {
            tracing::info!(event = %event_id, r#type = %kind, why, "payment notification acknowledged");
            json!({ "received": true, "event": event_id, "type": kind, "ignored": why })
        }
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// What a `charge.refunded` notice says.
struct Refund {
    charge_id: String,
    currency: String,
    order_id: Option<String>,
    payment_intent: Option<String>,
    /// Refunded on the charge so far.
    refunded_total: aggregates::Money,
}

enum Outcome {
    Done,
    Ignored(&'static str),
}

async fn refused(state: &AppState, context: &RequestContext, why: &str) {
    tracing::warn!(why, client = ?context.client_ip, "payment notification refused");
    let attempt = Attempt {
        email: None,
        staff_id: None,
        client_ip: context.client_ip.as_deref(),
        user_agent: context.user_agent.as_deref(),
    };
    if let Err(error) = auth::record(&state.pool, SecurityEventKind::WebhookRefused, &attempt).await
    {
        tracing::error!(%error, "the refused notification could not be recorded");
    }
}

async fn confirm(
    state: &AppState,
    facts: &SessionFacts,
    event_id: &str,
    paid_at: DateTime<Utc>,
    metadata: &EventMetadata,
) -> Result<Outcome, ApiError> {
    let command = OrderCommand::ConfirmPayment {
        provider: "stripe".into(),
        reference: facts.reference.clone(),
        amount: facts.amount,
        paid_at,
        provider_event_id: Some(event_id.to_owned()),
    };
    send(state, facts, command, metadata).await
}

/// A failed payment: recorded, then the order cancelled so its stock goes back on sale
/// (the session is over; the customer orders again).
async fn fail(
    state: &AppState,
    facts: &SessionFacts,
    event_id: &str,
    metadata: &EventMetadata,
) -> Result<Outcome, ApiError> {
    let command = OrderCommand::FailPayment {
        provider: "stripe".into(),
        reference: facts.reference.clone(),
        reason: "the payment failed at Stripe".into(),
        provider_event_id: Some(event_id.to_owned()),
    };
    let outcome = send(state, facts, command, metadata).await?;
    if let Outcome::Done = outcome {
        let cancel = OrderCommand::CancelOrder {
            reason: PAYMENT_FAILED.into(),
        };
        return send(state, facts, cancel, metadata).await;
    }
    Ok(outcome)
}

/// A refund made in Stripe: the charge names its order in its metadata (the checkout
/// session puts the order id on the payment), else by its payment intent, the reference
/// the payment was confirmed with.
async fn refunded(
    state: &AppState,
    refund: Refund,
    event_id: &str,
    metadata: &EventMetadata,
) -> Result<Outcome, ApiError> {
    // Checkout sessions are opened in euros.
    if !refund.currency.eq_ignore_ascii_case("eur") {
        tracing::warn!(charge = %refund.charge_id, currency = %refund.currency, "refund in another currency");
        return Ok(Outcome::Ignored(
            "a refund in another currency than the payment's",
        ));
    }
    let mut order_id = refund.order_id;
    if order_id.is_none() {
        if let Some(intent) = &refund.payment_intent {
            order_id = sqlx::query_scalar::<_, uuid::Uuid>(
                "select order_id from orders where payment_provider = 'stripe' and payment_reference = $1",
            )
            .bind(intent)
            .fetch_optional(&state.pool)
            .await
            .map_err(|e| {
                ApiError::Unavailable(format!("the order could not be looked up ({e}); deliver it again"))
            })?
            .map(|id| id.to_string());
        }
    }
    let facts = SessionFacts {
        session_id: refund.charge_id.clone(),
        order_id,
        reference: refund.charge_id,
        amount: refund.refunded_total,
        paid: true,
    };
    let command = OrderCommand::RecordProviderRefund {
        credit_id: uuid::Uuid::now_v7(),
        refunded_total: refund.refunded_total,
        provider_event_id: Some(event_id.to_owned()),
    };
    send(state, &facts, command, metadata).await
}

/// Sends `command` to the session's order. An unknown order is acknowledged (logged); a
/// rule refusing it (paid already, cancelled meanwhile) is late news, acknowledged too.
async fn send(
    state: &AppState,
    facts: &SessionFacts,
    command: OrderCommand,
    metadata: &EventMetadata,
) -> Result<Outcome, ApiError> {
    let Some(order_id) = facts
        .order_id
        .as_deref()
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
    else {
        tracing::warn!(session = %facts.session_id, "payment notification for a session without an order id");
        return Ok(Outcome::Ignored("no order id on the session"));
    };
    match state.bus.orders.execute(order_id, command, metadata).await {
        Ok(()) => Ok(Outcome::Done),
        Err(CommandError::Refused(OrderError::NotFound)) => {
            tracing::warn!(order = order_id, session = %facts.session_id, "payment notification for an unknown order");
            Ok(Outcome::Ignored("unknown order"))
        }
        Err(CommandError::Refused(error)) => {
            tracing::info!(%error, order = order_id, "payment notification changes nothing");
            Ok(Outcome::Ignored("the order has moved on"))
        }
        Err(error) => Err(ApiError::Unavailable(format!(
            "the notification could not be recorded ({error}); deliver it again"
        ))),
    }
}
