//! Categories with their product counts (all non-archived, and published), for the admin
//! and the storefront's category menu.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{CategoryEvent, ProductEvent};

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};

/// A category with its counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CategoryView {
    pub category_id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub product_count: i64,
    pub published_count: i64,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row for CategoryView {
    const TABLE: &'static str = "category_list";
    const KEY: &'static str = "category_id";
    const COLUMNS: &'static [&'static str] = &[
        "category_id",
        "name",
        "slug",
        "description",
        "product_count",
        "published_count",
        "deleted",
        "created_at",
        "updated_at",
    ];
}

/// Which category a product counts in, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CategoryMember {
    pub product_id: Uuid,
    pub category_id: Uuid,
    pub published: bool,
    pub archived: bool,
}

impl Row for CategoryMember {
    const TABLE: &'static str = "category_members";
    const KEY: &'static str = "product_id";
    const COLUMNS: &'static [&'static str] =
        &["product_id", "category_id", "published", "archived"];
}

impl CategoryMember {
    fn counts(&self) -> (i64, i64) {
        if self.archived {
            (0, 0)
        } else {
            (1, i64::from(self.published))
        }
    }
}

/// The projection.
#[derive(Debug, Default)]
pub struct Categories;

#[async_trait]
impl Projection for Categories {
    fn name(&self) -> &'static str {
        "categories"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["category_list", "category_members"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let mut category_ids = Vec::new();
        let mut product_ids = Vec::new();
        for e in events {
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            match &e.event {
                DomainEvent::Category(_) => category_ids.push(id),
                DomainEvent::Product(event) => {
                    product_ids.push(id);
                    match event {
                        ProductEvent::ProductCreated { category_id, .. }
                        | ProductEvent::ProductDetailsEdited { category_id, .. } => {
                            category_ids.push(*category_id)
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let mut members = RowSet::<CategoryMember>::load(conn, product_ids).await?;
        let mut existing: Vec<Uuid> = Vec::new();
        for e in events {
            if let (Some(id), DomainEvent::Product(_)) = (e.aggregate_uuid(), &e.event) {
                if let Some(m) = members.get(&id) {
                    existing.push(m.category_id);
                }
            }
        }
        category_ids.extend(existing);
        let mut categories = RowSet::<CategoryView>::load(conn, category_ids).await?;

        for e in events {
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            let at = e.raw.recorded_at;
            match &e.event {
                DomainEvent::Category(event) => {
                    if let CategoryEvent::CategoryCreated {
                        name,
                        slug,
                        description,
                        ..
                    } = event
                    {
                        categories.put(
                            id,
                            CategoryView {
                                category_id: id,
                                name: name.clone(),
                                slug: slug.to_string(),
                                description: description.clone(),
                                product_count: 0,
                                published_count: 0,
                                deleted: false,
                                created_at: at,
                                updated_at: at,
                            },
                        );
                        continue;
                    }
                    let Some(c) = categories.get_mut(&id) else {
                        continue;
                    };
                    c.updated_at = at;
                    match event {
                        CategoryEvent::CategoryCreated { .. } => {}
                        CategoryEvent::CategoryRenamed { name, .. } => c.name = name.clone(),
                        CategoryEvent::CategorySlugChanged { slug, .. } => {
                            c.slug = slug.to_string()
                        }
                        CategoryEvent::CategoryDescriptionChanged { description } => {
                            c.description = description.clone()
                        }
                        CategoryEvent::CategoryDeleted => c.deleted = true,
                    }
                }
                DomainEvent::Product(event) => {
                    let before = members.get(&id).map(|m| (m.category_id, m.counts()));
                    match event {
                        ProductEvent::ProductCreated { category_id, .. } => members.put(
                            id,
                            CategoryMember {
                                product_id: id,
                                category_id: *category_id,
                                published: false,
                                archived: false,
                            },
                        ),
                        ProductEvent::ProductDetailsEdited { category_id, .. } => {
                            if let Some(m) = members.get_mut(&id) {
                                m.category_id = *category_id
                            }
                        }
                        ProductEvent::ProductPublished => {
                            if let Some(m) = members.get_mut(&id) {
                                m.published = true
                            }
                        }
                        ProductEvent::ProductUnpublished => {
                            if let Some(m) = members.get_mut(&id) {
                                m.published = false
                            }
                        }
                        ProductEvent::ProductArchived => {
                            if let Some(m) = members.get_mut(&id) {
                                m.archived = true;
                                m.published = false
                            }
                        }
                        _ => continue,
                    }
                    let after = members.get(&id).map(|m| (m.category_id, m.counts()));
                    if before == after {
                        continue;
                    }
                    if let Some((category, (all, published))) = before {
                        if let Some(c) = categories.get_mut(&category) {
                            c.product_count -= all;
                            c.published_count -= published;
                        }
                    }
                    if let Some((category, (all, published))) = after {
                        if let Some(c) = categories.get_mut(&category) {
                            c.product_count += all;
                            c.published_count += published;
                        }
                    }
                }
                _ => {}
            }
        }
        members.flush(conn).await?;
        categories.flush(conn).await?;
        Ok(())
    }
}
