//! The exports as they run, from the command line and from the admin alike: a period of
//! Paris days, rows streamed from the database through an encoder, as a [`Stream`] of
//! byte chunks ([`chunks`]). The command line writes the chunks into a file or standard
//! output ([`sales_csv`], [`fec`], [`audit`]); the admin hands the same stream to an HTTP
//! body. One code path per export, so a file downloaded from the admin is byte for byte
//! the file the command line writes for the same period.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{Stream, StreamExt};
use sqlx::PgPool;
use tokio::sync::mpsc;

use aggregates::calendar::paris_midnight;
use aggregates::{ShopSettings, SHOP_SETTINGS_ID};

use super::register::{period_outline, sales_entries};
use super::{
    audit_rows, fec_file_name, AccountPlan, AuditCsv, AuditJsonl, Dialect, Encoder, ExportError,
    Fec, FecSeparator, SalesCsv,
};
use crate::commands::CommandBus;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("--from {from} is after --to {to}")]
    Period { from: NaiveDate, to: NaiveDate },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Export(#[from] ExportError),
    #[error("{path}: {error}")]
    Output { path: String, error: std::io::Error },
    #[error("COMPTOIR_ACCOUNT_PLAN {path}: {error}")]
    Plan { path: String, error: String },
    #[error("the shop's legal identity is not set: the FEC is named after its SIREN")]
    NoSiren,
    #[error("{0}")]
    Settings(String),
}

/// The instants a period of days covers: from the first day's midnight to the midnight
/// after the last, Paris time.
pub fn bounds(
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), RunError> {
    if from > to {
        return Err(RunError::Period { from, to });
    }
    let after = to.succ_opt().unwrap_or(to);
    Ok((paris_midnight(from), paris_midnight(after)))
}

/// The account plan: `COMPTOIR_ACCOUNT_PLAN` (a JSON file) or the defaults.
pub fn account_plan() -> Result<AccountPlan, RunError> {
    match std::env::var("COMPTOIR_ACCOUNT_PLAN") {
        Ok(path) if !path.trim().is_empty() => {
            let text = std::fs::read_to_string(&path).map_err(|e| RunError::Plan {
                path: path.clone(),
                error: e.to_string(),
            })?;
            serde_json::from_str(&text).map_err(|e| RunError::Plan {
                path,
                error: e.to_string(),
            })
        }
        _ => Ok(AccountPlan::default()),
    }
}

/// The shop's SIREN, which names the FEC file; `None` while its legal identity is not set.
pub async fn shop_siren(bus: &CommandBus) -> Result<Option<String>, RunError> {
    let settings: ShopSettings = bus
        .settings
        .load(SHOP_SETTINGS_ID)
        .await
        .map_err(|e| RunError::Settings(e.to_string()))?;
    Ok(settings.identity().map(|i| i.siren.to_string()))
}

/// Which export, in which spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The sales CSV: one row per invoice or credit note.
    SalesCsv(Dialect),
    /// The FEC of the period's sales and takings.
    Fec(FecSeparator),
    /// The audit trail: every event with its seal, as CSV or (`jsonl`) JSON Lines.
    Audit {
        /// JSON Lines rather than CSV.
        jsonl: bool,
    },
}

/// One export of one period of days (Paris, both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSpec {
    /// What is exported.
    pub format: ExportFormat,
    /// The first day.
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
}

impl ExportSpec {
    /// The period's instants, or [`RunError::Period`] when `from` is after `to`.
    pub fn bounds(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), RunError> {
        bounds(self.from, self.to)
    }

    /// The file's name: the FEC's is prescribed (`<SIREN>FEC<last day>.txt`, hence the
    /// SIREN, [`RunError::NoSiren`] without one); the others say what and when
    /// (`ventes-2026-03-01-2026-03-31.csv`, `audit-….jsonl`).
    pub fn file_name(&self, siren: Option<&str>) -> Result<String, RunError> {
        let period = format!("{}-{}", self.from, self.to);
        Ok(match self.format {
            ExportFormat::SalesCsv(_) => format!("ventes-{period}.csv"),
            ExportFormat::Fec(_) => fec_file_name(siren.ok_or(RunError::NoSiren)?, self.to),
            ExportFormat::Audit { jsonl: false } => format!("audit-{period}.csv"),
            ExportFormat::Audit { jsonl: true } => format!("audit-{period}.jsonl"),
        })
    }

    /// The media type with its charset: the FEC is ISO-8859-15 (A47 A-1), the others
    /// UTF-8.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            ExportFormat::SalesCsv(_) | ExportFormat::Audit { jsonl: false } => {
                "text/csv; charset=utf-8"
            }
            ExportFormat::Fec(_) => "text/plain; charset=iso-8859-15",
            ExportFormat::Audit { jsonl: true } => "application/jsonl; charset=utf-8",
        }
    }

    /// How many lines the file opens with before its first row (a header line, or none).
    pub fn header_lines(&self) -> u64 {
        match self.format {
            ExportFormat::Audit { jsonl: true } => 0,
            _ => 1,
        }
    }
}

/// How many rows (lines after the header) the export will hold, as the database stands:
/// documents for the sales CSV, events for the audit trail, entry lines for the FEC (an
/// invoice books several; they are counted by running the very encoder over the period,
/// without keeping what it writes). Rows recorded meanwhile make it a close estimate.
pub async fn expected_rows(
    pool: &PgPool,
    spec: &ExportSpec,
    plan: &AccountPlan,
) -> Result<u64, RunError> {
    let (from, until) = spec.bounds()?;
    let rows = match spec.format {
        ExportFormat::SalesCsv(_) => period_outline(pool, from, until).await?.0,
        ExportFormat::Audit { .. } => {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from events where recorded_at >= $1 and recorded_at < $2",
            )
            .bind(from)
            .bind(until)
            .fetch_one(pool)
            .await?
        }
        ExportFormat::Fec(separator) => {
            let mut encoder = Fec::new(plan.clone(), separator);
            let mut entries = std::pin::pin!(sales_entries(pool, from, until));
            let mut lines = 0usize;
            while let Some(entry) = entries.next().await {
                let bytes = encoder.row(&entry?)?;
                lines += bytes.iter().filter(|b| **b == b'\n').count();
            }
            i64::try_from(lines).unwrap_or(i64::MAX)
        }
    };
    Ok(u64::try_from(rows).unwrap_or(0))
}

/// Some bytes of an export and how many of its rows they end.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The bytes, to append to what came before.
    pub bytes: Vec<u8>,
    /// Rows (documents, events) whose bytes end in this chunk.
    pub rows: u64,
}

/// An export as it is produced: chunks in order, an error ends it.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, RunError>> + Send>>;

/// Chunks are sent once they hold this much (one row may make a chunk larger): large
/// enough to keep the number of writes low, small enough that a download shows progress.
const CHUNK_BYTES: usize = 16 * 1024;

/// The export, produced as it is read: rows come from the database one at a time, pass
/// through the format's encoder, and leave in chunks of about 16 KiB. A task does the
/// work ahead of the reader by a few chunks at most (a bounded channel), so memory stays
/// flat whatever the period's size; when the reader goes away (a download cancelled) the
/// task stops at its next chunk.
pub fn chunks(pool: PgPool, spec: ExportSpec, plan: AccountPlan) -> ChunkStream {
    let (sender, receiver) = mpsc::channel::<Result<Chunk, RunError>>(4);
    tokio::spawn(async move {
        let mut sink = Sink {
            sender,
            chunk: Chunk::default(),
        };
        if let Err(error) = produce(&pool, &spec, plan, &mut sink).await {
            // The reader may be gone already; then nobody needs the error.
            let _ = sink.sender.send(Err(error)).await;
        }
    });
    Box::pin(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ))
}

/// Where [`produce`] puts the bytes: a chunk being filled, then the channel.
struct Sink {
    sender: mpsc::Sender<Result<Chunk, RunError>>,
    chunk: Chunk,
}

/// The reader went away: stop producing.
struct Gone;

impl Sink {
    async fn push(&mut self, bytes: &[u8], rows: u64) -> Result<(), Gone> {
        self.chunk.bytes.extend_from_slice(bytes);
        self.chunk.rows += rows;
        if self.chunk.bytes.len() >= CHUNK_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Gone> {
        if self.chunk.bytes.is_empty() && self.chunk.rows == 0 {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        self.sender.send(Ok(chunk)).await.map_err(|_| Gone)
    }
}

async fn produce(
    pool: &PgPool,
    spec: &ExportSpec,
    plan: AccountPlan,
    sink: &mut Sink,
) -> Result<(), RunError> {
    let (from, until) = spec.bounds()?;
    let pumped = match spec.format {
        ExportFormat::SalesCsv(dialect) => {
            let (_, rates) = period_outline(pool, from, until).await?;
            let rows = sales_entries(pool, from, until);
            pump(SalesCsv::new(dialect, rates), rows, sink).await?
        }
        ExportFormat::Fec(separator) => {
            let rows = sales_entries(pool, from, until);
            pump(Fec::new(plan, separator), rows, sink).await?
        }
        ExportFormat::Audit { jsonl } => {
            let mut cursor = audit_rows(pool, from, until);
            let rows = futures_util::stream::poll_fn(move |cx| cursor.poll_next_row(cx));
            if jsonl {
                pump(AuditJsonl::new(), rows, sink).await?
            } else {
                pump(AuditCsv::new(), rows, sink).await?
            }
        }
    };
    if pumped.is_ok() {
        // A reader gone at the very end changes nothing.
        let _ = sink.flush().await;
    }
    Ok(())
}

/// Runs `encoder` over `rows` into `sink`. `Ok(Err(Gone))` when the reader went away.
async fn pump<E, S>(mut encoder: E, rows: S, sink: &mut Sink) -> Result<Result<(), Gone>, RunError>
where
    E: Encoder,
    S: Stream<Item = Result<E::Row, sqlx::Error>>,
{
    let mut rows = std::pin::pin!(rows);
    if let Err(gone) = sink.push(&encoder.header(), 0).await {
        return Ok(Err(gone));
    }
    while let Some(row) = rows.next().await {
        let bytes = encoder.row(&row?)?;
        if let Err(gone) = sink.push(&bytes, 1).await {
            return Ok(Err(gone));
        }
    }
    Ok(sink.push(&encoder.finish(), 0).await)
}

struct Output {
    path: String,
    writer: Box<dyn Write>,
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output, RunError> {
        match path {
            None => Ok(Output {
                path: "standard output".into(),
                writer: Box::new(std::io::BufWriter::new(std::io::stdout())),
            }),
            Some(path) if path.as_os_str() == "-" => Output::open(None),
            Some(path) => {
                let file = std::fs::File::create(path).map_err(|error| RunError::Output {
                    path: path.display().to_string(),
                    error,
                })?;
                Ok(Output {
                    path: path.display().to_string(),
                    writer: Box::new(std::io::BufWriter::new(file)),
                })
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), RunError> {
        self.writer
            .write_all(bytes)
            .map_err(|error| RunError::Output {
                path: self.path.clone(),
                error,
            })
    }

    fn close(mut self) -> Result<String, RunError> {
        self.writer.flush().map_err(|error| RunError::Output {
            path: self.path.clone(),
            error,
        })?;
        Ok(self.path)
    }
}

/// Writes `spec`'s export into `path` (standard output when `None` or `-`), through
/// [`chunks`]. Returns the rows written and where they went.
pub async fn write(
    pool: &PgPool,
    spec: ExportSpec,
    plan: AccountPlan,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    // Refuse a reversed period before creating the file.
    spec.bounds()?;
    let mut output = Output::open(path)?;
    let mut stream = chunks(pool.clone(), spec, plan);
    let mut written = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        output.write(&chunk.bytes)?;
        written += chunk.rows;
    }
    Ok((written, output.close()?))
}

/// `comptoir export sales-csv`.
pub async fn sales_csv(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    dialect: Dialect,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    let spec = ExportSpec {
        format: ExportFormat::SalesCsv(dialect),
        from,
        to,
    };
    write(pool, spec, AccountPlan::default(), path).await
}

/// `comptoir export fec`: the file is named after the SIREN and the last day unless a
/// path is given.
pub async fn fec(
    bus: &CommandBus,
    from: NaiveDate,
    to: NaiveDate,
    separator: FecSeparator,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    let spec = ExportSpec {
        format: ExportFormat::Fec(separator),
        from,
        to,
    };
    spec.bounds()?;
    let plan = account_plan()?;
    let path: PathBuf = match path {
        Some(path) => path.to_owned(),
        None => PathBuf::from(spec.file_name(shop_siren(bus).await?.as_deref())?),
    };
    write(&bus.pool, spec, plan, Some(&path)).await
}

/// `comptoir export audit`.
pub async fn audit(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    jsonl: bool,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    let spec = ExportSpec {
        format: ExportFormat::Audit { jsonl },
        from,
        to,
    };
    write(pool, spec, AccountPlan::default(), path).await
}
