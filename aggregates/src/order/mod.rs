//! Customer orders: line snapshots and totals fixed at placement, payment, pickup workflow,
//! invoice and credit note numbers.

mod aggregate;
mod billing;
mod commands;
mod credit;
mod error;
mod events;
mod status;
#[cfg(test)]
mod tests;

pub use aggregate::Order;
pub use billing::{Billing, BillingError, MAX_BILLING_STREET, MAX_BILLING_TEXT};
pub use commands::{OrderCommand, OrderLineInput};
pub use credit::{CreditNote, RefundLineInput, AMOUNT_REFUND_REFERENCE};
pub use error::OrderError;
pub use events::{OrderEvent, OrderLine};
pub use status::{OrderStatus, PaymentMethod, PaymentStatus};

/// Most units of one product in one order.
pub const MAX_LINE_QUANTITY: u32 = 999;
/// Longest line name, in characters.
pub const MAX_LINE_NAME_LEN: usize = 200;
/// The reason recorded when an order is cancelled because its payment session lapsed.
pub const PAYMENT_EXPIRED: &str = "payment expired";
/// The reason recorded when an order is cancelled because its payment failed.
pub const PAYMENT_FAILED: &str = "payment failed";
/// The reason recorded when a payment page could not be opened and the order was dropped.
pub const PAYMENT_UNAVAILABLE: &str = "payment provider unavailable";
