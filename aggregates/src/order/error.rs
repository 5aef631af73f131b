use uuid::Uuid;

use super::OrderStatus;
use crate::values::Money;

/// Why an order command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The order was already placed.
    #[error("this order already exists")]
    AlreadyExists,
    /// The order was never placed.
    #[error("order not found")]
    NotFound,
    /// No order number.
    #[error("an order needs a number")]
    OrderNumberRequired,
    /// No customer name (or longer than 200 characters).
    #[error("an order needs a customer name of at most 200 characters")]
    CustomerNameRequired,
    /// Invoicing details of a business customer refused.
    #[error("billing: {0}")]
    Billing(super::BillingError),
    /// No pickup location.
    #[error("an order needs a pickup location")]
    PickupLocationRequired,
    /// No lines.
    #[error("an order needs at least one line")]
    NoLines,
    /// A quantity outside 1..=999.
    #[error("the quantity of product {product_id} must be between 1 and 999, not {quantity}")]
    InvalidQuantity {
        /// The product.
        product_id: Uuid,
        /// The quantity given.
        quantity: u32,
    },
    /// A line name empty or longer than 200 characters.
    #[error("the name of product {0} must be 1 to 200 characters")]
    InvalidLineName(Uuid),
    /// Two lines for one product.
    #[error("product {0} appears on more than one line")]
    DuplicateProduct(Uuid),
    /// A workflow move the order does not allow.
    #[error("an order that is {} cannot be {}", .from.label(), .to.verb())]
    InvalidTransition {
        /// Status now.
        from: OrderStatus,
        /// Status asked for.
        to: OrderStatus,
    },
    /// The order is cancelled.
    #[error("this order is cancelled")]
    Cancelled,
    /// A payment was already confirmed under another reference.
    #[error("this order is already paid")]
    AlreadyPaid,
    /// Payment provider, session or reference left blank.
    #[error("a payment needs a provider and a reference")]
    PaymentReferenceRequired,
    /// Cancelling without a reason.
    #[error("a cancellation needs a reason")]
    ReasonRequired,
    /// Invoicing an unpaid order.
    #[error("an order is invoiced only once paid")]
    NotPaid,
    /// A different invoice number was already recorded.
    #[error("this order already has invoice {0}")]
    AlreadyInvoiced(String),
    /// An empty invoice or credit note number.
    #[error("an invoice or credit note needs a number")]
    NumberRequired,
    /// A credit note without an invoice.
    #[error("a credit note needs an invoice to correct")]
    NotInvoiced,
    /// A credit note was already numbered differently.
    #[error("this credit note already has number {0}")]
    CreditNoteAlreadyIssued(String),
    /// Numbering a credit note nobody asked for.
    #[error("no credit note {0} was asked for on this order")]
    UnknownCreditNote(Uuid),
    /// A refund before any payment.
    #[error("only a paid order can be refunded")]
    RefundUnpaid,
    /// A refund of nothing.
    #[error("a refund needs at least one line or an amount")]
    NothingToCredit,
    /// A refund line for a product the order does not have.
    #[error("product {0} is not on this order")]
    NotOnOrder(Uuid),
    /// More units than are left to refund.
    #[error("product {product_id}: {quantity} units cannot be refunded, {left} are left")]
    CreditQuantity {
        /// The product.
        product_id: Uuid,
        /// Units asked for.
        quantity: u32,
        /// Units invoiced and not yet refunded.
        left: u32,
    },
    /// More money than is left to refund.
    #[error("{amount} cannot be refunded: {left} is left on this order")]
    CreditExceedsInvoice {
        /// Amount asked for.
        amount: Money,
        /// What is left.
        left: Money,
    },
    /// Another PDF is already recorded for this number.
    #[error("document {0} is already stored; it is never replaced")]
    DocumentAlreadyStored(String),
    /// A PDF for a number the order does not have.
    #[error("this order has no invoice or credit note {0}")]
    UnknownDocument(String),
}
