use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ReleaseReason, StockCommand, StockError, StockEvent};

/// Whether a product can be ordered, derived from what is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    /// At least one unit is available.
    Available,
    /// Nothing is available (all sold or reserved).
    OutOfStock,
}

impl StockStatus {
    /// The status for `available` unreserved units.
    pub fn of(available: i64) -> Self {
        if available > 0 {
            StockStatus::Available
        } else {
            StockStatus::OutOfStock
        }
    }

    /// `available` or `out_of_stock`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StockStatus::Available => "available",
            StockStatus::OutOfStock => "out_of_stock",
        }
    }
}

/// Units held for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Units held.
    pub quantity: u32,
    /// When the hold lapses.
    pub expires_at: DateTime<Utc>,
}

/// The stock of one product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    product_id: Option<Uuid>,
    on_hand: i64,
    reservations: BTreeMap<Uuid, Reservation>,
    committed: BTreeMap<Uuid, u32>,
    returned: BTreeSet<Uuid>,
}

impl Stock {
    /// The event of adding `delta` units (negative: removing them) for `reason`.
    fn adjustment(
        &self,
        product_id: Uuid,
        delta: i64,
        reason: &str,
    ) -> Result<StockEvent, StockError> {
        if delta == 0 {
            return Err(StockError::ZeroAdjustment);
        }
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(StockError::ReasonRequired);
        }
        let on_hand = self
            .on_hand
            .checked_add(delta)
            .ok_or(StockError::QuantityOutOfRange)?;
        let available = on_hand - self.reserved();
        // Reserved units are promised to customers: an adjustment may not take them.
        if available < 0 {
            return Err(StockError::InsufficientStock {
                requested: delta.saturating_neg(),
                available: self.available(),
            });
        }
        Ok(StockEvent::StockAdjusted {
            product_id,
            delta,
            reason,
            on_hand,
            available,
        })
    }

    /// The product, once anything happened to its stock.
    pub fn product_id(&self) -> Option<Uuid> {
        self.product_id
    }

    /// Units in the shop, reserved ones included.
    pub fn on_hand(&self) -> i64 {
        self.on_hand
    }

    /// Units held by reservations.
    pub fn reserved(&self) -> i64 {
        self.reservations
            .values()
            .map(|r| i64::from(r.quantity))
            .sum()
    }

    /// Units that can still be reserved: on hand minus reserved.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved()
    }

    /// Available or out of stock.
    pub fn status(&self) -> StockStatus {
        StockStatus::of(self.available())
    }

    /// The reservation held by `order_id`.
    pub fn reservation(&self, order_id: Uuid) -> Option<&Reservation> {
        self.reservations.get(&order_id)
    }

    /// Every reservation, by order id.
    pub fn reservations(&self) -> &BTreeMap<Uuid, Reservation> {
        &self.reservations
    }

    /// Units committed for `order_id`, if it committed.
    pub fn committed_quantity(&self, order_id: Uuid) -> Option<u32> {
        self.committed.get(&order_id).copied()
    }

    /// The stream's product, adopting `given` on a new stream.
    fn product(&self, given: Uuid) -> Result<Uuid, StockError> {
        match self.product_id {
            Some(expected) if expected != given => {
                Err(StockError::ProductMismatch { expected, given })
            }
            _ => Ok(given),
        }
    }

    async fn release(&mut self, order_id: Uuid, reason: ReleaseReason, sink: &EventSink<Self>) {
        let Some(reservation) = self.reservations.get(&order_id) else {
            return;
        };
        let quantity = reservation.quantity;
        let event = StockEvent::ReservationReleased {
            product_id: self.product_id.unwrap_or_default(),
            order_id,
            quantity,
            reason,
            on_hand: self.on_hand,
            available: self.available() + i64::from(quantity),
        };
        sink.write(event, self).await;
    }
}

fn non_zero(quantity: u32) -> Result<u32, StockError> {
    if quantity == 0 {
        Err(StockError::QuantityNotPositive)
    } else {
        Ok(quantity)
    }
}

impl Aggregate for Stock {
    const TYPE: &'static str = "Stock";
    type Command = StockCommand;
    type Event = StockEvent;
    type Error = StockError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            StockCommand::ReceiveStock {
                product_id,
                quantity,
                note,
            } => {
                let product_id = self.product(product_id)?;
                let quantity = non_zero(quantity)?;
                let on_hand = self
                    .on_hand
                    .checked_add(i64::from(quantity))
                    .ok_or(StockError::QuantityOutOfRange)?;
                let event = StockEvent::StockReceived {
                    product_id,
                    quantity,
                    note: note.trim().to_owned(),
                    on_hand,
                    available: on_hand - self.reserved(),
                };
                sink.write(event, self).await;
            }
            StockCommand::AdjustStock {
                product_id,
                delta,
                reason,
            } => {
                let product_id = self.product(product_id)?;
                let event = self.adjustment(product_id, delta, &reason)?;
                sink.write(event, self).await;
            }
            StockCommand::CountStock {
                product_id,
                counted,
                reason,
            } => {
                let product_id = self.product(product_id)?;
                let delta = i64::from(counted) - self.on_hand;
                if delta != 0 {
                    let event = self.adjustment(product_id, delta, &reason)?;
                    sink.write(event, self).await;
                } else if reason.trim().is_empty() {
                    return Err(StockError::ReasonRequired);
                }
            }
            StockCommand::ReserveStock {
                product_id,
                order_id,
                quantity,
                expires_at,
            } => {
                let product_id = self.product(product_id)?;
                let quantity = non_zero(quantity)?;
                // Process managers may run twice: the same reservation (or its committed
                // outcome) again changes nothing, a different quantity is a real conflict.
                let existing = self
                    .reservations
                    .get(&order_id)
                    .map(|r| r.quantity)
                    .or_else(|| self.committed.get(&order_id).copied());
                if let Some(existing) = existing {
                    if existing == quantity {
                        return Ok(());
                    }
                    return Err(StockError::ReservationConflict {
                        order_id,
                        existing,
                        requested: quantity,
                    });
                }
                let available = self.available();
                if i64::from(quantity) > available {
                    return Err(StockError::InsufficientStock {
                        requested: i64::from(quantity),
                        available,
                    });
                }
                let event = StockEvent::StockReserved {
                    product_id,
                    order_id,
                    quantity,
                    expires_at,
                    on_hand: self.on_hand,
                    available: available - i64::from(quantity),
                };
                sink.write(event, self).await;
            }
            StockCommand::ReleaseReservation { order_id, reason } => {
                self.release(order_id, reason, sink).await;
            }
            StockCommand::CommitReservation { order_id } => {
                let Some(reservation) = self.reservations.get(&order_id) else {
                    if self.committed.contains_key(&order_id) {
                        return Ok(());
                    }
                    return Err(StockError::ReservationNotFound(order_id));
                };
                let quantity = reservation.quantity;
                let event = StockEvent::ReservationCommitted {
                    product_id: self.product_id.unwrap_or_default(),
                    order_id,
                    quantity,
                    on_hand: self.on_hand - i64::from(quantity),
                    available: self.available(),
                };
                sink.write(event, self).await;
            }
            StockCommand::ReleaseExpiredReservations { now } => {
                let expired: Vec<Uuid> = self
                    .reservations
                    .iter()
                    .filter(|(_, r)| r.expires_at <= now)
                    .map(|(order_id, _)| *order_id)
                    .collect();
                for order_id in expired {
                    self.release(order_id, ReleaseReason::Expired, sink).await;
                }
            }
            StockCommand::ReturnStock { order_id } => {
                let Some(&quantity) = self.committed.get(&order_id) else {
                    return Ok(());
                };
                if self.returned.contains(&order_id) {
                    return Ok(());
                }
                let on_hand = self
                    .on_hand
                    .checked_add(i64::from(quantity))
                    .ok_or(StockError::QuantityOutOfRange)?;
                let event = StockEvent::StockReturned {
                    product_id: self.product_id.unwrap_or_default(),
                    order_id,
                    quantity,
                    on_hand,
                    available: on_hand - self.reserved(),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.product_id = Some(event.product_id());
        // Events carry the count after them; taking it keeps replay and views identical.
        self.on_hand = event.on_hand();
        match event {
            StockEvent::StockReceived { .. } | StockEvent::StockAdjusted { .. } => {}
            StockEvent::StockReserved {
                order_id,
                quantity,
                expires_at,
                ..
            } => {
                self.reservations.insert(
                    order_id,
                    Reservation {
                        quantity,
                        expires_at,
                    },
                );
            }
            StockEvent::ReservationReleased { order_id, .. } => {
                self.reservations.remove(&order_id);
            }
            StockEvent::ReservationCommitted {
                order_id, quantity, ..
            } => {
                self.reservations.remove(&order_id);
                self.committed.insert(order_id, quantity);
            }
            StockEvent::StockReturned { order_id, .. } => {
                self.returned.insert(order_id);
            }
        }
    }
}
