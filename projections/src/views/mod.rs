//! The read models. Each owns its tables (see `migrations/0002_read_models.sql`).

pub mod audit;
pub mod catalog;
pub mod categories;
pub mod orders;
pub mod products;
pub mod reviews;
pub mod stock;
pub mod summary;
