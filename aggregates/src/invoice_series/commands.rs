use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the invoicing process can ask of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceSeriesCommand {
    /// Gives `order_id` the next number, or nothing if it already has one.
    AssignInvoiceNumber {
        /// Series prefix (`FA`), upper-case letters and digits.
        prefix: String,
        /// Year of the series.
        year: i32,
        /// The order invoiced.
        order_id: Uuid,
    },
}
