use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened to an invoice series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceSeriesEvent {
    /// A number was assigned to an order.
    InvoiceNumberAssigned {
        /// The sequence number, from 1 without gaps.
        number: u64,
        /// The printed number, `FA-2026-000001`.
        formatted: String,
        /// The order invoiced.
        order_id: Uuid,
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
