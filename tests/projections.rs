//! Projections: rebuilds equal live views, failures stop at their event, the seal chain
//! catches tampering, and `replay at` shows the past.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use aggregates::metadata::EventMetadata;
use aggregates::product::ProductCommand;
use aggregates::Money;
use async_trait::async_trait;
use common::{published_product, TestDb};
use projections::db::Database;
use projections::rebuild::compare_with_fresh;
use projections::runtime::{catch_up, checkpoints, wait_for, Projection, ProjectionError};
use projections::stream::{self, Envelope};
use projections::Projector;
use sqlx::PgConnection;

async fn demo(db: &TestDb) -> Arc<comptoir::commands::CommandBus> {
    let bus = db.bus();
    let size = comptoir::demo::DemoSize {
        products: 30,
        orders: 40,
        seed: 7,
    };
    comptoir::demo::seed(&bus, size).await.unwrap();
    Projector::new(db.pool.clone(), comptoir::app::consumers(&bus))
        .run_once()
        .await
        .unwrap();
    bus
}

#[tokio::test]
async fn a_rebuild_equals_the_live_read_models() {
    let db = TestDb::new().await;
    demo(&db).await;
    for projection in projections::read_models() {
        let differences = compare_with_fresh(&db.pool, projection.clone())
            .await
            .unwrap();
        assert!(
            differences.iter().all(|(_, n)| *n == 0),
            "{}: {differences:?}",
            projection.name()
        );
    }
    let before: Vec<(String, i64)> = sqlx::query_as(
        "select order_number, total_ttc::text::numeric::bigint from orders order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let report = projections::rebuild::rebuild(&db.pool, &projections::read_models(), &|_| {})
        .await
        .unwrap();
    assert!(report.events > 100);
    let after: Vec<(String, i64)> = sqlx::query_as(
        "select order_number, total_ttc::text::numeric::bigint from orders order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(before, after);
    // Index names survive the swap (later migrations may name them).
    let index: i64 = sqlx::query_scalar(
        "select count(*) from pg_indexes where indexname = 'catalog_products_category'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(index, 1);
    let session = replay::Session::with_database(Database::from_pool(db.pool.clone()));
    assert!(session.verify().await.unwrap(), "verify after a rebuild");
}

#[tokio::test]
async fn tampering_with_an_event_breaks_the_seal_chain_at_its_position() {
    let db = TestDb::new().await;
    demo(&db).await;
    let session = replay::Session::with_database(Database::from_pool(db.pool.clone()));
    assert!(session.verify().await.unwrap());
    let target: i64 = sqlx::query_scalar("select position from events where event_type = 'ProductPriceChanged' or event_type = 'StockReceived' order by position limit 1 offset 3")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "alter table events disable trigger events_append_only;
         update events set payload = jsonb_set(payload::jsonb, '{{StockReceived,quantity}}', '999')::json where position = {target};
         alter table events enable trigger events_append_only;"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let report = projections::seal::verify_chain(&db.pool, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.broken_at.map(|(p, _)| p), Some(target));
    assert!(!session.verify().await.unwrap());
}

/// Fails on one position, as a projection with a bug would.
struct FailsAt(i64);

#[async_trait]
impl Projection for FailsAt {
    fn name(&self) -> &'static str {
        "fails_at"
    }
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }
    async fn apply(
        &self,
        _: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        match events.iter().find(|e| e.raw.position == self.0) {
            Some(e) => Err(ProjectionError::Event {
                position: e.raw.position,
                message: "boom".into(),
            }),
            None => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_failing_event_stops_its_projection_at_that_position_and_the_rest_go_on() {
    let db = TestDb::new().await;
    let bus = db.bus();
    published_product(&bus, "PN-9", "50.00", 3).await;
    let failing: Arc<dyn Projection> = Arc::new(FailsAt(3));
    let (position, error) = catch_up(&db.pool, failing.as_ref()).await.unwrap_err();
    assert_eq!(position, Some(3));
    assert!(error.to_string().contains("boom"));
    let stopped_at: i64 = sqlx::query_scalar(
        "select last_position from projection_checkpoints where name = 'fails_at'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(stopped_at, 2, "the events before the failure are kept");

    // Run live: the failure is recorded where /health/ready and `replay status` read it,
    // and the healthy projections still follow the stream.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut all = projections::all();
    all.push(failing);
    let tasks = Projector::new(db.pool.clone(), all)
        .retry_after(Duration::from_millis(200))
        .spawn(shutdown);
    let mut conn = db.pool.acquire().await.unwrap();
    let head = stream::head(&mut conn).await.unwrap();
    assert!(wait_for(
        &db.pool,
        &["catalog", "audit_trail"],
        head,
        Duration::from_secs(10)
    )
    .await
    .unwrap());
    let mut recorded = None;
    for _ in 0..100 {
        let checkpoint = checkpoints(&db.pool)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == "fails_at")
            .unwrap();
        if checkpoint.failed_position.is_some() {
            recorded = Some(checkpoint);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = recorded.expect("the failure is recorded");
    assert_eq!(recorded.failed_position, Some(3));
    assert!(recorded.failed_error.unwrap().contains("boom"));
    let _ = stop.send(true);
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn replay_at_shows_a_view_as_it_was() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let product = published_product(&bus, "PN-5", "100.00", 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let between: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("select now()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let change = ProductCommand::ChangeProductPrice {
        price_ht: Money::try_from("80.00").unwrap(),
    };
    bus.products
        .execute(&product.to_string(), change, &EventMetadata::system())
        .await
        .unwrap();

    let session = replay::Session::with_database(Database::from_pool(db.pool.clone()));
    session
        .at(
            &between.to_rfc3339(),
            "admin_products",
            Some("at_test"),
            None,
        )
        .await
        .unwrap();
    let then: String = sqlx::query_scalar("select price_ht::text from at_test.admin_products")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(then, "100.00");
    Projector::new(db.pool.clone(), projections::read_models())
        .run_once()
        .await
        .unwrap();
    let now: String = sqlx::query_scalar("select price_ht::text from admin_products")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(now, "80.00");
}
