use std::fmt;

use serde::{Deserialize, Serialize};

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    /// Card, through Stripe Checkout.
    Stripe,
    /// Instalments, through Oney.
    Oney,
    /// At the counter when picking up.
    Pickup,
}

impl PaymentMethod {
    /// `stripe`, `oney` or `pickup`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::Stripe => "stripe",
            PaymentMethod::Oney => "oney",
            PaymentMethod::Pickup => "pickup",
        }
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an order stands. Moves only pending → confirmed → ready_for_pickup → completed,
/// or to cancelled from any state before completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not yet confirmed by the shop.
    #[default]
    Pending,
    /// Accepted by the shop.
    Confirmed,
    /// Waiting at the counter.
    ReadyForPickup,
    /// Handed over.
    Completed,
    /// Cancelled.
    Cancelled,
}

impl OrderStatus {
    /// `pending`, `confirmed`, `ready_for_pickup`, `completed` or `cancelled`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::ReadyForPickup => "ready_for_pickup",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the workflow allows moving from `self` to `to`.
    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (Pending, Confirmed)
                | (Confirmed, ReadyForPickup)
                | (ReadyForPickup, Completed)
                | (Pending | Confirmed | ReadyForPickup, Cancelled)
        )
    }

    /// Plain words for messages: "ready for pickup".
    pub(crate) fn label(self) -> &'static str {
        match self {
            OrderStatus::ReadyForPickup => "ready for pickup",
            other => other.as_str(),
        }
    }

    /// What moving to this status is called: "marked ready for pickup".
    pub(crate) fn verb(self) -> &'static str {
        match self {
            OrderStatus::Pending => "made pending again",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::ReadyForPickup => "marked ready for pickup",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an order's payment stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Not paid yet.
    #[default]
    Pending,
    /// Paid.
    Paid,
    /// The last attempt failed.
    Failed,
    /// Paid back. No command produces it yet: refunds happen outside (credit note + bank).
    Refunded,
}

impl PaymentStatus {
    /// `pending`, `paid`, `failed` or `refunded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
