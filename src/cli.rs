//! The `comptoir` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounting::{Dialect, FecSeparator};

/// Comptoir: an event-sourced commerce ledger and back office.
#[derive(Debug, Parser)]
#[command(name = "comptoir", version)]
pub struct Cli {
    /// Where the private database, media and outbox live.
    #[arg(
        long,
        env = "COMPTOIR_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the shop: migrations, projections, HTTP server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "COMPTOIR_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Loads the demo shop into an empty store first.
        #[arg(long)]
        demo: bool,
        /// Minutes a stock reservation holds before the sweeper releases it.
        #[arg(long, env = "COMPTOIR_RESERVATION_MINUTES", default_value_t = 30)]
        reservation_minutes: u32,
    },
    /// Creates or updates the database schema, then exits.
    Migrate,
    /// Prints the OpenAPI description of the public API.
    Openapi,
    /// Storefront API keys.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Product images in the media store.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
    /// Accounting exports for a period, streamed from the invoice register and the event
    /// store.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Invoices and credit notes as issued.
    Invoice {
        #[command(subcommand)]
        command: InvoiceCommand,
    },
    /// Closes every day that is over (as `serve` does every few minutes), with its month
    /// and year when it is their last day.
    Close,
    /// Staff accounts of the admin.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Writes a deterministic French demo shop through the command side.
    SeedDemo {
        /// Products (spread over three categories).
        #[arg(long, default_value_t = 160)]
        products: u32,
        /// Orders, spread over the last 90 days, in every status.
        #[arg(long, default_value_t = 240)]
        orders: u32,
        /// Random seed: the same seed gives the same shop.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// What to do with the media store.
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Deletes stored objects no current image refers to (the bucket or folder must be
    /// Comptoir's alone).
    Gc {
        /// Unreferenced objects younger than this are kept: an upload whose event is about
        /// to commit.
        #[arg(long, default_value_t = 60)]
        grace_minutes: u64,
    },
}

/// A period of whole days, Paris time, both included.
#[derive(Debug, Clone, Copy, Args)]
pub struct Period {
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub from: chrono::NaiveDate,
    /// Last day, YYYY-MM-DD (included).
    #[arg(long)]
    pub to: chrono::NaiveDate,
}

/// The audit trail's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// RFC 4180 CSV.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Which export.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// One row per invoice or credit note: HT and VAT per rate, TTC, payment.
    SalesCsv {
        #[command(flatten)]
        period: Period,
        /// `fr` (semicolon, decimal comma, UTF-8 with BOM) or `rfc` (RFC 4180).
        #[arg(long, default_value = "fr")]
        dialect: Dialect,
        /// Where to write it (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The FEC (LPF art. A47 A-1) of the period's sales and takings, ISO-8859-15. Account
    /// numbers come from `COMPTOIR_ACCOUNT_PLAN` (a JSON file) when set.
    Fec {
        #[command(flatten)]
        period: Period,
        /// `pipe` or `tab`.
        #[arg(long, default_value = "pipe")]
        separator: FecSeparator,
        /// Where to write it (default: `<SIREN>FEC<last day>.txt` in this folder).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Every event of the period with its seal, to verify the chain.
    Audit {
        #[command(flatten)]
        period: Period,
        #[arg(long, value_enum, default_value = "csv")]
        format: AuditFormat,
        /// Where to write it (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// What to do with invoices.
#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Writes the PDF of an invoice or credit note exactly as stored when it was issued
    /// (checked against its recorded SHA-256).
    Pdf {
        /// Its number, e.g. `FA-2026-000001`.
        number: String,
        /// Where to write it; `-` for standard output.
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
}

/// What to do with API keys.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Creates a key; it is printed once, alone on the last line.
    Create {
        /// A name to recognise it by (e.g. `storefront`).
        #[arg(long)]
        name: String,
    },
    /// Revokes a key by name or id: its next request is refused.
    Revoke {
        /// The key's name or id.
        name: String,
    },
    /// Lists keys (never their secrets).
    List,
}

/// What to do with staff accounts.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Creates an account. The password comes from `COMPTOIR_PASSWORD` when set, otherwise
    /// it is asked for (twice) on the terminal.
    Create {
        /// Sign-in address.
        #[arg(long)]
        email: String,
        /// owner, manager, operator, accountant or support.
        #[arg(long)]
        role: String,
        /// Name shown in the admin and the audit trail (default: the address).
        #[arg(long)]
        name: Option<String>,
    },
    /// Sets a new password (from `COMPTOIR_PASSWORD` or the terminal) and ends every
    /// session of the account: the way back in for someone locked out.
    Password {
        /// The account's sign-in address.
        #[arg(long)]
        email: String,
    },
    /// Changes an account's role.
    Role {
        /// The account's sign-in address.
        #[arg(long)]
        email: String,
        /// owner, manager, operator, accountant or support.
        #[arg(long)]
        role: String,
    },
    /// Disables an account: its sessions end at once and it can no longer sign in.
    Disable {
        /// The account's sign-in address.
        #[arg(long)]
        email: String,
    },
    /// Re-enables a disabled account.
    Enable {
        /// The account's sign-in address.
        #[arg(long)]
        email: String,
    },
    /// Lists the accounts.
    List,
}
