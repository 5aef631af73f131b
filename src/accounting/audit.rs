//! The audit trail export: every event of a period, who caused it, its payload and
//! metadata exactly as stored, and its seal, as CSV ([`AuditCsv`]) or JSON Lines
//! ([`AuditJsonl`]), read from the event store as a stream ([`audit_rows`]).
//!
//! The export is meant to be checked by someone who does not trust Comptoir: each row
//! carries every field the seal covers, byte for byte, and the seal of the event before
//! it, so a short script can recompute each seal ([`AUDIT_VERIFY_INSTRUCTIONS`]). That is
//! why payload and metadata are exported as the JSON text the store holds rather than
//! parsed and written again: re-serialising can reorder keys or respell numbers, and the
//! seal is over the exact bytes (see `projections::seal`).

use std::collections::HashMap;
use std::fmt;
use std::task::{Context, Poll};

use ::csv::{Terminator, WriterBuilder};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use aggregates::metadata::{Actor, EventMetadata};

use super::{csv_record, Encoder, ExportError};

/// One event of the audit trail, as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The event's global position.
    pub position: i64,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who caused it: `staff:<uuid>`, `api_key:<uuid>`, `customer:<email>`,
    /// `payment_provider:stripe`, `process:<name>` or `system`, read from the metadata.
    pub actor: String,
    /// The aggregate's type (`order`).
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// The event's sequence number within its aggregate.
    pub sequence: i64,
    /// The event's type (`OrderPlaced`).
    pub event_type: String,
    /// The event type's version.
    pub event_version: String,
    /// The payload: JSON text exactly as stored (and sealed).
    pub payload: String,
    /// The metadata: JSON text exactly as stored (and sealed).
    pub metadata: String,
    /// The seal of the event before this one in the chain, lowercase hex: 64 zeros for the
    /// first event ever, empty if that event is not sealed yet.
    pub previous_seal: String,
    /// This event's seal, lowercase hex; empty if the sealer has not reached it yet.
    pub seal_hash: String,
}

impl AuditRow {
    /// `recorded_at` as sealed and exported: RFC 3339 in UTC with microseconds,
    /// `2026-03-01T09:30:00.123456Z`.
    pub fn recorded_at_text(&self) -> String {
        self.recorded_at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// The payload parsed, for readers that want a JSON value rather than its text.
    pub fn payload_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }

    /// The metadata parsed.
    pub fn metadata_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.metadata)
    }
}

/// How to check an exported audit trail. Served beside the export and printed in the
/// README; matches `projections::seal` (and `replay verify`, which checks the live store).
pub const AUDIT_VERIFY_INSTRUCTIONS: &str = "\
Verifying an exported audit trail (CSV or JSON Lines)

Every event is sealed when it is recorded: its seal is the SHA-256 of the seal of the
event before it (32 bytes) followed by the event's canonical bytes. The first event of
the store follows a seal of 32 zero bytes. Changing, removing or reordering any event
changes every seal after it.

Each row of the export holds the sealed fields exactly as stored, plus previous_seal
(the seal of the event before it) and seal_hash (its own), both as 64 lowercase hex
digits. To check a row:

1. Take these nine fields of the row, in this order, as UTF-8 bytes:
     position        decimal digits, as in the file
     aggregate_type
     aggregate_id
     sequence        decimal digits, as in the file
     event_type
     event_version
     payload         the JSON text exactly as in the file: do not parse and rewrite
                     it, the seal covers these exact bytes
     metadata        likewise
     recorded_at     as in the file: RFC 3339, UTC, six decimals, ending in Z
                     (2026-03-01T09:30:00.123456Z)
   In the CSV, a field is the value after CSV unquoting; in JSON Lines, the decoded
   string (payload and metadata are JSON strings holding the stored text).
2. Canonical bytes: for each field in that order, its length in bytes as an 8-byte
   big-endian unsigned integer, then its bytes.
3. The row is intact when seal_hash = SHA-256(bytes of previous_seal, hex-decoded,
   followed by the canonical bytes).

Rows come in the chain's order (the order events were committed: by transaction, then
position). From the second row on, each row's previous_seal must equal the seal_hash
of the row before it; where it does not, an event between them is missing from the
file (or was recorded just outside the period by a transaction that committed inside
it: compare with the neighbouring period's export). The first row's previous_seal ties
the file to the history before it: it must equal the last seal_hash of the previous
period's export.

An empty seal_hash means the event was not sealed yet when the file was made (the
sealer follows the writers by a moment): export again. On the live store,
`replay verify` recomputes the whole chain and names the first event that does not
match.
";

/// The column names, shared by both formats.
const COLUMNS: [&str; 12] = [
    "position",
    "recorded_at",
    "actor",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "payload",
    "metadata",
    "previous_seal",
    "seal_hash",
];

/// The audit trail as CSV: RFC 4180 (comma, CRLF, quotes where needed), UTF-8 without a
/// byte order mark, one header line, payload and metadata as their stored (compact) JSON.
///
/// Every field is written verbatim, since a verifier needs the sealed ones byte for byte;
/// none can start like a spreadsheet formula anyway: numbers, Comptoir's own type names,
/// ids (uuids, `FA-2026`, `shop`), an actor written `kind:id`, JSON objects and hex.
#[derive(Debug)]
pub struct AuditCsv {
    builder: WriterBuilder,
}

impl Default for AuditCsv {
    fn default() -> Self {
        AuditCsv::new()
    }
}

impl AuditCsv {
    /// A CSV encoder.
    pub fn new() -> Self {
        let mut builder = WriterBuilder::new();
        builder.terminator(Terminator::CRLF).buffer_capacity(1024);
        AuditCsv { builder }
    }
}

impl Encoder for AuditCsv {
    type Row = AuditRow;

    fn header(&self) -> Vec<u8> {
        csv_record(&self.builder, COLUMNS).unwrap_or_default()
    }

    fn row(&mut self, row: &AuditRow) -> Result<Vec<u8>, ExportError> {
        let position = row.position.to_string();
        let sequence = row.sequence.to_string();
        let recorded_at = row.recorded_at_text();
        csv_record(
            &self.builder,
            [
                position.as_str(),
                &recorded_at,
                &row.actor,
                &row.aggregate_type,
                &row.aggregate_id,
                &sequence,
                &row.event_type,
                &row.event_version,
                &row.payload,
                &row.metadata,
                &row.previous_seal,
                &row.seal_hash,
            ],
        )
    }

    fn finish(self) -> Vec<u8> {
        Vec::new()
    }
}

/// The audit trail as JSON Lines: one object per event and per line (`\n`), keys in the
/// CSV's column order, positions as numbers, payload and metadata as JSON strings holding
/// the stored text (`jq '.payload | fromjson'` reads one as an object).
#[derive(Debug, Default)]
pub struct AuditJsonl;

impl AuditJsonl {
    /// A JSON Lines encoder.
    pub fn new() -> Self {
        AuditJsonl
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    position: i64,
    recorded_at: &'a str,
    actor: &'a str,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    event_version: &'a str,
    payload: &'a str,
    metadata: &'a str,
    previous_seal: &'a str,
    seal_hash: &'a str,
}

impl Encoder for AuditJsonl {
    type Row = AuditRow;

    fn header(&self) -> Vec<u8> {
        Vec::new()
    }

    fn row(&mut self, row: &AuditRow) -> Result<Vec<u8>, ExportError> {
        let recorded_at = row.recorded_at_text();
        let mut line = serde_json::to_vec(&JsonRow {
            position: row.position,
            recorded_at: &recorded_at,
            actor: &row.actor,
            aggregate_type: &row.aggregate_type,
            aggregate_id: &row.aggregate_id,
            sequence: row.sequence,
            event_type: &row.event_type,
            event_version: &row.event_version,
            payload: &row.payload,
            metadata: &row.metadata,
            previous_seal: &row.previous_seal,
            seal_hash: &row.seal_hash,
        })?;
        line.push(b'\n');
        Ok(line)
    }

    fn finish(self) -> Vec<u8> {
        Vec::new()
    }
}

/// Events recorded in `[from, to)`, in chain order, each with its seal and the seal of the
/// event before it in the chain (looked up even when that event is outside the period).
const AUDIT_ROWS: &str = "\
select e.position, e.recorded_at, e.aggregate_type, e.aggregate_id, e.sequence,
       e.event_type, e.event_version, e.payload::text as payload,
       e.metadata::text as metadata, s.seal, previous.position as previous_position,
       previous.seal as previous_seal
  from events e
  left join seals s on s.position = e.position
  left join lateral (
        select p.position, ps.seal
          from events p
          left join seals ps on ps.position = p.position
         where (p.transaction_id, p.position) < (e.transaction_id, e.position)
         order by p.transaction_id desc, p.position desc
         limit 1
       ) previous on true
 where e.recorded_at >= $1 and e.recorded_at < $2
 order by e.transaction_id, e.position";

type PollRow<'a> =
    dyn FnMut(&mut Context<'_>) -> Poll<Option<Result<AuditRow, sqlx::Error>>> + Send + 'a;

/// The events of a period, read from the database as they are consumed: one row in
/// memory at a time, whatever the period's size. Made by [`audit_rows`].
pub struct AuditRows<'a> {
    poll: Box<PollRow<'a>>,
}

impl fmt::Debug for AuditRows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditRows").finish_non_exhaustive()
    }
}

impl AuditRows<'_> {
    /// The next row, `None` after the last.
    pub async fn next(&mut self) -> Option<Result<AuditRow, sqlx::Error>> {
        std::future::poll_fn(|cx| (self.poll)(cx)).await
    }

    /// Polls for the next row: the `Stream::poll_next` of this cursor, for adapting it to
    /// a stream (an HTTP body).
    pub fn poll_next_row(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<AuditRow, sqlx::Error>>> {
        (self.poll)(cx)
    }
}

/// Streams the audit trail of `[from, to)` (by `recorded_at`) from the event store with
/// its seals, in chain order: sqlx's `fetch`, so rows arrive while the query runs and none
/// is kept after it is consumed.
pub fn audit_rows(pool: &PgPool, from: DateTime<Utc>, to: DateTime<Utc>) -> AuditRows<'_> {
    let mut rows = sqlx::query(AUDIT_ROWS).bind(from).bind(to).fetch(pool);
    // `rows` is sqlx's boxed stream. Comptoir does not depend on a futures crate, so the
    // `Stream` trait cannot be named here; its method is still callable on the trait
    // object, which is all a cursor needs.
    AuditRows {
        poll: Box::new(move |cx| match rows.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(row))) => Poll::Ready(Some(audit_row(&row))),
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }),
    }
}

fn audit_row(row: &PgRow) -> Result<AuditRow, sqlx::Error> {
    let metadata: String = row.try_get("metadata")?;
    // Read as the audit trail view reads it: an unreadable actor is the system.
    let actor = serde_json::from_str::<HashMap<String, String>>(&metadata)
        .map(|map| EventMetadata::from_map(&map).actor)
        .unwrap_or(Actor::System)
        .to_string();
    let seal: Option<Vec<u8>> = row.try_get("seal")?;
    let previous_position: Option<i64> = row.try_get("previous_position")?;
    let previous_seal: Option<Vec<u8>> = row.try_get("previous_seal")?;
    let previous_seal = match (previous_position, previous_seal) {
        (None, _) => hex::encode(projections::seal::GENESIS),
        (Some(_), Some(seal)) => hex::encode(seal),
        (Some(_), None) => String::new(),
    };
    Ok(AuditRow {
        position: row.try_get("position")?,
        recorded_at: row.try_get("recorded_at")?,
        actor,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata,
        previous_seal,
        seal_hash: seal.map(hex::encode).unwrap_or_default(),
    })
}
