use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ProductCommand, ProductError, ProductEvent, MAX_META_DESCRIPTION_LEN, MAX_NAME_LEN};
use crate::services::{
    release_quietly, CatalogServices, PRODUCT_REFERENCE_SCOPE, PRODUCT_SLUG_SCOPE,
};
use crate::values::{Money, Reference, Slug, VatRate};

/// Where a product stands in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Not shown in the storefront yet.
    #[default]
    Draft,
    /// Shown in the storefront.
    Published,
    /// Retired for good.
    Archived,
}

impl ProductStatus {
    /// `draft`, `published` or `archived`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
            ProductStatus::Archived => "archived",
        }
    }
}

/// An image of a product, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductImage {
    /// Image id.
    pub image_id: Uuid,
    /// Storage key.
    pub key: String,
    /// Storage key of the thumbnail (none for images added before thumbnails had one).
    #[serde(default)]
    pub thumbnail_key: Option<String>,
    /// Alternative text.
    pub alt_text: String,
}

/// A product of the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    id: Option<Uuid>,
    reference: Option<Reference>,
    name: String,
    slug: Option<Slug>,
    previous_slugs: Vec<Slug>,
    description: String,
    category_id: Option<Uuid>,
    price_ht: Money,
    vat_rate: VatRate,
    meta_description: String,
    status: ProductStatus,
    images: Vec<ProductImage>,
}

impl Product {
    /// Whether the product was created (archived ones included).
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Its id, once created.
    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// Its reference, once created.
    pub fn reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its slug, once created.
    pub fn slug(&self) -> Option<&Slug> {
        self.slug.as_ref()
    }

    /// Slugs it had before, oldest first.
    pub fn previous_slugs(&self) -> &[Slug] {
        &self.previous_slugs
    }

    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its category, once created.
    pub fn category_id(&self) -> Option<Uuid> {
        self.category_id
    }

    /// Price excl. VAT (zero before creation).
    pub fn price_ht(&self) -> Money {
        self.price_ht
    }

    /// VAT rate (zero before creation).
    pub fn vat_rate(&self) -> VatRate {
        self.vat_rate
    }

    /// SEO description.
    pub fn meta_description(&self) -> &str {
        &self.meta_description
    }

    /// Draft, published or archived.
    pub fn status(&self) -> ProductStatus {
        self.status
    }

    /// Whether it is shown in the storefront.
    pub fn is_published(&self) -> bool {
        self.status == ProductStatus::Published
    }

    /// Whether it was archived.
    pub fn is_archived(&self) -> bool {
        self.status == ProductStatus::Archived
    }

    /// Images in display order.
    pub fn images(&self) -> &[ProductImage] {
        &self.images
    }

    /// The id of a product that can still change, or why it cannot.
    fn live(&self) -> Result<Uuid, ProductError> {
        match self.id {
            None => Err(ProductError::NotFound),
            Some(_) if self.is_archived() => Err(ProductError::Archived),
            Some(id) => Ok(id),
        }
    }

    fn image(&self, image_id: Uuid) -> Result<&ProductImage, ProductError> {
        self.images
            .iter()
            .find(|image| image.image_id == image_id)
            .ok_or(ProductError::ImageNotFound(image_id))
    }
}

fn checked_name(name: &str) -> Result<String, ProductError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ProductError::NameEmpty);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ProductError::NameTooLong);
    }
    Ok(name.to_owned())
}

fn checked_meta_description(meta: &str) -> Result<String, ProductError> {
    let meta = meta.trim();
    if meta.chars().count() > MAX_META_DESCRIPTION_LEN {
        return Err(ProductError::MetaDescriptionTooLong);
    }
    Ok(meta.to_owned())
}

fn checked_price(price: Money) -> Result<Money, ProductError> {
    if price.is_zero() {
        return Err(ProductError::PriceNotPositive);
    }
    Ok(price)
}

async fn checked_category(services: &CatalogServices, id: Uuid) -> Result<Uuid, ProductError> {
    if services.lookup.category_exists(id).await? {
        Ok(id)
    } else {
        Err(ProductError::CategoryNotFound(id))
    }
}

impl Aggregate for Product {
    const TYPE: &'static str = "Product";
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = ProductError;
    type Services = CatalogServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let keys = services.keys.as_ref();
        if let ProductCommand::CreateProduct {
            product_id,
            reference,
            name,
            slug,
            description,
            category_id,
            price_ht,
            vat_rate,
            meta_description,
        } = command
        {
            if self.exists() {
                return Err(ProductError::AlreadyExists);
            }
            let name = checked_name(&name)?;
            let meta_description = checked_meta_description(&meta_description)?;
            let price_ht = checked_price(price_ht)?;
            let slug = match slug {
                Some(slug) => slug,
                None => Slug::from_name(&name)?,
            };
            let category_id = checked_category(services, category_id).await?;
            if !keys
                .claim(PRODUCT_REFERENCE_SCOPE, reference.as_str(), product_id)
                .await?
            {
                return Err(ProductError::ReferenceTaken(reference));
            }
            if !keys
                .claim(PRODUCT_SLUG_SCOPE, slug.as_str(), product_id)
                .await?
            {
                // The product will not exist: give its reference back.
                release_quietly(
                    keys,
                    PRODUCT_REFERENCE_SCOPE,
                    reference.as_str(),
                    product_id,
                )
                .await;
                return Err(ProductError::SlugTaken(slug));
            }
            let event = ProductEvent::ProductCreated {
                product_id,
                reference,
                name,
                slug,
                description: description.trim().to_owned(),
                category_id,
                price_ht,
                vat_rate,
                meta_description,
            };
            sink.write(event, self).await;
            return Ok(());
        }

        if matches!(command, ProductCommand::ArchiveProduct) && self.is_archived() {
            return Err(ProductError::AlreadyArchived);
        }
        let id = self.live()?;
        match command {
            ProductCommand::CreateProduct { .. } => return Err(ProductError::AlreadyExists),
            ProductCommand::EditProductDetails {
                name,
                description,
                category_id,
                meta_description,
            } => {
                let name = checked_name(&name)?;
                let meta_description = checked_meta_description(&meta_description)?;
                let description = description.trim().to_owned();
                // Only a move is checked: a product may stay in a category deleted since.
                if Some(category_id) != self.category_id {
                    checked_category(services, category_id).await?;
                }
                let unchanged = name == self.name
                    && description == self.description
                    && Some(category_id) == self.category_id
                    && meta_description == self.meta_description;
                if !unchanged {
                    let event = ProductEvent::ProductDetailsEdited {
                        name,
                        description,
                        category_id,
                        meta_description,
                    };
                    sink.write(event, self).await;
                }
            }
            ProductCommand::ChangeProductPrice { price_ht } => {
                let price_ht = checked_price(price_ht)?;
                if price_ht != self.price_ht {
                    let previous = self.price_ht;
                    let event = ProductEvent::ProductPriceChanged { price_ht, previous };
                    sink.write(event, self).await;
                }
            }
            ProductCommand::ChangeProductVatRate { vat_rate } => {
                if vat_rate != self.vat_rate {
                    let previous = self.vat_rate;
                    let event = ProductEvent::ProductVatRateChanged { vat_rate, previous };
                    sink.write(event, self).await;
                }
            }
            ProductCommand::ChangeProductSlug { slug } => {
                let Some(previous) = self.slug.clone() else {
                    return Err(ProductError::NotFound);
                };
                if slug != previous {
                    if !keys.claim(PRODUCT_SLUG_SCOPE, slug.as_str(), id).await? {
                        return Err(ProductError::SlugTaken(slug));
                    }
                    let event = ProductEvent::ProductSlugChanged {
                        slug,
                        previous: previous.clone(),
                    };
                    sink.write(event, self).await;
                    release_quietly(keys, PRODUCT_SLUG_SCOPE, previous.as_str(), id).await;
                }
            }
            ProductCommand::PublishProduct => {
                if !self.is_published() {
                    sink.write(ProductEvent::ProductPublished, self).await;
                }
            }
            ProductCommand::UnpublishProduct => {
                if self.is_published() {
                    sink.write(ProductEvent::ProductUnpublished, self).await;
                }
            }
            ProductCommand::ArchiveProduct => {
                // The storefront reacts to ProductUnpublished; archiving says it explicitly
                // so no view has to know that archiving also hides.
                if self.is_published() {
                    sink.write(ProductEvent::ProductUnpublished, self).await;
                }
                sink.write(ProductEvent::ProductArchived, self).await;
            }
            ProductCommand::AddProductImage {
                image_id,
                key,
                thumbnail_key,
                alt_text,
            } => {
                let key = key.trim().to_owned();
                if key.is_empty() {
                    return Err(ProductError::ImageKeyEmpty);
                }
                if let Ok(existing) = self.image(image_id) {
                    // A retried upload is not an error; a different image under the same
                    // id is.
                    if existing.key == key {
                        return Ok(());
                    }
                    return Err(ProductError::ImageAlreadyAdded(image_id));
                }
                let alt_text = alt_text
                    .map(|text| text.trim().to_owned())
                    .filter(|text| !text.is_empty())
                    .unwrap_or_else(|| self.name.clone());
                let thumbnail_key = thumbnail_key
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty());
                let event = ProductEvent::ProductImageAdded {
                    image_id,
                    key,
                    thumbnail_key,
                    alt_text,
                };
                sink.write(event, self).await;
            }
            ProductCommand::RemoveProductImage { image_id } => {
                let image = self.image(image_id)?;
                let event = ProductEvent::ProductImageRemoved {
                    image_id,
                    key: image.key.clone(),
                    thumbnail_key: image.thumbnail_key.clone(),
                };
                sink.write(event, self).await;
            }
            ProductCommand::ReorderProductImages { image_ids } => {
                let mut wanted = image_ids.clone();
                wanted.sort_unstable();
                let mut current: Vec<Uuid> = self.images.iter().map(|i| i.image_id).collect();
                let unchanged = current == image_ids;
                current.sort_unstable();
                if wanted != current {
                    return Err(ProductError::ImageOrderMismatch);
                }
                if !unchanged {
                    let event = ProductEvent::ProductImagesReordered { image_ids };
                    sink.write(event, self).await;
                }
            }
            ProductCommand::ChangeProductImageAltText { image_id, alt_text } => {
                let alt_text = alt_text.trim().to_owned();
                let image = self.image(image_id)?;
                if alt_text.is_empty() {
                    return Err(ProductError::AltTextEmpty);
                }
                if image.alt_text != alt_text {
                    let event = ProductEvent::ProductImageAltTextChanged { image_id, alt_text };
                    sink.write(event, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ProductEvent::ProductCreated {
                product_id,
                reference,
                name,
                slug,
                description,
                category_id,
                price_ht,
                vat_rate,
                meta_description,
            } => {
                self.id = Some(product_id);
                self.reference = Some(reference);
                self.name = name;
                self.slug = Some(slug);
                self.description = description;
                self.category_id = Some(category_id);
                self.price_ht = price_ht;
                self.vat_rate = vat_rate;
                self.meta_description = meta_description;
                self.status = ProductStatus::Draft;
            }
            ProductEvent::ProductDetailsEdited {
                name,
                description,
                category_id,
                meta_description,
            } => {
                self.name = name;
                self.description = description;
                self.category_id = Some(category_id);
                self.meta_description = meta_description;
            }
            ProductEvent::ProductPriceChanged { price_ht, .. } => self.price_ht = price_ht,
            ProductEvent::ProductVatRateChanged { vat_rate, .. } => self.vat_rate = vat_rate,
            ProductEvent::ProductSlugChanged { slug, previous } => {
                self.previous_slugs.retain(|old| *old != slug);
                self.previous_slugs.push(previous);
                self.slug = Some(slug);
            }
            ProductEvent::ProductPublished => self.status = ProductStatus::Published,
            ProductEvent::ProductUnpublished => self.status = ProductStatus::Draft,
            ProductEvent::ProductArchived => self.status = ProductStatus::Archived,
            ProductEvent::ProductImageAdded {
                image_id,
                key,
                thumbnail_key,
                alt_text,
            } => self.images.push(ProductImage {
                image_id,
                key,
                thumbnail_key,
                alt_text,
            }),
            ProductEvent::ProductImageRemoved { image_id, .. } => {
                self.images.retain(|image| image.image_id != image_id);
            }
            ProductEvent::ProductImagesReordered { image_ids } => {
                let mut images = std::mem::take(&mut self.images);
                let mut ordered = Vec::with_capacity(images.len());
                for id in image_ids {
                    if let Some(pos) = images.iter().position(|image| image.image_id == id) {
                        ordered.push(images.remove(pos));
                    }
                }
                // Never lose an image, even from an event written by older, laxer code.
                ordered.append(&mut images);
                self.images = ordered;
            }
            ProductEvent::ProductImageAltTextChanged { image_id, alt_text } => {
                if let Some(image) = self.images.iter_mut().find(|i| i.image_id == image_id) {
                    image.alt_text = alt_text;
                }
            }
        }
    }
}
