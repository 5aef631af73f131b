#![allow(clippy::unwrap_used)]

use cqrs_es::test::TestFramework;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::test_support::{assert_events_are_named_and_round_trip, at, execute};

type StockTest = TestFramework<Stock>;

fn product() -> Uuid {
    Uuid::from_u128(1)
}

fn order(n: u128) -> Uuid {
    Uuid::from_u128(100 + n)
}

fn received(quantity: u32, on_hand: i64) -> StockEvent {
    StockEvent::StockReceived {
        product_id: product(),
        quantity,
        note: "delivery".to_owned(),
        on_hand,
        available: on_hand,
    }
}

fn reserved(n: u128, quantity: u32, on_hand: i64, available: i64) -> StockEvent {
    StockEvent::StockReserved {
        product_id: product(),
        order_id: order(n),
        quantity,
        expires_at: at(10, n as u32),
        on_hand,
        available,
    }
}

fn committed(n: u128, quantity: u32, on_hand: i64, available: i64) -> StockEvent {
    StockEvent::ReservationCommitted {
        product_id: product(),
        order_id: order(n),
        quantity,
        on_hand,
        available,
    }
}

fn reserve(n: u128, quantity: u32) -> StockCommand {
    StockCommand::ReserveStock {
        product_id: product(),
        order_id: order(n),
        quantity,
        expires_at: at(10, n as u32),
    }
}

#[tokio::test]
async fn receiving_stock_creates_the_stream() {
    StockTest::with(())
        .given_no_previous_events()
        .when_async(StockCommand::ReceiveStock {
            product_id: product(),
            quantity: 5,
            note: " delivery ".to_owned(),
        })
        .await
        .then_expect_events(vec![received(5, 5)]);
}

#[tokio::test]
async fn receiving_adds_to_what_is_on_hand() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::ReceiveStock {
            product_id: product(),
            quantity: 4,
            note: "delivery".to_owned(),
        })
        .await
        .then_expect_events(vec![StockEvent::StockReceived {
            product_id: product(),
            quantity: 4,
            note: "delivery".to_owned(),
            on_hand: 9,
            available: 7,
        }]);
}

#[tokio::test]
async fn receiving_nothing_is_refused() {
    StockTest::with(())
        .given_no_previous_events()
        .when_async(StockCommand::ReceiveStock {
            product_id: product(),
            quantity: 0,
            note: String::new(),
        })
        .await
        .then_expect_error(StockError::QuantityNotPositive);
}

#[tokio::test]
async fn a_command_for_another_product_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::ReceiveStock {
            product_id: Uuid::from_u128(2),
            quantity: 1,
            note: String::new(),
        })
        .await
        .then_expect_error(StockError::ProductMismatch {
            expected: product(),
            given: Uuid::from_u128(2),
        });
}

#[tokio::test]
async fn adjusting_stock_records_the_reason_and_new_figures() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::AdjustStock {
            product_id: product(),
            delta: -3,
            reason: "broken in storage".to_owned(),
        })
        .await
        .then_expect_events(vec![StockEvent::StockAdjusted {
            product_id: product(),
            delta: -3,
            reason: "broken in storage".to_owned(),
            on_hand: 2,
            available: 0,
        }]);
}

#[tokio::test]
async fn an_inventory_count_adjusts_by_the_difference_with_the_current_count() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::CountStock {
            product_id: product(),
            counted: 3,
            reason: "inventory".to_owned(),
        })
        .await
        .then_expect_events(vec![StockEvent::StockAdjusted {
            product_id: product(),
            delta: -2,
            reason: "inventory".to_owned(),
            on_hand: 3,
            available: 1,
        }]);
}

#[tokio::test]
async fn counting_what_is_there_records_nothing_and_counting_below_reservations_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::CountStock {
            product_id: product(),
            counted: 5,
            reason: "inventory".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::CountStock {
            product_id: product(),
            counted: 1,
            reason: "inventory".to_owned(),
        })
        .await
        .then_expect_error(StockError::InsufficientStock {
            requested: 4,
            available: 3,
        });
}

#[tokio::test]
async fn adjusting_below_what_is_reserved_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::AdjustStock {
            product_id: product(),
            delta: -4,
            reason: "inventory".to_owned(),
        })
        .await
        .then_expect_error(StockError::InsufficientStock {
            requested: 4,
            available: 3,
        });
}

#[tokio::test]
async fn adjusting_by_zero_or_without_a_reason_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::AdjustStock {
            product_id: product(),
            delta: 0,
            reason: "inventory".to_owned(),
        })
        .await
        .then_expect_error(StockError::ZeroAdjustment);
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::AdjustStock {
            product_id: product(),
            delta: 1,
            reason: "  ".to_owned(),
        })
        .await
        .then_expect_error(StockError::ReasonRequired);
}

#[tokio::test]
async fn an_adjustment_out_of_range_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::AdjustStock {
            product_id: product(),
            delta: i64::MAX,
            reason: "typo".to_owned(),
        })
        .await
        .then_expect_error(StockError::QuantityOutOfRange);
}

#[tokio::test]
async fn reserving_within_what_is_available_is_recorded() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(reserve(1, 2))
        .await
        .then_expect_events(vec![reserved(1, 2, 5, 3)]);
}

#[tokio::test]
async fn reserving_more_than_available_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 4, 5, 1)])
        .when_async(reserve(2, 2))
        .await
        .then_expect_error(StockError::InsufficientStock {
            requested: 2,
            available: 1,
        });
}

#[tokio::test]
async fn reserving_on_a_new_stream_finds_nothing_available() {
    StockTest::with(())
        .given_no_previous_events()
        .when_async(reserve(1, 1))
        .await
        .then_expect_error(StockError::InsufficientStock {
            requested: 1,
            available: 0,
        });
}

#[tokio::test]
async fn reserving_nothing_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(reserve(1, 0))
        .await
        .then_expect_error(StockError::QuantityNotPositive);
}

#[tokio::test]
async fn reserving_again_for_the_same_order_and_quantity_records_nothing() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(reserve(1, 2))
        .await
        .then_expect_events(vec![]);
    StockTest::with(())
        .given(vec![
            received(5, 5),
            reserved(1, 2, 5, 3),
            committed(1, 2, 3, 3),
        ])
        .when_async(reserve(1, 2))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn reserving_again_for_the_same_order_with_another_quantity_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(reserve(1, 3))
        .await
        .then_expect_error(StockError::ReservationConflict {
            order_id: order(1),
            existing: 2,
            requested: 3,
        });
}

#[tokio::test]
async fn releasing_a_reservation_gives_its_units_back() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::Cancelled,
        })
        .await
        .then_expect_events(vec![StockEvent::ReservationReleased {
            product_id: product(),
            order_id: order(1),
            quantity: 2,
            reason: ReleaseReason::Cancelled,
            on_hand: 5,
            available: 5,
        }]);
}

#[tokio::test]
async fn releasing_an_absent_reservation_records_nothing() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::PaymentFailed,
        })
        .await
        .then_expect_events(vec![]);
    StockTest::with(())
        .given_no_previous_events()
        .when_async(StockCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::PlacementFailed,
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn committing_a_reservation_takes_its_units_off_hand() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::CommitReservation { order_id: order(1) })
        .await
        .then_expect_events(vec![committed(1, 2, 3, 3)]);
}

#[tokio::test]
async fn committing_again_records_nothing() {
    StockTest::with(())
        .given(vec![
            received(5, 5),
            reserved(1, 2, 5, 3),
            committed(1, 2, 3, 3),
        ])
        .when_async(StockCommand::CommitReservation { order_id: order(1) })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn committing_an_order_that_never_reserved_is_refused() {
    StockTest::with(())
        .given(vec![received(5, 5)])
        .when_async(StockCommand::CommitReservation { order_id: order(1) })
        .await
        .then_expect_error(StockError::ReservationNotFound(order(1)));
}

#[tokio::test]
async fn expired_reservations_are_released_one_by_one() {
    StockTest::with(())
        .given(vec![
            received(10, 10),
            reserved(1, 2, 10, 8),
            reserved(2, 3, 10, 5),
            reserved(3, 1, 10, 4),
        ])
        .when_async(StockCommand::ReleaseExpiredReservations { now: at(10, 2) })
        .await
        .then_expect_events(vec![
            StockEvent::ReservationReleased {
                product_id: product(),
                order_id: order(1),
                quantity: 2,
                reason: ReleaseReason::Expired,
                on_hand: 10,
                available: 6,
            },
            StockEvent::ReservationReleased {
                product_id: product(),
                order_id: order(2),
                quantity: 3,
                reason: ReleaseReason::Expired,
                on_hand: 10,
                available: 9,
            },
        ]);
}

#[tokio::test]
async fn nothing_expired_records_nothing() {
    StockTest::with(())
        .given(vec![received(10, 10), reserved(5, 2, 10, 8)])
        .when_async(StockCommand::ReleaseExpiredReservations { now: at(10, 4) })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn returning_a_committed_order_puts_its_units_back_once() {
    let history = vec![received(5, 5), reserved(1, 2, 5, 3), committed(1, 2, 3, 3)];
    let returned = StockEvent::StockReturned {
        product_id: product(),
        order_id: order(1),
        quantity: 2,
        on_hand: 5,
        available: 5,
    };
    StockTest::with(())
        .given(history.clone())
        .when_async(StockCommand::ReturnStock { order_id: order(1) })
        .await
        .then_expect_events(vec![returned.clone()]);
    let mut twice = history;
    twice.push(returned);
    StockTest::with(())
        .given(twice)
        .when_async(StockCommand::ReturnStock { order_id: order(1) })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn returning_an_order_that_was_not_committed_records_nothing() {
    StockTest::with(())
        .given(vec![received(5, 5), reserved(1, 2, 5, 3)])
        .when_async(StockCommand::ReturnStock { order_id: order(1) })
        .await
        .then_expect_events(vec![]);
}

#[test]
fn status_is_derived_from_what_is_available() {
    assert_eq!(StockStatus::of(0), StockStatus::OutOfStock);
    assert_eq!(StockStatus::of(1), StockStatus::Available);
    let mut stock = Stock::default();
    assert_eq!(stock.status(), StockStatus::OutOfStock);
    cqrs_es::Aggregate::apply(&mut stock, received(2, 2));
    cqrs_es::Aggregate::apply(&mut stock, reserved(1, 2, 2, 0));
    assert_eq!(stock.on_hand(), 2);
    assert_eq!(stock.available(), 0);
    assert_eq!(stock.status(), StockStatus::OutOfStock);
    assert_eq!(
        serde_json::to_value(StockStatus::OutOfStock).unwrap(),
        "out_of_stock"
    );
}

#[test]
fn events_are_named_after_their_variant() {
    assert_events_are_named_and_round_trip(&[
        received(1, 1),
        StockEvent::StockAdjusted {
            product_id: product(),
            delta: -1,
            reason: "r".into(),
            on_hand: 0,
            available: 0,
        },
        reserved(1, 1, 1, 0),
        StockEvent::ReservationReleased {
            product_id: product(),
            order_id: order(1),
            quantity: 1,
            reason: ReleaseReason::PlacementFailed,
            on_hand: 1,
            available: 1,
        },
        committed(1, 1, 0, 0),
        StockEvent::StockReturned {
            product_id: product(),
            order_id: order(1),
            quantity: 1,
            on_hand: 1,
            available: 1,
        },
    ]);
}

fn any_command() -> impl Strategy<Value = StockCommand> {
    let order_id = (0u128..4).prop_map(order);
    prop_oneof![
        (0u32..20).prop_map(|quantity| StockCommand::ReceiveStock {
            product_id: product(),
            quantity,
            note: String::new(),
        }),
        (-20i64..20).prop_map(|delta| StockCommand::AdjustStock {
            product_id: product(),
            delta,
            reason: "inventory".to_owned(),
        }),
        (order_id.clone(), 0u32..10, 0u32..24).prop_map(|(order_id, quantity, hour)| {
            StockCommand::ReserveStock {
                product_id: product(),
                order_id,
                quantity,
                expires_at: at(10, hour),
            }
        }),
        order_id
            .clone()
            .prop_map(|order_id| StockCommand::ReleaseReservation {
                order_id,
                reason: ReleaseReason::Cancelled,
            }),
        order_id
            .clone()
            .prop_map(|order_id| StockCommand::CommitReservation { order_id }),
        (0u32..24).prop_map(|hour| StockCommand::ReleaseExpiredReservations { now: at(10, hour) }),
        order_id.prop_map(|order_id| StockCommand::ReturnStock { order_id }),
    ]
}

proptest! {
    #[test]
    fn random_commands_never_make_stock_negative(commands in prop::collection::vec(any_command(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut stock = Stock::default();
            let mut replayed = Stock::default();
            for command in commands {
                let Ok(events) = execute(&mut stock, command, &()).await else {
                    continue;
                };
                for event in events {
                    prop_assert!(event.on_hand() >= 0);
                    prop_assert!(event.available() >= 0);
                    cqrs_es::Aggregate::apply(&mut replayed, event.clone());
                    prop_assert_eq!(event.on_hand(), replayed.on_hand());
                    prop_assert_eq!(event.available(), replayed.available());
                }
                prop_assert!(stock.on_hand() >= 0);
                prop_assert!(stock.available() >= 0);
                prop_assert_eq!(stock.available(), stock.on_hand() - stock.reserved());
                prop_assert_eq!(&stock, &replayed);
            }
            Ok(())
        })?;
    }
}
