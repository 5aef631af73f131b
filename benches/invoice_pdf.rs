//! Invoice PDF rendering benchmark, printed as figures: a renderer built once, warmed up,
//! then the time of one invoice (median and 95th percentile over single renders) and of a
//! batch of 1,000 invoices, each with its own number, as a day's backlog would be.
//! Target: under 50 ms per invoice, warm.
//!
//! Run: `cargo bench --bench invoice_pdf` (BENCH_RUNS sets the number of single renders
//! measured, default 50; BENCH_BATCH the batch size, default 1000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use comptoir::invoices::document::InvoiceDocument;
use comptoir::invoices::pdf::Renderer;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q`-quantile of sorted durations (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A memory figure of this process from /proc/self/status, in MB (0 where unavailable).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let runs = env_number("BENCH_RUNS", 50);
    let batch = env_number("BENCH_BATCH", 1000);
    let samples = [
        InvoiceDocument::sample(),
        InvoiceDocument::sample_business(),
        InvoiceDocument::sample_credit_note(),
    ];

    let started = Instant::now();
    let renderer = Renderer::new().expect("the renderer starts");
    let setup = started.elapsed();
    let started = Instant::now();
    let first = renderer.render(&samples[0]).expect("the sample renders");
    let cold = started.elapsed();
    for doc in samples.iter().cycle().take(10) {
        renderer.render(doc).expect("the sample renders");
    }

    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let mut doc = samples[i % samples.len()].clone();
            doc.number = format!("FA-2026-{:06}", 100 + i);
            let started = Instant::now();
            renderer.render(&doc).expect("the sample renders");
            started.elapsed()
        })
        .collect();
    times.sort();

    let resident_warm = status_mb("VmRSS:");
    let mut bytes = 0usize;
    let started = Instant::now();
    for i in 0..batch {
        let mut doc = samples[i % samples.len()].clone();
        doc.number = format!("FA-2026-{:06}", 10_000 + i);
        doc.order_number = format!("CMD-2026-{:05}", 10_000 + i);
        bytes += renderer.render(&doc).expect("the sample renders").len();
    }
    let batch_time = started.elapsed();
    let resident_after_batch = status_mb("VmRSS:");

    println!("invoice PDF rendering (PDF/A-3b, Typst, fonts from typst-assets)");
    println!("  renderer setup (fonts, library):   {:>8.1} ms", ms(setup));
    println!(
        "  first render (cold):               {:>8.1} ms ({} bytes)",
        ms(cold),
        first.len()
    );
    println!(
        "  one invoice, warm, over {runs} renders: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.95)),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    println!(
        "  batch of {batch}: {:.2} s, {:.1} ms per invoice, {:.0} kB per PDF on average",
        batch_time.as_secs_f64(),
        ms(batch_time) / batch as f64,
        bytes as f64 / batch as f64 / 1000.0,
    );
    // Typst's memo cache is trimmed after every render: what stays resident after a
    // thousand invoices is the fonts, the library and a few renders' worth of cache.
    println!(
        "  memory: resident after warm-up {resident_warm:.0} MB, after the batch {resident_after_batch:.0} MB, peak {:.0} MB",
        status_mb("VmHWM:"),
    );
    let median = quantile(&times, 0.5);
    println!(
        "  target under 50 ms per invoice warm: {}",
        if median < Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    );
}
