//! Who asked: the request facts every event's metadata carries, taken from the request by
//! an extractor so no handler assembles them by hand.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

use aggregates::metadata::{Actor, EventMetadata};

/// The request's id (set by the request-id layer), client address and user agent.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// Metadata for events written on behalf of `actor` during this request.
    pub fn metadata(&self, actor: Actor) -> EventMetadata {
        let mut metadata = EventMetadata::new(actor);
        metadata.request_id = self.request_id.clone();
        metadata.client_ip = self.client_ip.clone();
        metadata.user_agent = self.user_agent.clone();
        // A request starts a chain of causes: later events it triggers point back to it.
        metadata.correlation_id = self.request_id.clone();
        metadata
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(512).collect::<String>())
        };
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(RequestContext {
            request_id: header("x-request-id"),
            client_ip,
            user_agent: header("user-agent"),
        })
    }
}
