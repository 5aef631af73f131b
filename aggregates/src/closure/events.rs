use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::ClosureTotals;

/// The length of a closed period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar day, Paris time.
    Day,
    /// A calendar month.
    Month,
    /// A fiscal year (the calendar year).
    Year,
}

/// What happened to the closures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClosureEvent {
    /// A period was closed, for good.
    PeriodClosed {
        /// Day, month or year.
        kind: PeriodKind,
        /// `2026-11-22`, `2026-11` or `2026`.
        period: String,
        /// The period's first instant.
        from: DateTime<Utc>,
        /// The instant after the period.
        until: DateTime<Utc>,
        /// The period's invoices and credit notes.
        totals: ClosureTotals,
        /// The fiscal year so far, this period included.
        year_to_date: ClosureTotals,
        /// Everything since the first closure, this period included.
        grand_total: ClosureTotals,
        /// The position of the last event recorded before `until` (0 when none).
        last_position: i64,
        /// That event's seal, hexadecimal (the seal chain's genesis when none).
        last_seal: String,
    },
}

impl DomainEvent for ClosureEvent {
    fn event_type(&self) -> String {
        match self {
            ClosureEvent::PeriodClosed { .. } => "PeriodClosed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
