//! Invoice numbering: one stream per prefix and year (`FA-2026`), numbers without gaps.

mod aggregate;
mod commands;
mod error;
mod events;
mod format;
#[cfg(test)]
mod tests;

pub use aggregate::InvoiceSeries;
pub use commands::InvoiceSeriesCommand;
pub use error::InvoiceSeriesError;
pub use events::InvoiceSeriesEvent;
pub use format::{NumberFormat, NumberFormatError};

/// The stream id of the series for `prefix` and `year`: `FA-2026`.
pub fn series_id(prefix: &str, year: i32) -> String {
    format!("{prefix}-{year}")
}

/// The printed number under the default pattern: `FA-2026-000001`.
pub fn format_number(prefix: &str, year: i32, number: u64) -> String {
    format!("{}-{number:06}", series_id(prefix, year))
}

/// The series key of invoices.
pub const INVOICES: &str = "FA";
/// The series key of credit notes.
pub const CREDIT_NOTES: &str = "AV";
