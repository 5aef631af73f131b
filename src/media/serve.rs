//! `GET /media/<key>`: the local store's files, served by the app.
//!
//! Names are content hashes, so an answer never changes: browsers and proxies may keep it
//! for a year without asking again. With an S3 store the images are served by the bucket's
//! public address (the CDN) and this route answers 404.

use axum::extract::{Extension, Path};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::store::check_key;
use super::Media;
use crate::http::AppState;

/// The `/media/{*key}` route, for `http::router` to merge.
pub fn router(media: Media) -> Router<AppState> {
    Router::new()
        .route("/media/{*key}", get(serve))
        .layer(Extension(media))
}

async fn serve(Extension(media): Extension<Media>, Path(key): Path<String>) -> Response {
    let Some(root) = media.store().local_root() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if check_key(&key).is_err() || key.starts_with("incoming/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(root.join(&key)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            StatusCode::NOT_FOUND.into_response()
        }
        Err(error) => {
            tracing::error!(%error, key, "media file unreadable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
