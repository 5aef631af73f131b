use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    format_number, series_id, InvoiceSeriesCommand, InvoiceSeriesError, InvoiceSeriesEvent,
    NumberFormat,
};

/// The numbers of one invoice series. French invoices are numbered in one continuous,
/// chronological sequence (CGI annex II, art. 242 nonies A), hence one stream per series:
/// concurrent assignments conflict on the stream instead of skipping or doubling a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSeries {
    series: Option<String>,
    last_number: u64,
    /// Printed numbers by document: the order for its invoice, the credit note's id for a
    /// credit note.
    by_order: BTreeMap<Uuid, String>,
    /// The pattern of the year's first number, kept for the whole year.
    #[serde(default)]
    format: Option<NumberFormat>,
}

impl InvoiceSeries {
    /// The last number assigned, 0 when none.
    pub fn last_number(&self) -> u64 {
        self.last_number
    }

    /// The printed number assigned to a document (an order's invoice: the order id; a
    /// credit note: its id).
    pub fn number_for(&self, document_id: Uuid) -> Option<&str> {
        self.by_order.get(&document_id).map(String::as_str)
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
                document_id,
                format,
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
                if self.by_order.contains_key(&document_id.unwrap_or(order_id)) {
                    return Ok(());
                }
                let number = self.last_number + 1;
                // The year keeps the pattern its first number was printed with.
                let format = if self.last_number == 0 {
                    format
                } else {
                    self.format.clone()
                };
                let formatted = match &format {
                    Some(format) => format.render(year, number),
                    None => format_number(&prefix, year, number),
                };
                let event = InvoiceSeriesEvent::InvoiceNumberAssigned {
                    number,
                    formatted,
                    order_id,
                    document_id,
                    series: Some(given),
                    format,
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
                document_id,
                series,
                format,
            } => {
                if self.series.is_none() {
                    // Early events did not name it: "FA-2026-000001" → "FA-2026".
                    self.series =
                        series.or_else(|| formatted.rsplit_once('-').map(|(s, _)| s.to_owned()));
                }
                if self.last_number == 0 {
                    self.format = format;
                }
                self.last_number = number;
                self.by_order
                    .insert(document_id.unwrap_or(order_id), formatted);
            }
        }
    }
}
