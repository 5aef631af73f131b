//! Product categories: name, slug and description, each name and slug unique.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::Category;
pub use commands::CategoryCommand;
pub use error::CategoryError;
pub use events::CategoryEvent;

/// Longest category name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest category description, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 5000;
