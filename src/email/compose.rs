//! What each email says: the values taken from the order and the shop's settings, poured
//! into the templates of `templates/email/` (compiled into the binary). Pure: no IO, so
//! every email is rendered in the unit tests below in both languages.

use chrono::{DateTime, Utc};

use aggregates::order::{Order, OrderStatus, PaymentMethod, PaymentStatus};
use aggregates::{Language, ShopSettings};

use super::template::{self, Format, TemplateError, Values};

/// The kinds of email, as stored in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// To the customer: the order arrived (pickup instructions or payment link).
    OrderReceived,
    /// To the customer: the payment arrived, with the invoice link.
    PaymentConfirmed,
    /// To the customer: the order waits at the counter.
    ReadyForPickup,
    /// To the customer: the order was cancelled, and why.
    Cancelled,
    /// To the shop: a new order.
    StaffNewOrder,
}

impl EmailKind {
    /// Every kind.
    pub const ALL: [EmailKind; 5] = [
        EmailKind::OrderReceived,
        EmailKind::PaymentConfirmed,
        EmailKind::ReadyForPickup,
        EmailKind::Cancelled,
        EmailKind::StaffNewOrder,
    ];

    /// Its stored name, also its templates' name.
    pub fn code(self) -> &'static str {
        match self {
            EmailKind::OrderReceived => "order_received",
            EmailKind::PaymentConfirmed => "payment_confirmed",
            EmailKind::ReadyForPickup => "ready_for_pickup",
            EmailKind::Cancelled => "cancelled",
            EmailKind::StaffNewOrder => "staff_new_order",
        }
    }

    /// From its stored name.
    pub fn parse(code: &str) -> Option<EmailKind> {
        EmailKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One email to queue, with what only its event knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The order arrived; `payment` is the checkout link of an order paid online.
    OrderReceived { payment: Option<PaymentLink> },
    /// The payment arrived and the invoice has its number.
    PaymentConfirmed {
        invoice_number: String,
        /// The signed, expiring link to the invoice.
        invoice_url: String,
        link_expires: DateTime<Utc>,
    },
    /// The order waits at the counter.
    ReadyForPickup,
    /// The order was cancelled.
    Cancelled { reason: String },
    /// A new order, told to the shop at `to`.
    StaffNewOrder { to: String },
}

/// Where a customer pays an order placed online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl Notice {
    pub fn kind(&self) -> EmailKind {
        match self {
            Notice::OrderReceived { .. } => EmailKind::OrderReceived,
            Notice::PaymentConfirmed { .. } => EmailKind::PaymentConfirmed,
            Notice::ReadyForPickup => EmailKind::ReadyForPickup,
            Notice::Cancelled { .. } => EmailKind::Cancelled,
            Notice::StaffNewOrder { .. } => EmailKind::StaffNewOrder,
        }
    }
}

/// A rendered email, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub kind: EmailKind,
    pub recipient: String,
    pub recipient_name: Option<String>,
    /// Where answers go: the shop for customers, the customer for the shop.
    pub reply_to: Option<String>,
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why an email could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the order has no customer email")]
    NoRecipient,
    #[error("email template {template}.{language}: {source}")]
    Template {
        template: &'static str,
        language: &'static str,
        source: TemplateError,
    },
    #[error("email template {0}: no subject line (`Subject: …` first)")]
    NoSubject(&'static str),
}

/// The templates, compiled in. `None` for a template that does not exist (the shop's
/// emails are French only).
fn source(name: &str, language: Language, format: Format) -> Option<&'static str> {
    macro_rules! file {
        ($name:literal) => {
            include_str!(concat!("../../templates/email/", $name))
        };
    }
    use Format::{Html, Text};
    use Language::{En, Fr};
    Some(match (name, language, format) {
        ("layout", _, Html) => file!("layout.html"),
        ("layout", _, Text) => file!("layout.txt"),
        ("lines", Fr, Html) => file!("lines.fr.html"),
        ("lines", Fr, Text) => file!("lines.fr.txt"),
        ("lines", En, Html) => file!("lines.en.html"),
        ("lines", En, Text) => file!("lines.en.txt"),
        ("pickup", Fr, Html) => file!("pickup.fr.html"),
        ("pickup", Fr, Text) => file!("pickup.fr.txt"),
        ("pickup", En, Html) => file!("pickup.en.html"),
        ("pickup", En, Text) => file!("pickup.en.txt"),
        ("order_received", Fr, Html) => file!("order_received.fr.html"),
        ("order_received", Fr, Text) => file!("order_received.fr.txt"),
        ("order_received", En, Html) => file!("order_received.en.html"),
        ("order_received", En, Text) => file!("order_received.en.txt"),
        ("payment_confirmed", Fr, Html) => file!("payment_confirmed.fr.html"),
        ("payment_confirmed", Fr, Text) => file!("payment_confirmed.fr.txt"),
        ("payment_confirmed", En, Html) => file!("payment_confirmed.en.html"),
        ("payment_confirmed", En, Text) => file!("payment_confirmed.en.txt"),
        ("ready_for_pickup", Fr, Html) => file!("ready_for_pickup.fr.html"),
        ("ready_for_pickup", Fr, Text) => file!("ready_for_pickup.fr.txt"),
        ("ready_for_pickup", En, Html) => file!("ready_for_pickup.en.html"),
        ("ready_for_pickup", En, Text) => file!("ready_for_pickup.en.txt"),
        ("cancelled", Fr, Html) => file!("cancelled.fr.html"),
        ("cancelled", Fr, Text) => file!("cancelled.fr.txt"),
        ("cancelled", En, Html) => file!("cancelled.en.html"),
        ("cancelled", En, Text) => file!("cancelled.en.txt"),
        ("staff_new_order", Fr, Html) => file!("staff_new_order.fr.html"),
        ("staff_new_order", Fr, Text) => file!("staff_new_order.fr.txt"),
        _ => return None,
    })
}

/// Renders `kind`'s templates around the layout: (subject, text, html).
fn render(
    kind: EmailKind,
    language: Language,
    values: &mut Values,
) -> Result<(String, String, String), ComposeError> {
    let name = kind.code();
    let failed = |source| ComposeError::Template {
        template: name,
        language: language.code(),
        source,
    };
    let missing = || failed(TemplateError::NoPartial(name.to_owned()));
    let text_source = source(name, language, Format::Text).ok_or_else(missing)?;
    let html_source = source(name, language, Format::Html).ok_or_else(missing)?;
    // The plain-text template starts with its subject line.
    let (subject_line, text_body) = text_source
        .split_once('\n')
        .ok_or(ComposeError::NoSubject(name))?;
    let subject_source = subject_line
        .strip_prefix("Subject:")
        .ok_or(ComposeError::NoSubject(name))?;
    let no_partials = |_: &str| None;
    let subject =
        template::render(subject_source, values, Format::Text, &no_partials).map_err(failed)?;
    // A subject is one line, whatever the values held.
    let subject = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    values.text("subject", subject.clone());
    let text_partials = |partial: &str| match partial {
        "content" => Some(text_body.trim_start_matches(['\r', '\n'])),
        other => source(other, language, Format::Text),
    };
    let text = template::render(
        source("layout", language, Format::Text).ok_or_else(missing)?,
        values,
        Format::Text,
        &text_partials,
    )
    .map_err(failed)?;
    let html_partials = |partial: &str| match partial {
        "content" => Some(html_source),
        other => source(other, language, Format::Html),
    };
    let html = template::render(
        source("layout", language, Format::Html).ok_or_else(missing)?,
        values,
        Format::Html,
        &html_partials,
    )
    .map_err(failed)?;
    Ok((subject, tidy_text(&text), html))
}

/// At most one blank line in a row, and a single newline at the end.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = if line == "-- " { line } else { line.trim_end() };
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// An amount the customer's way, in the shop's currency.
fn money(amount: rust_decimal::Decimal, language: Language, shop: &ShopSettings) -> String {
    crate::admin::chart::money(amount, language == Language::Fr, shop.currency().symbol())
}

fn percent(rate: aggregates::VatRate, language: Language) -> String {
    let value = rate.percent().normalize().to_string();
    match language {
        Language::Fr => format!("{} %", value.replace('.', ",")),
        Language::En => format!("{value}%"),
    }
}

fn when(at: &DateTime<Utc>, language: Language) -> String {
    crate::admin::layout::local_time(at, language == Language::Fr)
}

/// The values every email of an order shares.
fn order_values(order: &Order, shop: &ShopSettings, language: Language) -> Values {
    let mut values = Values::new();
    values
        .text("lang", language.code())
        .flag("fr", language == Language::Fr)
        .flag("en", language == Language::En);
    let identity = shop.identity();
    values.text(
        "shop_name",
        identity.map_or("Comptoir", |i| i.company_name.as_str()),
    );
    values.text(
        "shop_address",
        identity
            .map(|i| {
                let street = i
                    .address
                    .street
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{street}, {} {}", i.address.postal_code, i.address.city)
            })
            .unwrap_or_default(),
    );
    values.text(
        "shop_email",
        identity
            .map(|i| i.email.as_str().to_owned())
            .unwrap_or_default(),
    );
    values
        .text("order_number", order.order_number())
        .text("customer_name", order.customer_name())
        .text(
            "customer_email",
            order
                .customer_email()
                .map(|e| e.as_str())
                .unwrap_or_default(),
        )
        .text(
            "customer_phone",
            order
                .customer_phone()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
    let lines = order
        .lines()
        .iter()
        .map(|line| {
            let mut item = Values::new();
            item.text("name", line.name.clone())
                .text("reference", line.reference.to_string())
                .text("quantity", line.quantity.to_string())
                .text(
                    "unit_price_ht",
                    money(line.unit_price_ht.amount(), language, shop),
                )
                .text(
                    "line_total_ht",
                    money(line.line_total_ht.amount(), language, shop),
                )
                .text("vat_rate", percent(line.vat_rate, language));
            item
        })
        .collect();
    values.list("lines", lines);
    let zero = rust_decimal::Decimal::ZERO;
    let totals = order.totals();
    let amount = |pick: fn(&aggregates::Totals) -> rust_decimal::Decimal| {
        money(totals.map_or(zero, pick), language, shop)
    };
    values
        .text("total_ht", amount(|t| t.total_ht.amount()))
        .text("total_vat", amount(|t| t.total_vat.amount()))
        .text("total_ttc", amount(|t| t.total_ttc.amount()));
    let vat_lines = totals
        .map(|t| {
            t.vat_breakdown
                .iter()
                .map(|line| {
                    let mut item = Values::new();
                    item.text("rate", percent(line.rate, language))
                        .text("base_ht", money(line.base_ht.amount(), language, shop))
                        .text("vat", money(line.vat.amount(), language, shop));
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    values.list("vat_lines", vat_lines);
    // The location as the settings describe it now; the order only kept its name.
    let location = shop.pickup_locations().iter().find(|l| {
        l.name
            .trim()
            .eq_ignore_ascii_case(order.pickup_location().trim())
    });
    values
        .text(
            "pickup_name",
            location.map_or(order.pickup_location(), |l| l.name.as_str()),
        )
        .text(
            "pickup_address",
            location.map(|l| l.address.clone()).unwrap_or_default(),
        )
        .text(
            "pickup_hours",
            location
                .map(|l| l.opening_hours.clone())
                .unwrap_or_default(),
        );
    let paid = order.payment_status() == PaymentStatus::Paid;
    values
        .flag("paid", paid)
        .flag("payment_due", !paid)
        .text(
            "amount_paid",
            money(
                order
                    .amount_paid()
                    .map(|m| m.amount())
                    .or(totals.map(|t| t.total_ttc.amount()))
                    .unwrap_or(zero),
                language,
                shop,
            ),
        )
        .flag(
            "not_ready_yet",
            matches!(
                order.status(),
                OrderStatus::Pending | OrderStatus::Confirmed
            ),
        );
    values
}

/// Renders `notice` for `order`: `public_url` is where the shop is reached (links).
pub fn compose(
    notice: &Notice,
    order: &Order,
    shop: &ShopSettings,
    public_url: &str,
) -> Result<Composed, ComposeError> {
    let customer = order
        .customer_email()
        .map(|e| e.as_str().to_owned())
        .ok_or(ComposeError::NoRecipient)?;
    let shop_email = shop.identity().map(|i| i.email.as_str().to_owned());
    let kind = notice.kind();
    // The shop reads French; customers read their order's language.
    let language = match notice {
        Notice::StaffNewOrder { .. } => Language::Fr,
        _ => order.language(),
    };
    let mut values = order_values(order, shop, language);
    match notice {
        Notice::OrderReceived { payment } => {
            let paid = order.payment_status() == PaymentStatus::Paid;
            let pay_at_pickup =
                payment.is_none() && !paid && order.payment_method() == Some(PaymentMethod::Pickup);
            values.flag("pay_at_pickup", pay_at_pickup);
            values.flag("already_paid", payment.is_none() && paid);
            values.text(
                "payment_url",
                payment.as_ref().map(|p| p.url.clone()).unwrap_or_default(),
            );
            values.text(
                "payment_expires",
                payment
                    .as_ref()
                    .map(|p| when(&p.expires_at, language))
                    .unwrap_or_default(),
            );
        }
        Notice::PaymentConfirmed {
            invoice_number,
            invoice_url,
            link_expires,
        } => {
            values
                .text("invoice_number", invoice_number.clone())
                .text("invoice_url", invoice_url.clone())
                .text("invoice_expires", when(link_expires, language));
        }
        Notice::ReadyForPickup => {}
        Notice::Cancelled { reason } => {
            // The reasons the system writes itself are words for the log: say them the
            // customer's way.
            use aggregates::order::{PAYMENT_EXPIRED, PAYMENT_FAILED, PAYMENT_UNAVAILABLE};
            let reason = match (reason.as_str(), language) {
                (PAYMENT_EXPIRED, Language::Fr) => "le délai de paiement est écoulé",
                (PAYMENT_EXPIRED, Language::En) => "the time to pay ran out",
                (PAYMENT_FAILED, Language::Fr) => "le paiement a échoué",
                (PAYMENT_FAILED, Language::En) => "the payment failed",
                (PAYMENT_UNAVAILABLE, Language::Fr) => "le service de paiement était indisponible",
                (PAYMENT_UNAVAILABLE, Language::En) => "the payment service was unavailable",
                _ => reason.as_str(),
            }
            .to_owned();
            values.text("reason", reason);
        }
        Notice::StaffNewOrder { .. } => {
            values
                .text(
                    "placed_at",
                    order
                        .placed_at()
                        .map(|at| when(&at, language))
                        .unwrap_or_default(),
                )
                .text(
                    "customer_language",
                    match order.language() {
                        Language::Fr => "français",
                        Language::En => "anglais",
                    },
                )
                .text(
                    "payment_method",
                    match order.payment_method() {
                        Some(PaymentMethod::Pickup) => "au comptoir, au retrait",
                        Some(PaymentMethod::Stripe) => "en ligne (Stripe)",
                        Some(PaymentMethod::Oney) => "Oney",
                        None => "",
                    },
                )
                .text(
                    "admin_url",
                    format!(
                        "{public_url}/admin/orders/{}",
                        crate::links::path_segment(order.order_number())
                    ),
                );
        }
    }
    let (subject, text, html) = render(kind, language, &mut values)?;
    let (recipient, recipient_name, reply_to) = match notice {
        Notice::StaffNewOrder { to } => (to.clone(), None, Some(customer)),
        _ => (
            customer,
            Some(order.customer_name().to_owned()).filter(|n| !n.trim().is_empty()),
            shop_email,
        ),
    };
    Ok(Composed {
        kind,
        recipient,
        recipient_name,
        reply_to,
        language,
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aggregates::order::{OrderEvent, OrderLine};
    use aggregates::shop_settings::{
        LegalIdentity, PickupLocation, PostalAddress, ShopSettingsEvent,
    };
    use aggregates::{Email, Money, Phone, Reference, Siren, Siret, VatRate};
    use cqrs_es::Aggregate;
    use uuid::Uuid;

    #[allow(clippy::unwrap_used)]
    fn order(language: Language, method: PaymentMethod) -> Order {
        let mut order = Order::default();
        let line = OrderLine {
            product_id: Uuid::nil(),
            reference: Reference::try_from("PN-1").unwrap(),
            name: "Pneu <b>Sport</b> & \"Route\"".into(),
            quantity: 2,
            unit_price_ht: Money::try_from("50.00").unwrap(),
            vat_rate: VatRate::try_from("20").unwrap(),
            line_total_ht: Money::try_from("100.00").unwrap(),
        };
        let totals = aggregates::values::compute_totals(&[(
            2,
            Money::try_from("50.00").unwrap(),
            VatRate::try_from("20").unwrap(),
        )]);
        order.apply(OrderEvent::OrderPlaced {
            order_id: Uuid::nil(),
            order_number: "C-2026-000042".into(),
            customer_email: Email::new("marie@example.fr").unwrap(),
            customer_name: "Marie <Curie>".into(),
            customer_phone: Phone::try_from("06 12 34 56 78").unwrap(),
            pickup_location: "Atelier".into(),
            payment_method: method,
            lines: vec![line],
            totals,
            placed_at: Utc::now(),
            language,
            billing: None,
        });
        order
    }

    #[allow(clippy::unwrap_used)]
    fn shop() -> ShopSettings {
        let mut shop = ShopSettings::default();
        shop.apply(ShopSettingsEvent::LegalIdentityChanged {
            identity: Box::new(LegalIdentity {
                company_name: "Moto & <Fils>".into(),
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
                rcs_city: None,
                vat_number: None,
                email: Email::new("contact@moto.test").unwrap(),
                phone: None,
            }),
            previous: None,
        });
        shop.apply(ShopSettingsEvent::PickupLocationAdded {
            location: PickupLocation {
                location_id: Uuid::nil(),
                name: "Atelier".into(),
                address: "1 rue de la Moto\n69007 Lyon".into(),
                opening_hours: "Mar.–sam. 9h–18h".into(),
            },
        });
        shop
    }

    fn notices() -> Vec<Notice> {
        vec![
            Notice::OrderReceived { payment: None },
            Notice::OrderReceived {
                payment: Some(PaymentLink {
                    url: "https://checkout.stripe.test/c/pay/cs_test_1?a=1&b=2".into(),
                    expires_at: Utc::now(),
                }),
            },
            Notice::PaymentConfirmed {
                invoice_number: "F-2026-00001".into(),
                invoice_url: "https://shop.test/invoices/F-2026-00001?expires=1&signature=ab"
                    .into(),
                link_expires: Utc::now(),
            },
            Notice::ReadyForPickup,
            Notice::Cancelled {
                reason: "Rupture <fournisseur>".into(),
            },
            Notice::StaffNewOrder {
                to: "boutique@example.fr".into(),
            },
        ]
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_email_renders_in_both_languages_with_both_parts_and_escaped_values() {
        for language in [Language::Fr, Language::En] {
            let order = order(language, PaymentMethod::Pickup);
            for notice in notices() {
                let email = compose(&notice, &order, &shop(), "https://shop.test")
                    .unwrap_or_else(|e| panic!("{notice:?} in {language:?}: {e}"));
                assert!(!email.subject.is_empty());
                assert!(email.subject.contains("C-2026-000042"), "{}", email.subject);
                assert!(email.text.contains("C-2026-000042"));
                assert!(email.html.starts_with("<!DOCTYPE html>"));
                // Nothing typed by a customer or staff member reaches the HTML as markup.
                assert!(!email.html.contains("<b>Sport</b>"));
                assert!(!email.html.contains("<Curie>"));
                assert!(!email.html.contains("<fournisseur>"));
                assert!(!email.html.contains("<Fils>"));
                assert!(email.text.contains("Moto & <Fils>"));
                assert!(!email.html.contains("{{"), "{}", email.html);
                assert!(!email.text.contains("{{"), "{}", email.text);
                assert!(!email.text.contains("\n\n\n"), "{}", email.text);
            }
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn customers_are_written_to_in_their_language_and_the_shop_in_french() {
        let english = order(Language::En, PaymentMethod::Pickup);
        let received = compose(
            &Notice::OrderReceived { payment: None },
            &english,
            &shop(),
            "https://shop.test",
        )
        .unwrap();
        assert_eq!(received.language, Language::En);
        assert_eq!(
            received.subject,
            "Your order C-2026-000042 has been received"
        );
        assert!(received.html.contains("<html lang=\"en\">"));
        assert!(received.text.contains("Opening hours: Mar.–sam. 9h–18h"));
        assert!(received.text.contains("Marie <Curie>"));
        assert!(received.html.contains("Marie &lt;Curie&gt;"));
        assert_eq!(received.recipient, "marie@example.fr");
        assert_eq!(received.recipient_name.as_deref(), Some("Marie <Curie>"));
        let staff = compose(
            &Notice::StaffNewOrder {
                to: "boutique@example.fr".into(),
            },
            &english,
            &shop(),
            "https://shop.test",
        )
        .unwrap();
        assert_eq!(staff.language, Language::Fr);
        assert_eq!(staff.recipient, "boutique@example.fr");
        assert_eq!(staff.reply_to.as_deref(), Some("marie@example.fr"));
        assert!(staff
            .text
            .contains("https://shop.test/admin/orders/C-2026-000042"));
        assert!(staff.text.contains("Langue : anglais"));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_order_received_email_tells_how_to_pay() {
        let french = order(Language::Fr, PaymentMethod::Pickup);
        let pickup = compose(
            &Notice::OrderReceived { payment: None },
            &french,
            &shop(),
            "https://shop.test",
        )
        .unwrap();
        assert!(pickup.text.contains("Vous la réglerez au comptoir"));
        assert!(pickup.text.contains("1 rue de la Moto"));
        assert!(pickup.text.contains("Total TTC : 120,00 €"));
        assert!(pickup.text.contains("TVA 20 % : 20,00 €"));
        assert!(!pickup.text.contains("lien de paiement"));
        let online = order(Language::Fr, PaymentMethod::Stripe);
        let link = "https://checkout.stripe.test/c/pay/cs_test_1?a=1&b=2";
        let stripe = compose(
            &Notice::OrderReceived {
                payment: Some(PaymentLink {
                    url: link.into(),
                    expires_at: Utc::now(),
                }),
            },
            &online,
            &shop(),
            "https://shop.test",
        )
        .unwrap();
        assert!(stripe.text.contains(link));
        assert!(stripe.html.contains(&link.replace('&', "&amp;")));
        assert!(!stripe.text.contains("Vous la réglerez au comptoir"));
        // Paid before the email was written: the summary, without a link to pay.
        let mut paid = order(Language::Fr, PaymentMethod::Stripe);
        paid.apply(aggregates::order::OrderEvent::PaymentConfirmed {
            provider: "stripe".into(),
            reference: "pi_1".into(),
            amount: Money::try_from("120.00").unwrap(),
            paid_at: Utc::now(),
            provider_event_id: None,
        });
        let email = compose(
            &Notice::OrderReceived { payment: None },
            &paid,
            &shop(),
            "https://shop.test",
        )
        .unwrap();
        assert!(
            email.text.contains("Votre paiement est bien reçu"),
            "{}",
            email.text
        );
        assert!(email.text.contains("1 rue de la Moto"));
        assert!(!email.text.contains("lien de paiement"));
        assert!(!email.text.contains("Vous la réglerez au comptoir"));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_lapsed_payment_is_told_in_the_customers_words() {
        let cancelled = Notice::Cancelled {
            reason: aggregates::order::PAYMENT_EXPIRED.into(),
        };
        let french = order(Language::Fr, PaymentMethod::Stripe);
        let email = compose(&cancelled, &french, &shop(), "https://shop.test").unwrap();
        assert!(email
            .text
            .contains("Motif : le délai de paiement est écoulé"));
        let english = order(Language::En, PaymentMethod::Stripe);
        let email = compose(&cancelled, &english, &shop(), "https://shop.test").unwrap();
        assert!(email.text.contains("Reason: the time to pay ran out"));
    }

    #[test]
    fn text_is_tidied() {
        assert_eq!(
            tidy_text("\n\na  \n\n\n\nb\n-- \nc\n\n\n"),
            "a\n\nb\n-- \nc\n"
        );
    }

    #[test]
    fn kinds_parse_back() {
        for kind in EmailKind::ALL {
            assert_eq!(EmailKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(EmailKind::parse("spam"), None);
    }
}
