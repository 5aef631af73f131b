//! The public catalog: what the storefront reads. Every product that is not archived has a
//! row (the API shows only published ones), with its category, TTC price, stock status,
//! ordered images and rating from approved reviews.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{CategoryEvent, Money, ProductEvent, ReviewEvent, StockEvent, VatRate};

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};

/// A category as the catalog shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogCategoryView {
    pub category_id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub deleted: bool,
}

impl Row for CatalogCategoryView {
    const TABLE: &'static str = "catalog_categories";
    const KEY: &'static str = "category_id";
    const COLUMNS: &'static [&'static str] =
        &["category_id", "slug", "name", "description", "deleted"];
}

/// An image of a product, in display order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogImage {
    pub image_id: Uuid,
    pub key: String,
    /// The thumbnail's own key; rows written before it existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_key: Option<String>,
    pub alt_text: String,
}

/// A product as the catalog shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogProductView {
    pub product_id: Uuid,
    pub reference: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category_id: Uuid,
    pub price_ht: Money,
    pub vat_rate: VatRate,
    pub price_ttc: Money,
    pub available: i64,
    pub images: Vec<CatalogImage>,
    pub meta_description: String,
    pub published: bool,
    pub archived: bool,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Row for CatalogProductView {
    const TABLE: &'static str = "catalog_products";
    const KEY: &'static str = "product_id";
    const COLUMNS: &'static [&'static str] = &[
        "product_id",
        "reference",
        "slug",
        "name",
        "description",
        "category_id",
        "price_ht",
        "vat_rate",
        "price_ttc",
        "available",
        "images",
        "meta_description",
        "published",
        "archived",
        "rating_sum",
        "rating_count",
        "published_at",
        "updated_at",
    ];
    const NUMERIC: &'static [&'static str] = &["price_ht", "vat_rate", "price_ttc"];
}

/// A review as far as the catalog's rating needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogReviewRow {
    pub review_id: Uuid,
    pub product_id: Uuid,
    pub rating: i32,
    pub approved: bool,
}

impl Row for CatalogReviewRow {
    const TABLE: &'static str = "catalog_reviews";
    const KEY: &'static str = "review_id";
    const COLUMNS: &'static [&'static str] = &["review_id", "product_id", "rating", "approved"];
}

/// The projection.
#[derive(Debug, Default)]
pub struct Catalog;

fn ttc(price_ht: Money, rate: VatRate) -> Money {
    price_ht.with_vat(rate)
}

#[async_trait]
impl Projection for Catalog {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "catalog_categories",
            "catalog_products",
            "catalog_slugs",
            "catalog_reviews",
        ]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let mut category_ids = Vec::new();
        let mut review_ids = Vec::new();
        let mut product_ids = Vec::new();
        for e in events {
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            match &e.event {
                DomainEvent::Category(_) => category_ids.push(id),
                DomainEvent::Product(_) | DomainEvent::Stock(_) => product_ids.push(id),
                DomainEvent::Review(ReviewEvent::ReviewSubmitted { product_id, .. }) => {
                    review_ids.push(id);
                    product_ids.push(*product_id);
                }
                DomainEvent::Review(_) => review_ids.push(id),
                _ => {}
            }
        }
        let mut categories = RowSet::<CatalogCategoryView>::load(conn, category_ids).await?;
        let mut reviews = RowSet::<CatalogReviewRow>::load(conn, review_ids.clone()).await?;
        product_ids.extend(
            review_ids
                .iter()
                .filter_map(|id| reviews.get(id).map(|r| r.product_id)),
        );
        let mut products = RowSet::<CatalogProductView>::load(conn, product_ids).await?;
        let mut slugs: Vec<(String, Uuid)> = Vec::new();

        for e in events {
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            let at = e.raw.recorded_at;
            match &e.event {
                DomainEvent::Category(event) => match event {
                    CategoryEvent::CategoryCreated {
                        name,
                        slug,
                        description,
                        ..
                    } => {
                        categories.put(
                            id,
                            CatalogCategoryView {
                                category_id: id,
                                slug: slug.to_string(),
                                name: name.clone(),
                                description: description.clone(),
                                deleted: false,
                            },
                        );
                    }
                    CategoryEvent::CategoryRenamed { name, .. } => {
                        if let Some(c) = categories.get_mut(&id) {
                            c.name = name.clone()
                        }
                    }
                    CategoryEvent::CategorySlugChanged { slug, .. } => {
                        if let Some(c) = categories.get_mut(&id) {
                            c.slug = slug.to_string()
                        }
                    }
                    CategoryEvent::CategoryDescriptionChanged { description } => {
                        if let Some(c) = categories.get_mut(&id) {
                            c.description = description.clone()
                        }
                    }
                    CategoryEvent::CategoryDeleted => {
                        if let Some(c) = categories.get_mut(&id) {
                            c.deleted = true
                        }
                    }
                },
                DomainEvent::Product(event) => {
                    if let ProductEvent::ProductCreated {
                        reference,
                        name,
                        slug,
                        description,
                        category_id,
                        price_ht,
                        vat_rate,
                        meta_description,
                        ..
                    } = event
                    {
                        products.put(
                            id,
                            CatalogProductView {
                                product_id: id,
                                reference: reference.to_string(),
                                slug: slug.to_string(),
                                name: name.clone(),
                                description: description.clone(),
                                category_id: *category_id,
                                price_ht: *price_ht,
                                vat_rate: *vat_rate,
                                price_ttc: ttc(*price_ht, *vat_rate),
                                available: 0,
                                images: Vec::new(),
                                meta_description: meta_description.clone(),
                                published: false,
                                archived: false,
                                rating_sum: 0,
                                rating_count: 0,
                                published_at: None,
                                updated_at: at,
                            },
                        );
                        slugs.push((slug.to_string(), id));
                        continue;
                    }
                    let Some(p) = products.get_mut(&id) else {
                        continue;
                    };
                    p.updated_at = at;
                    match event {
                        ProductEvent::ProductCreated { .. } => {}
                        ProductEvent::ProductDetailsEdited {
                            name,
                            description,
                            category_id,
                            meta_description,
                        } => {
                            p.name = name.clone();
                            p.description = description.clone();
                            p.category_id = *category_id;
                            p.meta_description = meta_description.clone();
                        }
                        ProductEvent::ProductPriceChanged { price_ht, .. } => {
                            p.price_ht = *price_ht;
                            p.price_ttc = ttc(*price_ht, p.vat_rate);
                        }
                        ProductEvent::ProductVatRateChanged { vat_rate, .. } => {
                            p.vat_rate = *vat_rate;
                            p.price_ttc = ttc(p.price_ht, *vat_rate);
                        }
                        ProductEvent::ProductSlugChanged { slug, .. } => {
                            p.slug = slug.to_string();
                            slugs.push((slug.to_string(), id));
                        }
                        ProductEvent::ProductPublished => {
                            p.published = true;
                            p.published_at = Some(at);
                        }
                        ProductEvent::ProductUnpublished => p.published = false,
                        ProductEvent::ProductArchived => {
                            p.archived = true;
                            p.published = false;
                        }
                        ProductEvent::ProductImageAdded {
                            image_id,
                            key,
                            thumbnail_key,
                            alt_text,
                        } => {
                            p.images.push(CatalogImage {
                                image_id: *image_id,
                                key: key.clone(),
                                thumbnail_key: thumbnail_key.clone(),
                                alt_text: alt_text.clone(),
                            });
                        }
                        ProductEvent::ProductImageRemoved { image_id, .. } => {
                            p.images.retain(|i| i.image_id != *image_id);
                        }
                        ProductEvent::ProductImagesReordered { image_ids } => {
                            let mut by_id: HashMap<Uuid, CatalogImage> =
                                p.images.drain(..).map(|i| (i.image_id, i)).collect();
                            p.images = image_ids.iter().filter_map(|i| by_id.remove(i)).collect();
                            p.images.extend(by_id.into_values());
                        }
                        ProductEvent::ProductImageAltTextChanged { image_id, alt_text } => {
                            if let Some(i) = p.images.iter_mut().find(|i| i.image_id == *image_id) {
                                i.alt_text = alt_text.clone();
                            }
                        }
                    }
                }
                DomainEvent::Stock(event) => {
                    if let Some(p) = products.get_mut(&id) {
                        p.available = stock_available(event);
                    }
                }
                DomainEvent::Review(event) => {
                    let change = match event {
                        ReviewEvent::ReviewSubmitted {
                            product_id, rating, ..
                        } => {
                            reviews.put(
                                id,
                                CatalogReviewRow {
                                    review_id: id,
                                    product_id: *product_id,
                                    rating: i32::from(*rating),
                                    approved: false,
                                },
                            );
                            None
                        }
                        ReviewEvent::ReviewApproved => Some(true),
                        ReviewEvent::ReviewRejected { .. } => Some(false),
                        ReviewEvent::VendorResponded { .. } => None,
                    };
                    let Some(approved) = change else { continue };
                    let Some(review) = reviews.get_mut(&id) else {
                        continue;
                    };
                    if review.approved == approved {
                        continue;
                    }
                    review.approved = approved;
                    let (product_id, rating) = (review.product_id, i64::from(review.rating));
                    if let Some(p) = products.get_mut(&product_id) {
                        let sign = if approved { 1 } else { -1 };
                        p.rating_sum += sign * rating;
                        p.rating_count += sign;
                    }
                }
                _ => {}
            }
        }
        categories.flush(conn).await?;
        reviews.flush(conn).await?;
        products.flush(conn).await?;
        if !slugs.is_empty() {
            let (names, ids): (Vec<String>, Vec<Uuid>) = slugs.into_iter().rev().fold(
                (Vec::new(), Vec::new()),
                |(mut names, mut ids), (slug, id)| {
                    // The last assignment of a slug in the batch wins.
                    if !names.contains(&slug) {
                        names.push(slug);
                        ids.push(id);
                    }
                    (names, ids)
                },
            );
            sqlx::query(
                "insert into catalog_slugs (slug, product_id) select * from unnest($1::text[], $2::uuid[])
                 on conflict (slug) do update set product_id = excluded.product_id",
            )
            .bind(&names)
            .bind(&ids)
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}

/// The available quantity every stock event carries.
pub fn stock_available(event: &StockEvent) -> i64 {
    stock_figures(event).1
}

/// (on hand, available) after a stock event.
pub fn stock_figures(event: &StockEvent) -> (i64, i64) {
    match event {
        StockEvent::StockReceived {
            on_hand, available, ..
        }
        | StockEvent::StockAdjusted {
            on_hand, available, ..
        }
        | StockEvent::StockReserved {
            on_hand, available, ..
        }
        | StockEvent::ReservationReleased {
            on_hand, available, ..
        }
        | StockEvent::ReservationCommitted {
            on_hand, available, ..
        }
        | StockEvent::StockReturned {
            on_hand, available, ..
        } => (*on_hand, *available),
    }
}
