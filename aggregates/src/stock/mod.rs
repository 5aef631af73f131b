//! Stock of one product (the stream id is the product id): units on hand and reservations
//! held by orders until they are committed, released or expire.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{Reservation, Stock, StockStatus};
pub use commands::{ReleaseReason, StockCommand};
pub use error::StockError;
pub use events::StockEvent;
