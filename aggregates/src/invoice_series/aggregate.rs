use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    format_number, series_id, InvoiceSeriesCommand, InvoiceSeriesError, InvoiceSeriesEvent,
};

/// The numbers of one invoice series. French invoices are numbered in one continuous,
/// chronological sequence (CGI annex II, art. 242 nonies A), hence one stream per series:
/// concurrent assignments conflict on the stream instead of skipping or doubling a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSeries {
    series: Option<String>,
    last_number: u64,
    by_order: BTreeMap<Uuid, String>,
}

impl InvoiceSeries {
    /// The last number assigned, 0 when none.
    pub fn last_number(&self) -> u64 {
        self.last_number
    }

    /// The printed number assigned to `order_id`.
    pub fn number_for(&self, order_id: Uuid) -> Option<&str> {
        self.by_order.get(&order_id).map(String::as_str)
    }

    /// The series id (`FA-2026`), once a number was assigned.
    pub fn series(&self) -> Option<&str> {
        self.series.as_deref()
    }
}

impl Aggregate for InvoiceSeries {
    const TYPE: &'static str = "InvoiceSeries";
    type Command = InvoiceSeriesCommand;
    type Event = InvoiceSeriesEvent;
    type Error = InvoiceSeriesError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            InvoiceSeriesCommand::AssignInvoiceNumber {
                prefix,
                year,
                order_id,
            } => {
                let valid_prefix = !prefix.is_empty()
                    && prefix.len() <= 10
                    && prefix
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if !valid_prefix {
                    return Err(InvoiceSeriesError::InvalidPrefix(prefix));
                }
                if !(2000..=9999).contains(&year) {
                    return Err(InvoiceSeriesError::InvalidYear(year));
                }
                let given = series_id(&prefix, year);
                if let Some(expected) = &self.series {
                    if *expected != given {
                        return Err(InvoiceSeriesError::SeriesMismatch {
                            expected: expected.clone(),
                            given,
                        });
                    }
                }
                if self.by_order.contains_key(&order_id) {
                    return Ok(());
                }
                let number = self.last_number + 1;
                let event = InvoiceSeriesEvent::InvoiceNumberAssigned {
                    number,
                    formatted: format_number(&prefix, year, number),
                    order_id,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            InvoiceSeriesEvent::InvoiceNumberAssigned {
                number,
                formatted,
                order_id,
            } => {
                if self.series.is_none() {
                    // "FA-2026-000001" → "FA-2026"; the event does not repeat the series.
                    self.series = formatted.rsplit_once('-').map(|(s, _)| s.to_owned());
                }
                self.last_number = number;
                self.by_order.insert(order_id, formatted);
            }
        }
    }
}
