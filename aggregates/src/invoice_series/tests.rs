#![allow(clippy::unwrap_used)]

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::test_support::assert_events_are_named_and_round_trip;

type SeriesTest = TestFramework<InvoiceSeries>;

fn order(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn assign(n: u128) -> InvoiceSeriesCommand {
    InvoiceSeriesCommand::AssignInvoiceNumber {
        prefix: "FA".to_owned(),
        year: 2026,
        order_id: order(n),
    }
}

fn assigned(number: u64, n: u128) -> InvoiceSeriesEvent {
    InvoiceSeriesEvent::InvoiceNumberAssigned {
        number,
        formatted: format!("FA-2026-{number:06}"),
        order_id: order(n),
    }
}

#[tokio::test]
async fn the_first_number_is_one() {
    SeriesTest::with(())
        .given_no_previous_events()
        .when_async(assign(1))
        .await
        .then_expect_events(vec![InvoiceSeriesEvent::InvoiceNumberAssigned {
            number: 1,
            formatted: "FA-2026-000001".to_owned(),
            order_id: order(1),
        }]);
}

#[tokio::test]
async fn numbers_increase_by_exactly_one() {
    SeriesTest::with(())
        .given(vec![assigned(1, 1), assigned(2, 2)])
        .when_async(assign(3))
        .await
        .then_expect_events(vec![assigned(3, 3)]);
}

#[tokio::test]
async fn the_same_order_again_records_nothing() {
    SeriesTest::with(())
        .given(vec![assigned(1, 1), assigned(2, 2)])
        .when_async(assign(1))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_malformed_prefix_or_year_is_refused() {
    for prefix in ["", "fa", "FA-X", "ABCDEFGHIJK"] {
        SeriesTest::with(())
            .given_no_previous_events()
            .when_async(InvoiceSeriesCommand::AssignInvoiceNumber {
                prefix: prefix.to_owned(),
                year: 2026,
                order_id: order(1),
            })
            .await
            .then_expect_error(InvoiceSeriesError::InvalidPrefix(prefix.to_owned()));
    }
    SeriesTest::with(())
        .given_no_previous_events()
        .when_async(InvoiceSeriesCommand::AssignInvoiceNumber {
            prefix: "FA".to_owned(),
            year: 26,
            order_id: order(1),
        })
        .await
        .then_expect_error(InvoiceSeriesError::InvalidYear(26));
}

#[tokio::test]
async fn a_command_for_another_series_is_refused() {
    SeriesTest::with(())
        .given(vec![assigned(1, 1)])
        .when_async(InvoiceSeriesCommand::AssignInvoiceNumber {
            prefix: "FA".to_owned(),
            year: 2027,
            order_id: order(2),
        })
        .await
        .then_expect_error(InvoiceSeriesError::SeriesMismatch {
            expected: "FA-2026".to_owned(),
            given: "FA-2027".to_owned(),
        });
}

#[test]
fn getters_reflect_the_events() {
    let mut series = InvoiceSeries::default();
    assert_eq!(series.last_number(), 0);
    series.apply(assigned(1, 1));
    series.apply(assigned(2, 7));
    assert_eq!(series.last_number(), 2);
    assert_eq!(series.number_for(order(7)), Some("FA-2026-000002"));
    assert_eq!(series.number_for(order(8)), None);
    assert_eq!(series.series(), Some("FA-2026"));
    assert_eq!(series_id("FA", 2026), "FA-2026");
}

#[test]
fn events_are_named_after_their_variant() {
    assert_events_are_named_and_round_trip(&[assigned(1, 1)]);
}
