//! Process managers and the reservation sweeper: consumers that turn events into
//! commands. They are idempotent (every command they send is a no-op when already done),
//! so running one twice over the same events changes nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::PgConnection;
use tokio::sync::watch;
use uuid::Uuid;

use aggregates::invoice_series::{
    series_id, InvoiceSeriesCommand, InvoiceSeriesEvent, NumberFormat, CREDIT_NOTES, INVOICES,
};
use aggregates::metadata::EventMetadata;
use aggregates::order::{OrderCommand, OrderEvent, PaymentMethod};
use aggregates::stock::{ReleaseReason, StockCommand};
use projections::runtime::{Projection, ProjectionError};
use projections::stream::{DomainEvent, Envelope};

use crate::commands::{CommandBus, CommandError};

/// Keeps stock in step with orders:
/// - a pickup order sets its goods aside for the customer at once (reservation committed
///   when placed; payment happens at the counter);
/// - an order paid online commits its reservation when the payment is confirmed;
/// - a cancelled order releases what is still reserved and returns what was committed.
#[derive(Debug)]
pub struct StockKeeper {
    bus: Arc<CommandBus>,
}

impl StockKeeper {
    /// The process manager's name (its checkpoint and its actor, `process:stock-keeper`).
    pub const NAME: &'static str = "stock-keeper";

    /// A keeper sending its commands through `bus`.
    pub fn new(bus: Arc<CommandBus>) -> Self {
        StockKeeper { bus }
    }

    async fn send(
        &self,
        product_id: Uuid,
        command: StockCommand,
        metadata: &EventMetadata,
        position: i64,
    ) -> Result<(), ProjectionError> {
        // A rule refusing it (say, the reservation expired first) leaves nothing to retry.
        let result = self
            .bus
            .stock
            .execute(&product_id.to_string(), command, metadata)
            .await;
        settled(result, "stock keeper", position)
    }
}

#[async_trait]
impl Projection for StockKeeper {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        _conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        for envelope in events {
            let DomainEvent::Order(event) = &envelope.event else {
                continue;
            };
            let position = envelope.raw.position;
            let order_id = envelope.raw.aggregate_id.clone();
            let mut metadata = EventMetadata::process(Self::NAME).caused_by(position.to_string());
            metadata.correlation_id = Some(order_id.clone());
            let Ok(order_uuid) = order_id.parse::<Uuid>() else {
                continue;
            };
            let commit_on_place = matches!(
                event,
                OrderEvent::OrderPlaced {
                    payment_method: PaymentMethod::Pickup,
                    ..
                }
            );
            let products =
                || async {
                    let order = self.bus.orders.load(&order_id).await.map_err(|e| {
                        ProjectionError::Event {
                            position,
                            message: e.to_string(),
                        }
                    })?;
                    Ok::<Vec<Uuid>, ProjectionError>(
                        order.lines().iter().map(|l| l.product_id).collect(),
                    )
                };
            match event {
                OrderEvent::OrderPlaced { lines, .. } if commit_on_place => {
                    for line in lines {
                        let command = StockCommand::CommitReservation {
                            order_id: order_uuid,
                        };
                        self.send(line.product_id, command, &metadata, position)
                            .await?;
                    }
                }
                OrderEvent::PaymentConfirmed { .. } => {
                    for product_id in products().await? {
                        let command = StockCommand::CommitReservation {
                            order_id: order_uuid,
                        };
                        self.send(product_id, command, &metadata, position).await?;
                    }
                }
                OrderEvent::OrderCancelled { .. } => {
                    for product_id in products().await? {
                        let release = StockCommand::ReleaseReservation {
                            order_id: order_uuid,
                            reason: ReleaseReason::Cancelled,
                        };
                        self.send(product_id, release, &metadata, position).await?;
                        let give_back = StockCommand::ReturnStock {
                            order_id: order_uuid,
                        };
                        self.send(product_id, give_back, &metadata, position)
                            .await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// How invoice and credit note numbers are printed (`COMPTOIR_INVOICE_NUMBER_FORMAT`,
/// `COMPTOIR_CREDIT_NOTE_NUMBER_FORMAT`; defaults `FA-{year}-{number:6}` and
/// `AV-{year}-{number:6}`). A year's series keeps the pattern of its first number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormats {
    /// Invoices.
    pub invoice: NumberFormat,
    /// Credit notes.
    pub credit_note: NumberFormat,
}

impl Default for NumberFormats {
    fn default() -> Self {
        let parse = |p| NumberFormat::parse(p).unwrap_or_else(|_| unreachable!("{p} is valid"));
        NumberFormats {
            invoice: parse(NumberFormat::INVOICE_DEFAULT),
            credit_note: parse(NumberFormat::CREDIT_NOTE_DEFAULT),
        }
    }
}

impl NumberFormats {
    /// The patterns from the environment; an invalid one is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        let mut formats = NumberFormats::default();
        for (name, slot) in [
            ("COMPTOIR_INVOICE_NUMBER_FORMAT", &mut formats.invoice),
            (
                "COMPTOIR_CREDIT_NOTE_NUMBER_FORMAT",
                &mut formats.credit_note,
            ),
        ] {
            if let Ok(value) = std::env::var(name) {
                if !value.trim().is_empty() {
                    *slot = NumberFormat::parse(&value).map_err(|e| format!("{name}: {e}"))?;
                }
            }
        }
        if formats.invoice == formats.credit_note {
            return Err(
                "COMPTOIR_CREDIT_NOTE_NUMBER_FORMAT must differ from the invoice format".into(),
            );
        }
        Ok(formats)
    }
}

/// Numbers invoices and credit notes:
/// - a confirmed payment gets the next number of its year's invoice series;
/// - a credit note asked for (cancellation or refund of a paid order) gets the next number
///   of its year's credit note series.
///
/// The `InvoiceSeries` aggregate hands numbers out without gaps, once per document, and the
/// number is then recorded on the order. A crash between the two steps recovers to the same
/// number: the series remembers which document it gave one to, and the second step is
/// driven by the series' own event.
#[derive(Debug)]
pub struct Invoicer {
    bus: Arc<CommandBus>,
    formats: NumberFormats,
}

impl Invoicer {
    /// The process manager's name.
    pub const NAME: &'static str = "invoicer";
    /// The invoice series key (`FA-2026` streams).
    pub const PREFIX: &'static str = INVOICES;

    /// An invoicer sending its commands through `bus`, with the patterns from the
    /// environment (checked at startup by `serve`; the defaults if invalid).
    pub fn new(bus: Arc<CommandBus>) -> Self {
        let formats = NumberFormats::from_env().unwrap_or_else(|error| {
            tracing::error!(%error, "number formats: using the defaults");
            NumberFormats::default()
        });
        Invoicer { bus, formats }
    }

    /// Sends `command` to the series `prefix`-`year`.
    async fn assign(
        &self,
        command: InvoiceSeriesCommand,
        series: String,
        metadata: &EventMetadata,
        position: i64,
    ) -> Result<(), ProjectionError> {
        let result = self
            .bus
            .invoice_series
            .execute(&series, command, metadata)
            .await;
        settled(result, "invoicer", position)
    }

    /// The series year of an instant: the calendar year in France.
    pub fn year_of(at: chrono::DateTime<Utc>) -> i32 {
        use chrono::Datelike;
        aggregates::calendar::paris_day(at).year()
    }
}

/// A refused command is logged and skipped (nothing to retry); any other failure stops the
/// consumer at `position`, to be retried from there.
fn settled<E: std::error::Error>(
    result: Result<(), CommandError<E>>,
    what: &str,
    position: i64,
) -> Result<(), ProjectionError> {
    match result {
        Ok(()) => Ok(()),
        Err(CommandError::Refused(error)) => {
            tracing::warn!(%error, position, "{what}: command refused");
            Ok(())
        }
        Err(error) => Err(ProjectionError::Event {
            position,
            message: error.to_string(),
        }),
    }
}

#[async_trait]
impl Projection for Invoicer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        _conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        for envelope in events {
            let position = envelope.raw.position;
            let metadata = EventMetadata::process(Self::NAME).caused_by(position.to_string());
            match &envelope.event {
                DomainEvent::Order(OrderEvent::PaymentConfirmed { paid_at, .. }) => {
                    let Ok(order_id) = envelope.raw.aggregate_id.parse::<Uuid>() else {
                        continue;
                    };
                    let year = Self::year_of(*paid_at);
                    let command = InvoiceSeriesCommand::AssignInvoiceNumber {
                        prefix: INVOICES.to_owned(),
                        year,
                        order_id,
                        document_id: None,
                        format: Some(self.formats.invoice.clone()),
                    };
                    self.assign(command, series_id(INVOICES, year), &metadata, position)
                        .await?;
                }
                DomainEvent::Order(OrderEvent::CreditNoteRequested { credit_id, .. }) => {
                    let Ok(order_id) = envelope.raw.aggregate_id.parse::<Uuid>() else {
                        continue;
                    };
                    let year = Self::year_of(envelope.raw.recorded_at);
                    let command = InvoiceSeriesCommand::AssignInvoiceNumber {
                        prefix: CREDIT_NOTES.to_owned(),
                        year,
                        order_id,
                        document_id: Some(*credit_id),
                        format: Some(self.formats.credit_note.clone()),
                    };
                    self.assign(command, series_id(CREDIT_NOTES, year), &metadata, position)
                        .await?;
                }
                DomainEvent::InvoiceSeries(InvoiceSeriesEvent::InvoiceNumberAssigned {
                    formatted,
                    order_id,
                    document_id,
                    ..
                }) => {
                    // Issued when numbered: the same time however often this runs again.
                    let issued_at = envelope.raw.recorded_at;
                    let command = match document_id {
                        None => OrderCommand::IssueInvoice {
                            invoice_number: formatted.clone(),
                            issued_at,
                        },
                        Some(credit_id) => OrderCommand::IssueCreditNote {
                            credit_id: *credit_id,
                            credit_note_number: formatted.clone(),
                            issued_at,
                        },
                    };
                    let result = self
                        .bus
                        .orders
                        .execute(&order_id.to_string(), command, &metadata)
                        .await;
                    settled(result, "invoicer", position)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Releases reservations whose time is up, every `every`, until `shutdown`.
pub async fn sweep_reservations(
    bus: Arc<CommandBus>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = sweep_once(&bus).await {
            tracing::warn!(%error, "reservation sweep failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One pass of the sweeper. Returns how many products had expired reservations.
pub async fn sweep_once(bus: &CommandBus) -> Result<usize, String> {
    let now = Utc::now();
    let products: Vec<Uuid> = sqlx::query_scalar(
        "select distinct s.product_id from stock_levels s, jsonb_each(s.reservations) r
         where (r.value ->> 'expires_at')::timestamptz <= $1",
    )
    .bind(now)
    .fetch_all(&bus.pool)
    .await
    .map_err(|e| e.to_string())?;
    let metadata = EventMetadata::process("reservation-sweeper");
    for product_id in &products {
        bus.stock
            .execute(
                &product_id.to_string(),
                StockCommand::ReleaseExpiredReservations { now },
                &metadata,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(products.len())
}
