//! Product images, for the admin's upload UI (the images tab of a product, in
//! `products.rs`): JSON answers for its script (every error a stable `code` and a
//! `message` in plain words), and the same routes as plain form posts for a browser without
//! JavaScript, answered with a redirect to the images tab and a toast in the staff member's
//! language.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET  /admin/products/{id}/images/list` | | `{images: [Image]}` |
//! | `POST /admin/products/{id}/images` | multipart: `file`, optional `alt` | 201 `Image` |
//! | `POST /admin/products/{id}/images/presign` | `{contentType, size}` | `{key, url, method, headers, expiresInSeconds}` |
//! | `POST /admin/products/{id}/images/process` | `{key, alt?}` | 201 `Image` |
//! | `POST /admin/products/{id}/images/order` | `{imageIds: [...]}` | `{images}` |
//! | `POST /admin/products/{id}/images/{image}/move` | `{direction: up\|down}` | `{images}` |
//! | `POST /admin/products/{id}/images/{image}/alt` | `{alt}` | `Image` |
//! | `POST /admin/products/{id}/images/{image}/delete` | | `{images}` |
//!
//! `Image` is `{id, url, thumbnailUrl, alt}`; errors are `{error: {code, message}}`.
//! The images tab's script uploads with presign, a PUT to the returned URL (the bucket),
//! then process, when the store takes uploads from the browser (its drop zone says
//! `data-upload="presign"`); with multipart to this app otherwise.
//! Every call needs the `EditCatalog` permission (listing: `ViewCatalog`); non-GET calls
//! carry the CSRF token (`x-csrf-token` header or `_csrf` field) like every admin form.
//!
//! Who gets JSON: a JSON body, a request that accepts `application/json`, or htmx's own
//! (unboosted) request. Anything else is a plain form (a browser without JavaScript, or a
//! form htmx boosted): 303 to the images tab, the outcome in a toast. A plain upload form
//! may carry several `file` fields; each is added in turn and the toast names each refused
//! file with its reason.

use aggregates::staff::Permission;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Texts};
use crate::admin::layout::Admin;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::media::{self, ImageView, Limits, Media, MediaError, Refusal};

/// Room for a multipart body's boundaries and small fields (the alt text, the CSRF token)
/// on top of the file limit.
pub const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The largest upload request body: the file limit and the multipart overhead.
pub fn upload_body_limit(limits: &Limits) -> usize {
    usize::try_from(limits.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MULTIPART_OVERHEAD)
}

/// The image routes, for `admin::router` to merge; `media` is the configured store.
pub fn router(media: Media) -> Router<AppState> {
    let upload_limit = upload_body_limit(&media.limits);
    Router::new()
        // `GET /admin/products/{id}/images` is the product page's images tab, and
        // `GET .../{image}/delete` the confirmation before a deletion (`products.rs`).
        .route(
            "/admin/products/{id}/images",
            post(upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/admin/products/{id}/images/list", get(list))
        .route("/admin/products/{id}/images/presign", post(presign))
        .route(
            "/admin/products/{id}/images/process",
            post(process_incoming),
        )
        .route("/admin/products/{id}/images/order", post(reorder))
        .route("/admin/products/{id}/images/{image}/move", post(move_image))
        .route("/admin/products/{id}/images/{image}/alt", post(alt_text))
        .route("/admin/products/{id}/images/{image}/delete", post(delete))
        .layer(Extension(media))
}

/// Every error code the UI may receive, for the images tab to carry their wording.
pub const ERROR_CODES: &[&str] = &[
    "empty_file",
    "file_too_large",
    "too_many_pixels",
    "unsupported_format",
    "heic_unavailable",
    "corrupt_image",
    "no_file",
    "one_file",
    "forbidden",
    "product_not_found",
    "product_archived",
    "product_refused",
    "image_not_found",
    "image_order_mismatch",
    "alt_text_empty",
    "conflict",
    "upload_missing",
    "presign_unavailable",
    "not_this_upload",
    "storage_error",
    "internal_error",
];

/// `bytes` in megabytes as staff read them: `10`, or `2.5` for a limit that is not whole.
pub fn megabytes(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes % MB == 0 {
        (bytes / MB).to_string()
    } else {
        // Display only: a limit, not an amount of money.
        format!("{:.1}", bytes as f64 / MB as f64)
    }
}

/// What the staff member reads for an error `code`, in their language, with the store's
/// limits filled in; `None` for a code without wording of its own (a malformed request:
/// the server's message names the field).
pub fn explain(t: &Texts, code: &str, limits: &Limits) -> Option<String> {
    let text = match code {
        "empty_file" => t.img_err_empty,
        "file_too_large" => {
            return Some(fill(
                t.img_err_too_large,
                &[("max", &megabytes(limits.max_bytes))],
            ))
        }
        "too_many_pixels" => {
            let megapixels = limits.max_pixels / 1_000_000;
            return Some(fill(
                t.img_err_pixels,
                &[("max", &megapixels.max(1).to_string())],
            ));
        }
        "unsupported_format" => t.img_err_format,
        "heic_unavailable" => t.img_err_heic,
        "corrupt_image" => t.img_err_corrupt,
        "no_file" => t.img_err_no_file,
        "one_file" => t.img_err_one_file,
        "forbidden" => t.forbidden_body,
        "product_not_found" => t.not_found_body,
        "product_archived" => t.img_err_archived,
        "product_refused" => t.refused_generic,
        "image_not_found" => t.img_err_gone,
        "image_order_mismatch" => t.img_err_order,
        "alt_text_empty" => t.img_err_alt_empty,
        "conflict" => t.img_err_conflict,
        "upload_missing" => t.img_err_upload_missing,
        // The page expected the other kind of store, or sent another product's upload:
        // both only happen when the page is stale.
        "presign_unavailable" | "not_this_upload" => t.img_err_reload,
        "storage_error" | "internal_error" => t.img_err_server,
        _ => return None,
    };
    Some(text.to_owned())
}

/// An error as the UI receives it.
#[derive(Debug)]
pub struct ImageError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ImageError {
    fn forbidden() -> ImageError {
        ImageError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "your role may not change the catalog".into(),
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> ImageError {
        ImageError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
        }
    }

    /// Its wording for the staff member: translated when the code has one, else the
    /// server's own message.
    fn explained(&self, t: &Texts, limits: &Limits) -> String {
        explain(t, self.code, limits).unwrap_or_else(|| self.message.clone())
    }
}

impl From<MediaError> for ImageError {
    fn from(error: MediaError) -> Self {
        use aggregates::product::ProductError;
        let status = match &error {
            MediaError::Refused(Refusal::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            MediaError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            MediaError::ProductNotFound
            | MediaError::UploadMissing
            | MediaError::Product(ProductError::ImageNotFound(_)) => StatusCode::NOT_FOUND,
            MediaError::Product(_) => StatusCode::UNPROCESSABLE_ENTITY,
            MediaError::Conflict | MediaError::PresignUnavailable => StatusCode::CONFLICT,
            MediaError::NotThisUpload => StatusCode::FORBIDDEN,
            MediaError::Store(_) | MediaError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if error.is_internal() {
            tracing::error!(%error, "image operation failed");
            "the image could not be saved because of a server problem; try again later".into()
        } else {
            error.to_string()
        };
        ImageError {
            status,
            code: error.code(),
            message,
        }
    }
}

impl IntoResponse for ImageError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

/// Whether the request is a plain form, answered with the images tab and a toast: not a
/// JSON body, not a request that accepts JSON, and not htmx's own unboosted request (a
/// form htmx boosted wants the page it is sent to, like a browser without JavaScript).
fn plain_form(headers: &HeaderMap) -> bool {
    let get = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let json_body = get(header::CONTENT_TYPE).starts_with("application/json");
    let wants_json = get(header::ACCEPT).contains("application/json");
    let htmx = get(header::HeaderName::from_static("hx-request")) == "true";
    let boosted = get(header::HeaderName::from_static("hx-boosted")) == "true";
    !json_body && !wants_json && (!htmx || boosted)
}

/// A JSON or a form body; remembers whether it came from a plain form.
#[derive(Debug)]
struct Input<T> {
    value: T,
    form: bool,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Input<T> {
    type Rejection = ImageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ImageError> {
        let form = plain_form(request.headers());
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
        let value = if json {
            let Json(value) = Json::<T>::from_request(request, state)
                .await
                .map_err(|e| ImageError::bad_request("bad_request", e.body_text()))?;
            value
        } else {
            let Form(value) = Form::<T>::from_request(request, state)
                .await
                .map_err(|e| ImageError::bad_request("bad_request", e.body_text()))?;
            value
        };
        Ok(Input { value, form })
    }
}

/// The images tab, where a plain form goes back to.
pub fn images_tab(product_id: Uuid) -> String {
    format!("/admin/products/{product_id}/images")
}

/// The answer to a change: JSON for a script; for a plain form, the outcome in a toast
/// (`done` when it worked) and a redirect to the images tab. A refused role or a missing
/// product get the admin's own error pages.
async fn finish<T: Serialize>(
    admin: &Admin,
    limits: &Limits,
    form: bool,
    product_id: Uuid,
    outcome: Result<(StatusCode, T), ImageError>,
    done: &str,
) -> Response {
    if !form {
        return match outcome {
            Ok((status, body)) => (status, Json(body)).into_response(),
            Err(error) => error.into_response(),
        };
    }
    match outcome {
        Ok(_) => admin.flash("success", done).await,
        Err(error) if error.code == "forbidden" => return AdminError::Forbidden.into_response(),
        Err(error) if error.code == "product_not_found" => {
            return AdminError::NotFound.into_response()
        }
        Err(error) => admin.flash("error", error.explained(admin.t, limits)).await,
    }
    Redirect::to(&images_tab(product_id)).into_response()
}

#[derive(Debug, Serialize)]
struct Images {
    images: Vec<ImageView>,
}

async fn list(
    admin: Admin,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
) -> Result<Json<Images>, ImageError> {
    if !admin.may(Permission::ViewCatalog) {
        return Err(ImageError::forbidden());
    }
    let images = media::list(&media, &state.bus, id).await?;
    Ok(Json(Images { images }))
}

/// One file of an upload form.
#[derive(Debug)]
struct Upload {
    /// As the browser named it (for the toast), `file` when it did not.
    name: String,
    bytes: Vec<u8>,
}

/// The `file` fields (several from a plain form with `multiple`) and the `alt` field.
async fn read_upload(
    mut multipart: Multipart,
    max: u64,
) -> Result<(Vec<Upload>, Option<String>), ImageError> {
    let broken = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ImageError::from(MediaError::from(Refusal::TooLarge { size: max + 1, max }))
        } else {
            ImageError::bad_request("bad_request", e.body_text())
        }
    };
    let mut files = Vec::new();
    let mut alt = None;
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        match field.name() {
            Some("file") => {
                let name = field
                    .file_name()
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(broken)? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as u64 > max {
                        return Err(MediaError::from(Refusal::TooLarge {
                            size: bytes.len() as u64,
                            max,
                        })
                        .into());
                    }
                }
                // A form submitted with no file chosen still sends an empty, unnamed part.
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                let name = if name.is_empty() { "file".into() } else { name };
                files.push(Upload { name, bytes });
            }
            Some("alt") => alt = Some(field.text().await.map_err(broken)?),
            _ => {}
        }
    }
    Ok((files, alt))
}

async fn upload(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let form = plain_form(&headers);
    let limits = media.limits;
    let t = admin.t;
    if !admin.may(Permission::EditCatalog) {
        let refused: Result<(StatusCode, ()), _> = Err(ImageError::forbidden());
        return finish(&admin, &limits, form, id, refused, "").await;
    }
    let read = match multipart {
        Ok(multipart) => read_upload(multipart, limits.max_bytes).await,
        Err(rejection) => Err(ImageError::bad_request(
            "bad_request",
            format!(
                "send the file as multipart/form-data, in the field `file` ({})",
                rejection.body_text()
            ),
        )),
    };
    let (files, alt) = match read {
        Ok(read) => read,
        Err(error) => {
            let failed: Result<(StatusCode, ()), _> = Err(error);
            return finish(&admin, &limits, form, id, failed, "").await;
        }
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    if !form || files.len() <= 1 {
        let outcome = match <[Upload; 1]>::try_from(files) {
            Ok([file]) => media::upload(&media, &state.bus, id, file.bytes, alt, &metadata)
                .await
                .map(|image| (StatusCode::CREATED, image))
                .map_err(ImageError::from),
            Err(files) if files.is_empty() => Err(ImageError::bad_request(
                "no_file",
                "no file was sent (field `file`)",
            )),
            Err(_) => Err(ImageError::bad_request(
                "one_file",
                "send one file per request (field `file`)",
            )),
        };
        let done = fill(t.images_added, &[("count", "1")]);
        return finish(&admin, &limits, form, id, outcome, &done).await;
    }
    // Several files from a plain form: each in turn; one refused does not stop the others.
    let mut added = 0usize;
    let mut refused = Vec::new();
    for file in files {
        let outcome =
            media::upload(&media, &state.bus, id, file.bytes, alt.clone(), &metadata).await;
        match outcome {
            Ok(_) => added += 1,
            Err(MediaError::ProductNotFound) => return AdminError::NotFound.into_response(),
            Err(error) => {
                let error = ImageError::from(error);
                refused.push(fill(
                    t.images_file_refused,
                    &[
                        ("name", &file.name),
                        ("error", &error.explained(t, &limits)),
                    ],
                ));
            }
        }
    }
    let mut message = fill(t.images_added, &[("count", &added.to_string())]);
    for line in &refused {
        message.push(' ');
        message.push_str(line);
    }
    let kind = if refused.is_empty() {
        "success"
    } else {
        "error"
    };
    admin.flash(kind, message).await;
    Redirect::to(&images_tab(id)).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresignRequest {
    content_type: String,
    size: u64,
}

async fn presign(
    admin: Admin,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
    Json(request): Json<PresignRequest>,
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let upload =
        media::presign(&media, &state.bus, id, &request.content_type, request.size).await?;
    Ok(Json(upload).into_response())
}

#[derive(Debug, Deserialize)]
struct ProcessRequest {
    key: String,
    alt: Option<String>,
}

async fn process_incoming(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
    Json(request): Json<ProcessRequest>,
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let image =
        media::process_incoming(&media, &state.bus, id, &request.key, request.alt, &metadata)
            .await?;
    Ok((StatusCode::CREATED, Json(image)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRequest {
    image_ids: Vec<Uuid>,
}

async fn reorder(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
    Json(request): Json<OrderRequest>,
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let images = media::reorder(&media, &state.bus, id, request.image_ids, &metadata).await?;
    Ok(Json(Images { images }).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Up,
    Down,
}

#[derive(Debug, Deserialize)]
struct MoveRequest {
    direction: Direction,
}

async fn move_image(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path((id, image)): Path<(Uuid, Uuid)>,
    input: Input<MoveRequest>,
) -> Response {
    let outcome = if admin.may(Permission::EditCatalog) {
        let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
        let up = matches!(input.value.direction, Direction::Up);
        media::move_image(&media, &state.bus, id, image, up, &metadata)
            .await
            .map(|images| {
                let position = images.iter().position(|i| i.id == image).unwrap_or(0) + 1;
                let message = fill(
                    admin.t.images_moved,
                    &[
                        ("position", &position.to_string()),
                        ("count", &images.len().to_string()),
                    ],
                );
                (StatusCode::OK, Images { images }, message)
            })
            .map_err(ImageError::from)
    } else {
        Err(ImageError::forbidden())
    };
    let done = outcome
        .as_ref()
        .map(|(_, _, message)| message.clone())
        .unwrap_or_default();
    let outcome = outcome.map(|(status, images, _)| (status, images));
    finish(&admin, &media.limits, input.form, id, outcome, &done).await
}

#[derive(Debug, Deserialize)]
struct AltRequest {
    alt: String,
}

async fn alt_text(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path((id, image)): Path<(Uuid, Uuid)>,
    input: Input<AltRequest>,
) -> Response {
    let outcome = if admin.may(Permission::EditCatalog) {
        let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
        media::change_alt_text(&media, &state.bus, id, image, input.value.alt, &metadata)
            .await
            .map(|view| (StatusCode::OK, view))
            .map_err(ImageError::from)
    } else {
        Err(ImageError::forbidden())
    };
    let done = admin.t.images_alt_saved;
    finish(&admin, &media.limits, input.form, id, outcome, done).await
}

async fn delete(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path((id, image)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Response {
    let form = plain_form(&headers);
    let outcome = if admin.may(Permission::EditCatalog) {
        let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
        match media::remove(&media, &state.bus, id, image, &metadata).await {
            Ok(()) => media::list(&media, &state.bus, id)
                .await
                .map(|images| (StatusCode::OK, Images { images }))
                .map_err(ImageError::from),
            Err(error) => Err(error.into()),
        }
    } else {
        Err(ImageError::forbidden())
    };
    let done = admin.t.images_deleted;
    finish(&admin, &media.limits, form, id, outcome, done).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn browsers_forms_get_pages_and_scripts_get_json() {
        // A browser without JavaScript: urlencoded or multipart, asking for HTML.
        assert!(plain_form(&headers(&[
            ("content-type", "multipart/form-data; boundary=x"),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ])));
        assert!(plain_form(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )])));
        // A form htmx boosted wants the page too.
        assert!(plain_form(&headers(&[
            ("content-type", "application/x-www-form-urlencoded"),
            ("hx-request", "true"),
            ("hx-boosted", "true"),
        ])));
        // The images tab's script.
        assert!(!plain_form(&headers(&[
            ("content-type", "multipart/form-data; boundary=x"),
            ("accept", "application/json"),
        ])));
        assert!(!plain_form(&headers(&[(
            "content-type",
            "application/json"
        )])));
        assert!(!plain_form(&headers(&[
            ("content-type", "application/x-www-form-urlencoded"),
            ("hx-request", "true"),
        ])));
    }

    #[test]
    fn every_error_code_is_worded_in_both_languages() {
        let limits = Limits::default();
        for lang in crate::admin::i18n::Lang::ALL {
            for code in ERROR_CODES {
                let text = explain(lang.texts(), code, &limits)
                    .unwrap_or_else(|| panic!("{code} has no wording in {lang:?}"));
                assert!(!text.contains('{'), "{code}: {text}");
            }
        }
        let fr = crate::admin::i18n::Lang::Fr.texts();
        assert!(explain(fr, "file_too_large", &limits)
            .unwrap()
            .contains("10"));
        assert!(explain(fr, "too_many_pixels", &limits)
            .unwrap()
            .contains("40"));
        assert_eq!(megabytes(5 * 1024 * 1024 / 2), "2.5");
        assert_eq!(explain(fr, "bad_request", &limits), None);
    }
}
