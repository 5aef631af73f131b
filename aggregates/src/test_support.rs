//! Helpers shared by the aggregates' tests.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};

/// 2026-01-`day` at `hour`:00 UTC.
pub(crate) fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0).unwrap()
}

/// Checks that each event's `event_type` is its serde tag, its version is 1.0 and it
/// survives a JSON round trip.
pub(crate) fn assert_events_are_named_and_round_trip<E: DomainEvent>(events: &[E]) {
    for event in events {
        let json = serde_json::to_value(event).unwrap();
        let tag = match &json {
            serde_json::Value::String(s) => s.clone(),
            other => other.as_object().unwrap().keys().next().unwrap().clone(),
        };
        assert_eq!(event.event_type(), tag);
        assert_eq!(event.event_version(), "1.0");
        let back: E = serde_json::from_value(json).unwrap();
        assert_eq!(&back, event);
    }
}

/// Runs `command` the way cqrs-es does: on success the aggregate keeps the written events,
/// on error it is left as it was.
pub(crate) async fn execute<A: Aggregate + Clone>(
    aggregate: &mut A,
    command: A::Command,
    services: &A::Services,
) -> Result<Vec<A::Event>, A::Error> {
    let mut attempt = aggregate.clone();
    let sink = EventSink::default();
    attempt.handle(command, services, &sink).await?;
    *aggregate = attempt;
    Ok(sink.collect().await)
}
