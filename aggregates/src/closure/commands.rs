use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ClosureTotals;

/// What the closing process (or the owner) can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClosureCommand {
    /// Closes `day`; the month and the year too when it is their last day.
    CloseDay {
        /// The day, Paris time.
        day: NaiveDate,
        /// Its first instant.
        from: DateTime<Utc>,
        /// The instant after it.
        until: DateTime<Utc>,
        /// Its invoices and credit notes, as the register has them.
        totals: ClosureTotals,
        /// The position of the last event recorded before `until`.
        last_position: i64,
        /// That event's seal, hexadecimal.
        last_seal: String,
    },
}
