use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a reservation was given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The order was cancelled.
    Cancelled,
    /// The reservation ran past its expiry.
    Expired,
    /// The payment failed.
    PaymentFailed,
    /// Placing the order failed after the stock was reserved.
    PlacementFailed,
}

impl ReleaseReason {
    /// `cancelled`, `expired`, `payment_failed` or `placement_failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseReason::Cancelled => "cancelled",
            ReleaseReason::Expired => "expired",
            ReleaseReason::PaymentFailed => "payment_failed",
            ReleaseReason::PlacementFailed => "placement_failed",
        }
    }
}

/// What staff and process managers can ask of a product's stock. Every command is accepted
/// on a new stream: stock exists as soon as someone talks about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockCommand {
    /// Units arrived.
    ReceiveStock {
        /// The product (= stream id).
        product_id: Uuid,
        /// Units received, above zero.
        quantity: u32,
        /// Free note (supplier delivery, ...).
        note: String,
    },
    /// Corrects the count after an inventory, breakage, theft...
    AdjustStock {
        /// The product (= stream id).
        product_id: Uuid,
        /// Units added (positive) or removed (negative), not zero.
        delta: i64,
        /// Why, required.
        reason: String,
    },
    /// Sets the count on hand to what an inventory found; the difference is worked out
    /// against the stock as it is when the command runs (not as a screen last showed it),
    /// and recorded as an adjustment. Counting what is already there records nothing.
    CountStock {
        /// The product (= stream id).
        product_id: Uuid,
        /// Units counted on the shelf.
        counted: u32,
        /// Why, required (`inventory`, with a note).
        reason: String,
    },
    /// Holds units for an order until it is paid or the hold expires.
    ReserveStock {
        /// The product (= stream id).
        product_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Units, above zero.
        quantity: u32,
        /// When the hold lapses.
        expires_at: DateTime<Utc>,
    },
    /// Gives an order's held units back; nothing happens when it holds none.
    ReleaseReservation {
        /// The order.
        order_id: Uuid,
        /// Why.
        reason: ReleaseReason,
    },
    /// The order's held units leave the shop (paid or handed over).
    CommitReservation {
        /// The order.
        order_id: Uuid,
    },
    /// Releases every reservation expiring at or before `now`.
    ReleaseExpiredReservations {
        /// The current time.
        now: DateTime<Utc>,
    },
    /// Puts a committed order's units back on the shelf, once (a cancelled confirmed order).
    ReturnStock {
        /// The order.
        order_id: Uuid,
    },
}
