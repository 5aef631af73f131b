//! Who did what, from where: the metadata stored beside every event.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A staff member, by account id.
    Staff(Uuid),
    /// The storefront or another client, by API key id.
    ApiKey(Uuid),
    /// A customer, by email address.
    Customer(String),
    /// A payment provider's webhook, by provider name (`stripe`).
    PaymentProvider(String),
    /// The application itself (startup, migrations, scheduled jobs without a name).
    System,
    /// A named process manager (`stock-keeper`).
    Process(String),
}

impl Actor {
    /// The kind as stored in metadata: `staff`, `api_key`, `customer`, `payment_provider`,
    /// `system` or `process`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Staff(_) => "staff",
            Actor::ApiKey(_) => "api_key",
            Actor::Customer(_) => "customer",
            Actor::PaymentProvider(_) => "payment_provider",
            Actor::System => "system",
            Actor::Process(_) => "process",
        }
    }

    /// The identifier within the kind; empty for [`Actor::System`].
    pub fn id(&self) -> String {
        match self {
            Actor::Staff(id) | Actor::ApiKey(id) => id.to_string(),
            Actor::Customer(s) | Actor::PaymentProvider(s) | Actor::Process(s) => s.clone(),
            Actor::System => String::new(),
        }
    }

    /// Rebuilds an actor from its `kind()` and `id()`; `None` when they do not make one.
    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        match kind {
            "staff" => Uuid::parse_str(id).ok().map(Actor::Staff),
            "api_key" => Uuid::parse_str(id).ok().map(Actor::ApiKey),
            "customer" if !id.is_empty() => Some(Actor::Customer(id.to_owned())),
            "payment_provider" if !id.is_empty() => Some(Actor::PaymentProvider(id.to_owned())),
            "process" if !id.is_empty() => Some(Actor::Process(id.to_owned())),
            "system" => Some(Actor::System),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            other => write!(f, "{}:{}", other.kind(), other.id()),
        }
    }
}

/// The metadata stored with every event (cqrs-es keeps it as a string map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Who caused the event.
    pub actor: Actor,
    /// The HTTP request id, when the event comes from a request.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Groups every event of one business flow (an order from placement to pickup).
    pub correlation_id: Option<String>,
    /// The event or command that directly caused this one.
    pub causation_id: Option<String>,
}

const ACTOR_KIND: &str = "actor_kind";
const ACTOR_ID: &str = "actor_id";
const REQUEST_ID: &str = "request_id";
const CLIENT_IP: &str = "client_ip";
const USER_AGENT: &str = "user_agent";
const CORRELATION_ID: &str = "correlation_id";
const CAUSATION_ID: &str = "causation_id";

impl EventMetadata {
    /// Metadata for `actor` with nothing else known.
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            request_id: None,
            client_ip: None,
            user_agent: None,
            correlation_id: None,
            causation_id: None,
        }
    }

    /// Metadata for the application itself.
    pub fn system() -> Self {
        Self::new(Actor::System)
    }

    /// Metadata for the process manager called `name`.
    pub fn process(name: &str) -> Self {
        Self::new(Actor::Process(name.to_owned()))
    }

    /// The string map cqrs-es stores; absent values are left out.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        map.insert(ACTOR_KIND.to_owned(), self.actor.kind().to_owned());
        map.insert(ACTOR_ID.to_owned(), self.actor.id());
        for (key, value) in [
            (REQUEST_ID, &self.request_id),
            (CLIENT_IP, &self.client_ip),
            (USER_AGENT, &self.user_agent),
            (CORRELATION_ID, &self.correlation_id),
            (CAUSATION_ID, &self.causation_id),
        ] {
            if let Some(value) = value {
                map.insert(key.to_owned(), value.clone());
            }
        }
        map
    }

    /// Reads metadata back from a stored map. Lenient on purpose: history is never refused
    /// for its metadata, so an unknown or malformed actor reads as [`Actor::System`].
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        let kind = map.get(ACTOR_KIND).map(String::as_str).unwrap_or_default();
        let id = map.get(ACTOR_ID).map(String::as_str).unwrap_or_default();
        Self {
            actor: Actor::from_parts(kind, id).unwrap_or(Actor::System),
            request_id: map.get(REQUEST_ID).cloned(),
            client_ip: map.get(CLIENT_IP).cloned(),
            user_agent: map.get(USER_AGENT).cloned(),
            correlation_id: map.get(CORRELATION_ID).cloned(),
            causation_id: map.get(CAUSATION_ID).cloned(),
        }
    }

    /// The same metadata, marked as caused by `causation_id`.
    pub fn caused_by(self, causation_id: String) -> Self {
        Self {
            causation_id: Some(causation_id),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn actors_display_as_kind_and_id() {
        assert_eq!(
            Actor::Process("stock-keeper".into()).to_string(),
            "process:stock-keeper"
        );
        assert_eq!(Actor::System.to_string(), "system");
        let id = Uuid::nil();
        assert_eq!(Actor::Staff(id).to_string(), format!("staff:{id}"));
        assert_eq!(Actor::System.id(), "");
    }

    #[test]
    fn metadata_survives_a_round_trip_through_the_map() {
        let actors = [
            Actor::Staff(Uuid::new_v4()),
            Actor::ApiKey(Uuid::new_v4()),
            Actor::Customer("a@b.fr".into()),
            Actor::PaymentProvider("stripe".into()),
            Actor::System,
            Actor::Process("stock-keeper".into()),
        ];
        for actor in actors {
            let metadata = EventMetadata {
                actor,
                request_id: Some("req-1".into()),
                client_ip: Some("127.0.0.1".into()),
                user_agent: None,
                correlation_id: Some("c".into()),
                causation_id: None,
            };
            let map = metadata.to_map();
            assert!(!map.contains_key("user_agent"));
            assert_eq!(EventMetadata::from_map(&map), metadata);
        }
    }

    #[test]
    fn unknown_actors_read_as_system() {
        let mut map = HashMap::new();
        map.insert("actor_kind".to_owned(), "staff".to_owned());
        map.insert("actor_id".to_owned(), "not-a-uuid".to_owned());
        assert_eq!(EventMetadata::from_map(&map).actor, Actor::System);
        assert_eq!(
            EventMetadata::from_map(&HashMap::new()),
            EventMetadata::system()
        );
    }

    #[test]
    fn caused_by_keeps_everything_else() {
        let metadata = EventMetadata::process("invoicer").caused_by("evt-1".into());
        assert_eq!(metadata.causation_id.as_deref(), Some("evt-1"));
        assert_eq!(metadata.actor, Actor::Process("invoicer".into()));
    }
}
