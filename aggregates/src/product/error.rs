use uuid::Uuid;

use crate::services::ServiceError;
use crate::values::{Reference, Slug, SlugError};

/// Why a product command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    /// The name is blank.
    #[error("a product name cannot be empty")]
    NameEmpty,
    /// The name is longer than 200 characters.
    #[error("a product name is at most 200 characters")]
    NameTooLong,
    /// The meta description is longer than 160 characters.
    #[error("a meta description is at most 160 characters")]
    MetaDescriptionTooLong,
    /// The price is zero.
    #[error("a price must be above zero")]
    PriceNotPositive,
    /// The category does not exist (or was deleted).
    #[error("category {0} does not exist")]
    CategoryNotFound(Uuid),
    /// Another product has this reference.
    #[error("another product already has the reference {0}")]
    ReferenceTaken(Reference),
    /// Another product has this slug.
    #[error("another product already uses the slug \"{0}\"")]
    SlugTaken(Slug),
    /// No slug could be derived from the name.
    #[error("no slug can be made from this name: {0}")]
    InvalidSlug(#[from] SlugError),
    /// The product was already created.
    #[error("this product already exists")]
    AlreadyExists,
    /// The product was never created.
    #[error("product not found")]
    NotFound,
    /// The product is archived and can no longer change.
    #[error("this product is archived and can no longer be changed")]
    Archived,
    /// Archiving an archived product.
    #[error("this product is already archived")]
    AlreadyArchived,
    /// The image storage key is blank.
    #[error("an image needs a storage key")]
    ImageKeyEmpty,
    /// Another image already has this id.
    #[error("image {0} is already attached to this product")]
    ImageAlreadyAdded(Uuid),
    /// No image with this id.
    #[error("image {0} is not attached to this product")]
    ImageNotFound(Uuid),
    /// The reorder list is not exactly the current images.
    #[error("the new image order must list every current image exactly once")]
    ImageOrderMismatch,
    /// The alternative text is blank.
    #[error("an image's alternative text cannot be empty")]
    AltTextEmpty,
    /// A service could not answer.
    #[error("service unavailable: {0}")]
    Service(#[from] ServiceError),
}
