//! The closing process: every day of the shop's life is closed once it is over (Paris
//! time) and everything recorded during it has reached the invoice register. Months and
//! years close with their last day (see `aggregates::closure`). It runs beside `serve`
//! every few minutes; the owner can run it at once from the admin.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

pub use aggregates::calendar::{paris_day, paris_midnight};
use aggregates::closure::{ClosureCommand, CLOSURES_ID};
use aggregates::metadata::EventMetadata;
use projections::seal::GENESIS;

use crate::commands::{CommandBus, CommandError};

/// The process's name (its actor, `process:closer`).
pub const NAME: &str = "closer";

/// How long after a day's end its closure waits, so that transactions begun before
/// midnight have committed and been read.
pub const GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// Why closing stopped.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Command(String),
}

/// Closes every day that is over, in order, up to the day before `now` (Paris), as far as
/// the register and the seal chain have caught up. Returns the days closed. The closures
/// are the process's (`process:closer`).
pub async fn close_due(bus: &CommandBus, now: DateTime<Utc>) -> Result<Vec<NaiveDate>, CloseError> {
    close_due_as(bus, now, &EventMetadata::process(NAME)).await
}

/// [`close_due`], recorded as done by whoever `metadata` names (the owner who asked for it
/// in the admin).
pub async fn close_due_as(
    bus: &CommandBus,
    now: DateTime<Utc>,
    metadata: &EventMetadata,
) -> Result<Vec<NaiveDate>, CloseError> {
    let closures = bus
        .closures
        .load(CLOSURES_ID)
        .await
        .map_err(|e| CloseError::Command(e.to_string()))?;
    let first = match closures.last_day() {
        Some(last) => last.succ_opt(),
        None => {
            let first: Option<DateTime<Utc>> =
                sqlx::query_scalar("select min(recorded_at) from events")
                    .fetch_one(&bus.pool)
                    .await?;
            first.map(paris_day)
        }
    };
    let Some(mut day) = first else {
        return Ok(Vec::new());
    };
    let mut closed = Vec::new();
    loop {
        let from = paris_midnight(day);
        let Some(next) = day.succ_opt() else { break };
        let until = paris_midnight(next);
        if now < until + GRACE {
            break;
        }
        let mut conn = bus.pool.acquire().await?;
        let last_position: i64 = sqlx::query_scalar(
            "select coalesce(max(position), 0) from events where recorded_at < $1",
        )
        .bind(until)
        .fetch_one(&mut *conn)
        .await?;
        // Wait for the register (totals) and the seal chain (the last event's seal).
        let behind: i64 = sqlx::query_scalar(
            "select count(*) from (values ('invoice_register'), ('seal_chain')) as needed(name)
             left join projection_checkpoints c using (name)
             where coalesce(c.last_position, 0) < $1",
        )
        .bind(last_position)
        .fetch_one(&mut *conn)
        .await?;
        if behind > 0 {
            tracing::debug!(%day, last_position, "closure waits for the register and the seal chain");
            break;
        }
        let last_seal = if last_position == 0 {
            hex::encode(GENESIS)
        } else {
            let seal: Vec<u8> = sqlx::query_scalar("select seal from seals where position = $1")
                .bind(last_position)
                .fetch_one(&mut *conn)
                .await?;
            hex::encode(seal)
        };
        let totals = projections::views::invoices::period_totals(&mut conn, from, until).await?;
        drop(conn);
        let command = ClosureCommand::CloseDay {
            day,
            from,
            until,
            totals,
            last_position,
            last_seal,
        };
        match bus.closures.execute(CLOSURES_ID, command, metadata).await {
            Ok(()) => closed.push(day),
            Err(CommandError::Refused(error)) => {
                return Err(CloseError::Command(format!("closing {day}: {error}")))
            }
            Err(error) => return Err(CloseError::Command(error.to_string())),
        }
        day = next;
    }
    Ok(closed)
}

/// Closes what is due every `every`, until `shutdown`.
pub async fn run(
    bus: std::sync::Arc<CommandBus>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        // Catching up several days, each waits for the previous closure to be sealed:
        // come back soon while days are being closed.
        let pause = match close_due(&bus, Utc::now()).await {
            Ok(days) if !days.is_empty() => {
                tracing::info!(?days, "periods closed");
                Duration::from_secs(5).min(every)
            }
            Ok(_) => every,
            Err(error) => {
                tracing::warn!(%error, "closing failed; will try again");
                every
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
