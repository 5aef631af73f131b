//! Accounting exports of 10,000 invoices: time and peak memory.
//!
//! `cargo bench --bench exports` generates invoices one at a time (an iterator, never a
//! list), encodes them to the sales CSV, the FEC and the audit trail as JSON Lines (five
//! events per invoice) into a writer that only counts bytes, and prints, for each export,
//! the time it took and the process's peak resident memory (VmHWM, reset before each run
//! through /proc/self/clear_refs). The same runs with 1,000 invoices come first: equal
//! peaks for 1,000 and 10,000 show that memory does not grow with the size of an export.
//! A last line per count collects the invoices in a list before encoding them, as a
//! caller that does not stream would: its peak grows with the count, which shows the
//! measurement would catch a streaming export that did. `BENCH_INVOICES` changes the
//! larger count.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use aggregates::VatRate;
use comptoir::accounting::{
    customer_account, write_all, AccountPlan, AuditJsonl, AuditRow, Dialect, Encoder, EntryKind,
    Fec, FecSeparator, Payment, PaymentMeans, RateAmounts, SalesCsv, SalesEntry,
};

/// A writer that keeps nothing but the number of bytes it was given.
#[derive(Debug, Default)]
struct Counting {
    bytes: u64,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn rates() -> [VatRate; 3] {
    ["20", "5.5", "10"].map(|r| r.parse().expect("a VAT rate"))
}

fn start() -> DateTime<Utc> {
    "2026-01-01T08:00:00Z".parse().expect("a date")
}

/// Invoice `i` of a year of sales: one to three rates, a credit note every 20th, paid by
/// card, Stripe, cash or cheque. Built on demand: the export never holds more than one.
fn invoice(i: u64) -> SalesEntry {
    let rates = rates();
    let credit = i % 20 == 19;
    let sign = if credit { -Decimal::ONE } else { Decimal::ONE };
    let per_rate: Vec<RateAmounts> = (0..=(i % 3) as usize)
        .map(|k| {
            let ht = Decimal::new(
                1_000 + ((i * 7_919 + k as u64 * 104_729) % 90_000) as i64,
                2,
            );
            let vat = (ht * rates[k].percent() / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            RateAmounts {
                rate: rates[k],
                ht: sign * ht,
                vat: sign * vat,
            }
        })
        .collect();
    let total_ht: Decimal = per_rate.iter().map(|r| r.ht).sum();
    let total_vat: Decimal = per_rate.iter().map(|r| r.vat).sum();
    let issued_at = start() + chrono::Duration::minutes(50 * i as i64);
    let email = format!("client{}@example.fr", i % 2_000);
    let means = match i % 4 {
        0 => PaymentMeans::Card,
        1 => PaymentMeans::Stripe,
        2 => PaymentMeans::Cash,
        _ => PaymentMeans::Cheque,
    };
    SalesEntry {
        kind: if credit {
            EntryKind::CreditNote
        } else {
            EntryKind::Invoice
        },
        number: format!("{}-2026-{:06}", if credit { "AV" } else { "FA" }, i + 1),
        issued_at,
        order_number: format!("CMD-{}", 10_000 + i),
        customer_name: format!("Client n°{} Hélène", i % 2_000),
        customer_account: customer_account(&email),
        customer_email: email,
        per_rate,
        total_ht,
        total_vat,
        total_ttc: total_ht + total_vat,
        payment: Some(Payment {
            means,
            paid_at: issued_at,
            reference: format!("pi_{i:024}"),
        }),
        corrects: credit.then(|| format!("FA-2026-{:06}", i - 3)),
    }
}

/// Event `i` of the audit trail, with a payload of an order's size.
fn audit_row(i: u64) -> AuditRow {
    let order = i / 5;
    AuditRow {
        position: i as i64 + 1,
        recorded_at: start() + chrono::Duration::seconds(600 * i as i64),
        actor: format!("staff:0195f1c2-7a7e-7000-8000-{:012}", i % 7),
        aggregate_type: "order".into(),
        aggregate_id: format!("0195f1c2-7a7e-7000-8000-{order:012}"),
        sequence: (i % 5) as i64,
        event_type: [
            "OrderPlaced",
            "PaymentConfirmed",
            "InvoiceIssued",
            "OrderReadyForPickup",
            "OrderCompleted",
        ][(i % 5) as usize]
            .into(),
        event_version: "1.0".into(),
        payload: format!(
            r#"{{"order_id":"0195f1c2-7a7e-7000-8000-{order:012}","number":"CMD-{order}","customer":{{"name":"Client n°{order}","email":"client{order}@example.fr"}},"lines":[{{"reference":"PN-{order}","name":"Pneu Michelin Road 6 120/70 ZR17","quantity":1,"unit_price_ht":"149.90","vat_rate":"20"}},{{"reference":"BAT-{order}","name":"Batterie Yuasa YTX9-BS","quantity":2,"unit_price_ht":"54.00","vat_rate":"20"}}],"total_ht":"257.90","total_vat":"51.58","total_ttc":"309.48"}}"#
        ),
        metadata: format!(
            r#"{{"actor_id":"0195f1c2-7a7e-7000-8000-{:012}","actor_kind":"staff","client_ip":"192.0.2.{}","request_id":"req-{i}"}}"#,
            i % 7,
            i % 250
        ),
        previous_seal: format!("{:064x}", i),
        seal_hash: format!("{:064x}", i + 1),
    }
}

/// The process's peak resident memory (VmHWM) and current one (VmRSS), in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets VmHWM to the current resident size (Linux 4.0+); false where that is refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Run {
    elapsed: Duration,
    bytes: u64,
    rows: u64,
    rss_before: u64,
    peak: u64,
}

fn run<E, I>(encoder: E, rows: I) -> Run
where
    E: Encoder,
    I: Iterator<Item = E::Row>,
{
    let reset = reset_peak();
    let (_, rss_before) = memory();
    let mut sink = Counting::default();
    let started = Instant::now();
    let written = write_all(encoder, rows, &mut sink).expect("the export");
    let elapsed = started.elapsed();
    let (peak, _) = memory();
    if !reset {
        eprintln!("(VmHWM could not be reset: peaks below are the process's so far)");
    }
    Run {
        elapsed,
        bytes: sink.bytes,
        rows: written,
        rss_before,
        peak,
    }
}

fn report(name: &str, count: u64, run: &Run) {
    println!(
        "{name:<12} {count:>6} invoices  {rows:>6} rows  {mib:>7.2} MiB  {ms:>8.1} ms  \
         {per:>6.2} µs/row  RSS before {before:>6} KiB  peak {peak:>6} KiB  (+{grew} KiB)",
        rows = run.rows,
        mib = run.bytes as f64 / (1024.0 * 1024.0),
        ms = run.elapsed.as_secs_f64() * 1e3,
        per = run.elapsed.as_secs_f64() * 1e6 / run.rows.max(1) as f64,
        before = run.rss_before,
        peak = run.peak,
        grew = run.peak.saturating_sub(run.rss_before),
    );
}

fn main() {
    let large: u64 = std::env::var("BENCH_INVOICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let plan = AccountPlan::default().with_accounts_per_rate(rates());
    // One warm-up pass so the first measured run does not pay for first-touch page faults.
    let _ = run(
        SalesCsv::new(Dialect::French, rates()),
        (0..100).map(invoice),
    );
    for count in [1_000, large] {
        let csv = run(
            SalesCsv::new(Dialect::French, rates()),
            (0..count).map(invoice),
        );
        report("sales CSV", count, &csv);
        let fec = run(
            Fec::new(plan.clone(), FecSeparator::Pipe),
            (0..count).map(invoice),
        );
        report("FEC", count, &fec);
        let audit = run(AuditJsonl::new(), (0..count * 5).map(audit_row));
        report("audit JSONL", count, &audit);
        // The same FEC from invoices collected first, as a non-streaming caller would: the
        // peak the measurement shows when rows are held.
        reset_peak();
        let (_, rss_before) = memory();
        let started = Instant::now();
        let held: Vec<SalesEntry> = (0..count).map(invoice).collect();
        let mut sink = Counting::default();
        let rows = write_all(Fec::new(plan.clone(), FecSeparator::Pipe), &held, &mut sink)
            .expect("the export");
        let elapsed = started.elapsed();
        let (peak, _) = memory();
        drop(held);
        report(
            "FEC, held",
            count,
            &Run {
                elapsed,
                bytes: sink.bytes,
                rows,
                rss_before,
                peak,
            },
        );
    }
}
