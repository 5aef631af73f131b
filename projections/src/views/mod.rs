//! The read models. Each owns its tables (see `migrations/0002_read_models.sql`
//! and `migrations/0004_staff.sql`).

pub mod audit;
pub mod catalog;
pub mod categories;
pub mod invoices;
pub mod orders;
pub mod products;
pub mod reviews;
pub mod staff;
pub mod stock;
pub mod summary;
