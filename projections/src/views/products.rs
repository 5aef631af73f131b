//! The admin's product list: every product in every status, with its stock figures.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{Money, ProductEvent, VatRate};

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};
use crate::views::catalog::stock_figures;

/// A product line of the admin list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminProductView {
    pub product_id: Uuid,
    pub reference: String,
    pub name: String,
    pub slug: String,
    pub category_id: Uuid,
    pub price_ht: Money,
    pub vat_rate: VatRate,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub image_count: i32,
    pub on_hand: i64,
    pub available: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row for AdminProductView {
    const TABLE: &'static str = "admin_products";
    const KEY: &'static str = "product_id";
    const COLUMNS: &'static [&'static str] = &[
        "product_id",
        "reference",
        "name",
        "slug",
        "category_id",
        "price_ht",
        "vat_rate",
        "status",
        "image_count",
        "on_hand",
        "available",
        "created_at",
        "updated_at",
    ];
    const NUMERIC: &'static [&'static str] = &["price_ht", "vat_rate"];
}

/// The projection.
#[derive(Debug, Default)]
pub struct AdminProducts;

#[async_trait]
impl Projection for AdminProducts {
    fn name(&self) -> &'static str {
        "admin_products"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["admin_products"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let ids = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Product(_) | DomainEvent::Stock(_)))
            .filter_map(Envelope::aggregate_uuid);
        let mut rows = RowSet::<AdminProductView>::load(conn, ids.collect::<Vec<_>>()).await?;
        for e in events {
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            let at = e.raw.recorded_at;
            match &e.event {
                DomainEvent::Product(ProductEvent::ProductCreated {
                    reference,
                    name,
                    slug,
                    category_id,
                    price_ht,
                    vat_rate,
                    ..
                }) => {
                    rows.put(
                        id,
                        AdminProductView {
                            product_id: id,
                            reference: reference.to_string(),
                            name: name.clone(),
                            slug: slug.to_string(),
                            category_id: *category_id,
                            price_ht: *price_ht,
                            vat_rate: *vat_rate,
                            status: "draft".into(),
                            image_count: 0,
                            on_hand: 0,
                            available: 0,
                            created_at: at,
                            updated_at: at,
                        },
                    );
                }
                DomainEvent::Product(event) => {
                    let Some(p) = rows.get_mut(&id) else { continue };
                    p.updated_at = at;
                    match event {
                        ProductEvent::ProductDetailsEdited {
                            name, category_id, ..
                        } => {
                            p.name = name.clone();
                            p.category_id = *category_id;
                        }
                        ProductEvent::ProductPriceChanged { price_ht, .. } => {
                            p.price_ht = *price_ht
                        }
                        ProductEvent::ProductVatRateChanged { vat_rate, .. } => {
                            p.vat_rate = *vat_rate
                        }
                        ProductEvent::ProductSlugChanged { slug, .. } => p.slug = slug.to_string(),
                        ProductEvent::ProductPublished => p.status = "published".into(),
                        ProductEvent::ProductUnpublished => p.status = "draft".into(),
                        ProductEvent::ProductArchived => p.status = "archived".into(),
                        ProductEvent::ProductImageAdded { .. } => p.image_count += 1,
                        ProductEvent::ProductImageRemoved { .. } => p.image_count -= 1,
                        _ => {}
                    }
                }
                DomainEvent::Stock(event) => {
                    if let Some(p) = rows.get_mut(&id) {
                        (p.on_hand, p.available) = stock_figures(event);
                    }
                }
                _ => {}
            }
        }
        rows.flush(conn).await?;
        Ok(())
    }
}
