use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OrderStatus, PaymentMethod};
use crate::values::{Email, Language, Money, Phone, Reference, Totals, VatRate};

/// A line as placed: a snapshot that later product changes never touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product.
    pub product_id: Uuid,
    /// Its reference at placement.
    pub reference: Reference,
    /// Its name at placement.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Unit price excl. VAT.
    pub unit_price_ht: Money,
    /// VAT rate.
    pub vat_rate: VatRate,
    /// `unit_price_ht × quantity`, rounded half-up to the cent.
    pub line_total_ht: Money,
}

/// What happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderEvent {
    /// The order was placed, with its totals computed once for all.
    OrderPlaced {
        /// Its id.
        order_id: Uuid,
        /// Human number.
        order_number: String,
        /// Customer email.
        customer_email: Email,
        /// Customer name.
        customer_name: String,
        /// Customer phone.
        customer_phone: Phone,
        /// Pickup location.
        pickup_location: String,
        /// Payment method.
        payment_method: PaymentMethod,
        /// Lines.
        lines: Vec<OrderLine>,
        /// Totals HT / VAT / TTC.
        totals: Totals,
        /// When it was placed.
        placed_at: DateTime<Utc>,
        /// The customer's language, for what the shop writes to them.
        #[serde(default)]
        language: Language,
    },
    /// A payment session was opened.
    PaymentSessionOpened {
        /// Provider name.
        provider: String,
        /// Provider's session id.
        session_id: String,
        /// When it lapses.
        expires_at: DateTime<Utc>,
        /// Where the customer pays (the hosted checkout page), when the provider gives one.
        #[serde(default)]
        url: Option<String>,
    },
    /// The payment succeeded.
    PaymentConfirmed {
        /// Provider name.
        provider: String,
        /// Provider's payment reference.
        reference: String,
        /// Amount received.
        amount: Money,
        /// When it was paid.
        paid_at: DateTime<Utc>,
        /// The provider's id of the notification that said so (a Stripe event id), so a
        /// notification delivered again is known.
        #[serde(default)]
        provider_event_id: Option<String>,
    },
    /// A payment attempt failed.
    PaymentFailed {
        /// Provider name.
        provider: String,
        /// Provider's payment reference.
        reference: String,
        /// Provider's reason.
        reason: String,
        /// The provider's id of the notification that said so.
        #[serde(default)]
        provider_event_id: Option<String>,
    },
    /// The payment session lapsed unpaid (the order is cancelled by the same command).
    PaymentSessionExpired {
        /// The session.
        session_id: String,
        /// The provider's id of the notification that said so.
        provider_event_id: Option<String>,
    },
    /// The shop accepted the order.
    OrderConfirmed,
    /// The order waits at the counter.
    OrderReadyForPickup,
    /// The customer took the order.
    OrderCompleted,
    /// The order was cancelled.
    OrderCancelled {
        /// Why.
        reason: String,
        /// Status before.
        previous_status: OrderStatus,
    },
    /// An invoice number was recorded.
    InvoiceIssued {
        /// The number.
        invoice_number: String,
    },
    /// A credit note cancelled the invoice.
    CreditNoteIssued {
        /// The credit note number.
        credit_note_number: String,
        /// The invoice it cancels.
        invoice_number: String,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::PaymentSessionOpened { .. } => "PaymentSessionOpened",
            OrderEvent::PaymentConfirmed { .. } => "PaymentConfirmed",
            OrderEvent::PaymentFailed { .. } => "PaymentFailed",
            OrderEvent::PaymentSessionExpired { .. } => "PaymentSessionExpired",
            OrderEvent::OrderConfirmed => "OrderConfirmed",
            OrderEvent::OrderReadyForPickup => "OrderReadyForPickup",
            OrderEvent::OrderCompleted => "OrderCompleted",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::InvoiceIssued { .. } => "InvoiceIssued",
            OrderEvent::CreditNoteIssued { .. } => "CreditNoteIssued",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
