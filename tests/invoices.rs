//! Invoice and credit note numbering against a real PostgreSQL: gapless under concurrency,
//! the same number after a crash between the two steps, credit notes for cancellations and
//! refunds, and a register that a rebuild reproduces row for row.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use aggregates::invoice_series::{series_id, InvoiceSeriesCommand, CREDIT_NOTES, INVOICES};
use aggregates::metadata::EventMetadata;
use aggregates::order::{OrderCommand, OrderLineInput, PaymentMethod, RefundLineInput};
use aggregates::{Email, Language, Money, Phone, Reference, VatRate};
use chrono::Utc;
use comptoir::commands::{CommandBus, CommandError};
use comptoir::process::Invoicer;
use projections::Projector;
use uuid::Uuid;

use common::TestDb;

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

/// Places an order for two products (20 % and 5.5 %) straight on the order stream.
async fn place(bus: &CommandBus, n: usize) -> Uuid {
    place_for(bus, n, None).await
}

/// [`place`], invoiced to a business when `billing` says which.
async fn place_for(bus: &CommandBus, n: usize, billing: Option<aggregates::Billing>) -> Uuid {
    let order_id = Uuid::now_v7();
    let line = |k: u128, quantity, price: &str, rate: &str| OrderLineInput {
        product_id: Uuid::from_u128(k),
        reference: Reference::new(&format!("REF-{k}")).unwrap(),
        name: format!("Pièce {k}"),
        quantity,
        unit_price_ht: money(price),
        vat_rate: rate.parse::<VatRate>().unwrap(),
    };
    let command = OrderCommand::PlaceOrder {
        order_id,
        order_number: format!("CMD-T-{n:05}"),
        customer_email: Email::new("client@example.fr").unwrap(),
        customer_name: format!("Client {n}"),
        customer_phone: Phone::new("06 12 34 56 78").unwrap(),
        pickup_location: "Atelier".into(),
        payment_method: PaymentMethod::Pickup,
        lines: vec![line(1, 2, "10.00", "20"), line(2, 1, "4.00", "5.5")],
        placed_at: Utc::now(),
        language: Language::Fr,
        billing: billing.map(Box::new),
    };
    bus.orders
        .execute(&order_id.to_string(), command, &EventMetadata::system())
        .await
        .unwrap();
    order_id
}

/// The text of a PDF, by Debian's pdftotext (`scripts/pdf-deps`).
fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext is missing: run scripts/pdf-deps");
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// 2 × 10.00 at 20 % + 4.00 at 5.5 %: 24.00 + 4.22 TTC.
const ORDER_TTC: &str = "28.22";

async fn pay(bus: &CommandBus, order_id: Uuid) {
    let command = OrderCommand::ConfirmPayment {
        provider: "pickup".into(),
        reference: format!("counter-cash-{order_id}"),
        amount: money(ORDER_TTC),
        paid_at: Utc::now(),
        provider_event_id: None,
    };
    bus.orders
        .execute(&order_id.to_string(), command, &EventMetadata::system())
        .await
        .unwrap();
}

/// Runs every consumer until nothing is left to do.
async fn settle(db: &TestDb) {
    let projector = Projector::new(db.pool.clone(), comptoir::app::consumers(&db.bus()));
    for _ in 0..4 {
        projector.run_once().await.unwrap();
    }
}

async fn register(db: &TestDb) -> Vec<(String, String, i64, Uuid, Option<String>, String)> {
    sqlx::query_as(
        "select number, kind, sequence, order_id, corrects, total_ttc::text
         from invoice_register order by series, sequence",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_payments_use_numbers_one_to_five_hundred_once() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let mut orders = Vec::new();
    for n in 0..500 {
        orders.push(place(&bus, n).await);
    }
    // Every payment at once.
    let payments: Vec<_> = orders
        .iter()
        .map(|&id| {
            let bus = bus.clone();
            tokio::spawn(async move { pay(&bus, id).await })
        })
        .collect();
    for payment in payments {
        payment.await.unwrap();
    }
    // And the series itself asked for every number at once (as several invoicers racing
    // would): conflicts on its stream are retried, never skipped or doubled.
    let year = Invoicer::year_of(Utc::now());
    let series = series_id(INVOICES, year);
    let assignments: Vec<_> = orders
        .iter()
        .map(|&order_id| {
            let bus: Arc<CommandBus> = bus.clone();
            let series = series.clone();
            tokio::spawn(async move {
                let command = InvoiceSeriesCommand::AssignInvoiceNumber {
                    prefix: INVOICES.to_owned(),
                    year,
                    order_id,
                    document_id: None,
                    format: None,
                };
                loop {
                    let metadata = EventMetadata::process(Invoicer::NAME);
                    match bus
                        .invoice_series
                        .execute(&series, command.clone(), &metadata)
                        .await
                    {
                        Ok(()) => break,
                        Err(CommandError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    for assignment in assignments {
        assignment.await.unwrap();
    }
    settle(&db).await;

    let rows = register(&db).await;
    assert_eq!(rows.len(), 500);
    let sequences: Vec<i64> = rows.iter().map(|r| r.2).collect();
    assert_eq!(sequences, (1..=500).collect::<Vec<i64>>());
    let mut invoiced: Vec<Uuid> = rows.iter().map(|r| r.3).collect();
    invoiced.sort();
    invoiced.dedup();
    assert_eq!(invoiced.len(), 500, "one invoice per order");
    for (number, kind, sequence, ..) in &rows {
        assert_eq!(kind, "invoice");
        assert_eq!(*number, format!("FA-{year}-{sequence:06}"));
    }
    // The orders agree with the register.
    let mismatched: i64 = sqlx::query_scalar(
        "select count(*) from orders o left join invoice_register r on r.order_id = o.order_id
         where o.invoice_number is distinct from r.number",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
}

#[tokio::test]
async fn a_crash_between_numbering_and_recording_recovers_to_the_same_number() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let first = place(&bus, 1).await;
    pay(&bus, first).await;
    // The invoicer's first step happened (the series gave the number), then the process
    // died before its checkpoint moved and before the order heard of it.
    let year = Invoicer::year_of(Utc::now());
    let command = InvoiceSeriesCommand::AssignInvoiceNumber {
        prefix: INVOICES.to_owned(),
        year,
        order_id: first,
        document_id: None,
        format: None,
    };
    bus.invoice_series
        .execute(
            &series_id(INVOICES, year),
            command,
            &EventMetadata::process(Invoicer::NAME),
        )
        .await
        .unwrap();
    let order = bus.orders.load(&first.to_string()).await.unwrap();
    assert_eq!(order.invoice_number(), None);

    // On restart the invoicer runs over the payment again, then over the series' event.
    settle(&db).await;
    let expected = format!("FA-{year}-000001");
    let order = bus.orders.load(&first.to_string()).await.unwrap();
    assert_eq!(order.invoice_number(), Some(expected.as_str()));
    let series = bus
        .invoice_series
        .load(&series_id(INVOICES, year))
        .await
        .unwrap();
    assert_eq!(series.last_number(), 1, "no second number was taken");

    // And once more from the very start: nothing new.
    let before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "update projection_checkpoints set last_position = 0, last_tx = 0 where name = 'invoicer'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    settle(&db).await;
    let after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);

    // The next order gets the next number.
    let second = place(&bus, 2).await;
    pay(&bus, second).await;
    settle(&db).await;
    let order = bus.orders.load(&second.to_string()).await.unwrap();
    assert_eq!(
        order.invoice_number(),
        Some(format!("FA-{year}-000002").as_str())
    );
}

#[tokio::test]
async fn refunds_and_cancellations_issue_credit_notes_in_their_own_series() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let staff = EventMetadata::system();
    let year = Invoicer::year_of(Utc::now());

    // An unpaid order cancelled: nothing was invoiced, nothing to credit.
    let unpaid = place(&bus, 1).await;
    let cancel = OrderCommand::CancelOrder {
        reason: "changed their mind".into(),
    };
    bus.orders
        .execute(&unpaid.to_string(), cancel.clone(), &staff)
        .await
        .unwrap();

    // A paid order: one unit of the 20 % part refunded at the counter, then the rest
    // cancelled.
    let order = place(&bus, 2).await;
    pay(&bus, order).await;
    settle(&db).await;
    let refund = OrderCommand::RefundLines {
        credit_id: Uuid::now_v7(),
        lines: vec![RefundLineInput {
            product_id: Uuid::from_u128(1),
            quantity: 1,
        }],
        reason: "pièce abîmée".into(),
    };
    bus.orders
        .execute(&order.to_string(), refund, &staff)
        .await
        .unwrap();
    settle(&db).await;
    bus.orders
        .execute(&order.to_string(), cancel, &staff)
        .await
        .unwrap();
    settle(&db).await;

    let invoice = format!("FA-{year}-000001");
    let rows = register(&db).await;
    let numbers: Vec<(&str, &str, Option<&str>, &str)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.4.as_deref(), r.5.as_str()))
        .collect();
    assert_eq!(
        numbers,
        [
            (
                format!("AV-{year}-000001").as_str(),
                "credit_note",
                Some(invoice.as_str()),
                "12.00"
            ),
            (
                format!("AV-{year}-000002").as_str(),
                "credit_note",
                Some(invoice.as_str()),
                "16.22"
            ),
            (invoice.as_str(), "invoice", None, ORDER_TTC),
        ]
    );
    let order_state = bus.orders.load(&order.to_string()).await.unwrap();
    assert!(order_state.lines_left_to_credit().is_empty());
    let (status, credited): (String, String) =
        sqlx::query_as("select payment_status, credited_ttc::text from orders where order_id = $1")
            .bind(order)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), credited.as_str()),
        ("refunded", ORDER_TTC)
    );
    let series = bus
        .invoice_series
        .load(&series_id(CREDIT_NOTES, year))
        .await
        .unwrap();
    assert_eq!(series.last_number(), 2);

    // A rebuild of the register from the events gives the same rows.
    let differences = projections::rebuild::compare_with_fresh(
        &db.pool,
        Arc::new(projections::views::invoices::InvoiceRegister),
    )
    .await
    .unwrap();
    assert!(differences.iter().all(|(_, n)| *n == 0), "{differences:?}");
}

#[tokio::test]
async fn days_close_with_the_register_totals_and_verify_against_it() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let staff = EventMetadata::system();
    for n in 0..2 {
        let order = place(&bus, n).await;
        pay(&bus, order).await;
        settle(&db).await;
        if n == 1 {
            let refund = OrderCommand::RefundLines {
                credit_id: Uuid::now_v7(),
                lines: vec![RefundLineInput {
                    product_id: Uuid::from_u128(2),
                    quantity: 1,
                }],
                reason: "retour".into(),
            };
            bus.orders
                .execute(&order.to_string(), refund, &staff)
                .await
                .unwrap();
        }
    }
    settle(&db).await;

    // Today is not over: nothing to close yet.
    let closed = comptoir::closures::close_due(&bus, Utc::now())
        .await
        .unwrap();
    assert!(closed.is_empty(), "{closed:?}");
    // Two days later, today and tomorrow are. Tomorrow's last event is today's closure:
    // it waits for the seal chain to have sealed it.
    let later = Utc::now() + chrono::Duration::days(2);
    let today = comptoir::closures::paris_day(Utc::now());
    let closed = comptoir::closures::close_due(&bus, later).await.unwrap();
    assert_eq!(closed, [today]);
    settle(&db).await;
    let closed = comptoir::closures::close_due(&bus, later).await.unwrap();
    assert_eq!(closed, [today.succ_opt().unwrap()]);
    settle(&db).await;
    assert!(comptoir::closures::close_due(&bus, later)
        .await
        .unwrap()
        .is_empty());

    let closures = bus
        .closures
        .load(aggregates::closure::CLOSURES_ID)
        .await
        .unwrap();
    let total = closures.grand_total();
    assert_eq!((total.invoices, total.credit_notes), (2, 1));
    // Two orders of 28.22, less 4.00 + 5.5 % = 4.22 refunded.
    assert_eq!(total.ttc.to_string(), "52.22");
    let by_means: Vec<(String, String)> = total
        .by_means
        .iter()
        .map(|m| (m.means.clone(), m.ttc.to_string()))
        .collect();
    assert_eq!(by_means, [("cash".to_owned(), "52.22".to_owned())]);

    let check = projections::views::invoices::verify_closures(&db.pool)
        .await
        .unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert!(check.checked >= 2);

    // A closure written past the aggregate with other totals is caught.
    let (sequence, payload): (i64, String) = sqlx::query_as(
        "select sequence, payload::text from events where aggregate_type = 'Closures'
         order by sequence desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let forged = payload.replacen("\"invoices\": 0", "\"invoices\": 7", 1);
    assert_ne!(forged, payload);
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('Closures', 'closures', $1, 'PeriodClosed', '1.0', $2::json, '{}'::json)",
    )
    .bind(sequence + 1)
    .bind(forged)
    .execute(&db.pool)
    .await
    .unwrap();
    let check = projections::views::invoices::verify_closures(&db.pool)
        .await
        .unwrap();
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
}

#[tokio::test]
async fn issued_documents_are_rendered_once_stored_with_their_hash_and_served_as_stored() {
    use aggregates::shop_settings::ShopSettingsCommand;
    use aggregates::SHOP_SETTINGS_ID;

    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    let folder = tempfile::tempdir().unwrap();
    let media = comptoir::media::Media::local(folder.path());
    let renderer = Arc::new(comptoir::invoices::pdf::Renderer::new().unwrap());
    let projector = Projector::new(
        db.pool.clone(),
        comptoir::app::consumers_publishing(&bus, media.clone(), renderer),
    );
    let order = place(&bus, 1).await;
    pay(&bus, order).await;

    // No seller yet: no invoice can be printed, and the publisher says why and waits.
    let stopped = projector.run_once().await.unwrap_err().to_string();
    assert!(stopped.contains("legal identity"), "{stopped}");
    let seller = comptoir::demo::seller().unwrap();
    bus.settings
        .execute(
            SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(seller),
            },
            &EventMetadata::system(),
        )
        .await
        .unwrap();
    for _ in 0..4 {
        projector.run_once().await.unwrap();
    }
    // A partial refund: its credit note is published too.
    let refund = OrderCommand::RefundLines {
        credit_id: Uuid::now_v7(),
        lines: vec![RefundLineInput {
            product_id: Uuid::from_u128(1),
            quantity: 1,
        }],
        reason: "rayure sur le carter".into(),
    };
    bus.orders
        .execute(&order.to_string(), refund, &EventMetadata::system())
        .await
        .unwrap();
    for _ in 0..4 {
        projector.run_once().await.unwrap();
    }

    let documents: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select number, pdf_key, pdf_sha256, pdf_size from invoice_register order by issued_at",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(documents.len(), 2);
    let state = comptoir::http::AppState {
        media: media.clone(),
        ..common::state(&db)
    };
    for (number, key, sha, size) in &documents {
        assert!(
            key.starts_with("documents/") && key.contains(sha.as_str()),
            "{key}"
        );
        let first = comptoir::invoices::stored_pdf(&state.pool, &state.media, number)
            .await
            .unwrap()
            .unwrap();
        let second = comptoir::invoices::stored_pdf(&state.pool, &state.media, number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len() as i64, *size);
        assert!(first.starts_with(b"%PDF-"));
        // What it says: the document as issued for this order and this seller.
        let text = pdf_text(&first);
        for expected in [
            number.as_str(),
            "123 456 782",
            "Client 1",
            "CMD-T-00001",
            "Atelier",
            "REF-1",
            "Espèces",
        ] {
            assert!(
                text.contains(expected) || text.contains(&expected.replace(' ', "")),
                "{number}: {expected:?} missing from\n{text}"
            );
        }
    }
    let invoice_number = &documents[0].0;
    let credit_text = pdf_text(
        &comptoir::invoices::stored_pdf(&state.pool, &state.media, &documents[1].0)
            .await
            .unwrap()
            .unwrap(),
    );
    assert!(
        credit_text.contains(invoice_number.as_str()),
        "{credit_text}"
    );
    assert!(
        credit_text.contains("rayure sur le carter"),
        "{credit_text}"
    );
    // Running the publisher over everything again stores nothing new.
    let before: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "update projection_checkpoints set last_position = 0, last_tx = 0 where name = 'publisher'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    projector.run_once().await.unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);

    // The orphan sweep keeps them: events reference them.
    comptoir::media::gc(&media, &db.pool, std::time::Duration::ZERO)
        .await
        .unwrap();
    for (_, key, ..) in &documents {
        assert!(folder.path().join(key).exists(), "{key} was swept");
    }

    // A PDF altered in the store is refused, not served.
    let (number, key, ..) = &documents[0];
    let path = folder.path().join(key);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let refused = comptoir::invoices::stored_pdf(&state.pool, &state.media, number).await;
    assert!(
        matches!(
            refused,
            Err(comptoir::invoices::PdfReadError::Altered { .. })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_business_is_invoiced_in_its_company_s_name_with_the_terms_owed_to_it() {
    use aggregates::shop_settings::ShopSettingsCommand;
    use aggregates::SHOP_SETTINGS_ID;

    let db = TestDb::new().await;
    let bus = db.bus();
    let folder = tempfile::tempdir().unwrap();
    let media = comptoir::media::Media::local(folder.path());
    let renderer = Arc::new(comptoir::invoices::pdf::Renderer::new().unwrap());
    let projector = Projector::new(
        db.pool.clone(),
        comptoir::app::consumers_publishing(&bus, media.clone(), renderer),
    );
    bus.settings
        .execute(
            SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &EventMetadata::system(),
        )
        .await
        .unwrap();
    let garage = aggregates::Billing {
        company: "Garage du Rhône".into(),
        address: aggregates::PostalAddress {
            street: "4 quai Perrache\nBâtiment B".into(),
            postal_code: "69002".into(),
            city: "Lyon".into(),
            country: "France".into(),
        },
        vat_number: Some("FR40303265045".parse().unwrap()),
    };
    let business = place_for(&bus, 1, Some(garage)).await;
    let person = place(&bus, 2).await;
    pay(&bus, business).await;
    pay(&bus, person).await;
    for _ in 0..4 {
        projector.run_once().await.unwrap();
    }
    let numbers: Vec<(Uuid, String)> =
        sqlx::query_as("select order_id, number from invoice_register order by number")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(numbers.len(), 2);
    // The books (register, sales CSV, FEC) name the business by its company.
    let named: String =
        sqlx::query_scalar("select customer_name from invoice_register where order_id = $1")
            .bind(business)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(named, "Garage du Rhône");
    let text_of = |order: Uuid| {
        let number = numbers.iter().find(|(o, _)| *o == order).unwrap().1.clone();
        let (pool, media) = (db.pool.clone(), media.clone());
        async move {
            let pdf = comptoir::invoices::stored_pdf(&pool, &media, &number)
                .await
                .unwrap()
                .unwrap();
            pdf_text(&pdf)
        }
    };
    let text = text_of(business).await;
    for expected in [
        "Garage du Rhône",
        "Client 1",
        "4 quai Perrache",
        "Bâtiment B",
        "69002 Lyon",
        "FR40303265045",
        "Conditions de paiement",
        "Pénalités de retard",
        "10 points",
        "40,00",
        "L441-10",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    // An individual is reached by email and phone, and owes no such terms.
    let text = text_of(person).await;
    assert!(text.contains("client@example.fr"), "{text}");
    for absent in ["Pénalités de retard", "Indemnité forfaitaire"] {
        assert!(
            !text.contains(absent),
            "{absent:?} on an individual's invoice\n{text}"
        );
    }
}

#[tokio::test]
async fn the_register_exports_to_csv_fec_and_the_audit_trail() {
    use aggregates::shop_settings::ShopSettingsCommand;
    use comptoir::accounting::{run, Dialect, FecSeparator, FEC_COLUMNS};

    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    bus.settings
        .execute(
            aggregates::SHOP_SETTINGS_ID,
            ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(comptoir::demo::seller().unwrap()),
            },
            &EventMetadata::system(),
        )
        .await
        .unwrap();
    let order = place(&bus, 1).await;
    pay(&bus, order).await;
    settle(&db).await;
    bus.orders
        .execute(
            &order.to_string(),
            OrderCommand::CancelOrder {
                reason: "plus besoin".into(),
            },
            &EventMetadata::system(),
        )
        .await
        .unwrap();
    settle(&db).await;

    let today = comptoir::closures::paris_day(Utc::now());
    let folder = tempfile::tempdir().unwrap();

    // Sales CSV, French dialect: BOM, semicolons, decimal commas, the credit note negative.
    let csv_path = folder.path().join("ventes.csv");
    let (rows, _) = run::sales_csv(&db.pool, today, today, Dialect::French, Some(&csv_path))
        .await
        .unwrap();
    assert_eq!(rows, 2);
    let csv = std::fs::read(&csv_path).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains(";28,22;") && csv.contains(";-28,22;"), "{csv}");

    // FEC: named after the SIREN and the last day, 18 columns, ISO-8859-15, balanced.
    let cwd = std::env::current_dir().unwrap();
    let fec_path = folder
        .path()
        .join(comptoir::accounting::fec_file_name("123456782", today));
    let (rows, written) = run::fec(&bus, today, today, FecSeparator::Pipe, Some(&fec_path))
        .await
        .unwrap();
    assert_eq!(rows, 2);
    assert!(written.ends_with(&format!("123456782FEC{}.txt", today.format("%Y%m%d"))));
    assert_eq!(std::env::current_dir().unwrap(), cwd);
    let bytes = std::fs::read(&fec_path).unwrap();
    let (text, _, malformed) = encoding_rs::ISO_8859_15.decode(&bytes);
    assert!(!malformed);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], FEC_COLUMNS.join("|"));
    let mut balance: std::collections::BTreeMap<(String, String), rust_decimal::Decimal> =
        Default::default();
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 18, "{line}");
        let amount = |s: &str| -> rust_decimal::Decimal {
            if s.is_empty() {
                rust_decimal::Decimal::ZERO
            } else {
                s.replace(',', ".").parse().unwrap()
            }
        };
        *balance
            .entry((fields[0].to_owned(), fields[2].to_owned()))
            .or_default() += amount(fields[11]) - amount(fields[12]);
    }
    assert!(balance.len() >= 3, "{balance:?}");
    assert!(balance.values().all(|b| b.is_zero()), "{balance:?}");

    // The audit trail of the day: every event, with its seal.
    let audit_path = folder.path().join("audit.jsonl");
    let (rows, _) = run::audit(&db.pool, today, today, true, Some(&audit_path))
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows as i64, events);

    // A period the wrong way round is refused, naming both ends.
    let refused = run::sales_csv(
        &db.pool,
        today,
        today.pred_opt().unwrap(),
        Dialect::Rfc4180,
        None,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("--from") && refused.contains("--to"),
        "{refused}"
    );
}
