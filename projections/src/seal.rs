//! The seal chain: each event's seal is SHA-256 over the previous seal and the event's
//! canonical bytes, in stream order. Changing, removing or reordering a stored event
//! breaks every seal from it on, and `replay verify` names the first position that no
//! longer matches. Seals are never rebuilt: recomputing them from tampered events would
//! bless the tampering.

use async_trait::async_trait;
use chrono::SecondsFormat;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::runtime::{Projection, ProjectionError};
use crate::stream::{self, Envelope, ReadLimit, StoredEvent, StreamPosition};

/// The seal before the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// The event's bytes as sealed: every stored field, each length-prefixed so no two
/// different events share an encoding. Payload and metadata are `json` columns, kept as
/// the exact text written, so their bytes are sealed as they are: even a change that
/// means the same JSON is caught.
pub fn canonical_bytes(event: &StoredEvent) -> Vec<u8> {
    let payload = event.payload.as_bytes();
    let metadata = event.metadata.as_bytes();
    let recorded_at = event
        .recorded_at
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    let position = event.position.to_string();
    let sequence = event.sequence.to_string();
    let fields: [&[u8]; 9] = [
        position.as_bytes(),
        event.aggregate_type.as_bytes(),
        event.aggregate_id.as_bytes(),
        sequence.as_bytes(),
        event.event_type.as_bytes(),
        event.event_version.as_bytes(),
        payload,
        metadata,
        recorded_at.as_bytes(),
    ];
    let mut bytes = Vec::with_capacity(fields.iter().map(|f| f.len() + 8).sum());
    for field in fields {
        bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
        bytes.extend_from_slice(field);
    }
    bytes
}

/// The seal of `event` following `previous`.
pub fn seal(previous: &[u8], event: &StoredEvent) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(canonical_bytes(event));
    hasher.finalize().into()
}

/// The seal of the last event sealed, in stream order: the event the sealer's checkpoint
/// names. Not the highest position: positions are allocated at insert, so a transaction
/// that commits later can hold a lower position than one sealed before it.
async fn last_seal(conn: &mut PgConnection) -> Result<Vec<u8>, sqlx::Error> {
    let last: Option<Vec<u8>> = sqlx::query_scalar(
        "select s.seal from projection_checkpoints c join seals s on s.position = c.last_position
         where c.name = 'seal_chain'",
    )
    .fetch_optional(conn)
    .await?;
    Ok(last.unwrap_or_else(|| GENESIS.to_vec()))
}

/// The consumer that seals events as they arrive.
#[derive(Debug, Default)]
pub struct SealChain;

#[async_trait]
impl Projection for SealChain {
    fn name(&self) -> &'static str {
        "seal_chain"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let mut previous = last_seal(conn).await?;
        let mut positions = Vec::with_capacity(events.len());
        let mut seals = Vec::with_capacity(events.len());
        for envelope in events {
            let next = seal(&previous, &envelope.raw).to_vec();
            positions.push(envelope.raw.position);
            seals.push(next.clone());
            previous = next;
        }
        sqlx::query(
            "insert into seals (position, seal) select * from unnest($1::bigint[], $2::bytea[])",
        )
        .bind(&positions)
        .bind(&seals)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The outcome of recomputing the chain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    /// Events whose seal was recomputed and matched.
    pub verified: u64,
    /// The first position whose seal does not match, with why.
    pub broken_at: Option<(i64, String)>,
    /// The last seal checked, hex.
    pub last_seal: String,
}

/// Recomputes the seal of every sealed event, in stream order.
pub async fn verify_chain(
    pool: &PgPool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ChainReport, ProjectionError> {
    let mut conn = pool.acquire().await?;
    let sealed: i64 = sqlx::query_scalar("select count(*) from seals")
        .fetch_one(&mut *conn)
        .await?;
    let mut previous = GENESIS.to_vec();
    let mut at = StreamPosition::START;
    let mut verified = 0u64;
    loop {
        let batch = stream::read_after(&mut conn, at, 5_000, ReadLimit::default()).await?;
        let Some(last) = batch.last().map(StoredEvent::stream_position) else {
            break;
        };
        let positions: Vec<i64> = batch.iter().map(|e| e.position).collect();
        let stored: std::collections::HashMap<i64, Vec<u8>> = sqlx::query_as::<_, (i64, Vec<u8>)>(
            "select position, seal from seals where position = any($1)",
        )
        .bind(&positions)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        for event in &batch {
            let Some(stored_seal) = stored.get(&event.position) else {
                // Not sealed yet: the chain ends here (the sealer is behind).
                return finish(verified, sealed, previous, None);
            };
            let expected = seal(&previous, event);
            if stored_seal.as_slice() != expected {
                let reason = format!(
                    "{}/{} #{} ({}) does not match its seal",
                    event.aggregate_type, event.aggregate_id, event.sequence, event.event_type
                );
                return finish(verified, sealed, previous, Some((event.position, reason)));
            }
            previous = expected.to_vec();
            verified += 1;
        }
        progress(batch.len() as u64);
        at = last;
    }
    finish(verified, sealed, previous, None)
}

fn finish(
    verified: u64,
    sealed: i64,
    previous: Vec<u8>,
    broken_at: Option<(i64, String)>,
) -> Result<ChainReport, ProjectionError> {
    let broken_at = broken_at.or_else(|| {
        // Every event matched but there are more seals than events: sealed events are gone.
        (sealed as u64 > verified).then(|| {
            (
                -1,
                format!(
                    "{} sealed event(s) no longer exist in the store",
                    sealed as u64 - verified
                ),
            )
        })
    });
    Ok(ChainReport {
        verified,
        broken_at,
        last_seal: hex::encode(previous),
    })
}
