//! `replay`: inspect, rebuild and verify Comptoir's projections.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use replay::{Format, ReplayError};

/// Rebuild, inspect and verify Comptoir's projections.
#[derive(Debug, Parser)]
#[command(name = "replay", version)]
struct Cli {
    /// The data directory of the private cluster (ignored when DATABASE_URL is set).
    #[arg(
        long,
        env = "COMPTOIR_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Each consumer: its checkpoint, its lag in events, its failure if any.
    Status,
    /// Rebuilds read models from position 0 into fresh tables, then swaps them in.
    Rebuild {
        /// A read model (see `replay status`).
        name: Option<String>,
        /// Every read model.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// A read model as it was at a moment, in its own schema or exported.
    At {
        /// RFC 3339 time, e.g. 2026-12-31T23:59:59+01:00.
        time: String,
        /// The read model.
        name: String,
        /// Schema to write into (default `at_<name>`); replaced if it exists.
        #[arg(long)]
        schema: Option<String>,
        /// Print the tables instead of keeping the schema.
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
    },
    /// Recomputes the seal chain and compares every read model with a fresh rebuild.
    Verify,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("replay: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let session = replay::Session::open(&cli.data_dir).await?;
        let result = match cli.command {
            Command::Status => session.status().await,
            Command::Rebuild { name, all } => session.rebuild(name.as_deref(), all).await,
            Command::At {
                time,
                name,
                schema,
                format,
            } => {
                let format = format.map(|f| match f {
                    OutputFormat::Csv => Format::Csv,
                    OutputFormat::Json => Format::Json,
                });
                session.at(&time, &name, schema.as_deref(), format).await
            }
            Command::Verify => session.verify().await,
        };
        session.close().await;
        result
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(ReplayError::Usage(message)) => {
            eprintln!("replay: {message}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("replay: {error}");
            ExitCode::FAILURE
        }
    }
}
