//! The public API fuzzed by schemathesis (from PyPI) against its own description: a real
//! `comptoir serve --demo` on a loopback port, then `st run` on `/api/openapi.json` with a
//! storefront key, a fixed seed and a bounded number of examples per operation (a few
//! thousand requests in all: coverage, fuzzing and stateful phases). Every answer must be
//! other than a 5xx, have a documented status and content type, and match its schema.
//!
//! Needs `scripts/fuzz-deps` (schemathesis in the virtualenv `.ci/run` keeps). Without it
//! the test skips with a message, unless `CI` is set: then it fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Examples per operation and phase; with 9 operations, about 3,500 requests in all.
const MAX_EXAMPLES: &str = "150";
/// Any fixed seed: the same run every time, so a failure reproduces.
const SEED: &str = "20261123";
/// What schemathesis checks on every answer.
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// Beyond this the run is killed and the test fails (it takes under 3 minutes on 2 cores).
const DEADLINE: Duration = Duration::from_secs(600);

/// The two operations whose description gives 503 as a deliberate answer, not a failure:
/// an order paid by `stripe` when Stripe is not configured, or by `oney` (never offered),
/// and a payment notification when no provider is configured. Any other 5xx fails.
const CONFIG: &str = r#"
[[operations]]
include-operation-id = "placeOrder"
checks.not_a_server_error.expected-statuses = ["2XX", "3XX", "4XX", "503"]

[[operations]]
include-operation-id = "paymentWebhook"
checks.not_a_server_error.expected-statuses = ["2XX", "3XX", "4XX", "503"]
"#;

/// `st` as `scripts/fuzz-deps` installs it, or `None` (the test then skips) when it is
/// missing and this is not CI.
fn schemathesis() -> Option<PathBuf> {
    let venv = std::env::var_os("COMPTOIR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/comptoir-venv")
        });
    let st = venv.join("bin/st");
    if st.exists() {
        return Some(st);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{} is missing: .ci/run installs schemathesis with `bash scripts/fuzz-deps`",
        st.display()
    );
    eprintln!(
        "SKIPPED: the API fuzz test needs schemathesis ({} is missing); run `bash scripts/fuzz-deps` first",
        st.display()
    );
    None
}

#[test]
fn the_public_api_answers_fuzzed_requests_as_its_description_says() {
    let Some(st) = schemathesis() else {
        return;
    };
    // Thousands of requests from one address within minutes: the per-client limits
    // (tested in tests/api.rs) would answer most of them 429.
    let mut shop = common::ServedShop::demo(&[
        ("COMPTOIR_RATE_PER_MINUTE", "1000000"),
        ("COMPTOIR_WRITE_RATE_PER_MINUTE", "1000000"),
    ]);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let schema = format!("{}/api/openapi.json", shop.base_url);
    let output = work.path().join("st.out");

    let started = Instant::now();
    let mut run = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &schema])
        .args(["--header", &format!("X-API-Key: {}", shop.api_key)])
        .args(["--checks", CHECKS])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        // No example database: nothing written under the working directory, and a run
        // depends on its seed alone, not on what an earlier run found.
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "30", "--no-color"])
        .current_dir(work.path())
        // Loopback only, never through a proxy.
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = run.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = run.kill();
            let _ = run.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed().as_secs_f64();
    let report = std::fs::read_to_string(&output).unwrap_or_default();
    let errors = errors.join().unwrap_or_default();
    // "Test cases:\n  3512 generated, 3512 passed": the one figure worth a line of its own.
    let cases = report
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1)
        .unwrap_or("(no count printed)")
        .trim()
        .to_owned();
    println!("schemathesis: {cases} in {elapsed:.0} s");
    let log = common::log_tail(&shop.log, 40);
    shop.stop();
    let Some(status) = status else {
        panic!(
            "schemathesis did not finish within {} s\n{report}\n{errors}",
            DEADLINE.as_secs()
        );
    };
    assert!(
        status.success(),
        "schemathesis found answers that break the description ({status}, {cases}, {elapsed:.0} s):\n\
         {report}\n{errors}\n--- end of the server's log\n{log}"
    );
}
