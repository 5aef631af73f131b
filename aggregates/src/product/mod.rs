//! Products: one reference = one article, with its price, VAT rate, images and SEO text.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{Product, ProductImage, ProductStatus};
pub use commands::ProductCommand;
pub use error::ProductError;
pub use events::ProductEvent;

/// Longest product name, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Longest meta description, in characters (what search engines show).
pub const MAX_META_DESCRIPTION_LEN: usize = 160;
