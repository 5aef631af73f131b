//! Customer reviews of a product, moderated by staff, with an optional vendor response.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{Review, ReviewStatus};
pub use commands::ReviewCommand;
pub use error::ReviewError;
pub use events::ReviewEvent;

/// Shortest comment, in characters after trimming.
pub const MIN_COMMENT_LEN: usize = 10;
/// Longest comment or response, in characters.
pub const MAX_TEXT_LEN: usize = 5000;
/// Longest customer name, in characters.
pub const MAX_NAME_LEN: usize = 100;
