use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::NumberFormat;

/// What happened to an invoice series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceSeriesEvent {
    /// A number was assigned to an order.
    InvoiceNumberAssigned {
        /// The sequence number, from 1 without gaps.
        number: u64,
        /// The printed number, `FA-2026-000001`.
        formatted: String,
        /// The order invoiced or credited.
        order_id: Uuid,
        /// The credit note numbered; `None` for the order's invoice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document_id: Option<Uuid>,
        /// The series (`FA-2026`): the stream's key and year (absent in early events,
        /// whose printed number starts with it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        series: Option<String>,
        /// The series' pattern (absent before patterns were configurable: the default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<NumberFormat>,
    },
}

impl DomainEvent for InvoiceSeriesEvent {
    fn event_type(&self) -> String {
        match self {
            InvoiceSeriesEvent::InvoiceNumberAssigned { .. } => "InvoiceNumberAssigned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
