use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{Money, Reference, Slug, VatRate};

/// What staff can ask of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductCommand {
    /// Creates a draft product.
    CreateProduct {
        /// Id of the new product (also the aggregate id, and its stock's id).
        product_id: Uuid,
        /// Unique reference.
        reference: Reference,
        /// Name, 1 to 200 characters.
        name: String,
        /// URL slug; `None` derives one from `name`.
        slug: Option<Slug>,
        /// Description.
        description: String,
        /// An existing category.
        category_id: Uuid,
        /// Price excl. VAT, above zero.
        price_ht: Money,
        /// VAT rate.
        vat_rate: VatRate,
        /// SEO description, up to 160 characters.
        meta_description: String,
    },
    /// Replaces the descriptive fields at once (one form in the admin).
    EditProductDetails {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Category.
        category_id: Uuid,
        /// SEO description.
        meta_description: String,
    },
    /// Changes the price excl. VAT.
    ChangeProductPrice {
        /// New price, above zero.
        price_ht: Money,
    },
    /// Changes the VAT rate.
    ChangeProductVatRate {
        /// New rate.
        vat_rate: VatRate,
    },
    /// Changes the URL slug (the old one is remembered for redirects).
    ChangeProductSlug {
        /// New slug.
        slug: Slug,
    },
    /// Shows the product in the storefront.
    PublishProduct,
    /// Hides the product from the storefront.
    UnpublishProduct,
    /// Retires the product for good.
    ArchiveProduct,
    /// Appends an image (already uploaded under `key`).
    AddProductImage {
        /// Id of the image.
        image_id: Uuid,
        /// Storage key.
        key: String,
        /// Storage key of the thumbnail.
        thumbnail_key: Option<String>,
        /// Alternative text; the product name when absent or blank.
        alt_text: Option<String>,
    },
    /// Removes an image.
    RemoveProductImage {
        /// The image.
        image_id: Uuid,
    },
    /// Sets the image order; must list exactly the current images.
    ReorderProductImages {
        /// Every current image id, in the new order.
        image_ids: Vec<Uuid>,
    },
    /// Changes an image's alternative text.
    ChangeProductImageAltText {
        /// The image.
        image_id: Uuid,
        /// New text, not blank.
        alt_text: String,
    },
}
