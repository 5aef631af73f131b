//! The projector runtime: named consumers of the global stream, each with a checkpoint
//! written in the same transaction as its read model (so every event takes effect exactly
//! once), catching up at start and then following new events, woken by LISTEN/NOTIFY.
//!
//! A consumer that fails on an event stops there: its position and error are recorded in
//! `projection_checkpoints` (shown by `/health/ready` and `replay status`), it retries with
//! a back-off, and it never skips the event. The other consumers go on.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;

use crate::stream::{self, DecodeError, Envelope, ReadLimit, StreamPosition};

/// Events read per transaction.
pub const BATCH_SIZE: i64 = 2_000;

/// Why a consumer could not apply events.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position}: {message}")]
    Event { position: i64, message: String },
}

/// A named consumer of the global stream.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Its name, which keys its checkpoint.
    fn name(&self) -> &'static str;
    /// The tables it owns, rebuilt together; empty for consumers that are not rebuilt
    /// (process managers and the seal chain, whose point is to never be recomputed).
    fn tables(&self) -> &'static [&'static str];
    /// Applies a batch of events, in stream order, inside the caller's transaction.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError>;
}

/// A consumer's checkpoint and health.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Checkpoint {
    pub name: String,
    pub last_tx: i64,
    pub last_position: i64,
    pub events_applied: i64,
    pub updated_at: DateTime<Utc>,
    pub failed_position: Option<i64>,
    pub failed_error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
}

impl Checkpoint {
    /// Its position in the stream.
    pub fn position(&self) -> StreamPosition {
        StreamPosition {
            tx: self.last_tx,
            position: self.last_position,
        }
    }
}

/// Every checkpoint, by name.
pub async fn checkpoints(pool: &PgPool) -> Result<Vec<Checkpoint>, sqlx::Error> {
    sqlx::query_as("select * from projection_checkpoints order by name")
        .fetch_all(pool)
        .await
}

/// Serialises every writer of one consumer's tables (its runner in each process and a
/// rebuild's swap) without giving the transaction an id: an id would hold back the
/// xmin bound that every reader of the stream waits on.
async fn lock(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('projection:' || $1))")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

async fn read_checkpoint(
    conn: &mut PgConnection,
    name: &str,
) -> Result<StreamPosition, sqlx::Error> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("select last_tx, last_position from projection_checkpoints where name = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?;
    Ok(row
        .map(|(tx, position)| StreamPosition { tx, position })
        .unwrap_or_default())
}

async fn write_checkpoint(
    conn: &mut PgConnection,
    name: &str,
    at: StreamPosition,
    applied: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into projection_checkpoints (name, last_tx, last_position, events_applied, updated_at)
         values ($1, $2, $3, $4, now())
         on conflict (name) do update set
            last_tx = excluded.last_tx, last_position = excluded.last_position,
            events_applied = projection_checkpoints.events_applied + excluded.events_applied,
            updated_at = now(), failed_position = null, failed_error = null, failed_at = null",
    )
    .bind(name)
    .bind(at.tx)
    .bind(at.position)
    .bind(applied)
    .execute(conn)
    .await?;
    Ok(())
}

async fn record_failure(
    pool: &PgPool,
    name: &str,
    position: Option<i64>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into projection_checkpoints (name, failed_position, failed_error, failed_at)
         values ($1, $2, $3, now())
         on conflict (name) do update set
            failed_position = excluded.failed_position, failed_error = excluded.failed_error,
            failed_at = excluded.failed_at",
    )
    .bind(name)
    .bind(position)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Decodes a batch; stops at the first event that cannot be decoded.
pub fn decode_all(raw: Vec<stream::StoredEvent>) -> Result<Vec<Envelope>, DecodeError> {
    raw.into_iter().map(Envelope::decode).collect()
}

/// Applies at most one batch to `projection` and moves its checkpoint, in one
/// transaction. Returns how many events were applied (0 when caught up).
pub async fn step(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    batch_size: i64,
) -> Result<usize, ProjectionError> {
    let mut tx = conn.begin().await?;
    lock(&mut tx, projection.name()).await?;
    let from = read_checkpoint(&mut tx, projection.name()).await?;
    let raw = stream::read_after(&mut tx, from, batch_size, ReadLimit::default()).await?;
    let Some(last) = raw.last().map(stream::StoredEvent::stream_position) else {
        return Ok(0);
    };
    let events = decode_all(raw)?;
    projection.apply(&mut tx, &events).await?;
    write_checkpoint(&mut tx, projection.name(), last, events.len() as i64).await?;
    tx.commit().await?;
    Ok(events.len())
}

/// Applies everything readable now. A failing batch is retried one event at a time so the
/// failure is pinned to its exact position; the events before it are kept.
pub async fn catch_up(
    pool: &PgPool,
    projection: &dyn Projection,
) -> Result<u64, (Option<i64>, ProjectionError)> {
    let mut conn = pool.acquire().await.map_err(|e| (None, e.into()))?;
    let mut total = 0u64;
    loop {
        match step(&mut conn, projection, BATCH_SIZE).await {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(_) => loop {
                match step(&mut conn, projection, 1).await {
                    Ok(0) => return Ok(total),
                    Ok(n) => total += n as u64,
                    Err(error) => {
                        let position = next_position(&mut conn, projection.name()).await;
                        return Err((position, error));
                    }
                }
            },
        }
    }
}

async fn next_position(conn: &mut PgConnection, name: &str) -> Option<i64> {
    let from = read_checkpoint(conn, name).await.ok()?;
    stream::read_after(conn, from, 1, ReadLimit::default())
        .await
        .ok()?
        .first()
        .map(|e| e.position)
}

/// Runs consumers until `shutdown` turns true.
#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    retry_after: Duration,
    changes: Option<Arc<watch::Sender<u64>>>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.projections.iter().map(|p| p.name()).collect();
        f.debug_struct("Projector")
            .field("projections", &names)
            .finish()
    }
}

impl Projector {
    /// A projector over these consumers.
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        Projector {
            pool,
            projections,
            retry_after: Duration::from_secs(10),
            changes: None,
        }
    }

    /// Bumps `changes` whenever a consumer applies events, so caches of read models know
    /// when to forget.
    pub fn with_changes(mut self, changes: watch::Sender<u64>) -> Self {
        self.changes = Some(Arc::new(changes));
        self
    }

    /// How long a failed consumer waits before trying its event again.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// Catches every consumer up once (the CLI and tests use this).
    pub async fn run_once(&self) -> Result<(), ProjectionError> {
        for projection in &self.projections {
            catch_up(&self.pool, projection.as_ref())
                .await
                .map_err(|(_, e)| e)?;
        }
        Ok(())
    }

    /// Spawns one task per consumer plus the listener that wakes them; they stop when
    /// `shutdown` becomes true.
    pub fn spawn(&self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let (wake_tx, wake_rx) = watch::channel(0u64);
        let mut handles = vec![tokio::spawn(listen(
            self.pool.clone(),
            wake_tx,
            shutdown.clone(),
        ))];
        for projection in &self.projections {
            handles.push(tokio::spawn(follow(
                self.pool.clone(),
                projection.clone(),
                wake_rx.clone(),
                shutdown.clone(),
                self.retry_after,
                self.changes.clone(),
            )));
        }
        handles
    }
}

/// Turns NOTIFYs on `comptoir_events` into wake-ups. If the connection drops it
/// reconnects; the consumers also poll, so a missed notification only costs latency.
async fn listen(pool: PgPool, wake: watch::Sender<u64>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen("comptoir_events").await?;
            loop {
                listener.recv().await?;
                wake.send_modify(|n| *n = n.wrapping_add(1));
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            result = listener => {
                if let Err(error) = result {
                    tracing::warn!(%error, "event listener lost its connection; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn follow(
    pool: PgPool,
    projection: Arc<dyn Projection>,
    mut wake: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
    retry_after: Duration,
    changes: Option<Arc<watch::Sender<u64>>>,
) {
    let name = projection.name();
    // After a notification, events may stay unreadable for a moment (an older transaction
    // is still running): poll briefly and often then, rarely when the shop is idle.
    let mut eager_polls = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let pause = match catch_up(&pool, projection.as_ref()).await {
            Ok(applied) => {
                if let (Some(changes), true) = (&changes, applied > 0) {
                    changes.send_modify(|n| *n = n.wrapping_add(1));
                }
                if applied > 0 {
                    eager_polls = 0;
                }
                if eager_polls > 0 {
                    eager_polls -= 1;
                    Duration::from_millis(5)
                } else {
                    Duration::from_millis(500)
                }
            }
            Err((position, error)) => {
                let message = error.to_string();
                tracing::error!(projection = name, ?position, error = %message, "projection stopped on an event");
                if let Err(e) = record_failure(&pool, name, position, &message).await {
                    tracing::warn!(projection = name, error = %e, "could not record the failure");
                }
                retry_after
            }
        };
        // Woken by a notification, or after `pause`: events committed while an older
        // transaction was still running become readable without a new notification.
        tokio::select! {
            _ = wake.changed() => eager_polls = 40,
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Waits (bounded) until every named consumer has passed `target`. Returns whether it did.
pub async fn wait_for(
    pool: &PgPool,
    names: &[&str],
    target: StreamPosition,
    timeout: Duration,
) -> Result<bool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    loop {
        let behind: i64 = sqlx::query_scalar(
            "select count(*) from unnest($1::text[]) as n(name)
             left join projection_checkpoints c on c.name = n.name
             where c.name is null or (c.last_tx, c.last_position) < ($2, $3)",
        )
        .bind(&names)
        .bind(target.tx)
        .bind(target.position)
        .fetch_one(pool)
        .await?;
        if behind == 0 {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
