use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::NumberFormat;

/// What the invoicing process can ask of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceSeriesCommand {
    /// Gives the document the next number, or nothing if it already has one.
    AssignInvoiceNumber {
        /// Series key (`FA` for invoices, `AV` for credit notes), upper-case letters and
        /// digits: with the year, it names the stream.
        prefix: String,
        /// Year of the series.
        year: i32,
        /// The order invoiced or credited.
        order_id: Uuid,
        /// The document numbered, when it is not the order's invoice: a credit note's id
        /// (an order can have several).
        #[serde(default)]
        document_id: Option<Uuid>,
        /// How to print the number. A series keeps the pattern of its first number for the
        /// whole year, so a change of setting starts with the next year. `None` is
        /// `PREFIX-{year}-{number:6}`.
        #[serde(default)]
        format: Option<NumberFormat>,
    },
}
