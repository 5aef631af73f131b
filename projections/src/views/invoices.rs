//! The invoice register: every invoice and credit note as issued (number, series and
//! sequence, customer, lines, totals per rate, payment, stored PDF). The admin's register
//! page, the accounting exports and the closures read it; its tables are in
//! `migrations/0008_invoice_register.sql`.

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{InvoiceSeriesEvent, OrderEvent, OrderLine, Totals};

use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};

/// The projection.
#[derive(Debug, Default)]
pub struct InvoiceRegister;

fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A credit note's lines and totals, as asked for.
type Credit = (Json<Vec<OrderLine>>, Json<Totals>, String);

#[async_trait]
impl Projection for InvoiceRegister {
    fn name(&self) -> &'static str {
        "invoice_register"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "invoice_register",
            "invoice_numbers",
            "invoice_register_credits",
            "invoice_register_orders",
        ]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        for e in events {
            let position = e.raw.position;
            let at = e.raw.recorded_at;
            let aggregate_id = e.raw.aggregate_id.as_str();
            match &e.event {
                DomainEvent::InvoiceSeries(InvoiceSeriesEvent::InvoiceNumberAssigned {
                    number,
                    formatted,
                    order_id,
                    document_id,
                    ..
                }) => {
                    sqlx::query(
                        "insert into invoice_numbers
                             (number, series, sequence, order_id, document_id, assigned_at)
                         values ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(formatted)
                    .bind(aggregate_id)
                    .bind(i64::try_from(*number).unwrap_or(i64::MAX))
                    .bind(order_id)
                    .bind(document_id)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                }
                DomainEvent::Order(event) => {
                    let Ok(order_id) = aggregate_id.parse::<Uuid>() else {
                        continue;
                    };
                    apply_order(conn, order_id, event, position, at).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

async fn apply_order(
    conn: &mut PgConnection,
    order_id: Uuid,
    event: &OrderEvent,
    position: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ProjectionError> {
    match event {
        OrderEvent::OrderPlaced {
            order_number,
            customer_email,
            customer_name,
            customer_phone,
            pickup_location,
            payment_method,
            lines,
            totals,
            placed_at,
            billing,
            ..
        } => {
            // The books name the customer invoiced: a business by its company.
            let customer_name = billing
                .as_ref()
                .map_or(customer_name.as_str(), |b| b.company.as_str());
            sqlx::query(
                "insert into invoice_register_orders
                     (order_id, order_number, customer_name, customer_email, customer_phone,
                      pickup_location, payment_method, lines, totals, placed_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(order_id)
            .bind(order_number)
            .bind(customer_name)
            .bind(customer_email.as_str())
            .bind(customer_phone.as_str())
            .bind(pickup_location)
            .bind(wire(payment_method))
            .bind(Json(lines))
            .bind(Json(totals))
            .bind(placed_at)
            .execute(&mut *conn)
            .await?;
        }
        OrderEvent::PaymentConfirmed {
            provider,
            reference,
            paid_at,
            ..
        } => {
            sqlx::query(
                "update invoice_register_orders
                 set payment_provider = $2, payment_reference = $3, paid_at = $4
                 where order_id = $1",
            )
            .bind(order_id)
            .bind(provider)
            .bind(reference)
            .bind(paid_at)
            .execute(&mut *conn)
            .await?;
        }
        OrderEvent::CreditNoteRequested {
            credit_id,
            lines,
            totals,
            reason,
            ..
        } => {
            sqlx::query(
                "insert into invoice_register_credits (credit_id, order_id, lines, totals, reason)
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(credit_id)
            .bind(order_id)
            .bind(Json(lines))
            .bind(Json(totals))
            .bind(reason)
            .execute(&mut *conn)
            .await?;
        }
        OrderEvent::InvoiceIssued {
            invoice_number,
            issued_at,
        } => {
            let (lines, totals): (Json<Vec<OrderLine>>, Json<Totals>) = sqlx::query_as(
                "select lines, totals from invoice_register_orders where order_id = $1",
            )
            .bind(order_id)
            .fetch_one(&mut *conn)
            .await?;
            insert_document(
                conn,
                Document {
                    number: invoice_number,
                    kind: "invoice",
                    order_id,
                    credit_id: None,
                    corrects: None,
                    reason: None,
                    lines: &lines.0,
                    totals: &totals.0,
                    position,
                    at: issued_at.unwrap_or(at),
                },
            )
            .await?;
        }
        OrderEvent::CreditNoteIssued {
            credit_note_number,
            invoice_number,
            reason,
            credit_id,
            issued_at,
        } => {
            // Notes from before partial refunds took the whole order back.
            let credit: Option<Credit> = match credit_id {
                Some(id) => {
                    sqlx::query_as(
                        "select lines, totals, reason from invoice_register_credits
                         where credit_id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                }
                None => None,
            };
            let (lines, totals, reason) = match credit {
                Some(credit) => credit,
                None => {
                    let (lines, totals): (Json<Vec<OrderLine>>, Json<Totals>) = sqlx::query_as(
                        "select lines, totals from invoice_register_orders where order_id = $1",
                    )
                    .bind(order_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    (lines, totals, reason.clone())
                }
            };
            insert_document(
                conn,
                Document {
                    number: credit_note_number,
                    kind: "credit_note",
                    order_id,
                    credit_id: *credit_id,
                    corrects: Some(invoice_number),
                    reason: Some(&reason),
                    lines: &lines.0,
                    totals: &totals.0,
                    position,
                    at: issued_at.unwrap_or(at),
                },
            )
            .await?;
        }
        OrderEvent::DocumentStored {
            number,
            key,
            sha256,
            size,
        } => {
            sqlx::query(
                "update invoice_register set pdf_key = $2, pdf_sha256 = $3, pdf_size = $4
                 where number = $1",
            )
            .bind(number)
            .bind(key)
            .bind(sha256)
            .bind(i64::try_from(*size).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

struct Document<'a> {
    number: &'a str,
    kind: &'static str,
    order_id: Uuid,
    credit_id: Option<Uuid>,
    corrects: Option<&'a str>,
    reason: Option<&'a str>,
    lines: &'a [OrderLine],
    totals: &'a Totals,
    position: i64,
    at: chrono::DateTime<chrono::Utc>,
}

/// Adds a document to the register. Its number must have come from a series and its
/// order must be known: anything else would be a hole in the register, so it stops the
/// projection at this event instead.
async fn insert_document(conn: &mut PgConnection, d: Document<'_>) -> Result<(), ProjectionError> {
    let done = sqlx::query(
        "insert into invoice_register
             (number, kind, series, sequence, order_id, order_number, credit_id, corrects,
              reason, issued_at, position, customer_name, customer_email, customer_phone,
              pickup_location, lines, vat_breakdown, total_ht, total_vat, total_ttc,
              payment_method, payment_provider, payment_reference, paid_at)
         select $1, $2, n.series, n.sequence, o.order_id, o.order_number, $4, $5,
                $6, $7, $8, o.customer_name, o.customer_email, o.customer_phone,
                o.pickup_location, $9, $10, $11, $12, $13,
                o.payment_method, o.payment_provider, o.payment_reference, o.paid_at
         from invoice_register_orders o, invoice_numbers n
         where o.order_id = $3 and n.number = $1",
    )
    .bind(d.number)
    .bind(d.kind)
    .bind(d.order_id)
    .bind(d.credit_id)
    .bind(d.corrects)
    .bind(d.reason)
    .bind(d.at)
    .bind(d.position)
    .bind(Json(d.lines))
    .bind(Json(&d.totals.vat_breakdown))
    .bind(d.totals.total_ht.amount())
    .bind(d.totals.total_vat.amount())
    .bind(d.totals.total_ttc.amount())
    .execute(conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ProjectionError::Event {
            position: d.position,
            message: format!(
                "{} {} has no number from a series or no known order",
                d.kind, d.number
            ),
        })
    }
}

/// How a document was paid, in one word: `stripe`, or for a payment at the counter the
/// means its reference names (`counter-cash-…` is `cash`; also `card`, `cheque`), else the
/// provider's name; `unpaid` without a payment.
pub fn payment_means(provider: Option<&str>, reference: Option<&str>) -> String {
    let counter = reference
        .and_then(|r| r.strip_prefix("counter-"))
        .and_then(|rest| rest.split('-').next())
        .filter(|m| !m.is_empty());
    match (provider, counter) {
        (Some("pickup"), Some(means)) => means.to_owned(),
        (Some(provider), _) => provider.to_owned(),
        (None, _) => "unpaid".to_owned(),
    }
}

/// What the register's invoices and credit notes issued in `[from, until)` add up to:
/// credit notes count negative. The closures record it, and `replay verify` recomputes it.
pub async fn period_totals(
    conn: &mut PgConnection,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<aggregates::ClosureTotals, sqlx::Error> {
    use aggregates::closure::{MeansTotal, RateTotal};
    use aggregates::{ClosureTotals, VatLine};
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    type Row = (String, Option<String>, Option<String>, Json<Vec<VatLine>>);
    let rows: Vec<Row> = sqlx::query_as(
        "select kind, payment_provider, payment_reference, vat_breakdown
         from invoice_register where issued_at >= $1 and issued_at < $2
         order by position",
    )
    .bind(from)
    .bind(until)
    .fetch_all(conn)
    .await?;
    let mut totals = ClosureTotals::default();
    let mut rates: BTreeMap<aggregates::VatRate, RateTotal> = BTreeMap::new();
    let mut means: BTreeMap<String, Decimal> = BTreeMap::new();
    for (kind, provider, reference, breakdown) in rows {
        let sign = if kind == "credit_note" {
            totals.credit_notes += 1;
            Decimal::NEGATIVE_ONE
        } else {
            totals.invoices += 1;
            Decimal::ONE
        };
        let mut document_ttc = Decimal::ZERO;
        for line in breakdown.0 {
            let (ht, vat) = (sign * line.base_ht.amount(), sign * line.vat.amount());
            let entry = rates.entry(line.rate).or_insert_with(|| RateTotal {
                rate: line.rate,
                ht: Decimal::ZERO,
                vat: Decimal::ZERO,
                ttc: Decimal::ZERO,
            });
            entry.ht += ht;
            entry.vat += vat;
            entry.ttc += ht + vat;
            totals.ht += ht;
            totals.vat += vat;
            document_ttc += ht + vat;
        }
        totals.ttc += document_ttc;
        *means
            .entry(payment_means(provider.as_deref(), reference.as_deref()))
            .or_default() += document_ttc;
    }
    totals.by_rate = rates.into_values().collect();
    totals.by_means = means
        .into_iter()
        .map(|(means, ttc)| MeansTotal { means, ttc })
        .collect();
    Ok(totals)
}

/// What `replay verify` found about the closures.
#[derive(Debug, Default)]
pub struct ClosureCheck {
    /// Periods checked.
    pub checked: usize,
    /// What does not match, in words.
    pub problems: Vec<String>,
}

/// Checks every recorded closure against the register and the seal chain: a day's totals
/// are recomputed from the register's documents of that day, a month's and a year's are
/// the sums of their days, and each closure's last seal is the seal chain's at its last
/// position.
pub async fn verify_closures(pool: &sqlx::PgPool) -> Result<ClosureCheck, sqlx::Error> {
    use aggregates::{ClosureEvent, ClosureTotals, PeriodKind};

    let payloads: Vec<(i64, String)> = sqlx::query_as(
        "select position, payload::text from events where aggregate_type = 'Closures'
         order by position",
    )
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut check = ClosureCheck::default();
    // Recomputed day totals, in order, to sum months and years from.
    let mut days: Vec<(chrono::DateTime<chrono::Utc>, ClosureTotals)> = Vec::new();
    for (position, payload) in payloads {
        let Ok(ClosureEvent::PeriodClosed {
            kind,
            period,
            from,
            until,
            totals,
            last_position,
            last_seal,
            ..
        }) = serde_json::from_str::<ClosureEvent>(&payload)
        else {
            check
                .problems
                .push(format!("closure at position {position} cannot be read"));
            continue;
        };
        check.checked += 1;
        let expected = match kind {
            PeriodKind::Day => {
                let recomputed = period_totals(&mut conn, from, until).await?;
                days.push((from, recomputed.clone()));
                recomputed
            }
            PeriodKind::Month | PeriodKind::Year => days
                .iter()
                .filter(|(start, _)| *start >= from && *start < until)
                .fold(ClosureTotals::default(), |sum, (_, t)| sum.plus(t)),
        };
        if expected != totals {
            check.problems.push(format!(
                "{period}: closed at {} TTC ({} invoices, {} credit notes), the register says {} TTC ({} invoices, {} credit notes)",
                totals.ttc, totals.invoices, totals.credit_notes,
                expected.ttc, expected.invoices, expected.credit_notes
            ));
        }
        let seal: Option<Vec<u8>> = if last_position == 0 {
            Some(crate::seal::GENESIS.to_vec())
        } else {
            sqlx::query_scalar("select seal from seals where position = $1")
                .bind(last_position)
                .fetch_optional(&mut *conn)
                .await?
        };
        if seal.as_deref().map(hex::encode).as_deref() != Some(last_seal.as_str()) {
            check.problems.push(format!(
                "{period}: the seal recorded for position {last_position} is not the seal chain's"
            ));
        }
    }
    Ok(check)
}

/// One numbering series as the register's gap check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesCheck {
    /// The series (`FA-2026`, `AV-2026`).
    pub series: String,
    /// Its first number, as printed, and that number's sequence.
    pub first: (String, i64),
    /// Its last number, as printed, and that number's sequence.
    pub last: (String, i64),
    /// How many numbers were handed out.
    pub count: i64,
    /// The sequence numbers missing between 1 and the last, as inclusive ranges in order
    /// (at most [`MAX_GAPS`] ranges are listed).
    pub gaps: Vec<Gap>,
    /// How many sequence numbers are missing in all.
    pub missing: i64,
}

/// A run of missing sequence numbers, with the printed number that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The first missing sequence number.
    pub from: i64,
    /// The last missing sequence number (equal to `from` for a single one).
    pub to: i64,
    /// The printed number just after the gap (sequence `to + 1`), to print the missing
    /// ones alike.
    pub after: String,
}

/// The gap check lists this many runs per series at most; the count of missing numbers is
/// always complete.
pub const MAX_GAPS: i64 = 50;

/// Checks every numbering series for gaps: first and last number, count, and the runs of
/// sequence numbers missing from 1 to the last one. Computed by the database (a window
/// over each series' numbers in order): no number is loaded.
pub async fn series_checks(pool: &sqlx::PgPool) -> Result<Vec<SeriesCheck>, sqlx::Error> {
    type Summary = (String, String, i64, String, i64, i64);
    let summaries: Vec<Summary> = sqlx::query_as(
        "select series,
                (array_agg(number order by sequence))[1], min(sequence),
                (array_agg(number order by sequence desc))[1], max(sequence),
                count(*)
         from invoice_numbers group by series order by series",
    )
    .fetch_all(pool)
    .await?;
    // Each run of missing numbers ends before a number whose predecessor (or 0, for the
    // first) is not the sequence just before it.
    type Run = (String, i64, i64, String, i64);
    let runs: Vec<Run> = sqlx::query_as(
        "with ordered as (
             select series, number, sequence,
                    lag(sequence) over w as previous
             from invoice_numbers
             window w as (partition by series order by sequence)
         ), runs as (
             select series, coalesce(previous, 0) + 1 as first, sequence - 1 as last,
                    number as after
             from ordered
             where sequence > coalesce(previous, 0) + 1
         ), ranked as (
             select runs.*, row_number() over (partition by series order by first) as rank,
                    sum(last - first + 1) over (partition by series) as missing
             from runs
         )
         select series, first, last, after, missing::bigint from ranked
         where rank <= $1 order by series, first",
    )
    .bind(MAX_GAPS)
    .fetch_all(pool)
    .await?;
    Ok(summaries
        .into_iter()
        .map(
            |(series, first, first_sequence, last, last_sequence, count)| {
                let mine: Vec<&Run> = runs.iter().filter(|r| r.0 == series).collect();
                SeriesCheck {
                    missing: mine.first().map_or(0, |r| r.4),
                    gaps: mine
                        .iter()
                        .map(|(_, from, to, after, _)| Gap {
                            from: *from,
                            to: *to,
                            after: after.clone(),
                        })
                        .collect(),
                    series,
                    first: (first, first_sequence),
                    last: (last, last_sequence),
                    count,
                }
            },
        )
        .collect())
}

/// A closed day as the register page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedDay {
    /// The day (`2026-03-14`).
    pub day: String,
    /// What its invoices and credit notes added up to.
    pub totals: aggregates::ClosureTotals,
    /// The fiscal year so far, that day included.
    pub year_to_date: aggregates::ClosureTotals,
    /// The seal of the last event of the day, hexadecimal.
    pub last_seal: String,
    /// When the closure was recorded.
    pub closed_at: chrono::DateTime<chrono::Utc>,
}

/// The `limit` most recent closed days, the latest first, read from the closures' own
/// events (a handful of rows: one per day, month and year).
pub async fn recent_closed_days(
    pool: &sqlx::PgPool,
    limit: i64,
) -> Result<Vec<ClosedDay>, sqlx::Error> {
    use aggregates::{ClosureEvent, PeriodKind};

    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select payload::text, recorded_at from events
         where aggregate_type = 'Closures' and event_type = 'PeriodClosed'
           and payload -> 'PeriodClosed' ->> 'kind' = 'day'
         order by position desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(payload, closed_at)| {
            match serde_json::from_str::<ClosureEvent>(&payload).ok()? {
                ClosureEvent::PeriodClosed {
                    kind: PeriodKind::Day,
                    period,
                    totals,
                    year_to_date,
                    last_seal,
                    ..
                } => Some(ClosedDay {
                    day: period,
                    totals,
                    year_to_date,
                    last_seal,
                    closed_at,
                }),
                _ => None,
            }
        })
        .collect())
}
