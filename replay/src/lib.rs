//! The commands of the `replay` binary, as a library so tests can call them.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use projections::db::{Database, DbError, Location};
use projections::rebuild::{self, check_schema_name};
use projections::stream::{self, ReadLimit, StreamPosition};
use projections::{seal, Projection, ProjectionError};

/// Prints a line to stdout; a closed pipe (`replay status | head`) is not an error.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Prints a line to stderr, ignoring a closed pipe.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Why a replay command failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// How `replay at` prints a view.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Csv,
    Json,
}

/// An open store.
#[derive(Debug)]
pub struct Session {
    db: Database,
}

fn bar(total: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_owned());
    bar
}

impl Session {
    /// Finds the store the way `comptoir` does.
    pub async fn open(data_dir: &Path) -> Result<Self, ReplayError> {
        let location = Location::from_env(data_dir);
        Ok(Session {
            db: Database::open(&location, 4).await?,
        })
    }

    /// A session over an already open store.
    pub fn with_database(db: Database) -> Self {
        Session { db }
    }

    /// Closes the store (stopping the private cluster if this process started it).
    pub async fn close(self) {
        self.db.close().await;
    }

    /// Prints every consumer's checkpoint and lag. Returns false if one has failed.
    pub async fn status(&self) -> Result<bool, ReplayError> {
        let mut conn = self.db.pool.acquire().await?;
        let head = stream::head(&mut conn).await?;
        let total: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&mut *conn)
            .await?;
        say!("events: {total}, head position {}", head.position);
        let checkpoints = projections::runtime::checkpoints(&self.db.pool).await?;
        let mut known: Vec<String> = checkpoints.iter().map(|c| c.name.clone()).collect();
        say!(
            "{:<16} {:>10} {:>10} {:>8}  state",
            "projection",
            "position",
            "applied",
            "lag"
        );
        let mut healthy = true;
        for checkpoint in &checkpoints {
            let lag = stream::count_after(&mut conn, checkpoint.position()).await?;
            let state = match (&checkpoint.failed_position, &checkpoint.failed_error) {
                (position, Some(error)) => {
                    healthy = false;
                    format!(
                        "FAILED at position {}: {error}",
                        position
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "?".into())
                    )
                }
                _ if lag == 0 => "up to date".to_owned(),
                _ => "catching up".to_owned(),
            };
            say!(
                "{:<16} {:>10} {:>10} {:>8}  {state}",
                checkpoint.name,
                checkpoint.last_position,
                checkpoint.events_applied,
                lag
            );
        }
        for projection in projections::all() {
            if !known.iter().any(|n| n == projection.name()) {
                known.push(projection.name().to_owned());
                say!(
                    "{:<16} {:>10} {:>10} {:>8}  never run",
                    projection.name(),
                    0,
                    0,
                    total
                );
            }
        }
        Ok(healthy)
    }

    /// Rebuilds one read model or all of them.
    pub async fn rebuild(&self, name: Option<&str>, all: bool) -> Result<bool, ReplayError> {
        let targets: Vec<Arc<dyn Projection>> = match (name, all) {
            (_, true) => projections::read_models(),
            (Some(name), false) => vec![find(name)?],
            (None, false) => {
                return Err(ReplayError::Usage(
                    "name a read model or pass --all (see `replay status`)".into(),
                ))
            }
        };
        let names: Vec<&str> = targets.iter().map(|p| p.name()).collect();
        let total: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&self.db.pool)
            .await?;
        let progress = bar(total as u64, "rebuilding");
        let started = Instant::now();
        let report = rebuild::rebuild(&self.db.pool, &targets, &|n| progress.inc(n)).await?;
        progress.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        say!(
            "rebuilt {} from {} events in {seconds:.2} s ({:.0} events/s), now at position {}",
            names.join(", "),
            report.events,
            report.events as f64 / seconds.max(1e-9),
            report.position.position
        );
        Ok(true)
    }

    /// Builds `name` as it was at `time`, into a schema or printed.
    pub async fn at(
        &self,
        time: &str,
        name: &str,
        schema: Option<&str>,
        format: Option<Format>,
    ) -> Result<bool, ReplayError> {
        let moment = DateTime::parse_from_rfc3339(time)
            .map_err(|e| {
                ReplayError::Usage(format!(
                    "`{time}` is not an RFC 3339 time ({e}); e.g. 2026-12-31T23:59:59+01:00"
                ))
            })?
            .with_timezone(&Utc);
        let projection = find(name)?;
        let schema = schema
            .map(str::to_owned)
            .unwrap_or_else(|| format!("at_{name}"));
        check_schema_name(&schema).map_err(|e| ReplayError::Usage(e.to_string()))?;
        let list = [projection.clone()];
        let mut conn = self.db.pool.acquire().await?;
        rebuild::prepare_schema(&mut conn, &list, &schema).await?;
        let limit = ReadLimit {
            until: None,
            recorded_until: Some(moment),
        };
        let report = rebuild::fill(
            &mut conn,
            &list,
            &schema,
            StreamPosition::START,
            limit,
            &|_| {},
        )
        .await?;
        match format {
            None => {
                say_err!(
                    "{name} as of {moment} ({} events) written to schema {schema}: {}",
                    report.events,
                    projection
                        .tables()
                        .iter()
                        .map(|t| format!("{schema}.{t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Some(format) => {
                let mut out = std::io::stdout().lock();
                for table in projection.tables() {
                    match export(&mut conn, &schema, table, format, &mut out).await {
                        Err(ReplayError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            break
                        }
                        other => other?,
                    }
                }
                sqlx::query(&format!("drop schema {schema} cascade"))
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Recomputes the seal chain and compares every read model with a fresh build.
    /// Returns false (exit status 1) when anything does not match.
    pub async fn verify(&self) -> Result<bool, ReplayError> {
        let total: i64 = sqlx::query_scalar("select count(*) from seals")
            .fetch_one(&self.db.pool)
            .await?;
        let progress = bar(total as u64, "seal chain");
        let chain = seal::verify_chain(&self.db.pool, &|n| progress.inc(n)).await?;
        progress.finish_and_clear();
        let mut ok = true;
        match &chain.broken_at {
            None => say!(
                "seal chain: {} events verified, last seal {}",
                chain.verified,
                chain.last_seal
            ),
            Some((position, reason)) => {
                ok = false;
                say!("seal chain: BROKEN at position {position}: {reason} ({} events verified before it)", chain.verified);
            }
        }
        for projection in projections::read_models() {
            let differences =
                rebuild::compare_with_fresh(&self.db.pool, projection.clone()).await?;
            let differing: Vec<String> = differences
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(table, n)| format!("{table}: {n} row(s) differ"))
                .collect();
            if differing.is_empty() {
                say!("{}: matches a fresh rebuild", projection.name());
            } else {
                ok = false;
                say!(
                    "{}: DIFFERS from a fresh rebuild ({})",
                    projection.name(),
                    differing.join(", ")
                );
            }
        }
        let closures = projections::views::invoices::verify_closures(&self.db.pool).await?;
        if closures.problems.is_empty() {
            say!(
                "closures: {} period(s) match the register and the seal chain",
                closures.checked
            );
        } else {
            ok = false;
            for problem in &closures.problems {
                say!("closures: DIFFERS: {problem}");
            }
        }
        Ok(ok)
    }
}

fn find(name: &str) -> Result<Arc<dyn Projection>, ReplayError> {
    projections::read_models()
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            ReplayError::Usage(format!(
                "no read model named `{name}`; known: {}",
                projections::read_models()
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

async fn export(
    conn: &mut sqlx::PgConnection,
    schema: &str,
    table: &str,
    format: Format,
    out: &mut impl std::io::Write,
) -> Result<(), ReplayError> {
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
                "select to_jsonb(t) from {schema}.{table} t order by 1"
            ))
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                writeln!(out, "{}", serde_json::json!({ "table": table, "row": row }))?;
            }
        }
        Format::Csv => {
            use futures_util::TryStreamExt;
            writeln!(out, "# {table}")?;
            let mut copy = conn
                .copy_out_raw(&format!("copy (select * from {schema}.{table} order by 1) to stdout with (format csv, header)"))
                .await?;
            while let Some(chunk) = copy.try_next().await? {
                out.write_all(&chunk)?;
            }
        }
    }
    Ok(())
}
