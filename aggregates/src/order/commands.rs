use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Billing, PaymentMethod, RefundLineInput};
use crate::values::{Email, Language, Money, Phone, Reference, VatRate};

/// A line as the command side snapshots it from the product at placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineInput {
    /// The product.
    pub product_id: Uuid,
    /// Its reference at placement.
    pub reference: Reference,
    /// Its name at placement.
    pub name: String,
    /// Units, 1 to 999.
    pub quantity: u32,
    /// Unit price excl. VAT at placement.
    pub unit_price_ht: Money,
    /// VAT rate at placement.
    pub vat_rate: VatRate,
}

/// What customers, staff and payment providers can ask of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderCommand {
    /// Places the order.
    PlaceOrder {
        /// Id of the new order (also the aggregate id).
        order_id: Uuid,
        /// Human number shown to the customer.
        order_number: String,
        /// Customer email.
        customer_email: Email,
        /// Customer name.
        customer_name: String,
        /// Customer phone.
        customer_phone: Phone,
        /// Where the customer picks the order up.
        pickup_location: String,
        /// How the customer pays.
        payment_method: PaymentMethod,
        /// At least one line, one per product.
        lines: Vec<OrderLineInput>,
        /// When it was placed.
        placed_at: DateTime<Utc>,
        /// The customer's language.
        language: Language,
        /// The company invoiced, when the customer buys for a business.
        billing: Option<Box<Billing>>,
    },
    /// A payment provider session was opened (Stripe Checkout, Oney).
    OpenPaymentSession {
        /// Provider name.
        provider: String,
        /// Provider's session id.
        session_id: String,
        /// When the session lapses.
        expires_at: DateTime<Utc>,
        /// Where the customer pays (the hosted checkout page), when the provider gives one.
        url: Option<String>,
    },
    /// The payment succeeded.
    ConfirmPayment {
        /// Provider name (`pickup` for the counter).
        provider: String,
        /// Provider's payment reference.
        reference: String,
        /// Amount received.
        amount: Money,
        /// When it was paid.
        paid_at: DateTime<Utc>,
        /// The provider's notification id (a Stripe event id), when one said so.
        provider_event_id: Option<String>,
    },
    /// A payment attempt failed.
    FailPayment {
        /// Provider name.
        provider: String,
        /// Provider's payment reference.
        reference: String,
        /// Provider's reason.
        reason: String,
        /// The provider's notification id, when one said so.
        provider_event_id: Option<String>,
    },
    /// The payment session lapsed: an unpaid order is cancelled (its stock released); a
    /// paid or cancelled one, or another session's lapse, changes nothing.
    ExpirePaymentSession {
        /// The session that lapsed.
        session_id: String,
        /// The provider's notification id.
        provider_event_id: Option<String>,
    },
    /// The shop accepts the order.
    ConfirmOrder,
    /// The order waits at the counter.
    MarkReadyForPickup,
    /// The customer took the order.
    CompleteOrder,
    /// Cancels the order.
    CancelOrder {
        /// Why, required.
        reason: String,
    },
    /// Records the invoice number assigned to the order.
    IssueInvoice {
        /// The number (from the invoice series).
        invoice_number: String,
        /// When.
        issued_at: DateTime<Utc>,
    },
    /// Records the number the credit note series gave to a credit note asked for.
    IssueCreditNote {
        /// The credit note (see `CreditNoteRequested`).
        credit_id: Uuid,
        /// Its number.
        credit_note_number: String,
        /// When.
        issued_at: DateTime<Utc>,
    },
    /// The shop refunded some lines of a paid order (at the counter, by card or cash): a
    /// credit note takes them back. The order keeps its status.
    RefundLines {
        /// A new id for the credit note; the same id again changes nothing.
        credit_id: Uuid,
        /// What was refunded.
        lines: Vec<RefundLineInput>,
        /// Why, required.
        reason: String,
    },
    /// The payment provider says `refunded_total` was refunded on this order's payment so
    /// far (a refund made in its dashboard): what is new since the last such notice is
    /// taken back by a credit note. Notices repeated or out of order change nothing.
    RecordProviderRefund {
        /// A new id for the credit note.
        credit_id: Uuid,
        /// All refunded on the payment so far, incl. VAT.
        refunded_total: Money,
        /// The provider's notification id.
        provider_event_id: Option<String>,
    },
    /// Records the PDF of an issued invoice or credit note, stored once and never replaced.
    RecordDocument {
        /// The invoice or credit note number.
        number: String,
        /// Where it is stored (a media store key).
        key: String,
        /// SHA-256 of the PDF, hexadecimal.
        sha256: String,
        /// Its size in bytes.
        size: u64,
    },
}
