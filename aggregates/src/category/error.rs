use crate::services::ServiceError;
use crate::values::{Slug, SlugError};

/// Why a category command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    /// The name is blank.
    #[error("a category name cannot be empty")]
    NameEmpty,
    /// The name is longer than 100 characters.
    #[error("a category name is at most 100 characters")]
    NameTooLong,
    /// The description is longer than 5000 characters.
    #[error("a category description is at most 5000 characters")]
    DescriptionTooLong,
    /// Another category has this name (case ignored).
    #[error("another category is already called \"{0}\"")]
    NameTaken(String),
    /// Another category has this slug.
    #[error("another category already uses the slug \"{0}\"")]
    SlugTaken(Slug),
    /// No slug could be derived from the name.
    #[error("no slug can be made from this name: {0}")]
    InvalidSlug(#[from] SlugError),
    /// The category was already created.
    #[error("this category already exists")]
    AlreadyExists,
    /// The category was never created.
    #[error("category not found")]
    NotFound,
    /// The category was deleted.
    #[error("this category has been deleted")]
    Deleted,
    /// The category still holds products.
    #[error("this category still holds {count} product(s); move or archive them first")]
    HasProducts {
        /// Non-archived products in the category.
        count: u64,
    },
    /// A service could not answer.
    #[error("service unavailable: {0}")]
    Service(#[from] ServiceError),
}
