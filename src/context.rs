//! Who asked: the request facts every event's metadata carries, taken from the request by
//! an extractor so no handler assembles them by hand.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};

use aggregates::metadata::{Actor, EventMetadata};

use crate::http::AppState;

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

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(512).collect::<String>())
        };
        // Behind a proxy, the client is in the header the proxy sets (the same one the
        // rate limits read), not the socket's peer.
        let from_proxy = state
            .limits
            .trusted_proxy_header
            .as_deref()
            .and_then(|name| parts.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let client_ip = from_proxy
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip())
            })
            .map(|ip| ip.to_string());
        Ok(RequestContext {
            request_id: header("x-request-id"),
            client_ip,
            user_agent: header("user-agent"),
        })
    }
}
