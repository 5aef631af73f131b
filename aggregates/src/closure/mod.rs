//! Closures, the "inalterability" side of the French anti-fraud rules for cash systems
//! (CGI art. 286, I-3° bis; BOI-TVA-DECLA-30-10-30): each day, then each month and year,
//! is closed with its totals, the fiscal year's running total, a perpetual grand total,
//! and the seal of the last event of the period. A closed period is never reopened:
//! anything later is a new event in a later period.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
mod totals;

pub use aggregate::Closures;
pub use commands::ClosureCommand;
pub use error::ClosureError;
pub use events::{ClosureEvent, PeriodKind};
pub use totals::{ClosureTotals, MeansTotal, RateTotal};

/// The one stream of closures.
pub const CLOSURES_ID: &str = "closures";
