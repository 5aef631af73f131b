use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{ClosureCommand, ClosureError, ClosureEvent, ClosureTotals, PeriodKind};

/// A period being summed up: its key (`2026-11`, `2026`), first instant and totals so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Running {
    key: String,
    from: DateTime<Utc>,
    totals: ClosureTotals,
}

/// Every closure so far: the last day closed and what the open month and year add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closures {
    last_day: Option<NaiveDate>,
    last_position: i64,
    month: Option<Running>,
    year: Option<Running>,
    grand_total: ClosureTotals,
}

impl Closures {
    /// The last day closed.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.last_day
    }

    /// Everything closed so far.
    pub fn grand_total(&self) -> &ClosureTotals {
        &self.grand_total
    }

    /// The position of the last event the closures cover.
    pub fn last_position(&self) -> i64 {
        self.last_position
    }
}

fn month_key(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

fn year_key(day: NaiveDate) -> String {
    format!("{:04}", day.year())
}

/// `running` extended by `totals`, or a fresh one from `from` when `key` starts a new period.
fn extended(
    running: &Option<Running>,
    key: &str,
    from: DateTime<Utc>,
    totals: &ClosureTotals,
) -> Running {
    match running {
        Some(r) if r.key == key => Running {
            key: r.key.clone(),
            from: r.from,
            totals: r.totals.plus(totals),
        },
        _ => Running {
            key: key.to_owned(),
            from,
            totals: totals.clone(),
        },
    }
}

impl Aggregate for Closures {
    const TYPE: &'static str = "Closures";
    type Command = ClosureCommand;
    type Event = ClosureEvent;
    type Error = ClosureError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ClosureCommand::CloseDay {
                day,
                from,
                until,
                totals,
                last_position,
                last_seal,
            } => {
                if let Some(last) = self.last_day {
                    // Closed already: a closure is never redone.
                    if day <= last {
                        return Ok(());
                    }
                    let expected = last.succ_opt().unwrap_or(last);
                    if day != expected {
                        return Err(ClosureError::OutOfOrder { day, expected });
                    }
                }
                let hours = (until - from).num_hours();
                if !(23..=25).contains(&hours) {
                    return Err(ClosureError::Bounds(day));
                }
                if !totals.is_consistent() {
                    return Err(ClosureError::Inconsistent(day));
                }
                if last_position < self.last_position {
                    return Err(ClosureError::PositionBackwards(day));
                }
                let month = extended(&self.month, &month_key(day), from, &totals);
                let year = extended(&self.year, &year_key(day), from, &totals);
                let grand_total = self.grand_total.plus(&totals);
                let closed = |kind, period: String, from, totals: ClosureTotals| {
                    ClosureEvent::PeriodClosed {
                        kind,
                        period,
                        from,
                        until,
                        totals,
                        year_to_date: year.totals.clone(),
                        grand_total: grand_total.clone(),
                        last_position,
                        last_seal: last_seal.clone(),
                    }
                };
                let next = day.succ_opt().unwrap_or(day);
                let mut events = vec![closed(
                    PeriodKind::Day,
                    day.format("%Y-%m-%d").to_string(),
                    from,
                    totals.clone(),
                )];
                if next.month() != day.month() {
                    events.push(closed(
                        PeriodKind::Month,
                        month.key.clone(),
                        month.from,
                        month.totals.clone(),
                    ));
                }
                if next.year() != day.year() {
                    events.push(closed(
                        PeriodKind::Year,
                        year.key.clone(),
                        year.from,
                        year.totals.clone(),
                    ));
                }
                for event in events {
                    sink.write(event, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClosureEvent::PeriodClosed {
                kind,
                period,
                from,
                totals,
                grand_total,
                last_position,
                ..
            } => match kind {
                PeriodKind::Day => {
                    if let Ok(day) = NaiveDate::parse_from_str(&period, "%Y-%m-%d") {
                        self.month = Some(extended(&self.month, &month_key(day), from, &totals));
                        self.year = Some(extended(&self.year, &year_key(day), from, &totals));
                        self.last_day = Some(day);
                    }
                    self.last_position = last_position;
                    self.grand_total = grand_total;
                }
                PeriodKind::Month => self.month = None,
                PeriodKind::Year => self.year = None,
            },
        }
    }
}
