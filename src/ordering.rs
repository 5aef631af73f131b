//! Placing an order across aggregates: reserve stock for every line (all or nothing),
//! then place the order. On any refusal the reservations already made are released and the
//! caller learns which line failed and why. A crash between the two steps leaves only
//! reservations, which expire and are released by the sweeper.

use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use aggregates::metadata::EventMetadata;
use aggregates::order::{OrderCommand, OrderError, OrderLineInput, PaymentMethod};
use aggregates::stock::{ReleaseReason, StockCommand, StockError};
use aggregates::{Email, Phone, Totals};

use crate::commands::{CommandBus, CommandError};

/// One requested line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedItem {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// An order as the storefront asks for it, already parsed.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Chosen by the caller (a v7 uuid for live orders, a seeded one for the demo).
    pub order_id: Uuid,
    pub customer_email: Email,
    pub customer_name: String,
    pub customer_phone: Phone,
    pub pickup_location: String,
    pub payment_method: PaymentMethod,
    pub items: Vec<RequestedItem>,
    /// The customer's language (emails, documents).
    pub language: aggregates::Language,
    /// The company invoiced, when the customer buys for a business.
    pub billing: Option<aggregates::Billing>,
}

/// The order that was placed.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub order_id: Uuid,
    pub order_number: String,
    pub totals: Totals,
    pub reserved_until: DateTime<Utc>,
}

/// Why an order was not placed. `line` is the 0-based index in the request.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error("an order needs at least one item")]
    NoItems,
    #[error("items[{line}]: the quantity must be between 1 and 999")]
    BadQuantity { line: usize },
    #[error("items[{line}]: product {product_id} appears more than once")]
    DuplicateProduct { line: usize, product_id: Uuid },
    #[error("items[{line}]: product {product_id} does not exist")]
    UnknownProduct { line: usize, product_id: Uuid },
    #[error("items[{line}]: product {product_id} is not for sale")]
    NotForSale { line: usize, product_id: Uuid },
    #[error(
        "items[{line}]: only {available} of product {product_id} available, {requested} requested"
    )]
    InsufficientStock {
        line: usize,
        product_id: Uuid,
        requested: i64,
        available: i64,
    },
    #[error("items[{line}]: {message}")]
    Stock {
        line: usize,
        message: String,
        conflict: bool,
    },
    #[error(transparent)]
    Order(CommandError<OrderError>),
    #[error("event store: {0}")]
    Store(String),
}

impl PlaceOrderError {
    /// Whether retrying could succeed (a persisting concurrency conflict).
    pub fn is_conflict(&self) -> bool {
        match self {
            PlaceOrderError::Stock { conflict, .. } => *conflict,
            PlaceOrderError::Order(error) => error.is_conflict(),
            _ => false,
        }
    }
}

/// Allocates the next human-friendly order number, e.g. `C-2026-00042`. It comes from a
/// sequence: unique, increasing, and free to have gaps (invoice numbers may not).
pub async fn next_order_number(
    bus: &CommandBus,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("select nextval('order_numbers')")
        .fetch_one(&bus.pool)
        .await?;
    Ok(format!("C-{}-{n:05}", now.year()))
}

/// Places an order: reservations first, then the order itself.
pub async fn place_order(
    bus: &CommandBus,
    request: OrderRequest,
    metadata: &EventMetadata,
    now: DateTime<Utc>,
    reservation_ttl: chrono::Duration,
) -> Result<PlacedOrder, PlaceOrderError> {
    if request.items.is_empty() {
        return Err(PlaceOrderError::NoItems);
    }
    let mut seen = std::collections::HashSet::new();
    for (line, item) in request.items.iter().enumerate() {
        if !(1..=999).contains(&item.quantity) {
            return Err(PlaceOrderError::BadQuantity { line });
        }
        if !seen.insert(item.product_id) {
            return Err(PlaceOrderError::DuplicateProduct {
                line,
                product_id: item.product_id,
            });
        }
    }

    // Snapshot every line from the product as it is now.
    let mut lines = Vec::with_capacity(request.items.len());
    for (line, item) in request.items.iter().enumerate() {
        let product = bus
            .products
            .load(&item.product_id.to_string())
            .await
            .map_err(|e| PlaceOrderError::Store(e.to_string()))?;
        let (Some(reference), true) = (product.reference(), product.exists()) else {
            return Err(PlaceOrderError::UnknownProduct {
                line,
                product_id: item.product_id,
            });
        };
        if !product.is_published() {
            return Err(PlaceOrderError::NotForSale {
                line,
                product_id: item.product_id,
            });
        }
        lines.push(OrderLineInput {
            product_id: item.product_id,
            reference: reference.clone(),
            name: product.name().to_owned(),
            quantity: item.quantity,
            unit_price_ht: product.price_ht(),
            vat_rate: product.vat_rate(),
        });
    }

    let order_id = request.order_id;
    let order_number = next_order_number(bus, now)
        .await
        .map_err(|e| PlaceOrderError::Store(e.to_string()))?;
    let mut metadata = metadata.clone();
    metadata.correlation_id = Some(order_id.to_string());
    let expires_at = now + reservation_ttl;

    let mut reserved: Vec<Uuid> = Vec::with_capacity(lines.len());
    for (line, item) in request.items.iter().enumerate() {
        let command = StockCommand::ReserveStock {
            product_id: item.product_id,
            order_id,
            quantity: item.quantity,
            expires_at,
        };
        let result = bus
            .stock
            .execute(&item.product_id.to_string(), command, &metadata)
            .await;
        if let Err(error) = result {
            release(bus, &reserved, order_id, &metadata).await;
            return Err(match error {
                CommandError::Refused(StockError::InsufficientStock {
                    requested,
                    available,
                }) => PlaceOrderError::InsufficientStock {
                    line,
                    product_id: item.product_id,
                    requested,
                    available,
                },
                other => PlaceOrderError::Stock {
                    line,
                    conflict: other.is_conflict(),
                    message: other.to_string(),
                },
            });
        }
        reserved.push(item.product_id);
    }

    let command = OrderCommand::PlaceOrder {
        order_id,
        order_number: order_number.clone(),
        customer_email: request.customer_email,
        customer_name: request.customer_name,
        customer_phone: request.customer_phone,
        pickup_location: request.pickup_location,
        payment_method: request.payment_method,
        lines,
        placed_at: now,
        language: request.language,
        billing: request.billing.map(Box::new),
    };
    if let Err(error) = bus
        .orders
        .execute(&order_id.to_string(), command, &metadata)
        .await
    {
        release(bus, &reserved, order_id, &metadata).await;
        return Err(PlaceOrderError::Order(error));
    }
    let order = bus
        .orders
        .load(&order_id.to_string())
        .await
        .map_err(|e| PlaceOrderError::Store(e.to_string()))?;
    Ok(PlacedOrder {
        order_id,
        order_number,
        totals: order
            .totals()
            .cloned()
            .unwrap_or_else(|| aggregates::compute_totals(&[])),
        reserved_until: expires_at,
    })
}

/// Best effort: what is not released here expires and is released by the sweeper.
async fn release(bus: &CommandBus, products: &[Uuid], order_id: Uuid, metadata: &EventMetadata) {
    for product_id in products {
        let command = StockCommand::ReleaseReservation {
            order_id,
            reason: ReleaseReason::PlacementFailed,
        };
        if let Err(error) = bus
            .stock
            .execute(&product_id.to_string(), command, metadata)
            .await
        {
            tracing::warn!(%product_id, %order_id, %error, "could not release a reservation; it will expire");
        }
    }
}
