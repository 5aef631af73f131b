//! Stock levels per product, with the live reservations the expiry sweeper releases.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{StockEvent, StockStatus};

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};
use crate::views::catalog::stock_figures;

/// A live reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationView {
    pub quantity: i64,
    pub expires_at: DateTime<Utc>,
}

/// A product's stock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockLevelView {
    pub product_id: Uuid,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    /// `available` or `out_of_stock`.
    pub status: String,
    /// By order id.
    pub reservations: BTreeMap<Uuid, ReservationView>,
    pub updated_at: DateTime<Utc>,
}

impl Row for StockLevelView {
    const TABLE: &'static str = "stock_levels";
    const KEY: &'static str = "product_id";
    const COLUMNS: &'static [&'static str] = &[
        "product_id",
        "on_hand",
        "available",
        "reserved",
        "status",
        "reservations",
        "updated_at",
    ];
}

/// The wire name of a stock status.
pub fn status_name(available: i64) -> &'static str {
    match StockStatus::of(available) {
        StockStatus::Available => "available",
        StockStatus::OutOfStock => "out_of_stock",
    }
}

/// The projection.
#[derive(Debug, Default)]
pub struct StockLevels;

#[async_trait]
impl Projection for StockLevels {
    fn name(&self) -> &'static str {
        "stock_levels"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["stock_levels"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let ids: Vec<Uuid> = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Stock(_)))
            .filter_map(Envelope::aggregate_uuid)
            .collect();
        let mut rows = RowSet::<StockLevelView>::load(conn, ids).await?;
        for e in events {
            let (Some(id), DomainEvent::Stock(event)) = (e.aggregate_uuid(), &e.event) else {
                continue;
            };
            let (on_hand, available) = stock_figures(event);
            if rows.get(&id).is_none() {
                rows.put(
                    id,
                    StockLevelView {
                        product_id: id,
                        on_hand: 0,
                        available: 0,
                        reserved: 0,
                        status: status_name(0).into(),
                        reservations: BTreeMap::new(),
                        updated_at: e.raw.recorded_at,
                    },
                );
            }
            let Some(row) = rows.get_mut(&id) else {
                continue;
            };
            match event {
                StockEvent::StockReserved {
                    order_id,
                    quantity,
                    expires_at,
                    ..
                } => {
                    row.reservations.insert(
                        *order_id,
                        ReservationView {
                            quantity: i64::from(*quantity),
                            expires_at: *expires_at,
                        },
                    );
                }
                StockEvent::ReservationReleased { order_id, .. }
                | StockEvent::ReservationCommitted { order_id, .. } => {
                    row.reservations.remove(order_id);
                }
                _ => {}
            }
            row.on_hand = on_hand;
            row.available = available;
            row.reserved = on_hand - available;
            row.status = status_name(available).into();
            row.updated_at = e.raw.recorded_at;
        }
        rows.flush(conn).await?;
        Ok(())
    }
}
