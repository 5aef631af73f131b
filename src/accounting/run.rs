//! The exports as the command line runs them: a period of Paris days, rows streamed from
//! the database through an encoder into a file or standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use futures_util::StreamExt;
use sqlx::PgPool;

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

/// Streams the period's sales through `encoder` into `output`. Returns the rows written.
async fn sales<E: Encoder<Row = super::SalesEntry>>(
    pool: &PgPool,
    (from, until): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    mut encoder: E,
    output: &mut Output,
) -> Result<u64, RunError> {
    output.write(&encoder.header())?;
    let mut rows = std::pin::pin!(sales_entries(pool, from, until));
    let mut written = 0;
    while let Some(entry) = rows.next().await {
        output.write(&encoder.row(&entry?)?)?;
        written += 1;
    }
    output.write(&encoder.finish())?;
    Ok(written)
}

/// `comptoir export sales-csv`.
pub async fn sales_csv(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    dialect: Dialect,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    let period = bounds(from, to)?;
    let (_, rates) = period_outline(pool, period.0, period.1).await?;
    let mut output = Output::open(path)?;
    let written = sales(pool, period, SalesCsv::new(dialect, rates), &mut output).await?;
    Ok((written, output.close()?))
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
    let period = bounds(from, to)?;
    let plan = account_plan()?;
    let path: PathBuf = match path {
        Some(path) => path.to_owned(),
        None => {
            let settings: ShopSettings = bus
                .settings
                .load(SHOP_SETTINGS_ID)
                .await
                .map_err(|e| RunError::Settings(e.to_string()))?;
            let siren = settings
                .identity()
                .ok_or(RunError::NoSiren)?
                .siren
                .to_string();
            PathBuf::from(fec_file_name(&siren, to))
        }
    };
    let mut output = Output::open(Some(&path))?;
    let written = sales(&bus.pool, period, Fec::new(plan, separator), &mut output).await?;
    Ok((written, output.close()?))
}

/// `comptoir export audit`.
pub async fn audit(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    jsonl: bool,
    path: Option<&Path>,
) -> Result<(u64, String), RunError> {
    let (start, until) = bounds(from, to)?;
    let mut output = Output::open(path)?;
    let written = if jsonl {
        audit_with(pool, start, until, AuditJsonl::new(), &mut output).await?
    } else {
        audit_with(pool, start, until, AuditCsv::new(), &mut output).await?
    };
    Ok((written, output.close()?))
}

async fn audit_with<E: Encoder<Row = super::AuditRow>>(
    pool: &PgPool,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    mut encoder: E,
    output: &mut Output,
) -> Result<u64, RunError> {
    output.write(&encoder.header())?;
    let mut rows = audit_rows(pool, from, until);
    let mut written = 0;
    while let Some(row) = rows.next().await {
        output.write(&encoder.row(&row?)?)?;
        written += 1;
    }
    output.write(&encoder.finish())?;
    Ok(written)
}
