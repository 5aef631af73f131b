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
        document_id: None,
        format: None,
    }
}

fn assigned(number: u64, n: u128) -> InvoiceSeriesEvent {
    InvoiceSeriesEvent::InvoiceNumberAssigned {
        number,
        formatted: format!("FA-2026-{number:06}"),
        order_id: order(n),
        document_id: None,
        series: Some("FA-2026".to_owned()),
        format: None,
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
            document_id: None,
            series: Some("FA-2026".to_owned()),
            format: None,
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
                document_id: None,
                format: None,
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
            document_id: None,
            format: None,
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
            document_id: None,
            format: None,
        })
        .await
        .then_expect_error(InvoiceSeriesError::SeriesMismatch {
            expected: "FA-2026".to_owned(),
            given: "FA-2027".to_owned(),
        });
}

/// Runs `command` on a series with `history`, appending what it records.
async fn run(history: &mut Vec<InvoiceSeriesEvent>, command: InvoiceSeriesCommand) -> Vec<String> {
    let events = SeriesTest::with(())
        .given(history.clone())
        .when_async(command)
        .await
        .inspect_result()
        .unwrap();
    history.extend(events.iter().cloned());
    events
        .into_iter()
        .map(|InvoiceSeriesEvent::InvoiceNumberAssigned { formatted, .. }| formatted)
        .collect()
}

fn credit(n: u128, document: u128) -> InvoiceSeriesCommand {
    InvoiceSeriesCommand::AssignInvoiceNumber {
        prefix: "AV".to_owned(),
        year: 2026,
        order_id: order(n),
        document_id: Some(Uuid::from_u128(document)),
        format: Some(NumberFormat::parse(NumberFormat::CREDIT_NOTE_DEFAULT).unwrap()),
    }
}

#[tokio::test]
async fn one_order_can_have_several_credit_notes_each_numbered_once() {
    let mut history = Vec::new();
    for (command, expected) in [
        (credit(1, 100), Some("AV-2026-000001")),
        (credit(1, 101), Some("AV-2026-000002")),
        (credit(1, 100), None),
    ] {
        let printed = run(&mut history, command).await;
        assert_eq!(printed, expected.into_iter().collect::<Vec<_>>());
    }
    let mut series = InvoiceSeries::default();
    history.into_iter().for_each(|e| series.apply(e));
    assert_eq!(
        series.number_for(Uuid::from_u128(101)),
        Some("AV-2026-000002")
    );
    assert_eq!(series.number_for(order(1)), None);
}

#[tokio::test]
async fn a_year_keeps_the_pattern_of_its_first_number() {
    let custom = |n: u128, pattern: &str| InvoiceSeriesCommand::AssignInvoiceNumber {
        prefix: "FA".to_owned(),
        year: 2026,
        order_id: order(n),
        document_id: None,
        format: Some(NumberFormat::parse(pattern).unwrap()),
    };
    let mut history = Vec::new();
    let mut printed = Vec::new();
    for command in [
        custom(1, "F{year}/{number}"),
        custom(2, "FA-{year}-{number:6}"),
    ] {
        printed.extend(run(&mut history, command).await);
    }
    assert_eq!(printed, ["F2026/1", "F2026/2"]);
    let mut series = InvoiceSeries::default();
    history.into_iter().for_each(|e| series.apply(e));
    assert_eq!(series.series(), Some("FA-2026"));
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
