use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReleaseReason;

/// What happened to a product's stock. Every event carries `on_hand` and `available`
/// after it, so views copy them instead of recomputing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockEvent {
    /// Units arrived.
    StockReceived {
        /// The product.
        product_id: Uuid,
        /// Units received.
        quantity: u32,
        /// Free note.
        note: String,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
    /// The count was corrected.
    StockAdjusted {
        /// The product.
        product_id: Uuid,
        /// Units added or removed.
        delta: i64,
        /// Why.
        reason: String,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
    /// Units were held for an order.
    StockReserved {
        /// The product.
        product_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Units held.
        quantity: u32,
        /// When the hold lapses.
        expires_at: DateTime<Utc>,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
    /// An order's held units were given back.
    ReservationReleased {
        /// The product.
        product_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Units given back.
        quantity: u32,
        /// Why.
        reason: ReleaseReason,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
    /// An order's held units left the shop.
    ReservationCommitted {
        /// The product.
        product_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Units committed.
        quantity: u32,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
    /// A committed order's units came back.
    StockReturned {
        /// The product.
        product_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Units returned.
        quantity: u32,
        /// Units in the shop after.
        on_hand: i64,
        /// Units not reserved after.
        available: i64,
    },
}

impl StockEvent {
    /// Units in the shop after this event.
    pub fn on_hand(&self) -> i64 {
        match self {
            StockEvent::StockReceived { on_hand, .. }
            | StockEvent::StockAdjusted { on_hand, .. }
            | StockEvent::StockReserved { on_hand, .. }
            | StockEvent::ReservationReleased { on_hand, .. }
            | StockEvent::ReservationCommitted { on_hand, .. }
            | StockEvent::StockReturned { on_hand, .. } => *on_hand,
        }
    }

    /// Units not reserved after this event.
    pub fn available(&self) -> i64 {
        match self {
            StockEvent::StockReceived { available, .. }
            | StockEvent::StockAdjusted { available, .. }
            | StockEvent::StockReserved { available, .. }
            | StockEvent::ReservationReleased { available, .. }
            | StockEvent::ReservationCommitted { available, .. }
            | StockEvent::StockReturned { available, .. } => *available,
        }
    }

    /// The product the event is about.
    pub fn product_id(&self) -> Uuid {
        match self {
            StockEvent::StockReceived { product_id, .. }
            | StockEvent::StockAdjusted { product_id, .. }
            | StockEvent::StockReserved { product_id, .. }
            | StockEvent::ReservationReleased { product_id, .. }
            | StockEvent::ReservationCommitted { product_id, .. }
            | StockEvent::StockReturned { product_id, .. } => *product_id,
        }
    }
}

impl DomainEvent for StockEvent {
    fn event_type(&self) -> String {
        match self {
            StockEvent::StockReceived { .. } => "StockReceived",
            StockEvent::StockAdjusted { .. } => "StockAdjusted",
            StockEvent::StockReserved { .. } => "StockReserved",
            StockEvent::ReservationReleased { .. } => "ReservationReleased",
            StockEvent::ReservationCommitted { .. } => "ReservationCommitted",
            StockEvent::StockReturned { .. } => "StockReturned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
