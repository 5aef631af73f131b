use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Slug;

/// What staff can ask of a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoryCommand {
    /// Creates the category; the slug is derived from the name when not given.
    CreateCategory {
        /// Id of the new category (also the aggregate id).
        category_id: Uuid,
        /// Display name, unique regardless of case.
        name: String,
        /// URL slug; `None` derives one from `name`.
        slug: Option<Slug>,
        /// Free text, up to 5000 characters.
        description: String,
    },
    /// Renames the category (the slug stays: links keep working).
    RenameCategory {
        /// New name.
        name: String,
    },
    /// Changes the URL slug.
    ChangeCategorySlug {
        /// New slug.
        slug: Slug,
    },
    /// Replaces the description.
    ChangeCategoryDescription {
        /// New description.
        description: String,
    },
    /// Deletes an empty category.
    DeleteCategory,
}
