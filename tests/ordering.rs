//! Placing orders across aggregates: all or nothing, and never more than the stock.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{place, published_product, TestDb};
use comptoir::ordering::PlaceOrderError;
use projections::Projector;

#[tokio::test]
async fn fifty_buyers_for_the_last_seven_units_buy_exactly_seven() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let product = published_product(&bus, "PN-7", "89.90", 7).await;

    let mut buyers = Vec::new();
    for _ in 0..50 {
        let bus = Arc::clone(&bus);
        buyers.push(tokio::spawn(
            async move { place(&bus, &[(product, 1)]).await },
        ));
    }
    let mut sold = 0;
    for buyer in buyers {
        match buyer.await.unwrap() {
            Ok(_) => sold += 1,
            Err(PlaceOrderError::InsufficientStock {
                line: 0,
                available: 0,
                ..
            }) => {}
            Err(error) if error.is_conflict() => {}
            Err(error) => panic!("unexpected refusal: {error}"),
        }
    }
    assert_eq!(sold, 7);

    // The stock keeper commits the pickup orders' reservations: seven sold, none left.
    Projector::new(db.pool.clone(), comptoir::app::consumers(&bus))
        .run_once()
        .await
        .unwrap();
    let stock = bus.stock.load(&product.to_string()).await.unwrap();
    assert_eq!((stock.on_hand(), stock.available()), (0, 0));
    let negative: i64 = sqlx::query_scalar(
        "select count(*) from events, jsonb_each(payload::jsonb) e
         where aggregate_type = 'Stock' and ((e.value->>'on_hand')::bigint < 0 or (e.value->>'available')::bigint < 0)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(negative, 0, "stock went below zero in some event");
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(orders, 7);
}

#[tokio::test]
async fn a_refused_line_releases_what_was_reserved_and_names_the_line() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let plenty = published_product(&bus, "BAT-1", "45.00", 10).await;
    let scarce = published_product(&bus, "BAT-2", "60.00", 1).await;

    let error = place(&bus, &[(plenty, 3), (scarce, 2)]).await.unwrap_err();
    assert!(
        matches!(
            error,
            PlaceOrderError::InsufficientStock {
                line: 1,
                requested: 2,
                available: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("items[1]"), "{error}");
    let first = bus.stock.load(&plenty.to_string()).await.unwrap();
    assert_eq!(
        first.available(),
        10,
        "the first line's reservation must be released"
    );
    let orders: i64 =
        sqlx::query_scalar("select count(*) from events where aggregate_type = 'Order'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn an_order_snapshots_lines_and_totals_with_vat_per_rate() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let tyre = published_product(&bus, "PN-1", "89.99", 5).await;
    let oil = published_product(&bus, "ENT-1", "10.05", 5).await;
    let placed = place(&bus, &[(tyre, 2), (oil, 3)]).await.unwrap();
    // 2 x 89.99 + 3 x 10.05 = 179.98 + 30.15 = 210.13 HT; VAT 20 % on the sum = 42.026 -> 42.03.
    assert_eq!(placed.totals.total_ht.to_string(), "210.13");
    assert_eq!(placed.totals.total_vat.to_string(), "42.03");
    assert_eq!(placed.totals.total_ttc.to_string(), "252.16");
    assert!(placed.order_number.starts_with("C-"));
}

#[tokio::test]
async fn unpublished_or_unknown_products_cannot_be_ordered() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let unknown = uuid::Uuid::now_v7();
    let error = place(&bus, &[(unknown, 1)]).await.unwrap_err();
    assert!(
        matches!(error, PlaceOrderError::UnknownProduct { line: 0, .. }),
        "{error:?}"
    );
    let error = place(&bus, &[]).await.unwrap_err();
    assert!(matches!(error, PlaceOrderError::NoItems));
}
