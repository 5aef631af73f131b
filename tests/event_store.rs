//! The event store: append-only, metadata on every event, commit-safe stream reading, and
//! bounded conflict retries.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use aggregates::category::CategoryCommand;
use aggregates::metadata::{Actor, EventMetadata};
use aggregates::stock::StockCommand;
use common::TestDb;
use comptoir::commands::CommandError;
use projections::runtime::catch_up;
use projections::views::audit::AuditTrail;
use uuid::Uuid;

async fn create_category(db: &TestDb, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    let command = CategoryCommand::CreateCategory {
        category_id: id,
        name: name.into(),
        slug: None,
        description: String::new(),
    };
    db.bus()
        .categories
        .execute(&id.to_string(), command, &EventMetadata::system())
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn the_events_table_refuses_update_delete_and_truncate() {
    let db = TestDb::new().await;
    create_category(&db, "Pneus").await;
    for statement in [
        "update events set payload = '{}'::jsonb",
        "delete from events",
        "truncate events",
    ] {
        let error = sqlx::query(statement).execute(&db.pool).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn every_event_carries_its_metadata_and_extra_columns() {
    let db = TestDb::new().await;
    let staff = Uuid::now_v7();
    let mut metadata = EventMetadata::new(Actor::Staff(staff));
    metadata.request_id = Some("req-1".into());
    metadata.client_ip = Some("127.0.0.1".into());
    metadata.user_agent = Some("test".into());
    metadata.correlation_id = Some("corr-1".into());
    metadata.causation_id = Some("cause-1".into());
    let id = Uuid::now_v7();
    let command = CategoryCommand::CreateCategory {
        category_id: id,
        name: "Batteries".into(),
        slug: None,
        description: String::new(),
    };
    db.bus()
        .categories
        .execute(&id.to_string(), command, &metadata)
        .await
        .unwrap();

    let (meta, position, has_tx, recorded): (serde_json::Value, i64, bool, bool) = sqlx::query_as(
        "select metadata, position, transaction_id is not null, recorded_at <= now() from events",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(meta["actor_kind"], "staff");
    assert_eq!(meta["actor_id"], staff.to_string());
    assert_eq!(meta["request_id"], "req-1");
    assert_eq!(meta["client_ip"], "127.0.0.1");
    assert_eq!(meta["user_agent"], "test");
    assert_eq!(meta["correlation_id"], "corr-1");
    assert_eq!(meta["causation_id"], "cause-1");
    assert!(position >= 1 && has_tx && recorded);
}

fn raw_category_event(id: Uuid, name: &str) -> serde_json::Value {
    serde_json::json!({ "CategoryCreated": { "category_id": id, "name": name, "slug": name.to_lowercase(), "description": "" } })
}

#[tokio::test]
async fn a_slow_concurrent_writer_is_never_skipped() {
    let db = TestDb::new().await;
    let insert = "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                  values ('Category', $1, 1, 'CategoryCreated', '1.0', $2, '{}'::jsonb)";
    let (slow_id, fast_id) = (Uuid::now_v7(), Uuid::now_v7());

    // The slow writer takes its position first but commits last.
    let mut slow = db.pool.begin().await.unwrap();
    sqlx::query(insert)
        .bind(slow_id.to_string())
        .bind(raw_category_event(slow_id, "Slow"))
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query(insert)
        .bind(fast_id.to_string())
        .bind(raw_category_event(fast_id, "Fast"))
        .execute(&db.pool)
        .await
        .unwrap();

    let audit = AuditTrail;
    catch_up(&db.pool, &audit).await.unwrap();
    let seen: Vec<String> =
        sqlx::query_scalar("select aggregate_id from audit_trail order by position")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert!(
        seen.is_empty(),
        "nothing may be read past a running writer, saw {seen:?}"
    );

    slow.commit().await.unwrap();
    catch_up(&db.pool, &audit).await.unwrap();
    let seen: Vec<String> =
        sqlx::query_scalar("select aggregate_id from audit_trail order by position")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(seen, vec![slow_id.to_string(), fast_id.to_string()]);
}

#[tokio::test]
async fn concurrent_commands_on_one_aggregate_are_retried_until_they_pass() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let product = Uuid::now_v7();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let bus = Arc::clone(&bus);
        tasks.push(tokio::spawn(async move {
            let command = StockCommand::ReceiveStock {
                product_id: product,
                quantity: 1,
                note: "delivery".into(),
            };
            bus.stock
                .execute(&product.to_string(), command, &EventMetadata::system())
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stock = bus.stock.load(&product.to_string()).await.unwrap();
    assert_eq!(stock.on_hand(), 12);
}

#[tokio::test]
async fn a_conflict_that_persists_is_a_typed_error_not_a_panic() {
    let db = TestDb::new().await;
    // Every write to this aggregate collides, as if someone always wrote first.
    sqlx::raw_sql(
        "create function always_conflict() returns trigger language plpgsql as $$
         begin raise exception 'simulated' using errcode = 'unique_violation'; end $$;
         create trigger always_conflict before insert on events for each row
         when (new.aggregate_type = 'Stock') execute function always_conflict();",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let product = Uuid::now_v7();
    let command = StockCommand::ReceiveStock {
        product_id: product,
        quantity: 1,
        note: String::new(),
    };
    let error = db
        .bus()
        .stock
        .execute(&product.to_string(), command, &EventMetadata::system())
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::Conflict { .. }), "{error:?}");
    assert!(error.is_conflict());
}
