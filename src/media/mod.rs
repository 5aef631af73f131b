//! Product images: checking and processing uploads, storing the published variants
//! (locally or in an S3-compatible bucket), and the product commands that reference them.
//!
//! The flow, for both stores:
//! 1. the file arrives, through the app (multipart) or, with S3, straight into the
//!    bucket under `incoming/<product>/<uuid>` through a presigned PUT;
//! 2. it is recognised by its content, its size and pixel count checked from its header,
//!    decoded, turned upright, shrunk and re-encoded without metadata ([`process`]);
//! 3. the display version and thumbnail are written under content-hash keys, then
//!    `AddProductImage` is recorded; the incoming object is deleted;
//! 4. removing an image records `RemoveProductImage`, then deletes its objects unless
//!    another image still uses the same bytes; [`gc`] sweeps whatever was left behind.

pub mod heif;
pub mod process;
pub mod serve;
pub mod store;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aggregates::metadata::EventMetadata;
use aggregates::product::{Product, ProductCommand, ProductError, ProductEvent, ProductImage};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::commands::{CommandBus, CommandError};
pub use process::{Limits, Refusal};
pub use store::{LocalStore, MediaStore, PresignedPut, S3Settings, S3Store, StoreError};

/// How long a presigned upload URL stays valid.
pub const PRESIGN_EXPIRY: Duration = Duration::from_secs(10 * 60);
/// How old an unreferenced object must be before the orphan sweep deletes it: an upload
/// writes its variants a moment before its event commits.
pub const GC_GRACE: Duration = Duration::from_secs(60 * 60);
/// Content types a presigned upload may declare.
const UPLOAD_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
];

/// The configured store, limits and public URL of images.
#[derive(Debug, Clone)]
pub struct Media {
    store: Arc<dyn MediaStore>,
    /// Upload limits.
    pub limits: Limits,
    public_base_url: String,
}

impl Media {
    /// Images in `store`, published under `public_base_url` (`/media` for the local
    /// store, the CDN's address for a bucket).
    pub fn new(store: Arc<dyn MediaStore>, limits: Limits, public_base_url: &str) -> Media {
        Media {
            store,
            limits,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Images in a local folder, served under `/media`, with the default limits.
    pub fn local(root: impl Into<PathBuf>) -> Media {
        Media::new(Arc::new(LocalStore::new(root)), Limits::default(), "/media")
    }

    /// From the environment:
    /// - `COMPTOIR_MEDIA_STORE`: `local` (default) or `s3`;
    /// - `COMPTOIR_MEDIA_DIR`: the local folder (default `<data dir>/media`);
    /// - `COMPTOIR_MEDIA_MAX_BYTES` (default 10 MB), `COMPTOIR_MEDIA_MAX_PIXELS` (40 M);
    /// - `COMPTOIR_MEDIA_BASE_URL`: the public address of images (default `/media`; the
    ///   CDN or the bucket's public URL with `s3`, where it is required);
    /// - with `s3`: `COMPTOIR_S3_ENDPOINT`, `COMPTOIR_S3_REGION` (default `auto`),
    ///   `COMPTOIR_S3_BUCKET`, `COMPTOIR_S3_ACCESS_KEY_ID`, `COMPTOIR_S3_SECRET_ACCESS_KEY`,
    ///   `COMPTOIR_S3_PATH_STYLE` (`true`/`false`, default `false`).
    pub fn from_env(data_dir: &Path) -> Result<Media, String> {
        Media::from_lookup(data_dir, |name| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    }

    /// As [`Media::from_env`], reading settings through `var`.
    pub fn from_lookup(
        data_dir: &Path,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Media, String> {
        let number =
            |name: &str, default: u64| -> Result<u64, String> {
                match var(name) {
                    None => Ok(default),
                    Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("{name} must be a positive whole number, not `{v}`")
                    }),
                }
            };
        let defaults = Limits::default();
        let limits = Limits {
            max_bytes: number("COMPTOIR_MEDIA_MAX_BYTES", defaults.max_bytes)?,
            max_pixels: number("COMPTOIR_MEDIA_MAX_PIXELS", defaults.max_pixels)?,
        };
        let base_url = var("COMPTOIR_MEDIA_BASE_URL");
        match var("COMPTOIR_MEDIA_STORE").as_deref().unwrap_or("local") {
            "local" => {
                let root = var("COMPTOIR_MEDIA_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("media"));
                Ok(Media::new(
                    Arc::new(LocalStore::new(root)),
                    limits,
                    base_url.as_deref().unwrap_or("/media"),
                ))
            }
            "s3" => {
                let required = |name: &str| {
                    var(name)
                        .ok_or_else(|| format!("{name} is required with COMPTOIR_MEDIA_STORE=s3"))
                };
                let path_style = match var("COMPTOIR_S3_PATH_STYLE").as_deref() {
                    None | Some("false") | Some("0") => false,
                    Some("true") | Some("1") => true,
                    Some(other) => {
                        return Err(format!(
                            "COMPTOIR_S3_PATH_STYLE must be true or false, not `{other}`"
                        ))
                    }
                };
                let settings = S3Settings {
                    endpoint: required("COMPTOIR_S3_ENDPOINT")?,
                    region: var("COMPTOIR_S3_REGION").unwrap_or_else(|| "auto".into()),
                    bucket: required("COMPTOIR_S3_BUCKET")?,
                    access_key_id: required("COMPTOIR_S3_ACCESS_KEY_ID")?,
                    secret_access_key: required("COMPTOIR_S3_SECRET_ACCESS_KEY")?,
                    path_style,
                };
                let base_url = base_url.ok_or(
                    "COMPTOIR_MEDIA_BASE_URL (the bucket's public or CDN address) is required with COMPTOIR_MEDIA_STORE=s3",
                )?;
                let store = S3Store::new(&settings);
                // Said at start rather than by every browser upload failing.
                if store.browser_upload_origin().is_none() {
                    return Err(format!(
                        "COMPTOIR_S3_ENDPOINT `{}` gives no http(s) address for bucket `{}`",
                        settings.endpoint, settings.bucket
                    ));
                }
                Ok(Media::new(Arc::new(store), limits, &base_url))
            }
            other => Err(format!(
                "COMPTOIR_MEDIA_STORE must be `local` or `s3`, not `{other}`"
            )),
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn MediaStore {
        self.store.as_ref()
    }

    /// Where browsers upload files themselves (the bucket's origin, with S3), if they do:
    /// the admin's upload form and its CSP follow it. `None`: through the app.
    pub fn browser_upload_origin(&self) -> Option<&str> {
        self.store.browser_upload_origin()
    }

    /// The public base of image URLs (what `AppState::media_base_url` should be).
    pub fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    /// The public URL of an object.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base_url)
    }

    fn view(&self, image: &ProductImage) -> ImageView {
        let thumbnail = match &image.thumbnail_key {
            Some(key) => self.url(key),
            None => self.url(&format!("thumbs/{}", image.key)),
        };
        ImageView {
            id: image.image_id,
            url: self.url(&image.key),
            thumbnail_url: thumbnail,
            alt: image.alt_text.clone(),
        }
    }
}

/// An image as the admin shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub id: Uuid,
    pub url: String,
    pub thumbnail_url: String,
    pub alt: String,
}

/// Where and how the browser sends a file for [`process_incoming`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUpload {
    /// What to pass to [`process_incoming`] once the PUT succeeded.
    pub key: String,
    #[serde(flatten)]
    pub put: PresignedPut,
    pub expires_in_seconds: u64,
}

/// Why an image operation failed; each has a stable code for the admin UI.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file itself was refused.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("this product does not exist")]
    ProductNotFound,
    /// The product refused the change.
    #[error(transparent)]
    Product(ProductError),
    #[error("someone else changed this product's images at the same time; try again")]
    Conflict,
    #[error("this storage takes uploads through the app, not presigned URLs")]
    PresignUnavailable,
    #[error("this upload does not belong to this product")]
    NotThisUpload,
    #[error("the uploaded file was not found: it expired or was never sent")]
    UploadMissing,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("event store: {0}")]
    Internal(String),
}

impl MediaError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Refused(refusal) => refusal.code(),
            MediaError::ProductNotFound => "product_not_found",
            MediaError::Product(error) => match error {
                ProductError::ImageNotFound(_) => "image_not_found",
                ProductError::ImageOrderMismatch => "image_order_mismatch",
                ProductError::AltTextEmpty => "alt_text_empty",
                ProductError::Archived => "product_archived",
                _ => "product_refused",
            },
            MediaError::Conflict => "conflict",
            MediaError::PresignUnavailable => "presign_unavailable",
            MediaError::NotThisUpload => "not_this_upload",
            MediaError::UploadMissing => "upload_missing",
            MediaError::Store(_) => "storage_error",
            MediaError::Internal(_) => "internal_error",
        }
    }

    /// Whether the fault is the server's (logged, shown as an opaque error).
    pub fn is_internal(&self) -> bool {
        matches!(self, MediaError::Store(_) | MediaError::Internal(_))
    }
}

impl From<CommandError<ProductError>> for MediaError {
    fn from(error: CommandError<ProductError>) -> Self {
        match error {
            CommandError::Refused(ProductError::NotFound) => MediaError::ProductNotFound,
            CommandError::Refused(error) => MediaError::Product(error),
            CommandError::Conflict { .. } => MediaError::Conflict,
            CommandError::Store(error) => MediaError::Internal(error),
        }
    }
}

async fn product(bus: &CommandBus, product_id: Uuid) -> Result<Product, MediaError> {
    let product = bus.products.load(&product_id.to_string()).await?;
    if !product.exists() {
        return Err(MediaError::ProductNotFound);
    }
    Ok(product)
}

/// A product's images, in order, from its stream (fresher than any projection).
pub async fn list(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
) -> Result<Vec<ImageView>, MediaError> {
    let product = product(bus, product_id).await?;
    Ok(product.images().iter().map(|i| media.view(i)).collect())
}

/// Checks and processes `bytes`, publishes the variants and adds the image to the product.
pub async fn upload(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    bytes: Vec<u8>,
    alt_text: Option<String>,
    metadata: &EventMetadata,
) -> Result<ImageView, MediaError> {
    // Refuse before the expensive work, and never leave files for a missing product.
    product(bus, product_id).await?;
    let limits = media.limits;
    let processed = tokio::task::spawn_blocking(move || process::process(&bytes, &limits))
        .await
        .map_err(|e| MediaError::Internal(format!("image processing stopped: {e}")))??;
    let display_key = processed.display.key();
    let thumbnail_key = processed.thumbnail.key();
    let store = media.store();
    store
        .put(
            &display_key,
            processed.display.bytes,
            processed.display.content_type,
        )
        .await?;
    store
        .put(
            &thumbnail_key,
            processed.thumbnail.bytes,
            processed.thumbnail.content_type,
        )
        .await?;
    let image_id = Uuid::now_v7();
    let command = ProductCommand::AddProductImage {
        image_id,
        key: display_key,
        thumbnail_key: Some(thumbnail_key),
        alt_text,
    };
    // Should this fail, the two objects stay until the orphan sweep: another image may
    // already share their bytes.
    bus.products
        .execute(&product_id.to_string(), command, metadata)
        .await?;
    let product = product(bus, product_id).await?;
    product
        .images()
        .iter()
        .find(|i| i.image_id == image_id)
        .map(|i| media.view(i))
        .ok_or_else(|| MediaError::Internal("the added image is missing".into()))
}

/// A presigned PUT for one file of `size` bytes and type `content_type`, into the
/// incoming prefix of this product.
pub async fn presign(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    content_type: &str,
    size: u64,
) -> Result<PresignedUpload, MediaError> {
    product(bus, product_id).await?;
    let content_type = content_type.trim().to_ascii_lowercase();
    if !UPLOAD_TYPES.contains(&content_type.as_str()) {
        return Err(Refusal::Unsupported(match content_type.as_str() {
            "image/svg+xml" => "SVG",
            "image/gif" => "GIF",
            "application/pdf" => "PDF",
            _ => "This type of",
        })
        .into());
    }
    if size == 0 {
        return Err(Refusal::Empty.into());
    }
    if size > media.limits.max_bytes {
        return Err(Refusal::TooLarge {
            size,
            max: media.limits.max_bytes,
        }
        .into());
    }
    let key = format!("incoming/{product_id}/{}", Uuid::new_v4());
    let put = media
        .store()
        .presign_put(&key, &content_type, size, PRESIGN_EXPIRY)
        .await?
        .ok_or(MediaError::PresignUnavailable)?;
    Ok(PresignedUpload {
        key,
        put,
        expires_in_seconds: PRESIGN_EXPIRY.as_secs(),
    })
}

/// Processes a file the browser PUT to `key` (from [`presign`]): the incoming object is
/// deleted whatever the outcome, so a refused file leaves nothing behind.
pub async fn process_incoming(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    key: &str,
    alt_text: Option<String>,
    metadata: &EventMetadata,
) -> Result<ImageView, MediaError> {
    let prefix = format!("incoming/{product_id}/");
    let own = key
        .strip_prefix(&prefix)
        .is_some_and(|rest| Uuid::parse_str(rest).is_ok());
    if !own {
        return Err(MediaError::NotThisUpload);
    }
    let store = media.store();
    let fetched = store.get(key, media.limits.max_bytes).await;
    let result = match fetched {
        Ok(Some(bytes)) => upload(media, bus, product_id, bytes, alt_text, metadata).await,
        Ok(None) => return Err(MediaError::UploadMissing),
        Err(StoreError::TooLarge { size }) => Err(Refusal::TooLarge {
            size,
            max: media.limits.max_bytes,
        }
        .into()),
        Err(error) => return Err(error.into()),
    };
    if let Err(error) = store.delete(key).await {
        // The orphan sweep will get it.
        tracing::warn!(%error, key, "incoming upload not deleted");
    }
    result
}

/// Sets the order of a product's images (every current image, once).
pub async fn reorder(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    image_ids: Vec<Uuid>,
    metadata: &EventMetadata,
) -> Result<Vec<ImageView>, MediaError> {
    bus.products
        .execute(
            &product_id.to_string(),
            ProductCommand::ReorderProductImages { image_ids },
            metadata,
        )
        .await?;
    list(media, bus, product_id).await
}

/// Moves one image a place earlier (`up`) or later: the accessible alternative to
/// dragging. At either end nothing changes.
pub async fn move_image(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    image_id: Uuid,
    up: bool,
    metadata: &EventMetadata,
) -> Result<Vec<ImageView>, MediaError> {
    let product = product(bus, product_id).await?;
    let mut ids: Vec<Uuid> = product.images().iter().map(|i| i.image_id).collect();
    let at = ids
        .iter()
        .position(|id| *id == image_id)
        .ok_or(MediaError::Product(ProductError::ImageNotFound(image_id)))?;
    let to = if up {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|to| *to < ids.len())
    };
    if let Some(to) = to {
        ids.swap(at, to);
    }
    reorder(media, bus, product_id, ids, metadata).await
}

/// Changes an image's alternative text.
pub async fn change_alt_text(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    image_id: Uuid,
    alt_text: String,
    metadata: &EventMetadata,
) -> Result<ImageView, MediaError> {
    bus.products
        .execute(
            &product_id.to_string(),
            ProductCommand::ChangeProductImageAltText { image_id, alt_text },
            metadata,
        )
        .await?;
    let product = product(bus, product_id).await?;
    product
        .images()
        .iter()
        .find(|i| i.image_id == image_id)
        .map(|i| media.view(i))
        .ok_or(MediaError::Product(ProductError::ImageNotFound(image_id)))
}

/// Removes an image; once the removal is recorded, deletes its objects unless another
/// image still uses the same bytes (keys are content hashes).
pub async fn remove(
    media: &Media,
    bus: &CommandBus,
    product_id: Uuid,
    image_id: Uuid,
    metadata: &EventMetadata,
) -> Result<(), MediaError> {
    let product = product(bus, product_id).await?;
    let image = product
        .images()
        .iter()
        .find(|i| i.image_id == image_id)
        .cloned()
        .ok_or(MediaError::Product(ProductError::ImageNotFound(image_id)))?;
    bus.products
        .execute(
            &product_id.to_string(),
            ProductCommand::RemoveProductImage { image_id },
            metadata,
        )
        .await?;
    let referenced = match referenced_keys(&bus.pool).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::warn!(%error, "removed image's objects kept for the orphan sweep");
            return Ok(());
        }
    };
    for key in [Some(image.key), image.thumbnail_key].into_iter().flatten() {
        if referenced.contains(&key) {
            continue;
        }
        if let Err(error) = media.store().delete(&key).await {
            tracing::warn!(%error, key, "removed image's object not deleted");
        }
    }
    Ok(())
}

/// Every key the event store references: the variants of current product images, and
/// every stored invoice and credit note PDF.
pub async fn referenced_keys(pool: &PgPool) -> Result<HashSet<String>, sqlx::Error> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select aggregate_id, payload from events
         where aggregate_type = 'Product'
           and event_type in ('ProductImageAdded', 'ProductImageRemoved')
         order by aggregate_id, sequence",
    )
    .fetch_all(pool)
    .await?;
    // Image ids are unique per product only: key the live set by (product, image).
    let mut live: std::collections::HashMap<(String, Uuid), Vec<String>> = Default::default();
    for (product, payload) in rows {
        match serde_json::from_value::<ProductEvent>(payload) {
            Ok(ProductEvent::ProductImageAdded {
                image_id,
                key,
                thumbnail_key,
                ..
            }) => {
                let mut keys = vec![key];
                keys.extend(thumbnail_key);
                live.insert((product, image_id), keys);
            }
            Ok(ProductEvent::ProductImageRemoved { image_id, .. }) => {
                live.remove(&(product, image_id));
            }
            Ok(_) => {}
            Err(error) => return Err(sqlx::Error::Decode(Box::new(error))),
        }
    }
    let mut keys: HashSet<String> = live.into_values().flatten().collect();
    // Invoice and credit note PDFs, kept for good (they are the documents as issued).
    let documents: Vec<String> = sqlx::query_scalar(
        "select payload::jsonb -> 'DocumentStored' ->> 'key' from events
         where aggregate_type = 'Order' and event_type = 'DocumentStored'",
    )
    .fetch_all(pool)
    .await?;
    keys.extend(documents);
    Ok(keys)
}

/// What the orphan sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// Objects referenced by a current image, kept.
    pub kept: usize,
    /// Unreferenced objects younger than the grace period, kept for now.
    pub recent: usize,
}

/// The orphan sweep (`comptoir media gc`): deletes every object that no current image
/// references and that is older than `grace` (an upload in progress writes its files a
/// moment before its event commits), abandoned incoming uploads included.
pub async fn gc(media: &Media, pool: &PgPool, grace: Duration) -> Result<GcReport, MediaError> {
    // Listed before the references are read: an object written after the listing is not
    // seen, and one listed is only deleted if no committed event references it.
    let objects = media.store().list("").await?;
    let referenced = referenced_keys(pool)
        .await
        .map_err(|e| MediaError::Internal(e.to_string()))?;
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = GcReport::default();
    for object in objects {
        if referenced.contains(&object.key) {
            report.kept += 1;
        } else if object.modified > cutoff {
            report.recent += 1;
        } else {
            media.store().delete(&object.key).await?;
            report.deleted.push(object.key);
        }
    }
    Ok(report)
}
