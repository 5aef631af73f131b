//! The consumer that fills the outbox from order events.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::PgConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use aggregates::order::{Order, OrderEvent, OrderStatus, PaymentMethod, PaymentStatus};
use aggregates::{Email, ShopSettings, SHOP_SETTINGS_ID};
use projections::runtime::{Projection, ProjectionError};
use projections::stream::{DomainEvent, Envelope};

use super::compose::{compose, Composed, EmailKind, Notice, PaymentLink};
use crate::commands::CommandBus;
use crate::links::{path_segment, LinkSigner};

/// Days an invoice link in an email stays valid.
pub const INVOICE_LINK_DAYS: i64 = 90;

/// What the outbox needs besides the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// Where customers and staff reach the shop, for links (`COMPTOIR_PUBLIC_URL`; without
    /// it, `http://` and `COMPTOIR_BIND`, fine on one machine only). No trailing slash.
    pub public_url: String,
    /// Who is told of new orders (`COMPTOIR_STAFF_EMAIL`); without it, the contact address
    /// of the seller's legal identity in the shop settings; without both, nobody.
    pub staff_email: Option<Email>,
}

impl OutboxSettings {
    /// From the environment; an error names the variable.
    pub fn from_env() -> Result<OutboxSettings, String> {
        OutboxSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<OutboxSettings, String> {
        let set = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let public_url = match set("COMPTOIR_PUBLIC_URL") {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!(
                        "COMPTOIR_PUBLIC_URL must start with http:// or https://, not `{url}`"
                    ));
                }
                url.trim_end_matches('/').to_owned()
            }
            None => format!(
                "http://{}",
                set("COMPTOIR_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned())
            ),
        };
        let staff_email = match set("COMPTOIR_STAFF_EMAIL") {
            Some(email) => Some(Email::new(&email).map_err(|e| {
                format!("COMPTOIR_STAFF_EMAIL is not an email address (`{email}`): {e}")
            })?),
            None => None,
        };
        Ok(OutboxSettings {
            public_url,
            staff_email,
        })
    }
}

/// Fills `email_outbox` from order events:
///
/// | event | email |
/// |---|---|
/// | `OrderPlaced` | to the shop: new order; to the customer, for a pickup order: order received, with the pickup instructions |
/// | `PaymentSessionOpened` with a checkout URL | to the customer: order received, with the payment link |
/// | `PaymentConfirmed`, `InvoiceIssued` | to the customer, once the order is both paid and invoiced: payment confirmed, with the signed invoice link |
/// | `OrderReadyForPickup` | to the customer: ready, with the location and hours |
/// | `OrderCancelled` | to the customer: cancelled, with the reason |
///
/// Each (kind, order) is queued at most once (a unique key), so replaying the events, a
/// second payment session or a retried batch queues nothing new. The customer's details
/// come from the order's stream (loaded through the bus), the location's address and hours
/// from the shop settings as they are when the email is queued.
pub struct EmailOutbox {
    bus: Arc<CommandBus>,
    settings: Result<OutboxSettings, String>,
    signer: OnceCell<LinkSigner>,
}

impl std::fmt::Debug for EmailOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailOutbox")
            .field("settings", &self.settings)
            .finish()
    }
}

impl EmailOutbox {
    /// The consumer's name (its checkpoint).
    pub const NAME: &'static str = "email-outbox";

    /// An outbox with these settings.
    pub fn new(bus: Arc<CommandBus>, settings: OutboxSettings) -> Self {
        EmailOutbox {
            bus,
            settings: Ok(settings),
            signer: OnceCell::new(),
        }
    }

    /// An outbox configured from the environment. A bad setting does not panic here: the
    /// consumer stops at its first event with the message (shown by `/health/ready`), and
    /// no email is lost; `serve` refuses to start on it anyway (see `Mailer::from_env`).
    pub fn from_env(bus: Arc<CommandBus>) -> Self {
        EmailOutbox {
            bus,
            settings: OutboxSettings::from_env(),
            signer: OnceCell::new(),
        }
    }

    async fn signer(&self) -> Result<&LinkSigner, String> {
        self.signer
            .get_or_try_init(|| LinkSigner::load(&self.bus.pool))
            .await
            .map_err(|e| e.to_string())
    }

    /// The emails `event` calls for, before looking at the order.
    fn wanted(event: &OrderEvent) -> Vec<EmailKind> {
        match event {
            OrderEvent::OrderPlaced { payment_method, .. } => {
                let mut kinds = vec![EmailKind::StaffNewOrder];
                if *payment_method == PaymentMethod::Pickup {
                    kinds.push(EmailKind::OrderReceived);
                }
                kinds
            }
            OrderEvent::PaymentSessionOpened { url: Some(_), .. } => {
                vec![EmailKind::OrderReceived]
            }
            OrderEvent::PaymentConfirmed { .. } | OrderEvent::InvoiceIssued { .. } => {
                vec![EmailKind::PaymentConfirmed]
            }
            OrderEvent::OrderReadyForPickup => vec![EmailKind::ReadyForPickup],
            OrderEvent::OrderCancelled { .. } => vec![EmailKind::Cancelled],
            _ => Vec::new(),
        }
    }

    /// The notice for `kind`, or `None` when there is nothing to send (yet).
    async fn notice(&self, kind: EmailKind, facts: &Facts<'_>) -> Result<Option<Notice>, String> {
        let Facts {
            event,
            order_id,
            order,
            shop,
            settings,
            customer_told,
        } = *facts;
        // Behind the stream (after an outage, say), the order may have moved on since the
        // event: an email the customer no longer needs is not sent.
        let status = order.status();
        let moved_on = match kind {
            EmailKind::OrderReceived => status == OrderStatus::Cancelled,
            EmailKind::ReadyForPickup => {
                matches!(status, OrderStatus::Completed | OrderStatus::Cancelled)
            }
            _ => false,
        };
        if moved_on {
            tracing::info!(%order_id, kind = kind.code(), status = %status, "the order moved on: email not sent");
            return Ok(None);
        }
        Ok(match kind {
            EmailKind::OrderReceived => match event {
                OrderEvent::PaymentSessionOpened {
                    url: Some(url),
                    expires_at,
                    ..
                } => {
                    // Only a web address becomes a link in the HTML part.
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        tracing::warn!(%order_id, "payment session URL is not a web address: no email");
                        return Ok(None);
                    }
                    // Paid already (this consumer was behind): the summary without a link.
                    if order.payment_status() == PaymentStatus::Paid {
                        return Ok(Some(Notice::OrderReceived { payment: None }));
                    }
                    Some(Notice::OrderReceived {
                        payment: Some(PaymentLink {
                            url: url.clone(),
                            expires_at: *expires_at,
                        }),
                    })
                }
                _ => Some(Notice::OrderReceived { payment: None }),
            },
            EmailKind::PaymentConfirmed => {
                // The invoice number comes after the payment (a process manager assigns
                // it): the email goes out when the order has both, on whichever event
                // completes the pair.
                let (PaymentStatus::Paid, Some(number)) =
                    (order.payment_status(), order.invoice_number())
                else {
                    return Ok(None);
                };
                let expires = Utc::now() + chrono::Duration::days(INVOICE_LINK_DAYS);
                let path = format!("/invoices/{}", path_segment(number));
                let url = self
                    .signer()
                    .await?
                    .signed_url(&settings.public_url, &path, expires);
                Some(Notice::PaymentConfirmed {
                    invoice_number: number.to_owned(),
                    invoice_url: url,
                    link_expires: expires,
                })
            }
            EmailKind::ReadyForPickup => Some(Notice::ReadyForPickup),
            EmailKind::Cancelled => match event {
                // An online order whose customer never heard of it (no payment link went
                // out: the provider could not be reached, and the storefront said so) is
                // not news to them.
                OrderEvent::OrderCancelled { .. }
                    if order.payment_method() == Some(PaymentMethod::Stripe) && !customer_told =>
                {
                    tracing::info!(%order_id, "cancelled before the customer was told of it: no email");
                    None
                }
                OrderEvent::OrderCancelled { reason, .. } => Some(Notice::Cancelled {
                    reason: reason.clone(),
                }),
                _ => None,
            },
            EmailKind::StaffNewOrder => {
                let to = settings
                    .staff_email
                    .clone()
                    .or_else(|| shop.identity().map(|i| i.email.clone()));
                match to {
                    Some(to) => Some(Notice::StaffNewOrder {
                        to: to.as_str().to_owned(),
                    }),
                    None => {
                        tracing::info!(%order_id, "no shop address (COMPTOIR_STAFF_EMAIL or the seller's email): the new order is not emailed to the shop");
                        None
                    }
                }
            }
        })
    }
}

/// What one event's emails are made from.
struct Facts<'a> {
    event: &'a OrderEvent,
    order_id: Uuid,
    /// The order as it is now (it may be further on than `event`).
    order: &'a Order,
    shop: &'a ShopSettings,
    settings: &'a OutboxSettings,
    /// Whether the customer was sent an "order received" email.
    customer_told: bool,
}

/// The outbox's key of one email: one of each kind per order.
fn dedup_key(kind: EmailKind, order_id: Uuid) -> String {
    format!("{}:{order_id}", kind.code())
}

async fn already_queued(
    conn: &mut PgConnection,
    keys: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select dedup_key from email_outbox where dedup_key = any($1)")
        .bind(keys)
        .fetch_all(conn)
        .await
}

async fn queue(
    conn: &mut PgConnection,
    key: &str,
    order_id: Uuid,
    order: &Order,
    email: &Composed,
    position: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into email_outbox (email_id, dedup_key, kind, order_id, order_number, language,
                recipient, recipient_name, reply_to, subject, text_body, html_body,
                next_attempt_at, event_position)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), $13)
         on conflict (dedup_key) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(key)
    .bind(email.kind.code())
    .bind(order_id)
    .bind(order.order_number())
    .bind(email.language.code())
    .bind(&email.recipient)
    .bind(&email.recipient_name)
    .bind(&email.reply_to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(position)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[async_trait]
impl Projection for EmailOutbox {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// None: the outbox is a record of what was sent, never rebuilt.
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let mut shop: Option<ShopSettings> = None;
        for envelope in events {
            let DomainEvent::Order(event) = &envelope.event else {
                continue;
            };
            let position = envelope.raw.position;
            let failed = |message: String| ProjectionError::Event { position, message };
            let kinds = Self::wanted(event);
            let Some(order_id) = envelope.aggregate_uuid().filter(|_| !kinds.is_empty()) else {
                continue;
            };
            let settings = self.settings.as_ref().map_err(|e| failed(e.clone()))?;
            let keys: Vec<String> = kinds.iter().map(|k| dedup_key(*k, order_id)).collect();
            let done = already_queued(conn, &keys).await?;
            let kinds: Vec<EmailKind> = kinds
                .into_iter()
                .filter(|k| !done.contains(&dedup_key(*k, order_id)))
                .collect();
            if kinds.is_empty() {
                continue;
            }
            let order = self
                .bus
                .orders
                .load(&order_id.to_string())
                .await
                .map_err(|e| failed(format!("loading order {order_id}: {e}")))?;
            if !order.exists() {
                continue;
            }
            if shop.is_none() {
                shop = Some(
                    self.bus
                        .settings
                        .load(SHOP_SETTINGS_ID)
                        .await
                        .map_err(|e| failed(format!("loading the shop settings: {e}")))?,
                );
            }
            let Some(shop) = shop.as_ref() else { continue };
            let customer_told =
                !already_queued(conn, &[dedup_key(EmailKind::OrderReceived, order_id)])
                    .await?
                    .is_empty();
            let facts = Facts {
                event,
                order_id,
                order: &order,
                shop,
                settings,
                customer_told,
            };
            for kind in kinds {
                let notice = self.notice(kind, &facts).await.map_err(failed)?;
                let Some(notice) = notice else { continue };
                let email = compose(&notice, &order, shop, &settings.public_url)
                    .map_err(|e| failed(e.to_string()))?;
                let key = dedup_key(kind, order_id);
                if queue(conn, &key, order_id, &order, &email, position).await? {
                    tracing::info!(%order_id, kind = kind.code(), position, "email queued");
                }
            }
        }
        Ok(())
    }
}

/// Puts a sent or failed email back in the queue (staff asked), with a fresh count of
/// attempts and a new `Message-ID`, so mail clients show it even if the first arrived.
/// Returns whether there was such an email.
pub async fn resend(
    pool: &sqlx::PgPool,
    email_id: Uuid,
    staff_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "update email_outbox set status = 'pending', attempts = 0, next_attempt_at = now(),
                last_error = null, resends = resends + 1, resent_at = now(), resent_by = $2
          where email_id = $1 and status in ('sent', 'failed')",
    )
    .bind(email_id)
    .bind(staff_id)
    .execute(pool)
    .await?;
    Ok(changed.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn settings_come_from_the_environment_with_clear_errors() {
        let settings = OutboxSettings::from_lookup(env(&[])).unwrap();
        assert_eq!(settings.public_url, "http://127.0.0.1:8080");
        assert_eq!(settings.staff_email, None);
        let settings = OutboxSettings::from_lookup(env(&[
            ("COMPTOIR_PUBLIC_URL", "https://shop.example/"),
            ("COMPTOIR_STAFF_EMAIL", "boutique@example.fr"),
        ]))
        .unwrap();
        assert_eq!(settings.public_url, "https://shop.example");
        assert_eq!(
            settings.staff_email.map(|e| e.as_str().to_owned()),
            Some("boutique@example.fr".to_owned())
        );
        let bad = OutboxSettings::from_lookup(env(&[("COMPTOIR_STAFF_EMAIL", "boutique")]));
        assert!(bad.unwrap_err().starts_with("COMPTOIR_STAFF_EMAIL"));
        let bad = OutboxSettings::from_lookup(env(&[("COMPTOIR_PUBLIC_URL", "shop.example")]));
        assert!(bad.unwrap_err().starts_with("COMPTOIR_PUBLIC_URL"));
    }

    #[test]
    fn each_kind_is_queued_once_per_order() {
        let order = Uuid::nil();
        assert_eq!(
            dedup_key(EmailKind::OrderReceived, order),
            format!("order_received:{order}")
        );
        assert_ne!(
            dedup_key(EmailKind::OrderReceived, order),
            dedup_key(EmailKind::StaffNewOrder, order)
        );
    }
}
