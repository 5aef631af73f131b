//! `StorefrontKey`: the API key extractor. Every public API route takes it; a missing or
//! wrong key is 401 and says nothing more.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::http::AppState;

/// The storefront key that authenticated the request; its id is the actor of the events
/// the request causes.
#[derive(Debug, Clone, Copy)]
pub struct StorefrontKey {
    pub key_id: Uuid,
}

impl FromRequestParts<AppState> for StorefrontKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let presented = presented.trim();
        if let Some(key_id) = state.key_cache.get(presented) {
            return Ok(StorefrontKey { key_id });
        }
        match crate::api::keys::verify(&state.pool, presented).await? {
            Some(key_id) => {
                state.key_cache.put(presented, key_id);
                Ok(StorefrontKey { key_id })
            }
            None => Err(ApiError::Unauthorized),
        }
    }
}
