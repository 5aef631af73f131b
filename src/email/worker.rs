//! Sending what the outbox holds.
//!
//! A row moves `pending` → `sending` (leased until `next_attempt_at`) → `sent`, or back to
//! `pending` with a later `next_attempt_at` after a failure, or to `failed` after
//! [`MAX_ATTEMPTS`] (or at once when the server refuses the email for good). Rows are
//! claimed one at a time with `for update skip locked`, so several workers (two servers on
//! one database) never send the same row at once, and a slow send holds no lock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::transport::{Mailer, SendError};

/// Attempts before an email is marked failed (about six hours of retries with
/// [`backoff`]); staff can resend it from the admin after that.
pub const MAX_ATTEMPTS: i32 = 12;

/// How long a row stays claimed by the worker sending it. A row still `sending` after
/// this (its worker crashed, or the send outlived every timeout) is sent again.
pub const LEASE: Duration = Duration::from_secs(300);

/// Rows one call of [`deliver_due`] handles at most, so a call is bounded.
const BATCH: usize = 200;

/// The wait after the `attempts`-th failure: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(1, 16) - 1;
    let seconds = 30i64.saturating_mul(1 << exponent).min(3600);
    chrono::Duration::seconds(seconds)
}

/// What one call of [`deliver_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Failed this time, to be tried again later.
    pub retrying: usize,
    /// Failed for good.
    pub failed: usize,
}

impl Delivery {
    /// Whether nothing was due.
    pub fn is_empty(&self) -> bool {
        *self == Delivery::default()
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    email_id: Uuid,
    /// `sending` when a previous worker's lease ran out: it may have sent it already.
    previous_status: String,
    attempts: i32,
    resends: i32,
    kind: String,
    language: String,
    recipient: String,
    recipient_name: Option<String>,
    reply_to: Option<String>,
    subject: String,
    text_body: String,
    html_body: String,
}

async fn claim(pool: &PgPool, now: DateTime<Utc>) -> Result<Option<Claimed>, sqlx::Error> {
    let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::minutes(5));
    sqlx::query_as(
        "with due as (
             select email_id, status from email_outbox
              where status in ('pending', 'sending') and next_attempt_at <= $1
              order by next_attempt_at, created_at
              limit 1
              for update skip locked
         )
         update email_outbox e
            set status = 'sending', attempts = e.attempts + 1, last_attempt_at = $1,
                next_attempt_at = $2
           from due
          where e.email_id = due.email_id
      returning e.email_id, due.status as previous_status, e.attempts, e.resends, e.kind,
                e.language, e.recipient, e.recipient_name, e.reply_to, e.subject,
                e.text_body, e.html_body",
    )
    .bind(now)
    .bind(now + lease)
    .fetch_optional(pool)
    .await
}

/// The message for a claimed row. An address that cannot be parsed is a permanent failure.
fn message(mailer: &Mailer, row: &Claimed) -> Result<Message, SendError> {
    let permanent = |message: String| SendError {
        message,
        permanent: true,
    };
    let address = row
        .recipient
        .parse()
        .map_err(|e| permanent(format!("recipient `{}`: {e}", row.recipient)))?;
    let to = Mailbox::new(row.recipient_name.clone(), address);
    let domain = mailer.from().email.domain().to_owned();
    // The same id for the same row and resend count: a copy sent again after a crash can
    // be recognised as the same message; a resend asked by staff is a new one.
    let message_id = format!("<{}.{}@{domain}>", row.email_id, row.resends);
    let mut builder = Message::builder()
        .from(mailer.from().clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(message_id))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            row.language.clone(),
        ))
        // RFC 3834: an automatic message (no out-of-office replies to it, please).
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Comptoir-Kind"),
            row.kind.clone(),
        ));
    if let Some(reply_to) = &row.reply_to {
        match reply_to.parse() {
            Ok(mailbox) => builder = builder.reply_to(mailbox),
            Err(error) => {
                tracing::warn!(email_id = %row.email_id, %error, "reply-to address dropped")
            }
        }
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            row.html_body.clone(),
        ))
        .map_err(|e| permanent(format!("building the message: {e}")))
}

/// Sends every email due at `now` (at most a few hundred per call) and records each
/// outcome. Errors are the database's; a failed send is recorded on its row.
pub async fn deliver_due(
    pool: &PgPool,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<Delivery, sqlx::Error> {
    deliver_due_until(pool, mailer, now, || false).await
}

/// [`deliver_due`], stopping between two emails once `stop` says so.
async fn deliver_due_until(
    pool: &PgPool,
    mailer: &Mailer,
    now: DateTime<Utc>,
    stop: impl Fn() -> bool,
) -> Result<Delivery, sqlx::Error> {
    let mut done = Delivery::default();
    for _ in 0..BATCH {
        if stop() {
            break;
        }
        let Some(row) = claim(pool, now).await? else {
            break;
        };
        if row.previous_status == "sending" {
            tracing::warn!(
                email_id = %row.email_id,
                recipient = %row.recipient,
                "email was being sent when its worker stopped or stalled; sending it again, so the recipient may get it twice"
            );
        }
        let sent = match message(mailer, &row) {
            Ok(message) => mailer.send(message).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => {
                sqlx::query(
                    "update email_outbox set status = 'sent', sent_at = $2, last_error = null
                      where email_id = $1 and status = 'sending'",
                )
                .bind(row.email_id)
                .bind(now)
                .execute(pool)
                .await?;
                tracing::info!(email_id = %row.email_id, kind = %row.kind, "email sent");
                done.sent += 1;
            }
            Err(error) => {
                let give_up = error.permanent || row.attempts >= MAX_ATTEMPTS;
                let (status, next) = if give_up {
                    ("failed", now)
                } else {
                    ("pending", now + backoff(row.attempts))
                };
                sqlx::query(
                    "update email_outbox set status = $2, next_attempt_at = $3, last_error = $4
                      where email_id = $1 and status = 'sending'",
                )
                .bind(row.email_id)
                .bind(status)
                .bind(next)
                .bind(&error.message)
                .execute(pool)
                .await?;
                if give_up {
                    tracing::error!(email_id = %row.email_id, attempts = row.attempts, error = %error, "email failed for good; it can be resent from the admin");
                    done.failed += 1;
                } else {
                    tracing::warn!(email_id = %row.email_id, attempts = row.attempts, error = %error, retry_at = %next, "email not sent; will try again");
                    done.retrying += 1;
                }
            }
        }
    }
    Ok(done)
}

/// Sends due emails every few seconds until `shutdown`.
pub fn spawn_worker(
    pool: PgPool,
    mailer: Mailer,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tracing::info!(transport = mailer.describe(), from = %mailer.from(), "email worker started");
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let stopping = || *shutdown.borrow();
            let pause = match deliver_due_until(&pool, &mailer, Utc::now(), stopping).await {
                // A full batch: more may be due at once.
                Ok(done) if done.sent + done.retrying + done.failed >= BATCH => Duration::ZERO,
                Ok(_) => Duration::from_secs(3),
                Err(error) => {
                    tracing::warn!(%error, "email worker: database unavailable; will try again");
                    Duration::from_secs(10)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let waits: Vec<i64> = (1..=10).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1000).num_seconds(), 3600);
        let total: i64 = (1..MAX_ATTEMPTS).map(|n| backoff(n).num_seconds()).sum();
        assert!((4 * 3600..8 * 3600).contains(&total), "{total}");
    }
}
