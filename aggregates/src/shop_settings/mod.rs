//! The shop's settings: the seller's legal identity printed on invoices, the pickup
//! locations customers choose from, the VAT rates offered when pricing a product, the
//! currency and the storefront origins allowed by CORS. One stream ([`SHOP_SETTINGS_ID`]),
//! so every change is an event with its actor in the audit trail.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{LegalIdentity, PickupLocation, PostalAddress, ShopSettings};
pub use commands::ShopSettingsCommand;
pub use error::ShopSettingsError;
pub use events::ShopSettingsEvent;

/// The id of the one settings stream.
pub const SHOP_SETTINGS_ID: &str = "shop";
/// Most pickup locations a shop lists.
pub const MAX_PICKUP_LOCATIONS: usize = 20;
/// Most storefront origins allowed.
pub const MAX_CORS_ORIGINS: usize = 20;
/// Most VAT rates offered.
pub const MAX_VAT_RATES: usize = 8;
/// Longest short text (names, legal form, city), in characters.
pub const MAX_SHORT_TEXT: usize = 100;
/// Longest long text (street, opening hours), in characters.
pub const MAX_LONG_TEXT: usize = 300;
