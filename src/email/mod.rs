//! Emails: an outbox filled from events, emptied by a worker.
//!
//! - [`EmailOutbox`] is a consumer of the event stream: on an order's events it renders
//!   the email they call for (templates in `templates/email/`, in the order's language) and
//!   records it in `email_outbox`, in the same transaction as its checkpoint, under a key
//!   per (kind, order). Replaying it queues nothing twice.
//! - [`deliver_due`] sends what is due through a [`Mailer`] (SMTP, or `.eml` files when no
//!   SMTP server is configured): each row is leased before it is sent and recorded after,
//!   failures are retried with exponential back-off, and a row stays in the table whatever
//!   happens, so a mail server that is down loses nothing. [`spawn_worker`] runs it in a
//!   loop.
//!
//! A crash between sending and recording leaves the row leased; once the lease is over it
//! is sent again with a warning in the log, so an email goes out at most twice in that
//! case and never zero times. The repeat carries the same `Message-ID`, which lets mail
//! clients drop it.

mod compose;
mod outbox;
pub mod template;
mod transport;
mod worker;

pub use compose::{compose, ComposeError, Composed, EmailKind, Notice, PaymentLink};
pub use outbox::{resend, EmailOutbox, OutboxSettings, INVOICE_LINK_DAYS};
pub use transport::{MailConfigError, Mailer, SendError, SmtpSecurity, SmtpSettings};
pub use worker::{backoff, deliver_due, spawn_worker, Delivery, LEASE, MAX_ATTEMPTS};
