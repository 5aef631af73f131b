//! Comptoir's read side: the projector runtime (global stream reader, checkpoints,
//! rebuilds) and every read model with its SQL. Also where every binary finds the
//! database (`db`), since they all share it.
#![forbid(unsafe_code)]

use std::sync::Arc;

pub mod db;
pub mod rebuild;
pub mod rows;
pub mod runtime;
pub mod seal;
pub mod stream;
pub mod views;

pub use runtime::{Projection, ProjectionError, Projector};
pub use stream::{DomainEvent, Envelope, StreamPosition};

/// Every read model, in a stable order.
pub fn read_models() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(views::catalog::Catalog),
        Arc::new(views::categories::Categories),
        Arc::new(views::products::AdminProducts),
        Arc::new(views::stock::StockLevels),
        Arc::new(views::orders::Orders),
        Arc::new(views::invoices::InvoiceRegister),
        Arc::new(views::reviews::Reviews),
        Arc::new(views::staff::StaffAccounts),
        Arc::new(views::audit::AuditTrail),
    ]
}

/// The read models plus the seal chain: what `serve` runs besides its process managers.
pub fn all() -> Vec<Arc<dyn Projection>> {
    let mut all = read_models();
    all.push(Arc::new(seal::SealChain));
    all
}
