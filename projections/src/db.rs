//! Finding the database: `DATABASE_URL` when it is set, otherwise a private PostgreSQL
//! cluster under the data directory, created with the local `initdb` on first use and
//! reached over a Unix socket only (no TCP port is opened).
//!
//! Every command of `comptoir` and `replay` goes through [`Database::open`], so they all
//! find the same store the same way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The migrations of the whole workspace, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

const DATABASE_NAME: &str = "comptoir";
const SUPERUSER: &str = "comptoir";

/// What went wrong while finding, starting or connecting to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("PostgreSQL server binaries not found: install the `postgresql` package, or put `initdb` and `pg_ctl` on PATH (looked on PATH and under /usr/lib/postgresql/*/bin)")]
    BinariesNotFound,
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the data directory path {0} is too long for a Unix socket (108 bytes): use a shorter --data-dir")]
    SocketPathTooLong(PathBuf),
    #[error("running as root, the PostgreSQL server runs as the `postgres` user, which cannot write to {0}: choose a --data-dir it can reach (e.g. under /var/lib or /tmp), or run as a regular user")]
    NotReachableByServerUser(PathBuf),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Where the store lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// An external server (`DATABASE_URL`).
    Url(String),
    /// A private cluster in this directory (`<data dir>/postgres`).
    Cluster(PathBuf),
}

impl Location {
    /// `DATABASE_URL` if set and non-empty, else the private cluster under `data_dir`.
    pub fn from_env(data_dir: &Path) -> Self {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Location::Url(url),
            _ => Location::Cluster(data_dir.join("postgres")),
        }
    }
}

/// An open store: a pool and, for the private cluster, the knowledge of whether this
/// process started it (and so must stop it).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    cluster: Option<Cluster>,
    started_here: bool,
}

impl Database {
    /// Finds (and if needed starts) the database, creates it, runs the migrations.
    pub async fn open(location: &Location, max_connections: u32) -> Result<Self, DbError> {
        let (pool, cluster, started_here) = match location {
            Location::Url(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                (pool, None, false)
            }
            Location::Cluster(dir) => {
                let cluster = Cluster::new(dir.clone())?;
                let started_here = cluster.ensure_running()?;
                cluster.ensure_database(DATABASE_NAME).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(cluster.connect_options(DATABASE_NAME))
                    .await?;
                (pool, Some(cluster), started_here)
            }
        };
        MIGRATOR.run(&pool).await?;
        Ok(Database {
            pool,
            cluster,
            started_here,
        })
    }

    /// A store reached through an existing pool (tests, embedding).
    pub fn from_pool(pool: PgPool) -> Self {
        Database {
            pool,
            cluster: None,
            started_here: false,
        }
    }

    /// Closes the pool and stops the private cluster if this process started it and no
    /// other client (a running `serve`, say) still uses it.
    pub async fn close(self) {
        let mut shared = true;
        if self.cluster.is_some() && self.started_here {
            // A client that just disconnected stays listed until its backend exits: give
            // such stragglers a moment before concluding someone else still uses the cluster.
            for _ in 0..20 {
                shared = other_clients(&self.pool).await.unwrap_or(1) > 0;
                if !shared {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if shared {
                let who: Option<String> = sqlx::query_scalar(
                    "select string_agg(application_name || ' pid ' || pid || ' ' || coalesce(datname, '') || ' ' || coalesce(state, ''), ', ')
                     from pg_stat_activity where backend_type = 'client backend' and application_name <> $1",
                )
                .bind(std::process::id().to_string())
                .fetch_one(&self.pool)
                .await
                .unwrap_or_default();
                tracing::info!(clients = ?who, "another client still uses the private cluster: leaving it running");
            }
        }
        self.pool.close().await;
        if let (Some(cluster), false) = (self.cluster, shared) {
            if let Err(error) = cluster.stop() {
                tracing::warn!(%error, "could not stop the private PostgreSQL cluster");
            }
        }
    }
}

/// Client connections that are not this process's own (each process names its
/// connections after its pid).
async fn other_clients(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where backend_type = 'client backend' and application_name <> $1",
    )
    .bind(std::process::id().to_string())
    .fetch_one(pool)
    .await
}

/// A private PostgreSQL cluster in a directory, listening only on a Unix socket in that
/// same directory.
#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
}

impl Cluster {
    /// A cluster handle for `dir` (nothing is created yet).
    pub fn new(dir: PathBuf) -> Result<Self, DbError> {
        let dir = absolute(&dir)?;
        // The socket file is `<dir>/.s.PGSQL.5432`; sun_path holds 108 bytes.
        if dir.as_os_str().len() + "/.s.PGSQL.5432".len() >= 108 {
            return Err(DbError::SocketPathTooLong(dir));
        }
        Ok(Cluster {
            dir,
            bin: find_binaries()?,
        })
    }

    /// The cluster directory (also the socket directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory holding `initdb`, `pg_ctl`, `postgres` (and `pgbench` when installed).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Connection options for `database` over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.dir)
            .username(SUPERUSER)
            .database(database)
            .application_name(&std::process::id().to_string())
    }

    /// Runs initdb when the directory holds no cluster yet.
    pub fn ensure_initialised(&self) -> Result<(), DbError> {
        if self.dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| DbError::Io {
            path: self.dir.clone(),
            source,
        })?;
        self.hand_to_server_user()?;
        let mut initdb = self.server_command("initdb");
        initdb.arg("--pgdata").arg(&self.dir).args([
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        ]);
        run(initdb)?;
        // Only the socket: no TCP port, so two clusters never fight over 5432.
        let conf = "\n# comptoir: private cluster, Unix socket only\nlisten_addresses = ''\nunix_socket_directories = '.'\nmax_connections = 200\nshared_buffers = 128MB\nfsync = on\n";
        let path = self.dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).map_err(|source| DbError::Io {
            path: path.clone(),
            source,
        })?;
        text.push_str(conf);
        std::fs::write(&path, text).map_err(|source| DbError::Io { path, source })?;
        Ok(())
    }

    /// Starts the cluster unless it is already running. Returns whether it was started here.
    pub fn ensure_running(&self) -> Result<bool, DbError> {
        self.ensure_initialised()?;
        if self.is_running() {
            return Ok(false);
        }
        let mut start = self.server_command("pg_ctl");
        start
            .arg("start")
            .arg("--pgdata")
            .arg(&self.dir)
            .arg("--wait")
            .args(["--timeout", "60"])
            .arg("--log")
            .arg(self.dir.join("server.log"))
            .arg("-o")
            .arg(format!("-k {}", self.dir.display()));
        match run(start) {
            Ok(()) => Ok(true),
            // Another process may have started it between our check and our start.
            Err(_) if self.is_running() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Whether a postmaster serves this directory.
    pub fn is_running(&self) -> bool {
        let mut status = self.server_command("pg_ctl");
        status.arg("status").arg("--pgdata").arg(&self.dir);
        status.output().map(|o| o.status.success()).unwrap_or(false)
    }

    /// Stops the cluster (fast mode: clients are disconnected, transactions rolled back).
    pub fn stop(&self) -> Result<(), DbError> {
        if !self.is_running() {
            return Ok(());
        }
        let mut stop = self.server_command("pg_ctl");
        stop.arg("stop").arg("--pgdata").arg(&self.dir).args([
            "--mode",
            "fast",
            "--wait",
            "--timeout",
            "60",
        ]);
        run(stop)
    }

    /// Creates `database` when it does not exist.
    pub async fn ensure_database(&self, database: &str) -> Result<(), DbError> {
        use sqlx::ConnectOptions;
        let mut conn = self.connect_options("postgres").connect().await?;
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            let sql = format!("create database \"{}\"", database.replace('"', "\"\""));
            if let Err(error) = sqlx::query(&sql).execute(&mut conn).await {
                // Lost a race with another process creating it: fine.
                let duplicate = error
                    .as_database_error()
                    .and_then(|e| e.code())
                    .is_some_and(|c| c == "42P04");
                if !duplicate {
                    return Err(error.into());
                }
            }
        }
        Ok(())
    }

    /// PostgreSQL refuses to run as root; when we are root the server runs as the
    /// `postgres` system user (created by Debian's package), which must own the directory.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn hand_to_server_user(&self) -> Result<(), DbError> {
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&self.dir);
            run(chown)?;
            // A parent directory closed to others (root's home, say) would only show up
            // later as an obscure initdb failure.
            let mut probe = Command::new("runuser");
            probe
                .args(["-u", "postgres", "--", "test", "-w"])
                .arg(&self.dir);
            if !probe.status().is_ok_and(|s| s.success()) {
                return Err(DbError::NotReachableByServerUser(self.dir.clone()));
            }
        }
        Ok(())
    }
}

fn absolute(path: &Path) -> Result<PathBuf, DbError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|source| DbError::Io {
            path: path.to_path_buf(),
            source,
        })
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `initdb`/`pg_ctl` on PATH, else the newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_binaries() -> Result<PathBuf, DbError> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // Resolve symlinks so pgbench and friends are found beside the real binaries.
                let real = dir
                    .join("initdb")
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf));
                return Ok(real.unwrap_or(dir));
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| DbError::BinariesNotFound)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(DbError::BinariesNotFound)
}

fn run(mut command: Command) -> Result<(), DbError> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| DbError::Command {
        command: shown.clone(),
        output: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(DbError::Command {
            command: shown,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}
