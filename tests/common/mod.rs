//! A private PostgreSQL cluster per test: copied from a template made once with initdb,
//! started on a Unix socket in a temp dir, stopped and removed when the test ends.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

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
