use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Billing, OrderStatus, PaymentMethod};
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
        /// The company invoiced, when the customer buys for a business.
        #[serde(default)]
        billing: Option<Box<Billing>>,
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
        /// When it was issued (absent on early events: the event's time).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued_at: Option<DateTime<Utc>>,
    },
    /// A credit note was asked for: a cancellation or refund of an invoiced order takes
    /// back `lines` (positive amounts). The credit note series numbers it next.
    CreditNoteRequested {
        /// The credit note's id (the order's own id for a cancellation's).
        credit_id: Uuid,
        /// What it takes back.
        lines: Vec<OrderLine>,
        /// Its totals.
        totals: Totals,
        /// Why.
        reason: String,
        /// The provider's notification that reported the refund, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_event_id: Option<String>,
        /// All the provider says it refunded so far, when it said so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_refunded_total: Option<Money>,
    },
    /// A credit note was numbered.
    CreditNoteIssued {
        /// The credit note number.
        credit_note_number: String,
        /// The invoice it corrects.
        invoice_number: String,
        /// Why.
        reason: String,
        /// The credit note asked for (absent on notes older than partial refunds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credit_id: Option<Uuid>,
        /// When it was issued (absent on early events: the event's time).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued_at: Option<DateTime<Utc>>,
    },
    /// The PDF of an invoice or credit note was stored, once for all.
    DocumentStored {
        /// The invoice or credit note number.
        number: String,
        /// Where it is stored (a media store key).
        key: String,
        /// SHA-256 of the PDF, hexadecimal: every download is checked against it.
        sha256: String,
        /// Its size in bytes.
        size: u64,
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
            OrderEvent::CreditNoteRequested { .. } => "CreditNoteRequested",
            OrderEvent::CreditNoteIssued { .. } => "CreditNoteIssued",
            OrderEvent::DocumentStored { .. } => "DocumentStored",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
