//! A private PostgreSQL cluster per test: copied from a template made once with initdb,
//! started on a Unix socket in a temp dir, stopped and removed when the test ends.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use comptoir::commands::CommandBus;
use projections::db::{Cluster, MIGRATOR};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// A running private cluster with a migrated `comptoir` database.
pub struct TestDb {
    pub pool: PgPool,
    pub cluster: Cluster,
    _dir: tempfile::TempDir,
}

fn template() -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let bin = projections::db::find_binaries().expect("PostgreSQL binaries");
            let tag = bin.to_string_lossy().replace('/', "_");
            let path = std::env::temp_dir().join(format!("comptoir-pg-template{tag}"));
            if path.join("PG_VERSION").exists() && path.join("postgresql.conf").exists() {
                return path;
            }
            // Built aside then renamed, so concurrent test processes never see half of it.
            let staging =
                std::env::temp_dir().join(format!("comptoir-pg-staging-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&staging);
            let cluster = Cluster::new(staging.clone()).unwrap();
            cluster.ensure_initialised().unwrap();
            if std::fs::rename(&staging, &path).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
            path
        })
        .clone()
}

fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cpt")
        .tempdir_in("/tmp")
        .unwrap();
    // The server may run as the `postgres` user (when tests run as root): let it in.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

impl TestDb {
    /// A fresh cluster and database with the migrations applied.
    pub async fn new() -> TestDb {
        let dir = open_dir();
        let data = dir.path().join("pg");
        let status = Command::new("cp")
            .arg("-a")
            .arg(template())
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success(), "copying the cluster template failed");
        let cluster = Cluster::new(data).unwrap();
        cluster.ensure_running().unwrap();
        cluster.ensure_database("comptoir").await.unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(40)
            .connect_with(cluster.connect_options("comptoir"))
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        TestDb {
            pool,
            cluster,
            _dir: dir,
        }
    }

    /// The command side over this database.
    pub fn bus(&self) -> Arc<CommandBus> {
        CommandBus::new(self.pool.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

/// Quiet unless TEST_LOG is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

/// Creates a category and a published product with `stock` units; returns the product id.
pub async fn published_product(
    bus: &CommandBus,
    reference: &str,
    price: &str,
    stock: u32,
) -> uuid::Uuid {
    use aggregates::category::CategoryCommand;
    use aggregates::metadata::EventMetadata;
    use aggregates::product::ProductCommand;
    use aggregates::stock::StockCommand;
    use aggregates::{Money, Reference, VatRate};
    let system = EventMetadata::system();
    let category_id = uuid::Uuid::now_v7();
    let create = CategoryCommand::CreateCategory {
        category_id,
        name: format!("Catégorie {reference}"),
        slug: None,
        description: String::new(),
    };
    bus.categories
        .execute(&category_id.to_string(), create, &system)
        .await
        .unwrap();
    let product_id = uuid::Uuid::now_v7();
    let create = ProductCommand::CreateProduct {
        product_id,
        reference: Reference::try_from(reference).unwrap(),
        name: format!("Produit {reference}"),
        slug: None,
        description: "Une pièce".into(),
        category_id,
        price_ht: Money::try_from(price).unwrap(),
        vat_rate: VatRate::try_from("20").unwrap(),
        meta_description: String::new(),
    };
    let id = product_id.to_string();
    bus.products.execute(&id, create, &system).await.unwrap();
    bus.products
        .execute(&id, ProductCommand::PublishProduct, &system)
        .await
        .unwrap();
    if stock > 0 {
        let receive = StockCommand::ReceiveStock {
            product_id,
            quantity: stock,
            note: "livraison".into(),
        };
        bus.stock.execute(&id, receive, &system).await.unwrap();
    }
    product_id
}

/// A pickup order request for these items.
pub fn order_request(items: &[(uuid::Uuid, u32)]) -> comptoir::ordering::OrderRequest {
    use comptoir::ordering::{OrderRequest, RequestedItem};
    OrderRequest {
        order_id: uuid::Uuid::now_v7(),
        customer_email: aggregates::Email::try_from("client@example.fr").unwrap(),
        customer_name: "Client Test".into(),
        customer_phone: aggregates::Phone::try_from("06 12 34 56 78").unwrap(),
        pickup_location: "Atelier".into(),
        payment_method: aggregates::PaymentMethod::Pickup,
        language: aggregates::Language::Fr,
        billing: None,
        items: items
            .iter()
            .map(|(product_id, quantity)| RequestedItem {
                product_id: *product_id,
                quantity: *quantity,
            })
            .collect(),
    }
}

/// Places a pickup order for these items now, with a 30-minute reservation.
pub async fn place(
    bus: &CommandBus,
    items: &[(uuid::Uuid, u32)],
) -> Result<comptoir::ordering::PlacedOrder, comptoir::ordering::PlaceOrderError> {
    comptoir::ordering::place_order(
        bus,
        order_request(items),
        &aggregates::metadata::EventMetadata::system(),
        chrono::Utc::now(),
        chrono::Duration::minutes(30),
    )
    .await
}

/// The application's state over `db` as the tests start from: no caches, no payment
/// provider, images in an unused temp folder, default limits and admin settings. A test
/// changes what it exercises: `AppState { limits, ..common::state(&db) }`.
pub fn state(db: &TestDb) -> comptoir::http::AppState {
    comptoir::http::AppState {
        pool: db.pool.clone(),
        bus: db.bus(),
        max_lag: 1000,
        reservation_ttl: chrono::Duration::minutes(30),
        media_base_url: "/media".into(),
        limits: Default::default(),
        read_cache: Arc::new(comptoir::api::cache::ReadCache::disabled()),
        shop: comptoir::shop::ShopProfile::default(),
        payments: Default::default(),
        media: comptoir::media::Media::local(std::env::temp_dir().join("comptoir-media-unused")),
        key_cache: Arc::new(comptoir::api::cache::KeyCache::disabled()),
        admin: Default::default(),
    }
}

// ---------------------------------------------------------------- S3 server

/// A real S3-compatible server on loopback: s3s-fs (the s3s project's file-system backed
/// server, built by `scripts/s3-deps`) over a temp folder holding one empty bucket,
/// [`S3Server::BUCKET`]. Killed when dropped.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    dir: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `scripts/s3-deps` installs s3s-fs (or `COMPTOIR_S3S_FS`).
pub fn s3s_fs() -> PathBuf {
    std::env::var_os("COMPTOIR_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/comptoir-tools/s3s/bin/s3s-fs")
        })
}

impl S3Server {
    pub const BUCKET: &'static str = "comptoir-media";
    pub const ACCESS_KEY: &'static str = "comptoir-test";
    pub const SECRET_KEY: &'static str = "comptoir-test-secret-0123456789";
    pub const REGION: &'static str = "us-east-1";
    /// The public base of image URLs the tests configure: a CDN in front of the bucket.
    pub const PUBLIC_BASE_URL: &'static str = "https://cdn.shop.test";

    /// Starts s3s-fs on a free port and waits until it accepts connections.
    pub fn start() -> S3Server {
        let bin = s3s_fs();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/s3-deps first",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(Self::BUCKET)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", Self::ACCESS_KEY])
            .args(["--secret-key", Self::SECRET_KEY])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while TcpStream::connect(address).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "s3s-fs did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server {
            child,
            endpoint: format!("http://{address}"),
            dir,
        }
    }

    /// The bucket's folder: object `key` is the file `bucket_dir().join(key)`.
    pub fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join(Self::BUCKET)
    }

    /// Settings for the bucket (path style: the endpoint is an IP address).
    pub fn settings(&self) -> comptoir::media::S3Settings {
        comptoir::media::S3Settings {
            endpoint: self.endpoint.clone(),
            region: Self::REGION.into(),
            bucket: Self::BUCKET.into(),
            access_key_id: Self::ACCESS_KEY.into(),
            secret_access_key: Self::SECRET_KEY.into(),
            path_style: true,
        }
    }

    /// Images in the bucket, published under [`S3Server::PUBLIC_BASE_URL`].
    pub fn media(&self) -> comptoir::media::Media {
        let store = comptoir::media::S3Store::new(&self.settings());
        comptoir::media::Media::new(
            Arc::new(store),
            Default::default(),
            &format!("{}/", Self::PUBLIC_BASE_URL),
        )
    }

    /// The environment that points `comptoir serve` at the bucket.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("COMPTOIR_MEDIA_STORE", "s3".into()),
            ("COMPTOIR_MEDIA_BASE_URL", Self::PUBLIC_BASE_URL.into()),
            ("COMPTOIR_S3_ENDPOINT", self.endpoint.clone()),
            ("COMPTOIR_S3_REGION", Self::REGION.into()),
            ("COMPTOIR_S3_BUCKET", Self::BUCKET.into()),
            ("COMPTOIR_S3_ACCESS_KEY_ID", Self::ACCESS_KEY.into()),
            ("COMPTOIR_S3_SECRET_ACCESS_KEY", Self::SECRET_KEY.into()),
            ("COMPTOIR_S3_PATH_STYLE", "true".into()),
        ]
    }

    /// Every object's key under `prefix`, read from the bucket's folder.
    pub fn files(&self, prefix: &str) -> Vec<String> {
        fn walk(root: &Path, folder: &Path, found: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(folder) else {
                return;
            };
            for entry in entries.map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, found);
                } else {
                    let key = path.strip_prefix(root).unwrap().to_string_lossy();
                    found.push(key.replace('\\', "/"));
                }
            }
        }
        let root = self.bucket_dir();
        let mut found = Vec::new();
        walk(&root, &root, &mut found);
        found.retain(|key| key.starts_with(prefix));
        found.sort();
        found
    }
}

// ---------------------------------------------------------------- the shop binary

/// `comptoir` (the binary cargo built for these tests) with its data under `data_dir`, and
/// nothing taken from the environment that would point it elsewhere: no `DATABASE_URL`, no
/// bind address, public URL or media store, no configuration file.
pub fn comptoir_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_comptoir"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("COMPTOIR_DATA_DIR")
        .env_remove("COMPTOIR_BIND")
        .env_remove("COMPTOIR_PUBLIC_URL")
        .env_remove("COMPTOIR_MEDIA_STORE")
        .env_remove("COMPTOIR_MEDIA_DIR")
        .env_remove("COMPTOIR_MEDIA_BASE_URL")
        .env("COMPTOIR_CONFIG", "/dev/null");
    command
}

/// The last `lines` lines of a log file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A real `comptoir serve --demo` on a free loopback port, in its own temp dir (its private
/// PostgreSQL cluster included), with a storefront API key created before the first start.
/// Killed, and its cluster stopped, when dropped; [`ServedShop::stop`] stops it gracefully.
pub struct ServedShop {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// A storefront key (`ck_...`) for `X-API-Key`.
    pub api_key: String,
    /// The server's `--data-dir`.
    pub data_dir: PathBuf,
    /// Its standard error (the tracing log).
    pub log: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl ServedShop {
    /// Creates the key, starts the demo shop with `env` added to the server's environment
    /// and waits (up to 10 minutes: the first start makes the cluster and writes the demo
    /// shop) until it prints `comptoir listening on ...`.
    pub fn demo(env: &[(&str, &str)]) -> ServedShop {
        use std::io::{BufRead, BufReader};
        let dir = open_dir();
        let data_dir = dir.path().join("data");
        let created = comptoir_command(&data_dir)
            .args(["api-key", "create", "--name", "tests"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&created.stdout);
        assert!(
            created.status.success(),
            "api-key create failed ({}):\n{stdout}\n{}",
            created.status,
            String::from_utf8_lossy(&created.stderr)
        );
        // The key is printed alone on the last line.
        let api_key = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        assert!(api_key.starts_with("ck_"), "no key printed:\n{stdout}");

        let log = dir.path().join("serve.log");
        let mut child = comptoir_command(&data_dir)
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut shop = ServedShop {
            base_url: String::new(),
            api_key,
            data_dir,
            log,
            child: Some(child),
            _dir: dir,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("comptoir listening on ") {
                    let _ = tx.send(address.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(address) => shop.base_url = address,
            Err(_) => panic!(
                "serve --demo never printed `comptoir listening on ...`; its log ends with:\n{}",
                log_tail(&shop.log, 40)
            ),
        }
        shop
    }

    /// SIGTERM, then waits (60 s at most) for a clean exit, which stops the cluster too.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "serve exited with {status}; its log ends with:\n{}",
                    log_tail(&self.log, 30)
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ServedShop {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(cluster) = Cluster::new(self.data_dir.join("postgres")) {
            if cluster.is_running() {
                let _ = cluster.stop();
            }
        }
    }
}
