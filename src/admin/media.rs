//! Product images, for the admin's upload UI: JSON answers (every error a stable `code`
//! and a `message` in plain words), bodies as JSON or as plain form posts (a form post
//! without htmx is answered with a redirect to the product, so the move, alt text and
//! delete buttons work without JavaScript).
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
//! Every call needs the `EditCatalog` permission (listing: `ViewCatalog`); non-GET calls
//! carry the CSRF token (`x-csrf-token` header or `_csrf` field) like every admin form.

use aggregates::staff::Permission;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::admin::layout::Admin;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::media::{self, ImageView, Media, MediaError, Refusal};

/// The image routes, for `admin::router` to merge; `media` is the configured store.
pub fn router(media: Media) -> Router<AppState> {
    // Multipart overhead (boundaries, the alt field) on top of the file limit.
    let upload_limit = usize::try_from(media.limits.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        // `GET /admin/products/{id}/images` is the product page's images tab.
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

/// A JSON or a form body; remembers which, so a plain form is answered with a redirect.
#[derive(Debug)]
struct Input<T> {
    value: T,
    form: bool,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Input<T> {
    type Rejection = ImageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ImageError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let htmx = request.headers().contains_key("hx-request");
        if content_type.starts_with("application/json") {
            let Json(value) = Json::<T>::from_request(request, state)
                .await
                .map_err(|e| ImageError::bad_request("bad_request", e.body_text()))?;
            Ok(Input { value, form: false })
        } else {
            let Form(value) = Form::<T>::from_request(request, state)
                .await
                .map_err(|e| ImageError::bad_request("bad_request", e.body_text()))?;
            Ok(Input { value, form: !htmx })
        }
    }
}

fn answer<T: Serialize>(form: bool, product_id: Uuid, status: StatusCode, body: T) -> Response {
    if form {
        Redirect::to(&format!("/admin/products/{product_id}")).into_response()
    } else {
        (status, Json(body)).into_response()
    }
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

async fn upload(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path(id): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let max = media.limits.max_bytes;
    let mut file: Option<Vec<u8>> = None;
    let mut alt = None;
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ImageError::from(MediaError::from(Refusal::TooLarge { size: max + 1, max }))
        } else {
            ImageError::bad_request("bad_request", e.body_text())
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        match field.name() {
            Some("file") => {
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
                file = Some(bytes);
            }
            Some("alt") => alt = Some(field.text().await.map_err(broken)?),
            _ => {}
        }
    }
    let Some(bytes) = file else {
        return Err(ImageError::bad_request(
            "no_file",
            "no file was sent (field `file`)",
        ));
    };
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let image = media::upload(&media, &state.bus, id, bytes, alt, &metadata).await?;
    Ok((StatusCode::CREATED, Json(image)).into_response())
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
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let up = matches!(input.value.direction, Direction::Up);
    let images = media::move_image(&media, &state.bus, id, image, up, &metadata).await?;
    Ok(answer(input.form, id, StatusCode::OK, Images { images }))
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
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    let view =
        media::change_alt_text(&media, &state.bus, id, image, input.value.alt, &metadata).await?;
    Ok(answer(input.form, id, StatusCode::OK, view))
}

async fn delete(
    admin: Admin,
    context: RequestContext,
    State(state): State<AppState>,
    Extension(media): Extension<Media>,
    Path((id, image)): Path<(Uuid, Uuid)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ImageError> {
    if !admin.may(Permission::EditCatalog) {
        return Err(ImageError::forbidden());
    }
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    media::remove(&media, &state.bus, id, image, &metadata).await?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
        && !headers.contains_key("hx-request");
    let images = media::list(&media, &state.bus, id).await?;
    Ok(answer(form, id, StatusCode::OK, Images { images }))
}
