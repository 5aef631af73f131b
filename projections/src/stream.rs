//! Reading the global event stream in commit-safe order.
//!
//! `position` comes from an identity column, allocated when a row is inserted, not when its
//! transaction commits: a slow writer can commit position 10 after position 11 is already
//! visible. Reading "everything after 11" would then skip 10 forever. We follow Emmett's
//! answer: only read rows whose writing transaction is older than the oldest transaction
//! still running (`pg_snapshot_xmin(pg_current_snapshot())`), all of which have ended, and
//! order by (transaction id, position). A transaction that is still running has an id at
//! or above that bound, so its events are read on a later pass, after every event that
//! precedes them in this order.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use aggregates::category::CategoryEvent;
use aggregates::closure::ClosureEvent;
use aggregates::invoice_series::InvoiceSeriesEvent;
use aggregates::metadata::EventMetadata;
use aggregates::order::OrderEvent;
use aggregates::product::ProductEvent;
use aggregates::review::ReviewEvent;
use aggregates::shop_settings::ShopSettingsEvent;
use aggregates::staff::StaffAccountEvent;
use aggregates::stock::StockEvent;

/// A place in the global stream: (transaction id, position), compared in that order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct StreamPosition {
    pub tx: i64,
    pub position: i64,
}

impl StreamPosition {
    /// Before the first event.
    pub const START: StreamPosition = StreamPosition { tx: 0, position: 0 };
}

/// An event row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub position: i64,
    pub tx: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload as stored (json text, byte for byte what was written).
    pub payload: String,
    /// The metadata as stored (json text).
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    /// Where this event stands in the stream.
    pub fn stream_position(&self) -> StreamPosition {
        StreamPosition {
            tx: self.tx,
            position: self.position,
        }
    }
}

/// Bounds on a read: up to a position (verify), up to a time (`replay at`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadLimit {
    pub until: Option<StreamPosition>,
    pub recorded_until: Option<DateTime<Utc>>,
}

/// Reads at most `limit` events after `after`, in commit-safe order.
pub async fn read_after(
    conn: &mut PgConnection,
    after: StreamPosition,
    limit: i64,
    bound: ReadLimit,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as::<_, StoredEvent>(
        "select position, transaction_id::text::bigint as tx, aggregate_type, aggregate_id,
                sequence, event_type, event_version, payload::text as payload,
                metadata::text as metadata, recorded_at
         from events
         where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
           and (transaction_id, position) > ($1::text::xid8, $2)
           and ($4::bigint is null or (transaction_id, position) <= ($4::text::xid8, $5))
           and ($6::timestamptz is null or recorded_at <= $6)
         order by transaction_id, position
         limit $3",
    )
    .bind(after.tx)
    .bind(after.position)
    .bind(limit)
    .bind(bound.until.map(|p| p.tx))
    .bind(bound.until.map(|p| p.position))
    .bind(bound.recorded_until)
    .fetch_all(conn)
    .await
}

/// The last readable position of the stream now (the start when it is empty).
pub async fn head(conn: &mut PgConnection) -> Result<StreamPosition, sqlx::Error> {
    let last: Option<(i64, i64)> = sqlx::query_as(
        "select transaction_id::text::bigint, position from events
         where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         order by transaction_id desc, position desc limit 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(last
        .map(|(tx, position)| StreamPosition { tx, position })
        .unwrap_or_default())
}

/// Events after `after` that are readable now (the lag of a consumer at `after`).
pub async fn count_after(
    conn: &mut PgConnection,
    after: StreamPosition,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from events
         where (transaction_id, position) > ($1::text::xid8, $2)",
    )
    .bind(after.tx)
    .bind(after.position)
    .fetch_one(conn)
    .await
}

/// The position of the last event of one aggregate: what a command just wrote, for
/// read-your-writes waits.
pub async fn last_of_aggregate(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<StreamPosition>, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "select transaction_id::text::bigint, position from events
         where aggregate_type = $1 and aggregate_id = $2
         order by sequence desc limit 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(tx, position)| StreamPosition { tx, position }))
}

/// An event decoded into its aggregate's event type.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Category(CategoryEvent),
    Product(ProductEvent),
    Stock(StockEvent),
    Order(OrderEvent),
    Review(ReviewEvent),
    InvoiceSeries(InvoiceSeriesEvent),
    Staff(StaffAccountEvent),
    Settings(ShopSettingsEvent),
    Closure(ClosureEvent),
    /// An aggregate type this build does not know (a newer writer, a retired aggregate).
    Other,
}

/// A stored event with its payload and metadata decoded once for every consumer.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub raw: StoredEvent,
    pub event: DomainEvent,
    pub metadata: EventMetadata,
}

/// Why an event could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("event at position {position} ({aggregate_type}/{event_type} v{version}) cannot be decoded: {source}")]
pub struct DecodeError {
    pub position: i64,
    pub aggregate_type: String,
    pub event_type: String,
    pub version: String,
    pub source: serde_json::Error,
}

impl Envelope {
    /// Decodes the payload by aggregate type.
    pub fn decode(raw: StoredEvent) -> Result<Envelope, DecodeError> {
        fn parse<T: serde::de::DeserializeOwned>(
            raw: &StoredEvent,
        ) -> Result<T, serde_json::Error> {
            serde_json::from_str(&raw.payload)
        }
        let event = match raw.aggregate_type.as_str() {
            "Category" => parse(&raw).map(DomainEvent::Category),
            "Product" => parse(&raw).map(DomainEvent::Product),
            "Stock" => parse(&raw).map(DomainEvent::Stock),
            "Order" => parse(&raw).map(DomainEvent::Order),
            "Review" => parse(&raw).map(DomainEvent::Review),
            "InvoiceSeries" => parse(&raw).map(DomainEvent::InvoiceSeries),
            "StaffAccount" => parse(&raw).map(DomainEvent::Staff),
            "ShopSettings" => parse(&raw).map(DomainEvent::Settings),
            "Closures" => parse(&raw).map(DomainEvent::Closure),
            _ => Ok(DomainEvent::Other),
        }
        .map_err(|source| DecodeError {
            position: raw.position,
            aggregate_type: raw.aggregate_type.clone(),
            event_type: raw.event_type.clone(),
            version: raw.event_version.clone(),
            source,
        })?;
        let map: std::collections::HashMap<String, String> =
            serde_json::from_str(&raw.metadata).unwrap_or_default();
        Ok(Envelope {
            metadata: EventMetadata::from_map(&map),
            event,
            raw,
        })
    }

    /// The aggregate id as a uuid (every Comptoir aggregate but InvoiceSeries uses one).
    pub fn aggregate_uuid(&self) -> Option<uuid::Uuid> {
        self.raw.aggregate_id.parse().ok()
    }
}
