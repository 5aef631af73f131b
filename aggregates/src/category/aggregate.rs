use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CategoryCommand, CategoryError, CategoryEvent, MAX_DESCRIPTION_LEN, MAX_NAME_LEN};
use crate::services::{release_quietly, CatalogServices, CATEGORY_NAME_SCOPE, CATEGORY_SLUG_SCOPE};
use crate::values::Slug;

/// A product category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    id: Option<Uuid>,
    name: String,
    slug: Option<Slug>,
    description: String,
    deleted: bool,
}

impl Category {
    /// Whether the category was created (deleted ones included).
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Its id, once created.
    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its slug, once created.
    pub fn slug(&self) -> Option<&Slug> {
        self.slug.as_ref()
    }

    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether it was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// The live category's id and slug, or why there is none.
    fn live(&self) -> Result<(Uuid, Slug), CategoryError> {
        match (self.id, &self.slug) {
            (Some(_), _) if self.deleted => Err(CategoryError::Deleted),
            (Some(id), Some(slug)) => Ok((id, slug.clone())),
            _ => Err(CategoryError::NotFound),
        }
    }
}

/// The key under which a name is unique: case and surrounding spaces do not count.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn checked_name(name: &str) -> Result<String, CategoryError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CategoryError::NameEmpty);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(CategoryError::NameTooLong);
    }
    Ok(name.to_owned())
}

fn checked_description(description: &str) -> Result<String, CategoryError> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(CategoryError::DescriptionTooLong);
    }
    Ok(description.to_owned())
}

impl Aggregate for Category {
    const TYPE: &'static str = "Category";
    type Command = CategoryCommand;
    type Event = CategoryEvent;
    type Error = CategoryError;
    type Services = CatalogServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let keys = &services.keys;
        match command {
            CategoryCommand::CreateCategory {
                category_id,
                name,
                slug,
                description,
            } => {
                if self.exists() {
                    return Err(CategoryError::AlreadyExists);
                }
                let name = checked_name(&name)?;
                let description = checked_description(&description)?;
                let slug = match slug {
                    Some(slug) => slug,
                    None => Slug::from_name(&name)?,
                };
                if !keys
                    .claim(CATEGORY_NAME_SCOPE, &name_key(&name), category_id)
                    .await?
                {
                    return Err(CategoryError::NameTaken(name));
                }
                if !keys
                    .claim(CATEGORY_SLUG_SCOPE, slug.as_str(), category_id)
                    .await?
                {
                    // The category will not exist: give its name back.
                    release_quietly(
                        keys.as_ref(),
                        CATEGORY_NAME_SCOPE,
                        &name_key(&name),
                        category_id,
                    )
                    .await;
                    return Err(CategoryError::SlugTaken(slug));
                }
                let event = CategoryEvent::CategoryCreated {
                    category_id,
                    name,
                    slug,
                    description,
                };
                sink.write(event, self).await;
            }
            CategoryCommand::RenameCategory { name } => {
                let (id, _) = self.live()?;
                let name = checked_name(&name)?;
                if name == self.name {
                    return Ok(());
                }
                let previous = self.name.clone();
                let key_changes = name_key(&name) != name_key(&previous);
                if key_changes
                    && !keys
                        .claim(CATEGORY_NAME_SCOPE, &name_key(&name), id)
                        .await?
                {
                    return Err(CategoryError::NameTaken(name));
                }
                let event = CategoryEvent::CategoryRenamed {
                    name,
                    previous: previous.clone(),
                };
                sink.write(event, self).await;
                if key_changes {
                    release_quietly(keys.as_ref(), CATEGORY_NAME_SCOPE, &name_key(&previous), id)
                        .await;
                }
            }
            CategoryCommand::ChangeCategorySlug { slug } => {
                let (id, previous) = self.live()?;
                if slug == previous {
                    return Ok(());
                }
                if !keys.claim(CATEGORY_SLUG_SCOPE, slug.as_str(), id).await? {
                    return Err(CategoryError::SlugTaken(slug));
                }
                let event = CategoryEvent::CategorySlugChanged {
                    slug,
                    previous: previous.clone(),
                };
                sink.write(event, self).await;
                release_quietly(keys.as_ref(), CATEGORY_SLUG_SCOPE, previous.as_str(), id).await;
            }
            CategoryCommand::ChangeCategoryDescription { description } => {
                self.live()?;
                let description = checked_description(&description)?;
                if description == self.description {
                    return Ok(());
                }
                let event = CategoryEvent::CategoryDescriptionChanged { description };
                sink.write(event, self).await;
            }
            CategoryCommand::DeleteCategory => {
                let (id, slug) = self.live()?;
                let count = services.lookup.products_in_category(id).await?;
                if count > 0 {
                    return Err(CategoryError::HasProducts { count });
                }
                let name = self.name.clone();
                sink.write(CategoryEvent::CategoryDeleted, self).await;
                // A deleted category no longer stands in the way of a new one.
                release_quietly(keys.as_ref(), CATEGORY_NAME_SCOPE, &name_key(&name), id).await;
                release_quietly(keys.as_ref(), CATEGORY_SLUG_SCOPE, slug.as_str(), id).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CategoryEvent::CategoryCreated {
                category_id,
                name,
                slug,
                description,
            } => {
                self.id = Some(category_id);
                self.name = name;
                self.slug = Some(slug);
                self.description = description;
            }
            CategoryEvent::CategoryRenamed { name, .. } => self.name = name,
            CategoryEvent::CategorySlugChanged { slug, .. } => self.slug = Some(slug),
            CategoryEvent::CategoryDescriptionChanged { description } => {
                self.description = description;
            }
            CategoryEvent::CategoryDeleted => self.deleted = true,
        }
    }
}
