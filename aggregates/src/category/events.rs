use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Slug;

/// What happened to a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoryEvent {
    /// The category was created.
    CategoryCreated {
        /// Its id.
        category_id: Uuid,
        /// Its name.
        name: String,
        /// Its slug.
        slug: Slug,
        /// Its description.
        description: String,
    },
    /// The category was renamed.
    CategoryRenamed {
        /// New name.
        name: String,
        /// Name before.
        previous: String,
    },
    /// The slug changed.
    CategorySlugChanged {
        /// New slug.
        slug: Slug,
        /// Slug before (for redirects).
        previous: Slug,
    },
    /// The description changed.
    CategoryDescriptionChanged {
        /// New description.
        description: String,
    },
    /// The category was deleted.
    CategoryDeleted,
}

impl DomainEvent for CategoryEvent {
    fn event_type(&self) -> String {
        match self {
            CategoryEvent::CategoryCreated { .. } => "CategoryCreated",
            CategoryEvent::CategoryRenamed { .. } => "CategoryRenamed",
            CategoryEvent::CategorySlugChanged { .. } => "CategorySlugChanged",
            CategoryEvent::CategoryDescriptionChanged { .. } => "CategoryDescriptionChanged",
            CategoryEvent::CategoryDeleted => "CategoryDeleted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
