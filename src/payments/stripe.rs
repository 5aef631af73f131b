//! Stripe Checkout: a hosted payment page per order, and the signed notifications
//! (webhooks) that say how it went.
//!
//! A session carries one line per order line at its unit price TTC in cents, the
//! customer's email, the order id in its metadata (and as `client_reference_id`), return
//! addresses with the order number and the customer's token, and an expiry matching the
//! stock reservation (Stripe's floor is 30 minutes). It is created with the order id as
//! the idempotency key, so a retried request never opens a second session.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_checkout::{CheckoutSession, CheckoutSessionLocale, CheckoutSessionMode};
use stripe_webhook::{Event, Webhook, WebhookError};

use aggregates::{Language, Money, Order};

/// Stripe refuses sessions that lapse sooner.
const MIN_SESSION: Duration = Duration::minutes(30);

/// Stripe's settings, from the environment.
#[derive(Clone)]
pub struct StripeSettings {
    /// `STRIPE_SECRET_KEY` (`sk_…`).
    pub secret_key: String,
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_…`), to check notifications.
    pub webhook_secret: String,
    /// `STRIPE_API_BASE`: another address for Stripe's API (tests, a proxy).
    pub api_base: Option<String>,
    /// `STRIPE_SUCCESS_URL`: where Stripe sends the customer after paying; `{order}` and
    /// `{token}` are replaced by the order number and the customer's token.
    pub success_url: String,
    /// `STRIPE_CANCEL_URL`: where Stripe sends a customer who gives up.
    pub cancel_url: String,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api_base", &self.api_base)
            .field("success_url", &self.success_url)
            .field("cancel_url", &self.cancel_url)
            .finish_non_exhaustive()
    }
}

impl StripeSettings {
    /// `None` when Stripe is not configured; an error naming the variable when it is
    /// half configured.
    pub fn from_env(public_url: Option<&str>) -> Result<Option<StripeSettings>, String> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (secret_key, webhook_secret) =
            match (var("STRIPE_SECRET_KEY"), var("STRIPE_WEBHOOK_SECRET")) {
                (None, None) => return Ok(None),
                (Some(key), Some(secret)) => (key, secret),
                (Some(_), None) => {
                    return Err(
                        "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: \
                                webhooks could not be verified"
                            .into(),
                    )
                }
                (None, Some(_)) => {
                    return Err("STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is not".into())
                }
            };
        let base = public_url
            .unwrap_or("http://localhost:8080")
            .trim_end_matches('/');
        let url = |name: &str, default: String| -> Result<String, String> {
            let value = var(name).unwrap_or(default);
            if value.starts_with("https://") || value.starts_with("http://") {
                Ok(value)
            } else {
                Err(format!("{name} must be an http(s) address, not `{value}`"))
            }
        };
        Ok(Some(StripeSettings {
            secret_key,
            webhook_secret,
            api_base: var("STRIPE_API_BASE"),
            success_url: url(
                "STRIPE_SUCCESS_URL",
                format!("{base}/api/orders/{{order}}?token={{token}}"),
            )?,
            cancel_url: url(
                "STRIPE_CANCEL_URL",
                format!("{base}/api/orders/{{order}}?token={{token}}"),
            )?,
        }))
    }
}

/// Why a checkout session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The order cannot be paid online (not placed, nothing to pay).
    #[error("{0}")]
    Order(String),
    /// Stripe refused or could not be reached.
    #[error("Stripe: {0}")]
    Stripe(String),
}

/// A session opened for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub session_id: String,
    pub url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Stripe's client and settings.
pub struct StripeGateway {
    client: Client,
    settings: StripeSettings,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An amount in cents, as Stripe counts it.
pub fn cents(money: Money) -> i64 {
    let cents = (money.amount() * Decimal::ONE_HUNDRED).round();
    i64::try_from(cents.mantissa() / 10i128.pow(cents.scale())).unwrap_or(i64::MAX)
}

/// Cents back into money (negative or absurd amounts read as zero).
pub fn money_of(cents: i64) -> Money {
    Money::new(Decimal::new(cents.max(0), 2)).unwrap_or_default()
}

impl StripeGateway {
    /// A client for `settings` (a request gives up after 20 s).
    pub fn new(settings: StripeSettings) -> Result<StripeGateway, String> {
        let mut builder = ClientBuilder::new(settings.secret_key.clone())
            .timeout(std::time::Duration::from_secs(20));
        if let Some(base) = &settings.api_base {
            builder = builder.url(base.clone());
        }
        let client = builder
            .build()
            .map_err(|e| format!("the Stripe client cannot be built: {e}"))?;
        Ok(StripeGateway { client, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &StripeSettings {
        &self.settings
    }

    /// Opens a Checkout Session for `order`, lapsing with its stock reservation.
    pub async fn open_checkout(
        &self,
        order: &Order,
        token: &str,
        reservation: Duration,
        now: DateTime<Utc>,
    ) -> Result<Checkout, CheckoutError> {
        let order_id = order
            .id()
            .ok_or_else(|| CheckoutError::Order("the order was not placed".into()))?;
        let number = order.order_number();
        let fill = |template: &str| {
            template
                .replace("{order}", number)
                .replace("{token}", token)
        };
        let line_items: Vec<CreateCheckoutSessionLineItems> = order
            .lines()
            .iter()
            .map(|line| {
                let mut price =
                    CreateCheckoutSessionLineItemsPriceData::new(stripe_types::Currency::EUR);
                let mut product = ProductData::new(format!("{} ({})", line.name, line.reference));
                product.metadata = Some(HashMap::from([(
                    "product_id".to_owned(),
                    line.product_id.to_string(),
                )]));
                price.product_data = Some(product);
                price.unit_amount = Some(cents(line.unit_price_ht.with_vat(line.vat_rate)));
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price_data = Some(price);
                item.quantity = Some(u64::from(line.quantity));
                item
            })
            .collect();
        if line_items.is_empty() {
            return Err(CheckoutError::Order("the order has no lines".into()));
        }
        let expires_at = now + reservation.max(MIN_SESSION);
        let metadata = HashMap::from([
            ("order_id".to_owned(), order_id.to_string()),
            ("order_number".to_owned(), number.to_owned()),
        ]);
        // On the payment too, so its charge (and a refund of it) names the order.
        let mut payment = CreateCheckoutSessionPaymentIntentData::new();
        payment.metadata = Some(metadata.clone());
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(line_items)
            .metadata(metadata)
            .payment_intent_data(payment)
            .client_reference_id(order_id.to_string())
            .success_url(fill(&self.settings.success_url))
            .cancel_url(fill(&self.settings.cancel_url))
            .expires_at(expires_at.timestamp())
            .locale(match order.language() {
                Language::Fr => CheckoutSessionLocale::Fr,
                Language::En => CheckoutSessionLocale::En,
            });
        if let Some(email) = order.customer_email() {
            request = request.customer_email(email.to_string());
        }
        let key = IdempotencyKey::new(order_id.to_string())
            .map_err(|e| CheckoutError::Order(e.to_string()))?;
        let session: CheckoutSession = stripe::StripeRequest::customize(&request)
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(|e| CheckoutError::Stripe(e.to_string()))?;
        Ok(Checkout {
            session_id: session.id.as_str().to_owned(),
            url: session.url,
            expires_at,
        })
    }

    /// Checks a notification's `Stripe-Signature` on its raw body (five minutes of
    /// tolerance) and reads it.
    pub fn verify(&self, payload: &str, signature: &str) -> Result<Event, WebhookError> {
        Webhook::construct_event(payload, signature, &self.settings.webhook_secret)
    }
}

/// What a checkout session tells about its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub session_id: String,
    /// From the metadata, else `client_reference_id`.
    pub order_id: Option<String>,
    /// The payment intent's id, else the session's.
    pub reference: String,
    pub amount: Money,
    pub paid: bool,
}

impl SessionFacts {
    /// Reads `session`.
    pub fn of(session: &CheckoutSession) -> SessionFacts {
        let session_id = session.id.as_str().to_owned();
        let order_id = session
            .metadata
            .as_ref()
            .and_then(|m| m.get("order_id").cloned())
            .or_else(|| session.client_reference_id.clone());
        let reference = session
            .payment_intent
            .as_ref()
            .map(|p| p.id().as_str().to_owned())
            .unwrap_or_else(|| session_id.clone());
        let paid = matches!(
            session.payment_status,
            stripe_checkout::CheckoutSessionPaymentStatus::Paid
                | stripe_checkout::CheckoutSessionPaymentStatus::NoPaymentRequired
        );
        SessionFacts {
            session_id,
            order_id,
            reference,
            amount: money_of(session.amount_total.unwrap_or(0)),
            paid,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cents_round_half_up_and_come_back() {
        let money = |s: &str| Money::new(s.parse().unwrap()).unwrap();
        assert_eq!(cents(money("107.88")), 10788);
        assert_eq!(cents(money("0.01")), 1);
        assert_eq!(cents(money("12")), 1200);
        assert_eq!(money_of(10788), money("107.88"));
        assert_eq!(money_of(-5), money("0"));
    }
}
