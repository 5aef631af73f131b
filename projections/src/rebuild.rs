//! Rebuilding read models without readers ever seeing a half-built one.
//!
//! A projection's SQL names its tables without a schema. A rebuild creates a fresh schema
//! with empty copies of the tables (`like ... including all`), points `search_path` at it,
//! and feeds the projection every event from position 0. When it has caught up, one
//! transaction takes the projection's lock (so its live runner pauses), applies the last
//! few events, drops the live tables, moves the fresh ones into `public` and sets the
//! checkpoint. The same machinery builds a view as it was at a given time (`replay at`)
//! and the fresh copy that `replay verify` compares with the live one.

use std::sync::Arc;

use sqlx::{Connection, PgConnection, PgPool};

use crate::runtime::{decode_all, Projection, ProjectionError, BATCH_SIZE};
use crate::stream::{self, ReadLimit, StreamPosition};

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub events: u64,
    pub position: StreamPosition,
}

/// A schema name is interpolated into SQL: accept only plain identifiers.
pub fn check_schema_name(schema: &str) -> Result<(), ProjectionError> {
    let ok = !schema.is_empty()
        && schema.len() <= 60
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok && schema != "public" {
        Ok(())
    } else {
        Err(ProjectionError::Event {
            position: 0,
            message: format!("`{schema}` is not a usable schema name (a-z, 0-9, _)"),
        })
    }
}

/// Creates `schema` afresh with empty copies of the projections' tables.
pub async fn prepare_schema(
    conn: &mut PgConnection,
    projections: &[Arc<dyn Projection>],
    schema: &str,
) -> Result<(), ProjectionError> {
    check_schema_name(schema)?;
    sqlx::query(&format!("drop schema if exists {schema} cascade"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("create schema {schema}"))
        .execute(&mut *conn)
        .await?;
    for table in projections.iter().flat_map(|p| p.tables()) {
        sqlx::query(&format!(
            "create table {schema}.{table} (like public.{table} including all)"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Drops the indexes of `schema`'s tables that back no constraint (upserts need only
/// the primary and unique keys) and returns their definitions, to be run again once the
/// tables are full.
async fn defer_secondary_indexes(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<Vec<String>, ProjectionError> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.indexname, i.indexdef from pg_indexes i
         where i.schemaname = $1
           and not exists (select 1 from pg_constraint c
                           join pg_class r on r.oid = c.conindid
                           where r.relname = i.indexname and c.connamespace = $1::regnamespace)",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut definitions = Vec::with_capacity(indexes.len());
    for (name, definition) in indexes {
        sqlx::query(&format!("drop index {schema}.\"{name}\""))
            .execute(&mut *conn)
            .await?;
        definitions.push(definition);
    }
    Ok(definitions)
}

/// Applies one batch of events to every projection, each writing into `schema`.
async fn apply_into(
    conn: &mut PgConnection,
    projections: &[Arc<dyn Projection>],
    schema: &str,
    raw: Vec<stream::StoredEvent>,
) -> Result<(), ProjectionError> {
    let events = decode_all(raw)?;
    sqlx::query(&format!("set local search_path to {schema}, public"))
        .execute(&mut *conn)
        .await?;
    for projection in projections {
        projection.apply(&mut *conn, &events).await?;
    }
    sqlx::query("set local search_path to public")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Feeds events after `from` (within `limit`) into `schema`, one transaction per batch
/// unless `conn` is already inside one. Calls `progress` with the size of each batch.
pub async fn fill(
    conn: &mut PgConnection,
    projections: &[Arc<dyn Projection>],
    schema: &str,
    from: StreamPosition,
    limit: ReadLimit,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RebuildReport, ProjectionError> {
    let mut at = from;
    let mut events = 0u64;
    loop {
        let mut tx = conn.begin().await?;
        let raw = stream::read_after(&mut tx, at, BATCH_SIZE * 5, limit).await?;
        let Some(last) = raw.last().map(stream::StoredEvent::stream_position) else {
            tx.commit().await?;
            return Ok(RebuildReport {
                events,
                position: at,
            });
        };
        let n = raw.len() as u64;
        apply_into(&mut tx, projections, schema, raw).await?;
        tx.commit().await?;
        at = last;
        events += n;
        progress(n);
    }
}

/// Like [`fill`], but pipelined for big rebuilds: one task reads and decodes the next
/// batch while every projection applies the current one on its own connection, so the
/// database and the decoder work at the same time. Each projection commits its batches
/// separately; nothing is visible until the swap, so that costs no atomicity.
pub async fn fill_parallel(
    pool: &PgPool,
    projections: &[Arc<dyn Projection>],
    schema: &str,
    limit: ReadLimit,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RebuildReport, ProjectionError> {
    use tokio::sync::mpsc;
    type Batch = Arc<Vec<crate::stream::Envelope>>;

    let (batch_tx, mut batch_rx) = mpsc::channel::<(Batch, StreamPosition)>(2);
    let reader_pool = pool.clone();
    let reader = tokio::spawn(async move {
        let mut conn = reader_pool.acquire().await?;
        let mut at = StreamPosition::START;
        loop {
            let raw = stream::read_after(&mut conn, at, BATCH_SIZE * 5, limit).await?;
            let Some(last) = raw.last().map(stream::StoredEvent::stream_position) else {
                return Ok::<_, ProjectionError>(());
            };
            let events = decode_all(raw)?;
            at = last;
            if batch_tx.send((Arc::new(events), last)).await.is_err() {
                return Ok(());
            }
        }
    });

    let mut workers = Vec::new();
    let mut senders = Vec::new();
    for projection in projections {
        let (tx, mut rx) = mpsc::channel::<Batch>(2);
        senders.push(tx);
        let (pool, projection, schema) = (pool.clone(), projection.clone(), schema.to_owned());
        workers.push(tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            while let Some(events) = rx.recv().await {
                let mut tx = conn.begin().await?;
                sqlx::query(&format!("set local search_path to {schema}, public"))
                    .execute(&mut *tx)
                    .await?;
                projection.apply(&mut tx, &events).await?;
                tx.commit().await?;
            }
            Ok::<_, ProjectionError>(())
        }));
    }

    let mut report = RebuildReport {
        events: 0,
        position: StreamPosition::START,
    };
    while let Some((events, last)) = batch_rx.recv().await {
        let n = events.len() as u64;
        for sender in &senders {
            if sender.send(events.clone()).await.is_err() {
                break;
            }
        }
        report.events += n;
        report.position = last;
        progress(n);
    }
    drop(senders);
    let joined = |r: Result<Result<(), ProjectionError>, tokio::task::JoinError>| {
        r.map_err(|e| ProjectionError::Event {
            position: 0,
            message: format!("rebuild task failed: {e}"),
        })?
    };
    for worker in workers {
        joined(worker.await)?;
    }
    joined(reader.await)?;
    Ok(report)
}

/// Rebuilds `projections` from position 0 and swaps them in. Safe while `serve` runs.
pub async fn rebuild(
    pool: &PgPool,
    projections: &[Arc<dyn Projection>],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RebuildReport, ProjectionError> {
    let projections: Vec<Arc<dyn Projection>> = projections
        .iter()
        .filter(|p| !p.tables().is_empty())
        .cloned()
        .collect();
    let schema = "comptoir_rebuild";
    let mut conn = pool.acquire().await?;
    prepare_schema(&mut conn, &projections, schema).await?;
    let deferred = defer_secondary_indexes(&mut conn, schema).await?;
    let built = fill_parallel(pool, &projections, schema, ReadLimit::default(), progress).await?;

    // Built once over the full tables (a sort) rather than row by row during the fill.
    for definition in &deferred {
        sqlx::query(definition).execute(&mut *conn).await?;
    }

    let mut tx = conn.begin().await?;
    for projection in &projections {
        sqlx::query("select pg_advisory_xact_lock(hashtext('projection:' || $1))")
            .bind(projection.name())
            .execute(&mut *tx)
            .await?;
    }
    // Events written since the bulk of the build: applied under the lock.
    let mut at = built.position;
    let mut events = built.events;
    loop {
        let raw = stream::read_after(&mut tx, at, BATCH_SIZE, ReadLimit::default()).await?;
        let Some(last) = raw.last().map(stream::StoredEvent::stream_position) else {
            break;
        };
        events += raw.len() as u64;
        progress(raw.len() as u64);
        apply_into(&mut tx, &projections, schema, raw).await?;
        at = last;
    }
    for projection in &projections {
        for table in projection.tables() {
            swap_table(&mut tx, schema, table).await?;
        }
        sqlx::query(
            "insert into projection_checkpoints (name, last_tx, last_position, events_applied, updated_at)
             values ($1, $2, $3, $4, now())
             on conflict (name) do update set last_tx = excluded.last_tx,
                last_position = excluded.last_position, events_applied = excluded.events_applied,
                updated_at = now(), failed_position = null, failed_error = null, failed_at = null",
        )
        .bind(projection.name())
        .bind(at.tx)
        .bind(at.position)
        .bind(events as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("drop schema {schema} cascade"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(RebuildReport {
        events,
        position: at,
    })
}

/// Replaces `public.table` by `schema.table`, keeping the live table's index names so
/// later migrations can name them.
async fn swap_table(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<(), ProjectionError> {
    let indexes = |schema: String| {
        sqlx::query_as::<_, (String, String)>(
            "select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = $2",
        )
        .bind(schema)
        .bind(table.to_owned())
    };
    let old = indexes("public".into()).fetch_all(&mut *conn).await?;
    let new = indexes(schema.into()).fetch_all(&mut *conn).await?;
    let shape = |def: &str, schema: &str| {
        def.split_once(" ON ")
            .map(|(_, rest)| rest.replacen(&format!("{schema}."), "", 1))
            .unwrap_or_default()
    };
    sqlx::query(&format!("drop table public.{table}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("alter table {schema}.{table} set schema public"))
        .execute(&mut *conn)
        .await?;
    for (new_name, new_def) in &new {
        let wanted = old
            .iter()
            .find(|(_, def)| shape(def, "public") == shape(new_def, schema));
        if let Some((old_name, _)) = wanted {
            if old_name != new_name {
                sqlx::query(&format!(
                    "alter index public.\"{new_name}\" rename to \"{old_name}\""
                ))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Rows that differ between the live tables of a projection and a fresh build of it at
/// the live checkpoint, per table. Runs in one transaction holding the projection's lock,
/// then rolls back, so nothing it builds is left behind.
pub async fn compare_with_fresh(
    pool: &PgPool,
    projection: Arc<dyn Projection>,
) -> Result<Vec<(String, i64)>, ProjectionError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('projection:' || $1))")
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    let checkpoint: Option<(i64, i64)> =
        sqlx::query_as("select last_tx, last_position from projection_checkpoints where name = $1")
            .bind(projection.name())
            .fetch_optional(&mut *tx)
            .await?;
    let until = checkpoint
        .map(|(tx, position)| StreamPosition { tx, position })
        .unwrap_or_default();
    let schema = "comptoir_verify";
    let list = [projection.clone()];
    prepare_schema(&mut tx, &list, schema).await?;
    let limit = ReadLimit {
        until: Some(until),
        recorded_until: None,
    };
    if until != StreamPosition::START {
        fill(
            &mut tx,
            &list,
            schema,
            StreamPosition::START,
            limit,
            &|_| {},
        )
        .await?;
    }
    let mut differences = Vec::new();
    for table in projection.tables() {
        let count: i64 = sqlx::query_scalar(&format!(
            "select count(*) from ((table public.{table} except all table {schema}.{table})
              union all (table {schema}.{table} except all table public.{table})) d"
        ))
        .fetch_one(&mut *tx)
        .await?;
        differences.push((table.to_string(), count));
    }
    tx.rollback().await?;
    Ok(differences)
}
