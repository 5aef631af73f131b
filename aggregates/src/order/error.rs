use uuid::Uuid;

use super::OrderStatus;

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
    /// Cancelling an invoiced order without a credit note.
    #[error("this order has been invoiced: issue a credit note before cancelling it")]
    CreditNoteRequired,
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
    #[error("a credit note needs an invoice to cancel")]
    NotInvoiced,
    /// A different credit note was already recorded.
    #[error("this order already has credit note {0}")]
    CreditNoteAlreadyIssued(String),
}
