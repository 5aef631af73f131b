//! The `replay` binary on a real store: status, rebuild, at, verify, and tampering found.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use aggregates::metadata::EventMetadata;
use aggregates::{CategoryEvent, Money, ProductEvent, Reference, Slug, StockEvent, VatRate};
use cqrs_es::DomainEvent;
use projections::db::Cluster;
use uuid::Uuid;

fn replay(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replay"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn write<E: DomainEvent>(pool: &sqlx::PgPool, kind: &str, id: Uuid, sequence: i64, event: E) {
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ($1, $2, $3, $4, '1.0', $5, $6)",
    )
    .bind(kind)
    .bind(id.to_string())
    .bind(sequence)
    .bind(event.event_type())
    .bind(serde_json::to_value(&event).unwrap())
    .bind(serde_json::to_value(EventMetadata::system().to_map()).unwrap())
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn replay_status_rebuild_at_and_verify_work_and_verify_names_a_tampered_position() {
    let dir = tempfile::Builder::new()
        .prefix("cptr")
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = projections::db::Database::open(
        &projections::db::Location::Cluster(dir.path().join("postgres")),
        4,
    )
    .await
    .unwrap();
    let pool = db.pool.clone();

    let category = Uuid::now_v7();
    write(
        &pool,
        "Category",
        category,
        1,
        CategoryEvent::CategoryCreated {
            category_id: category,
            name: "Pneus".into(),
            slug: Slug::new("pneus").unwrap(),
            description: String::new(),
        },
    )
    .await;
    let product = Uuid::now_v7();
    write(
        &pool,
        "Product",
        product,
        1,
        ProductEvent::ProductCreated {
            product_id: product,
            reference: Reference::try_from("PN-1").unwrap(),
            name: "Michelin Road 6".into(),
            slug: Slug::new("michelin-road-6").unwrap(),
            description: String::new(),
            category_id: category,
            price_ht: Money::try_from("120.00").unwrap(),
            vat_rate: VatRate::try_from("20").unwrap(),
            meta_description: String::new(),
        },
    )
    .await;
    write(&pool, "Product", product, 2, ProductEvent::ProductPublished).await;
    write(
        &pool,
        "Stock",
        product,
        1,
        StockEvent::StockReceived {
            product_id: product,
            quantity: 4,
            note: String::new(),
            on_hand: 4,
            available: 4,
        },
    )
    .await;
    let later: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("select now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    write(
        &pool,
        "Stock",
        product,
        2,
        StockEvent::StockAdjusted {
            product_id: product,
            delta: -1,
            reason: "casse".into(),
            on_hand: 3,
            available: 3,
        },
    )
    .await;

    // Bring the views and the seal chain up to date, as `serve` would.
    projections::Projector::new(pool.clone(), projections::all())
        .run_once()
        .await
        .unwrap();

    let status = replay(dir.path(), &["status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        text(&status).contains("catalog") && text(&status).contains("up to date"),
        "{}",
        text(&status)
    );

    let rebuilt = replay(dir.path(), &["rebuild", "--all"]);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt));
    assert!(text(&rebuilt).contains("events/s"), "{}", text(&rebuilt));

    let at = replay(
        dir.path(),
        &[
            "at",
            &later.to_rfc3339(),
            "stock_levels",
            "--format",
            "json",
        ],
    );
    assert!(at.status.success(), "{}", text(&at));
    assert!(
        String::from_utf8_lossy(&at.stdout).contains("\"on_hand\":4"),
        "{}",
        text(&at)
    );
    let csv = replay(
        dir.path(),
        &["at", &later.to_rfc3339(), "catalog", "--format", "csv"],
    );
    assert!(
        String::from_utf8_lossy(&csv.stdout).contains("michelin-road-6"),
        "{}",
        text(&csv)
    );

    let verify = replay(dir.path(), &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));

    let tampered: i64 =
        sqlx::query_scalar("select position from events where event_type = 'StockReceived'")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::raw_sql(
        "alter table events disable trigger events_append_only;
         update events set payload = jsonb_set(payload::jsonb, '{StockReceived,quantity}', '40')::json where event_type = 'StockReceived';
         alter table events enable trigger events_append_only;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let verify = replay(dir.path(), &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(
        text(&verify).contains(&format!("BROKEN at position {tampered}")),
        "{}",
        text(&verify)
    );

    let unknown = replay(dir.path(), &["rebuild", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("no read model named `nope`"));

    db.close().await;
    let _ = Cluster::new(dir.path().join("postgres")).unwrap().stop();
}
