//! Startup and the commands of the `comptoir` binary.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use projections::db::{Database, DbError, Location};
use projections::Projector;

use crate::cli::{ApiKeyCommand, Cli, Command, StaffCommand};
use crate::commands::CommandBus;
use crate::http::{router_with, AppState};
use crate::process::{sweep_reservations, StockKeeper};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(std::io::Error),
    #[error("projections: {0}")]
    Projection(#[from] projections::ProjectionError),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    ApiKey(#[from] crate::api::keys::KeyError),
    #[error("staff account: {0}")]
    Staff(#[from] crate::auth::CreateStaffError),
    #[error("{0}")]
    Input(String),
}

/// Every consumer `serve` runs: the read models, the seal chain, the process managers.
pub fn consumers(bus: &Arc<CommandBus>) -> Vec<Arc<dyn projections::Projection>> {
    let mut all = projections::all();
    all.push(Arc::new(StockKeeper::new(bus.clone())));
    all.push(Arc::new(crate::process::Invoicer::new(bus.clone())));
    // After the invoicer, so one pass queues the "payment confirmed" email with its number.
    all.push(Arc::new(crate::email::EmailOutbox::from_env(bus.clone())));
    all
}

/// What `serve` runs: every consumer, then the publisher of invoice and credit note PDFs
/// into `media`.
pub fn consumers_publishing(
    bus: &Arc<CommandBus>,
    media: crate::media::Media,
    renderer: Arc<crate::invoices::pdf::Renderer>,
) -> Vec<Arc<dyn projections::Projection>> {
    let mut all = consumers(bus);
    all.push(Arc::new(crate::invoices::publish::Publisher::new(
        bus.clone(),
        media,
        renderer,
    )));
    all
}

/// Writes `bytes` to `path`, or to standard output for `-`.
fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| AppError::Input(format!("standard output: {e}")))
    } else {
        std::fs::write(path, bytes).map_err(|e| AppError::Input(format!("{}: {e}", path.display())))
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), AppError> {
    if let Command::Openapi = cli.command {
        let document = crate::api::openapi::document();
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
        return Ok(());
    }
    let location = crate::config::database_location(&cli.data_dir);
    describe(&location);
    match cli.command {
        Command::Openapi => Ok(()),
        Command::Migrate => {
            let db = Database::open(&location, 2).await?;
            println!("migrations applied");
            db.close().await;
            Ok(())
        }
        Command::ApiKey { command } => {
            let db = Database::open(&location, 2).await?;
            let result = api_key(&db, command).await;
            db.close().await;
            result
        }
        Command::Invoice {
            command: crate::cli::InvoiceCommand::Pdf { number, output },
        } => {
            let media = crate::media::Media::from_env(&cli.data_dir).map_err(AppError::Config)?;
            let db = Database::open(&location, 2).await?;
            let pdf = crate::invoices::stored_pdf(&db.pool, &media, &number).await;
            db.close().await;
            let pdf = pdf
                .map_err(|e| AppError::Input(e.to_string()))?
                .ok_or_else(|| {
                    AppError::Input(format!(
                        "no PDF is stored for {number}: not issued (or not rendered yet)"
                    ))
                })?;
            write_output(&output, &pdf)?;
            if output.as_os_str() != "-" {
                eprintln!(
                    "{number}: {} bytes written to {}",
                    pdf.len(),
                    output.display()
                );
            }
            Ok(())
        }
        Command::Export { command } => {
            use crate::cli::{AuditFormat, ExportCommand};
            let db = Database::open(&location, 2).await?;
            let bus = CommandBus::new(db.pool.clone());
            let result = match command {
                ExportCommand::SalesCsv {
                    period,
                    dialect,
                    output,
                } => {
                    crate::accounting::run::sales_csv(
                        &db.pool,
                        period.from,
                        period.to,
                        dialect,
                        output.as_deref(),
                    )
                    .await
                }
                ExportCommand::Fec {
                    period,
                    separator,
                    output,
                } => {
                    crate::accounting::run::fec(
                        &bus,
                        period.from,
                        period.to,
                        separator,
                        output.as_deref(),
                    )
                    .await
                }
                ExportCommand::Audit {
                    period,
                    format,
                    output,
                } => {
                    crate::accounting::run::audit(
                        &db.pool,
                        period.from,
                        period.to,
                        format == AuditFormat::Jsonl,
                        output.as_deref(),
                    )
                    .await
                }
            };
            db.close().await;
            let (rows, written_to) = result.map_err(|e| AppError::Input(e.to_string()))?;
            eprintln!("{rows} row(s) written to {written_to}");
            Ok(())
        }
        Command::Close => {
            let db = Database::open(&location, 2).await?;
            let bus = CommandBus::new(db.pool.clone());
            let result = crate::closures::close_due(&bus, chrono::Utc::now()).await;
            db.close().await;
            let days = result.map_err(|e| AppError::Input(e.to_string()))?;
            match (days.first(), days.last()) {
                (Some(first), Some(last)) => println!("closed {} day(s): {first} to {last}", days.len()),
                _ => println!("nothing to close: every day that is over is closed (or waits for the register to catch up)"),
            }
            Ok(())
        }
        Command::Media {
            command: crate::cli::MediaCommand::Gc { grace_minutes },
        } => {
            let media = crate::media::Media::from_env(&cli.data_dir).map_err(AppError::Config)?;
            let db = Database::open(&location, 2).await?;
            let swept = crate::media::gc(
                &media,
                &db.pool,
                Duration::from_secs(grace_minutes.saturating_mul(60)),
            )
            .await;
            db.close().await;
            let report = swept.map_err(|e| AppError::Config(e.to_string()))?;
            for key in &report.deleted {
                println!("deleted {key}");
            }
            println!(
                "{} deleted, {} in use, {} unreferenced but younger than {grace_minutes} min (kept)",
                report.deleted.len(),
                report.kept,
                report.recent
            );
            Ok(())
        }
        Command::Staff { command } => {
            let db = Database::open(&location, 2).await?;
            let result = staff(&db, command).await;
            db.close().await;
            result
        }
        Command::SeedDemo {
            products,
            orders,
            seed,
        } => {
            let db = Database::open(&location, 8).await?;
            let result = seed_demo(&db, products, orders, seed).await;
            db.close().await;
            result
        }
        Command::Serve {
            bind,
            demo,
            reservation_minutes,
        } => {
            // Every email setting is checked before anything starts.
            let mailer = crate::email::Mailer::from_env(&cli.data_dir)
                .map_err(|e| AppError::Config(e.to_string()))?;
            let media = crate::media::Media::from_env(&cli.data_dir).map_err(AppError::Config)?;
            let db = Database::open(&location, 32).await?;
            let result = serve(&db, bind, demo, reservation_minutes, mailer, media).await;
            db.close().await;
            result
        }
    }
}

fn describe(location: &Location) {
    match location {
        Location::Url(url) => {
            tracing::info!(database = %crate::config::redact_url(url), "using DATABASE_URL")
        }
        Location::Cluster(dir) => {
            tracing::info!(cluster = %dir.display(), "using the private PostgreSQL cluster")
        }
    }
}

async fn api_key(db: &Database, command: ApiKeyCommand) -> Result<(), AppError> {
    use crate::api::keys;
    match command {
        ApiKeyCommand::Create { name } => {
            let created = keys::create(&db.pool, &name).await?;
            println!(
                "created API key `{}` ({}); it is shown once, store it now:",
                created.name, created.key_id
            );
            println!("{}", created.key);
        }
        ApiKeyCommand::Revoke { name } => {
            let id = keys::revoke(&db.pool, &name).await?;
            println!("revoked API key {id}");
        }
        ApiKeyCommand::List => {
            for key in keys::list(&db.pool).await? {
                let state = match key.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "live".to_owned(),
                };
                println!(
                    "{}  {:<24} created {}  {state}",
                    key.key_id, key.name, key.created_at
                );
            }
        }
    }
    Ok(())
}

/// A password from `COMPTOIR_PASSWORD`, or typed twice on the terminal.
fn new_password() -> Result<String, AppError> {
    if let Ok(password) = std::env::var("COMPTOIR_PASSWORD") {
        return Ok(password);
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|e| AppError::Input(format!("cannot read the password: {e}")))
    };
    let first = read("password: ")?;
    if first != read("again: ")? {
        return Err(AppError::Input("the two passwords differ".into()));
    }
    Ok(first)
}

async fn staff(db: &Database, command: StaffCommand) -> Result<(), AppError> {
    use aggregates::StaffAccountCommand as C;
    use chrono::Utc;
    let bus = CommandBus::new(db.pool.clone());
    let system = aggregates::Actor::System;
    let done = match command {
        StaffCommand::Create { email, role, name } => {
            let password = new_password()?;
            let name = name.unwrap_or_else(|| email.clone());
            let id =
                crate::auth::create_account(&bus, &email, &name, &role, password, system).await?;
            format!("created staff account {id} ({email}, {role})")
        }
        StaffCommand::Password { email } => {
            let hash = crate::auth::hash_password_async(new_password()?)
                .await
                .map_err(crate::auth::CreateStaffError::from)?;
            let command = C::ChangeStaffPassword {
                password_hash: hash,
                at: Utc::now(),
                temporary: false,
            };
            crate::auth::change_account(&bus, &email, command, system).await?;
            format!("new password set for {email}; its sessions are ended")
        }
        StaffCommand::Role { email, role } => {
            let role = crate::auth::parse_role(&role)?;
            crate::auth::change_account(&bus, &email, C::ChangeStaffRole { role }, system).await?;
            format!("{email} is now {role}")
        }
        StaffCommand::Disable { email } => {
            let command = C::DisableStaffAccount { at: Utc::now() };
            crate::auth::change_account(&bus, &email, command, system).await?;
            format!("{email} is disabled; its sessions are ended")
        }
        StaffCommand::Enable { email } => {
            crate::auth::change_account(&bus, &email, C::EnableStaffAccount, system).await?;
            format!("{email} is enabled again")
        }
        StaffCommand::List => {
            Projector::new(db.pool.clone(), consumers(&bus))
                .run_once()
                .await?;
            let rows: Vec<(uuid::Uuid, String, String, String, bool)> = sqlx::query_as(
                "select staff_id, email, display_name, role, disabled from staff_accounts
                  order by lower(email)",
            )
            .fetch_all(&db.pool)
            .await?;
            for (id, email, name, role, disabled) in rows {
                let state = if disabled { "disabled" } else { "active" };
                println!("{id}  {email:<32} {role:<10} {state:<8} {name}");
            }
            return Ok(());
        }
    };
    Projector::new(db.pool.clone(), consumers(&bus))
        .run_once()
        .await?;
    println!("{done}");
    Ok(())
}

/// With `serve --demo`: an owner to sign in with, its password printed once.
async fn demo_owner(bus: &CommandBus) -> Result<(), AppError> {
    let exists: bool = sqlx::query_scalar(
        "select exists(select 1 from unique_keys where scope = $1 and value = $2)",
    )
    .bind(aggregates::services::STAFF_EMAIL_SCOPE)
    .bind(crate::demo::DEMO_OWNER_EMAIL)
    .fetch_one(&bus.pool)
    .await?;
    if exists {
        return Ok(());
    }
    let password = crate::auth::temporary_password();
    crate::auth::create_account(
        bus,
        crate::demo::DEMO_OWNER_EMAIL,
        "Démo (propriétaire)",
        "owner",
        password.clone(),
        aggregates::Actor::System,
    )
    .await?;
    println!("demo owner: {} / {password}", crate::demo::DEMO_OWNER_EMAIL);
    println!("  (shown once; sign in at /login on the address below)");
    Ok(())
}

async fn seed_demo(db: &Database, products: u32, orders: u32, seed: u64) -> Result<(), AppError> {
    let bus = CommandBus::new(db.pool.clone());
    let summary = crate::demo::seed(
        &bus,
        crate::demo::DemoSize {
            products,
            orders,
            seed,
        },
    )
    .await
    .map_err(AppError::Demo)?;
    // Settle what the demo's orders set in motion (stock committed for pickup orders)
    // and bring every view up to date, so the store is consistent when this exits.
    Projector::new(db.pool.clone(), consumers(&bus))
        .run_once()
        .await?;
    println!("{summary}");
    Ok(())
}

async fn serve(
    db: &Database,
    bind: std::net::SocketAddr,
    demo: bool,
    reservation_minutes: u32,
    mailer: crate::email::Mailer,
    media: crate::media::Media,
) -> Result<(), AppError> {
    let bus = CommandBus::new(db.pool.clone());
    crate::process::NumberFormats::from_env().map_err(AppError::Config)?;
    let renderer = Arc::new(
        crate::invoices::pdf::Renderer::new()
            .map_err(|e| AppError::Config(format!("invoice template: {e}")))?,
    );
    if demo {
        let empty: bool = sqlx::query_scalar("select not exists(select 1 from events)")
            .fetch_one(&db.pool)
            .await?;
        if empty {
            let summary = crate::demo::seed(&bus, crate::demo::DemoSize::default())
                .await
                .map_err(AppError::Demo)?;
            println!("{summary}");
            // The demo's customers are made up: the outbox starts after their history
            // rather than writing hundreds of emails about it.
            sqlx::query(
                "insert into projection_checkpoints (name, last_tx, last_position, events_applied)
                 select 'email-outbox', transaction_id::text::bigint, position, 0
                   from events order by transaction_id desc, position desc limit 1
                 on conflict (name) do update
                    set last_tx = excluded.last_tx, last_position = excluded.last_position",
            )
            .execute(&db.pool)
            .await?;
        } else {
            tracing::info!("the store already holds events: demo data not loaded again");
        }
        demo_owner(&bus).await?;
    }
    let (changes_tx, changes_rx) = watch::channel(0u64);
    let projector = Projector::new(
        db.pool.clone(),
        consumers_publishing(&bus, media.clone(), renderer),
    )
    .with_changes(changes_tx);
    // Catch up before answering, so the first requests see current views and process
    // managers settle earlier orders before the sweeper looks at reservations.
    if let Err(error) = projector.run_once().await {
        tracing::error!(%error, "a consumer is stuck; see /health/ready");
    }
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = projector.spawn(shutdown_rx.clone());
    tasks.push(crate::email::spawn_worker(
        db.pool.clone(),
        mailer,
        shutdown_rx.clone(),
    ));
    tasks.push(tokio::spawn(sweep_reservations(
        bus.clone(),
        Duration::from_secs(30),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::closures::run(
        bus.clone(),
        Duration::from_secs(300),
        shutdown_rx.clone(),
    )));
    let shop = crate::shop::ShopProfile::default();
    shop.reload(&bus).await.map_err(AppError::Config)?;
    tasks.push(tokio::spawn(shop.clone().follow(
        bus.clone(),
        changes_rx.clone(),
        shutdown_rx.clone(),
    )));
    let key_cache = Arc::new(crate::api::cache::KeyCache::new(Duration::from_secs(300)));
    tasks.push(tokio::spawn(crate::api::cache::follow_revocations(
        db.pool.clone(),
        key_cache.clone(),
        shutdown_rx.clone(),
    )));
    let http = crate::http::HttpSettings::from_env().map_err(AppError::Config)?;
    let state = AppState {
        pool: db.pool.clone(),
        bus,
        max_lag: 1_000,
        reservation_ttl: chrono::Duration::minutes(i64::from(reservation_minutes)),
        media_base_url: media.public_base_url().to_owned(),
        limits: crate::api::limits::ApiLimits::from_env().map_err(AppError::Config)?,
        // Another process's changes reach this one's projector too; the time to live only
        // covers a second server sharing the database.
        read_cache: Arc::new(crate::api::cache::ReadCache::new(
            changes_rx,
            Duration::from_secs(2),
        )),
        shop,
        media,
        payments: crate::payments::Payments::from_env(
            std::env::var("COMPTOIR_PUBLIC_URL").ok().as_deref(),
        )
        .map_err(AppError::Config)?,
        key_cache,
        admin: crate::admin::AdminSettings::from_env(bind).map_err(AppError::Config)?,
    };
    tasks.push(tokio::spawn(forget_expired_sessions(
        db.pool.clone(),
        shutdown_rx.clone(),
    )));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| AppError::Bind {
            address: bind,
            source,
        })?;
    let address = listener.local_addr().map_err(AppError::Serve)?;
    println!("comptoir listening on http://{address}");
    tracing::info!(%address, "listening");
    let served = crate::http::serve(
        listener,
        router_with(state, &http),
        &http,
        shutdown_signal(),
    )
    .await;
    let _ = shutdown_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    tracing::info!("stopped");
    served.map_err(AppError::Serve)
}

/// Deletes expired staff sessions every ten minutes (they are refused anyway; this keeps
/// the table small).
async fn forget_expired_sessions(pool: sqlx::PgPool, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(error) =
            sqlx::query("delete from tower_sessions.session where expiry_date < now()")
                .execute(&pool)
                .await
        {
            tracing::warn!(%error, "expired sessions not deleted");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
