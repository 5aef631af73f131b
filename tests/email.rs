//! The email outbox end to end, against a private PostgreSQL and a real SMTP server
//! (Python's aiosmtpd from PyPI, installed by `scripts/mail-deps`, writing what it receives
//! to a maildir): what order events queue, what arrives (parsed by Python's own email
//! package: recipient, subject, both parts, language), the signed invoice link against the
//! real router, a mail server that stops and comes back, replays, and the file transport.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use serde::Deserialize;
use tower::ServiceExt;
use uuid::Uuid;

use aggregates::metadata::EventMetadata;
use aggregates::order::{OrderCommand, OrderLineInput, PaymentMethod};
use aggregates::shop_settings::{LegalIdentity, PostalAddress};
use aggregates::{
    Email, Language, Money, Phone, Reference, ShopSettingsCommand, Siren, Siret, VatRate,
    SHOP_SETTINGS_ID,
};
use common::TestDb;
use comptoir::commands::CommandBus;
use comptoir::email::{
    deliver_due, resend, spawn_worker, Delivery, EmailOutbox, Mailer, OutboxSettings, SmtpSecurity,
    SmtpSettings, MAX_ATTEMPTS,
};
use comptoir::http::router;
use comptoir::links::LinkSigner;
use projections::Projector;

const SHOP_EMAIL: &str = "contact@moto.test";
const PUBLIC_URL: &str = "https://shop.test";

// ---------------------------------------------------------------- the SMTP server

/// The Python with aiosmtpd, installed once per test process.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let output = Command::new("bash")
            .arg(root.join("scripts/mail-deps"))
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/mail-deps runs");
        assert!(output.status.success(), "scripts/mail-deps failed");
        let stdout = String::from_utf8(output.stdout).unwrap();
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("mail-deps prints python")
                .trim(),
        )
    })
}

/// A free port on the loopback interface (bound then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd writing every message it accepts into a maildir.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let mut server = SmtpServer {
            port: free_port(),
            maildir: dir.path().join("maildir"),
            child: None,
            _dir: dir,
        };
        server.restart().await;
        server
    }

    /// Starts (again) on the same port and maildir.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn mailer(&self) -> Mailer {
        let mut smtp = SmtpSettings::new("127.0.0.1", SmtpSecurity::None);
        smtp.port = self.port;
        smtp.timeout = Duration::from_secs(5);
        Mailer::smtp(&smtp, "Moto & Fils <boutique@moto.test>".parse().unwrap()).unwrap()
    }

    fn messages(&self) -> Vec<Received> {
        parse_mail("maildir", &self.maildir)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message as Python's `email` package reads it.
#[derive(Debug, Clone, Deserialize)]
struct Received {
    /// The envelope recipient (aiosmtpd's `X-RcptTo`); absent for `.eml` files.
    rcpt: Option<String>,
    to: String,
    from: String,
    subject: String,
    message_id: String,
    language: Option<String>,
    reply_to: Option<String>,
    kind: Option<String>,
    content_type: String,
    text: Option<String>,
    html: Option<String>,
}

const PARSE: &str = r#"
import email, json, mailbox, os, sys
from email import policy

def read(raw):
    m = email.message_from_bytes(raw, policy=policy.default)
    text, html = m.get_body(("plain",)), m.get_body(("html",))
    header = lambda name: str(m[name]) if m[name] is not None else None
    return {
        "rcpt": header("X-RcptTo"), "to": header("To"), "from": header("From"),
        "subject": header("Subject"), "message_id": header("Message-ID"),
        "language": header("Content-Language"), "reply_to": header("Reply-To"),
        "kind": header("X-Comptoir-Kind"), "content_type": m.get_content_type(),
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    }

mode, path = sys.argv[1], sys.argv[2]
raws = []
if mode == "maildir" and os.path.isdir(path):
    box = mailbox.Maildir(path, create=False)
    raws = [box.get_bytes(key) for key in box.keys()]
elif mode == "eml" and os.path.isdir(path):
    for name in sorted(os.listdir(path)):
        if name.endswith(".eml"):
            with open(os.path.join(path, name), "rb") as f:
                raws.append(f.read())
print(json.dumps([read(raw) for raw in raws]))
"#;

fn parse_mail(mode: &str, path: &Path) -> Vec<Received> {
    let output = Command::new(python())
        .args(["-c", PARSE, mode])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

// ---------------------------------------------------------------- the shop

fn system() -> EventMetadata {
    EventMetadata::system()
}

/// The seller (whose address gets the new-order emails) and its pickup location.
async fn set_up_shop(bus: &CommandBus) {
    let identity = LegalIdentity {
        company_name: "Moto & Fils".into(),
        legal_form: "SARL".into(),
        share_capital: Some(Money::try_from("1000").unwrap()),
        address: PostalAddress {
            street: "12 rue de la Moto".into(),
            postal_code: "69007".into(),
            city: "Lyon".into(),
            country: "France".into(),
        },
        siren: Siren::new("123456782").unwrap(),
        siret: Siret::new("12345678200002").unwrap(),
        rcs_city: Some("Lyon".into()),
        vat_number: None,
        email: Email::new(SHOP_EMAIL).unwrap(),
        phone: None,
    };
    for command in [
        ShopSettingsCommand::ChangeLegalIdentity {
            identity: Box::new(identity),
        },
        ShopSettingsCommand::AddPickupLocation {
            location_id: Uuid::now_v7(),
            name: "Atelier".into(),
            address: "3 impasse du Garage, 69007 Lyon".into(),
            opening_hours: "Du mardi au samedi, 9 h – 18 h".into(),
        },
    ] {
        bus.settings
            .execute(SHOP_SETTINGS_ID, command, &system())
            .await
            .unwrap();
    }
}

/// Places an order straight on the aggregate (the outbox reads only the order's stream).
async fn place(
    bus: &CommandBus,
    customer: &str,
    name: &str,
    method: PaymentMethod,
    language: Language,
) -> (Uuid, String) {
    let order_id = Uuid::now_v7();
    let number = format!("C-TEST-{}", &order_id.simple().to_string()[24..]);
    let command = OrderCommand::PlaceOrder {
        order_id,
        order_number: number.clone(),
        customer_email: Email::new(customer).unwrap(),
        customer_name: name.into(),
        customer_phone: Phone::try_from("06 12 34 56 78").unwrap(),
        pickup_location: "Atelier".into(),
        payment_method: method,
        lines: vec![OrderLineInput {
            product_id: Uuid::now_v7(),
            reference: Reference::try_from("PN-120-70").unwrap(),
            name: "Pneu <Sport> 120/70".into(),
            quantity: 2,
            unit_price_ht: Money::try_from("50.00").unwrap(),
            vat_rate: VatRate::try_from("20").unwrap(),
        }],
        placed_at: Utc::now(),
        language,
        billing: None,
    };
    bus.orders
        .execute(&order_id.to_string(), command, &system())
        .await
        .unwrap();
    (order_id, number)
}

async fn order_command(bus: &CommandBus, order_id: Uuid, command: OrderCommand) {
    bus.orders
        .execute(&order_id.to_string(), command, &system())
        .await
        .unwrap();
}

async fn pay(bus: &CommandBus, order_id: Uuid, invoice: &str) {
    order_command(
        bus,
        order_id,
        OrderCommand::ConfirmPayment {
            provider: "stripe".into(),
            reference: format!("pi_{}", order_id.simple()),
            amount: Money::try_from("120.00").unwrap(),
            paid_at: Utc::now(),
            provider_event_id: None,
        },
    )
    .await;
    order_command(
        bus,
        order_id,
        OrderCommand::IssueInvoice {
            invoice_number: invoice.into(),
            issued_at: chrono::Utc::now(),
        },
    )
    .await;
}

fn outbox(bus: &Arc<CommandBus>) -> Arc<EmailOutbox> {
    Arc::new(EmailOutbox::new(
        bus.clone(),
        OutboxSettings {
            public_url: PUBLIC_URL.into(),
            staff_email: None,
        },
    ))
}

/// Runs the outbox consumer over everything written so far.
async fn consume(db: &TestDb) {
    let bus = db.bus();
    Projector::new(
        db.pool.clone(),
        vec![outbox(&bus) as Arc<dyn projections::Projection>],
    )
    .run_once()
    .await
    .unwrap();
}

async fn count(db: &TestDb, filter: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from email_outbox where {filter}"))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn app(db: &TestDb) -> axum::Router {
    router(common::state(db))
}

async fn status_of(app: &axum::Router, path_and_query: &str) -> StatusCode {
    app.clone()
        .oneshot(Request::get(path_and_query).body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

fn find<'a>(messages: &'a [Received], to: &str, kind: &str) -> &'a Received {
    let found: Vec<&Received> = messages
        .iter()
        .filter(|m| {
            m.rcpt.as_deref().unwrap_or(&m.to).contains(to) && m.kind.as_deref() == Some(kind)
        })
        .collect();
    assert_eq!(found.len(), 1, "one {kind} to {to} in {messages:#?}");
    found[0]
}

// ---------------------------------------------------------------- the tests

#[tokio::test]
async fn order_events_become_emails_in_the_customers_language_with_working_links() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    set_up_shop(&bus).await;
    // A French customer paying at the counter, an English one paying online.
    let (french, french_number) = place(
        &bus,
        "marie@example.fr",
        "Marie <Curie>",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    let (english, english_number) = place(
        &bus,
        "john@example.com",
        "John Smith",
        PaymentMethod::Stripe,
        Language::En,
    )
    .await;
    let checkout = "https://checkout.stripe.test/c/pay/cs_test_a1?x=1&y=2";
    order_command(
        &bus,
        english,
        OrderCommand::OpenPaymentSession {
            provider: "stripe".into(),
            session_id: "cs_test_a1".into(),
            expires_at: Utc::now() + chrono::Duration::minutes(30),
            url: Some(checkout.into()),
        },
    )
    .await;
    consume(&db).await;
    // Paid: the email waits for the invoice number, then goes out once.
    order_command(
        &bus,
        english,
        OrderCommand::ConfirmPayment {
            provider: "stripe".into(),
            reference: "pi_1".into(),
            amount: Money::try_from("120.00").unwrap(),
            paid_at: Utc::now(),
            provider_event_id: None,
        },
    )
    .await;
    consume(&db).await;
    assert_eq!(count(&db, "kind = 'payment_confirmed'").await, 0);
    order_command(
        &bus,
        english,
        OrderCommand::IssueInvoice {
            invoice_number: "F-2026-00001".into(),
            issued_at: chrono::Utc::now(),
        },
    )
    .await;
    order_command(&bus, english, OrderCommand::ConfirmOrder).await;
    order_command(&bus, english, OrderCommand::MarkReadyForPickup).await;
    order_command(
        &bus,
        french,
        OrderCommand::CancelOrder {
            reason: "Plus de stock chez le <fournisseur>".into(),
        },
    )
    .await;
    consume(&db).await;
    // Two new-order emails to the shop; to the customers: two order received, payment
    // confirmed, ready and cancelled.
    assert_eq!(count(&db, "true").await, 7);

    let mut server = SmtpServer::start().await;
    let started = std::time::Instant::now();
    let done = deliver_due(&db.pool, &server.mailer(), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        done,
        Delivery {
            sent: 7,
            retrying: 0,
            failed: 0
        }
    );
    eprintln!("7 emails through SMTP in {:?}", started.elapsed());
    let messages = server.messages();
    assert_eq!(messages.len(), 7, "{messages:#?}");
    for message in &messages {
        assert_eq!(message.content_type, "multipart/alternative");
        assert!(message.text.as_deref().is_some_and(|t| !t.is_empty()));
        assert!(message
            .html
            .as_deref()
            .is_some_and(|h| h.contains("</html>")));
        assert!(message.from.contains("boutique@moto.test"));
        assert!(message.message_id.ends_with("@moto.test>"));
    }

    // The French pickup order: received with the pickup instructions, in French.
    let received = find(&messages, "marie@example.fr", "order_received");
    assert_eq!(
        received.subject,
        format!("Votre commande {french_number} est bien reçue")
    );
    assert_eq!(received.language.as_deref(), Some("fr"));
    assert_eq!(received.reply_to.as_deref(), Some(SHOP_EMAIL));
    assert!(received.to.contains("marie@example.fr"));
    assert_eq!(received.rcpt.as_deref(), Some("marie@example.fr"));
    let text = received.text.as_deref().unwrap();
    assert!(text.contains("Bonjour Marie <Curie>,"), "{text}");
    assert!(text.contains("3 impasse du Garage, 69007 Lyon"), "{text}");
    assert!(
        text.contains("Horaires : Du mardi au samedi, 9 h – 18 h"),
        "{text}"
    );
    assert!(text.contains("Total TTC : 120,00 €"), "{text}");
    let html = received.html.as_deref().unwrap();
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("Marie &lt;Curie&gt;"), "{html}");
    assert!(html.contains("Pneu &lt;Sport&gt; 120/70"), "{html}");
    assert!(!html.contains("<Sport>"));

    // The shop hears of both orders, in French, with the customer to reply to.
    let news: Vec<&Received> = messages
        .iter()
        .filter(|m| m.kind.as_deref() == Some("staff_new_order"))
        .collect();
    assert_eq!(news.len(), 2);
    let english_news = news
        .iter()
        .find(|m| m.subject.contains(&english_number))
        .unwrap();
    assert_eq!(english_news.rcpt.as_deref(), Some(SHOP_EMAIL));
    assert_eq!(english_news.reply_to.as_deref(), Some("john@example.com"));
    assert!(english_news.subject.starts_with("Nouvelle commande"));
    assert!(english_news
        .text
        .as_deref()
        .unwrap()
        .contains(&format!("{PUBLIC_URL}/admin/orders/{english_number}")));

    // The English online order: the payment link, in English.
    let received = find(&messages, "john@example.com", "order_received");
    assert_eq!(
        received.subject,
        format!("Your order {english_number} has been received")
    );
    assert_eq!(received.language.as_deref(), Some("en"));
    assert!(received.text.as_deref().unwrap().contains(checkout));
    assert!(received
        .html
        .as_deref()
        .unwrap()
        .contains(&format!("href=\"{}\"", checkout.replace('&', "&amp;"))));

    // Payment confirmed, with a signed invoice link that the shop's router honours.
    let confirmed = find(&messages, "john@example.com", "payment_confirmed");
    assert_eq!(
        confirmed.subject,
        format!("Payment received for your order {english_number}")
    );
    let text = confirmed.text.as_deref().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{PUBLIC_URL}/invoices/")))
        .unwrap_or_else(|| panic!("no invoice link in {text}"));
    assert!(confirmed
        .html
        .as_deref()
        .unwrap()
        .contains(&link.replace('&', "&amp;")));
    let path = link.strip_prefix(PUBLIC_URL).unwrap();
    assert!(path.starts_with("/invoices/F-2026-00001?expires="));
    let app = app(&db);
    // A good link: not forbidden, only not issued yet (the PDF comes with the invoices).
    assert_eq!(status_of(&app, path).await, StatusCode::NOT_FOUND);
    let tampered_number = path.replace("F-2026-00001", "F-2026-00002");
    assert_eq!(
        status_of(&app, &tampered_number).await,
        StatusCode::FORBIDDEN
    );
    let (before, signature) = path.split_once("&signature=").unwrap();
    let mut flipped = signature.to_owned();
    let last = if flipped.ends_with('0') { '1' } else { '0' };
    flipped.pop();
    flipped.push(last);
    assert_eq!(
        status_of(&app, &format!("{before}&signature={flipped}")).await,
        StatusCode::FORBIDDEN
    );
    let expires: i64 = before.rsplit_once("expires=").unwrap().1.parse().unwrap();
    assert!(expires > Utc::now().timestamp() + 80 * 86_400);
    assert_eq!(
        status_of(
            &app,
            &format!(
                "/invoices/F-2026-00001?expires={}&signature={signature}",
                expires + 1
            )
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(&app, "/invoices/F-2026-00001").await,
        StatusCode::FORBIDDEN
    );
    // Correctly signed by the shop's key, but expired.
    let signer = LinkSigner::load(&db.pool).await.unwrap();
    let past = Utc::now() - chrono::Duration::minutes(1);
    let expired = signer.signed_url("", "/invoices/F-2026-00001", past);
    assert_eq!(status_of(&app, &expired).await, StatusCode::FORBIDDEN);
    let fresh = signer.signed_url(
        "",
        "/invoices/F-2026-00001",
        Utc::now() + chrono::Duration::minutes(1),
    );
    assert_eq!(status_of(&app, &fresh).await, StatusCode::NOT_FOUND);

    // Ready for pickup (already paid) and cancelled (with the reason).
    let ready = find(&messages, "john@example.com", "ready_for_pickup");
    assert_eq!(
        ready.subject,
        format!("Your order {english_number} is ready")
    );
    let text = ready.text.as_deref().unwrap();
    assert!(text.contains("It is already paid"), "{text}");
    assert!(text.contains("Opening hours: Du mardi au samedi"), "{text}");
    let cancelled = find(&messages, "marie@example.fr", "cancelled");
    assert_eq!(
        cancelled.subject,
        format!("Votre commande {french_number} est annulée")
    );
    assert!(cancelled
        .text
        .as_deref()
        .unwrap()
        .contains("Motif : Plus de stock chez le <fournisseur>"));
    assert!(cancelled
        .html
        .as_deref()
        .unwrap()
        .contains("Plus de stock chez le &lt;fournisseur&gt;"));

    // Nothing is due any more; the rows say when they went.
    let again = deliver_due(&db.pool, &server.mailer(), Utc::now())
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        count(&db, "status = 'sent' and sent_at is not null").await,
        7
    );
    server.stop();
}

#[tokio::test]
async fn a_mail_server_that_stops_and_comes_back_gets_every_email_exactly_once() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    set_up_shop(&bus).await;
    let mut server = SmtpServer::start().await;
    let mailer = server.mailer();
    place(
        &bus,
        "a@example.fr",
        "A",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    consume(&db).await;
    assert_eq!(
        deliver_due(&db.pool, &mailer, Utc::now())
            .await
            .unwrap()
            .sent,
        2
    );

    // The server goes away mid-run: what is queued now waits, with the error recorded.
    server.stop();
    for i in 0..3 {
        place(
            &bus,
            &format!("b{i}@example.fr"),
            "B",
            PaymentMethod::Pickup,
            Language::En,
        )
        .await;
    }
    consume(&db).await;
    let now = Utc::now();
    let done = deliver_due(&db.pool, &mailer, now).await.unwrap();
    assert_eq!(
        done,
        Delivery {
            sent: 0,
            retrying: 6,
            failed: 0
        }
    );
    assert_eq!(
        count(
            &db,
            "status = 'pending' and attempts = 1 and last_error is not null"
        )
        .await,
        6
    );
    // Not due again before the back-off.
    let soon = deliver_due(&db.pool, &mailer, now + chrono::Duration::seconds(10))
        .await
        .unwrap();
    assert!(soon.is_empty());
    // Still down at the next try: a second attempt, a longer wait.
    let later = now + chrono::Duration::seconds(31);
    assert_eq!(
        deliver_due(&db.pool, &mailer, later)
            .await
            .unwrap()
            .retrying,
        6
    );
    assert_eq!(count(&db, "attempts = 2 and status = 'pending'").await, 6);

    // Back: everything goes out, once.
    server.restart().await;
    let back = now + chrono::Duration::hours(1);
    assert_eq!(deliver_due(&db.pool, &mailer, back).await.unwrap().sent, 6);
    assert!(
        deliver_due(&db.pool, &mailer, back + chrono::Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 8);
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "every email arrived exactly once");
    assert_eq!(count(&db, "status = 'sent'").await, 8);

    // A worker that died after sending but before recording leaves its row leased: once
    // the lease is over the email is sent again (the log says so), with the same
    // Message-ID, so at most one copy too many.
    let email_id: Uuid = sqlx::query_scalar(
        "update email_outbox set status = 'sending', next_attempt_at = $1
          where email_id = (select email_id from email_outbox order by created_at limit 1)
      returning email_id",
    )
    .bind(back + chrono::Duration::minutes(5))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        deliver_due(&db.pool, &mailer, back)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let after_lease = back + chrono::Duration::minutes(6);
    assert_eq!(
        deliver_due(&db.pool, &mailer, after_lease)
            .await
            .unwrap()
            .sent,
        1
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 9);
    let copies = messages
        .iter()
        .filter(|m| m.message_id.starts_with(&format!("<{email_id}.")))
        .count();
    assert_eq!(copies, 2);

    // Down for good: after the last attempt the email is failed, then resent by hand.
    server.stop();
    place(
        &bus,
        "c@example.fr",
        "C",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    consume(&db).await;
    sqlx::query("update email_outbox set attempts = $1 where status = 'pending'")
        .bind(MAX_ATTEMPTS - 1)
        .execute(&db.pool)
        .await
        .unwrap();
    let done = deliver_due(&db.pool, &mailer, after_lease).await.unwrap();
    assert_eq!(done.failed, 2);
    let failed: Vec<Uuid> =
        sqlx::query_scalar("select email_id from email_outbox where status = 'failed'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(failed.len(), 2);
    server.restart().await;
    for id in &failed {
        assert!(resend(&db.pool, *id, None).await.unwrap());
    }
    assert!(
        !resend(&db.pool, failed[0], None).await.unwrap(),
        "already pending"
    );
    assert_eq!(
        deliver_due(&db.pool, &mailer, Utc::now())
            .await
            .unwrap()
            .sent,
        2
    );
    let resent = server.messages();
    assert_eq!(resent.len(), 11);
    // A resend asked by staff is a new message.
    assert!(resent
        .iter()
        .any(|m| m.message_id.starts_with(&format!("<{}.1@", failed[0]))));
    server.stop();
}

#[tokio::test]
async fn replaying_the_outbox_over_the_same_events_queues_nothing_new() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    set_up_shop(&bus).await;
    let (order, _) = place(
        &bus,
        "a@example.fr",
        "A",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    pay(&bus, order, "F-2026-00007").await;
    order_command(&bus, order, OrderCommand::ConfirmOrder).await;
    order_command(&bus, order, OrderCommand::MarkReadyForPickup).await;
    // Cancelled before the outbox saw it placed (it was behind): no "received", only why.
    let (late, _) = place(
        &bus,
        "b@example.fr",
        "B",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    order_command(
        &bus,
        late,
        OrderCommand::CancelOrder {
            reason: "Doublon".into(),
        },
    )
    .await;
    consume(&db).await;
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from email_outbox where order_id = $1 and kind <> 'staff_new_order' order by kind",
    )
    .bind(late)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(kinds, ["cancelled"]);
    let queued = count(&db, &format!("order_id = '{order}'")).await;
    assert_eq!(queued, 4, "new order, received, payment confirmed, ready");
    let before: Vec<(Uuid, String)> =
        sqlx::query_as("select email_id, dedup_key from email_outbox order by dedup_key")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    // From the very start again, and by a second consumer at the same time.
    sqlx::query("update projection_checkpoints set last_tx = 0, last_position = 0 where name = $1")
        .bind(EmailOutbox::NAME)
        .execute(&db.pool)
        .await
        .unwrap();
    tokio::join!(consume(&db), consume(&db));
    let after: Vec<(Uuid, String)> =
        sqlx::query_as("select email_id, dedup_key from email_outbox order by dedup_key")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn online_orders_are_only_cancelled_by_email_to_customers_who_heard_of_them() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    set_up_shop(&bus).await;
    // Stripe could not be reached: the storefront said so, the order never had a link.
    let (unpayable, _) = place(
        &bus,
        "a@example.fr",
        "A",
        PaymentMethod::Stripe,
        Language::Fr,
    )
    .await;
    order_command(
        &bus,
        unpayable,
        OrderCommand::CancelOrder {
            reason: "payment provider unavailable".into(),
        },
    )
    .await;
    // The customer had the link and let it lapse: told, in their words.
    let (lapsed, _) = place(
        &bus,
        "b@example.com",
        "B",
        PaymentMethod::Stripe,
        Language::En,
    )
    .await;
    order_command(
        &bus,
        lapsed,
        OrderCommand::OpenPaymentSession {
            provider: "stripe".into(),
            session_id: "cs_test_lapsed".into(),
            expires_at: Utc::now() + chrono::Duration::minutes(30),
            url: Some("https://checkout.stripe.test/c/pay/cs_test_lapsed".into()),
        },
    )
    .await;
    consume(&db).await;
    order_command(
        &bus,
        lapsed,
        OrderCommand::ExpirePaymentSession {
            session_id: "cs_test_lapsed".into(),
            provider_event_id: Some("evt_1".into()),
        },
    )
    .await;
    consume(&db).await;
    let customer_emails: Vec<(String, String)> = sqlx::query_as(
        "select recipient, kind from email_outbox where kind <> 'staff_new_order'
          order by recipient, kind",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        customer_emails,
        [
            ("b@example.com".to_owned(), "cancelled".to_owned()),
            ("b@example.com".to_owned(), "order_received".to_owned()),
        ]
    );
    let text: String =
        sqlx::query_scalar("select text_body from email_outbox where kind = 'cancelled'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(text.contains("Reason: the time to pay ran out"), "{text}");
    assert_eq!(count(&db, "kind = 'staff_new_order'").await, 2);
}

#[tokio::test]
async fn a_store_with_history_does_not_email_its_past_orders() {
    common::init_logs();
    let db = TestDb::new().await;
    // Another database on the same server, migrated up to the migration before the
    // outbox's, with an order in it.
    db.cluster.ensure_database("legacy").await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(db.cluster.connect_options("legacy"))
        .await
        .unwrap();
    let outbox_migration = projections::db::MIGRATOR
        .iter()
        .find(|m| m.description.contains("email outbox") || m.description.contains("email_outbox"))
        .expect("the outbox's migration");
    for migration in projections::db::MIGRATOR.iter() {
        if migration.version < outbox_migration.version {
            sqlx::raw_sql(&migration.sql).execute(&pool).await.unwrap();
        }
    }
    let bus = CommandBus::new(pool.clone());
    let (old, _) = place(
        &bus,
        "old@example.fr",
        "Old",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    sqlx::raw_sql(&outbox_migration.sql)
        .execute(&pool)
        .await
        .unwrap();
    let checkpoint: i64 = sqlx::query_scalar(
        "select last_position from projection_checkpoints where name = 'email-outbox'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let last: i64 = sqlx::query_scalar("select max(position) from events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(checkpoint, last);
    // The old order moves on and a new one comes: only what happens now is emailed.
    order_command(&bus, old, OrderCommand::ConfirmOrder).await;
    order_command(&bus, old, OrderCommand::MarkReadyForPickup).await;
    place(
        &bus,
        "new@example.fr",
        "New",
        PaymentMethod::Pickup,
        Language::Fr,
    )
    .await;
    Projector::new(
        pool.clone(),
        vec![outbox(&bus) as Arc<dyn projections::Projection>],
    )
    .run_once()
    .await
    .unwrap();
    let queued: Vec<(String, String)> =
        sqlx::query_as("select kind, recipient from email_outbox order by kind, recipient")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        queued,
        vec![
            ("order_received".to_owned(), "new@example.fr".to_owned()),
            ("ready_for_pickup".to_owned(), "old@example.fr".to_owned()),
        ],
        "no shop address in this store: no new-order email either"
    );
    pool.close().await;
}

#[tokio::test]
async fn without_smtp_emails_are_written_as_eml_files_in_the_data_directory() {
    common::init_logs();
    let db = TestDb::new().await;
    let bus = db.bus();
    set_up_shop(&bus).await;
    place(
        &bus,
        "a@example.fr",
        "Anne",
        PaymentMethod::Pickup,
        Language::En,
    )
    .await;
    consume(&db).await;
    let data = tempfile::tempdir().unwrap();
    // No SMTP variable: the file transport, into <data dir>/outbox.
    let mailer = Mailer::from_lookup(|_| None, data.path()).unwrap();
    assert!(mailer.describe().contains("outbox"));
    // The worker as `serve` runs it: it finds the emails, sends them, stops when told.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = spawn_worker(db.pool.clone(), mailer, stopped);
    for _ in 0..200 {
        if count(&db, "status = 'sent'").await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops when told")
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(data.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.extension().is_some_and(|e| e == "eml")));
    let messages = parse_mail("eml", &data.path().join("outbox"));
    let received = messages
        .iter()
        .find(|m| m.kind.as_deref() == Some("order_received"))
        .unwrap();
    assert!(received.to.contains("a@example.fr"));
    assert!(received.from.contains("comptoir@localhost"));
    assert_eq!(received.language.as_deref(), Some("en"));
    assert!(received.subject.starts_with("Your order "));
    assert!(received.text.as_deref().unwrap().contains("Hello Anne,"));
    assert!(received.html.as_deref().unwrap().contains("Hello Anne,"));
}
