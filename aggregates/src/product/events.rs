use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{Money, Reference, Slug, VatRate};

/// What happened to a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductEvent {
    /// A draft product was created.
    ProductCreated {
        /// Its id.
        product_id: Uuid,
        /// Its reference.
        reference: Reference,
        /// Its name.
        name: String,
        /// Its slug.
        slug: Slug,
        /// Its description.
        description: String,
        /// Its category.
        category_id: Uuid,
        /// Price excl. VAT.
        price_ht: Money,
        /// VAT rate.
        vat_rate: VatRate,
        /// SEO description.
        meta_description: String,
    },
    /// Descriptive fields were edited.
    ProductDetailsEdited {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Category.
        category_id: Uuid,
        /// SEO description.
        meta_description: String,
    },
    /// The price changed.
    ProductPriceChanged {
        /// New price excl. VAT.
        price_ht: Money,
        /// Price before.
        previous: Money,
    },
    /// The VAT rate changed.
    ProductVatRateChanged {
        /// New rate.
        vat_rate: VatRate,
        /// Rate before.
        previous: VatRate,
    },
    /// The slug changed.
    ProductSlugChanged {
        /// New slug.
        slug: Slug,
        /// Slug before (for redirects).
        previous: Slug,
    },
    /// The product is shown in the storefront.
    ProductPublished,
    /// The product is hidden from the storefront.
    ProductUnpublished,
    /// The product was retired.
    ProductArchived,
    /// An image was appended.
    ProductImageAdded {
        /// Image id.
        image_id: Uuid,
        /// Storage key.
        key: String,
        /// Storage key of the thumbnail; absent in events written before thumbnails had
        /// their own key (readers then fall back to `thumbs/<key>`).
        #[serde(default)]
        thumbnail_key: Option<String>,
        /// Alternative text.
        alt_text: String,
    },
    /// An image was removed.
    ProductImageRemoved {
        /// Image id.
        image_id: Uuid,
        /// Its storage key (so the file can be deleted).
        key: String,
        /// Storage key of the thumbnail; absent in events written before thumbnails had
        /// their own key (readers then fall back to `thumbs/<key>`).
        #[serde(default)]
        thumbnail_key: Option<String>,
    },
    /// Images were reordered.
    ProductImagesReordered {
        /// Every image id in the new order.
        image_ids: Vec<Uuid>,
    },
    /// An image's alternative text changed.
    ProductImageAltTextChanged {
        /// Image id.
        image_id: Uuid,
        /// New text.
        alt_text: String,
    },
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        match self {
            ProductEvent::ProductCreated { .. } => "ProductCreated",
            ProductEvent::ProductDetailsEdited { .. } => "ProductDetailsEdited",
            ProductEvent::ProductPriceChanged { .. } => "ProductPriceChanged",
            ProductEvent::ProductVatRateChanged { .. } => "ProductVatRateChanged",
            ProductEvent::ProductSlugChanged { .. } => "ProductSlugChanged",
            ProductEvent::ProductPublished => "ProductPublished",
            ProductEvent::ProductUnpublished => "ProductUnpublished",
            ProductEvent::ProductArchived => "ProductArchived",
            ProductEvent::ProductImageAdded { .. } => "ProductImageAdded",
            ProductEvent::ProductImageRemoved { .. } => "ProductImageRemoved",
            ProductEvent::ProductImagesReordered { .. } => "ProductImagesReordered",
            ProductEvent::ProductImageAltTextChanged { .. } => "ProductImageAltTextChanged",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
