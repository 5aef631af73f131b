#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use rust_decimal::Decimal;

use super::*;
use crate::test_support::assert_events_are_named_and_round_trip;

type ClosureTest = TestFramework<Closures>;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// One invoice of `ttc` at 20 %, paid by card.
fn sales(ttc: &str) -> ClosureTotals {
    let ttc = d(ttc);
    let ht = (ttc / d("1.2")).round_dp(2);
    ClosureTotals {
        invoices: 1,
        credit_notes: 0,
        ht,
        vat: ttc - ht,
        ttc,
        by_rate: vec![RateTotal {
            rate: "20".parse().unwrap(),
            ht,
            vat: ttc - ht,
            ttc,
        }],
        by_means: vec![MeansTotal {
            means: "card".into(),
            ttc,
        }],
    }
}

/// Closing `s` (Paris midnight to midnight, winter time) with `totals`.
fn close(s: &str, totals: ClosureTotals, position: i64) -> ClosureCommand {
    let day = day(s);
    let from =
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap()) - chrono::Duration::hours(1);
    ClosureCommand::CloseDay {
        day,
        from,
        until: from + chrono::Duration::days(1),
        totals,
        last_position: position,
        last_seal: format!("{position:064x}"),
    }
}

async fn run(history: &mut Vec<ClosureEvent>, command: ClosureCommand) -> Vec<ClosureEvent> {
    let events = ClosureTest::with(())
        .given(history.clone())
        .when_async(command)
        .await
        .inspect_result()
        .unwrap();
    history.extend(events.iter().cloned());
    events
}

fn kinds(events: &[ClosureEvent]) -> Vec<(PeriodKind, String)> {
    events
        .iter()
        .map(|ClosureEvent::PeriodClosed { kind, period, .. }| (*kind, period.clone()))
        .collect()
}

#[tokio::test]
async fn the_last_day_of_a_year_closes_the_month_and_the_year_with_their_sums() {
    let mut history = Vec::new();
    let events = run(&mut history, close("2026-12-30", sales("12.00"), 10)).await;
    assert_eq!(kinds(&events), [(PeriodKind::Day, "2026-12-30".into())]);
    let events = run(&mut history, close("2026-12-31", sales("24.00"), 20)).await;
    assert_eq!(
        kinds(&events),
        [
            (PeriodKind::Day, "2026-12-31".into()),
            (PeriodKind::Month, "2026-12".into()),
            (PeriodKind::Year, "2026".into()),
        ]
    );
    let ClosureEvent::PeriodClosed {
        totals,
        grand_total,
        ..
    } = &events[2];
    assert_eq!(totals.ttc, d("36.00"));
    assert_eq!(totals.invoices, 2);
    assert!(totals.is_consistent());
    assert_eq!(grand_total.ttc, d("36.00"));

    // The new year starts from zero; the grand total goes on.
    let events = run(&mut history, close("2027-01-01", sales("6.00"), 30)).await;
    let ClosureEvent::PeriodClosed {
        year_to_date,
        grand_total,
        ..
    } = &events[0];
    assert_eq!(year_to_date.ttc, d("6.00"));
    assert_eq!(grand_total.ttc, d("42.00"));
}

#[tokio::test]
async fn days_are_closed_in_order_once_and_never_redone() {
    let mut history = Vec::new();
    run(&mut history, close("2026-11-20", sales("12.00"), 10)).await;
    // Again, even with other totals: nothing.
    assert!(run(&mut history, close("2026-11-20", sales("99.00"), 11))
        .await
        .is_empty());
    ClosureTest::with(())
        .given(history.clone())
        .when_async(close("2026-11-22", sales("1.00"), 12))
        .await
        .then_expect_error(ClosureError::OutOfOrder {
            day: day("2026-11-22"),
            expected: day("2026-11-21"),
        });
    ClosureTest::with(())
        .given(history.clone())
        .when_async(close("2026-11-21", sales("1.00"), 9))
        .await
        .then_expect_error(ClosureError::PositionBackwards(day("2026-11-21")));
}

#[tokio::test]
async fn totals_that_do_not_add_up_are_refused() {
    let mut wrong = sales("12.00");
    wrong.by_means[0].ttc = d("11.00");
    ClosureTest::with(())
        .given_no_previous_events()
        .when_async(close("2026-11-20", wrong, 1))
        .await
        .then_expect_error(ClosureError::Inconsistent(day("2026-11-20")));
}

#[test]
fn credit_notes_subtract_and_empty_days_hold_together() {
    let mut refund = sales("12.00");
    refund.invoices = 0;
    refund.credit_notes = 1;
    for value in [&mut refund.ht, &mut refund.vat, &mut refund.ttc] {
        *value = -*value;
    }
    refund.by_rate[0].ht = -refund.by_rate[0].ht;
    refund.by_rate[0].vat = -refund.by_rate[0].vat;
    refund.by_rate[0].ttc = -refund.by_rate[0].ttc;
    refund.by_means[0].ttc = -refund.by_means[0].ttc;
    assert!(refund.is_consistent());
    let net = sales("12.00").plus(&refund);
    assert!(net.ttc.is_zero());
    assert!(net.is_consistent());
    assert!(ClosureTotals::default().is_consistent());
}

#[test]
fn events_are_named_after_their_variant() {
    let ClosureCommand::CloseDay { from, until, .. } = close("2026-11-20", sales("1"), 1);
    assert_events_are_named_and_round_trip(&[ClosureEvent::PeriodClosed {
        kind: PeriodKind::Day,
        period: "2026-11-20".into(),
        from,
        until,
        totals: sales("1.00"),
        year_to_date: sales("1.00"),
        grand_total: sales("1.00"),
        last_position: 1,
        last_seal: "00".into(),
    }]);
}
