//! Where emails go: an SMTP server when `COMPTOIR_SMTP_HOST` is set, otherwise `.eml`
//! files in `<data dir>/outbox` (lettre's file transport), so a fresh machine needs no
//! mail server and the files show what would have been sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Secret;

/// How the SMTP connection is protected (`COMPTOIR_SMTP_SECURITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, refused if the server cannot (port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
    /// No encryption: only for a server on the same machine or network (a mail catcher).
    None,
}

impl SmtpSecurity {
    /// From `starttls`, `tls` or `none`.
    pub fn parse(value: &str) -> Option<SmtpSecurity> {
        match value.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" | "ssl" | "smtps" => Some(SmtpSecurity::Tls),
            "none" | "plain" => Some(SmtpSecurity::None),
            _ => None,
        }
    }

    /// The usual port for this security.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }

    fn label(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "STARTTLS",
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::None => "unencrypted",
        }
    }
}

/// An SMTP server to send through.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, Secret)>,
    /// Longest wait for the server at each step.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// A server without credentials, with the usual port of `security`.
    pub fn new(host: impl Into<String>, security: SmtpSecurity) -> Self {
        SmtpSettings {
            host: host.into(),
            port: security.default_port(),
            security,
            credentials: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A mail setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// A variable with a value that cannot be used; the message names it.
    #[error("{0}")]
    Variable(String),
    #[error("cannot create the outbox directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SMTP server {host}: {message}")]
    Smtp { host: String, message: String },
}

/// Why one email was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// The server refused this email for good (a 5xx answer, an impossible address):
    /// trying again cannot help.
    pub permanent: bool,
}

impl SendError {
    fn transient(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            permanent: false,
        }
    }
}

/// The error and its causes on one line (lettre's own message leaves the cause out).
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// Sends emails from one address through one transport.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    description: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &self.description)
            .finish()
    }
}

/// The sender when nothing says otherwise and emails only go to files.
const DEFAULT_FROM: &str = "Comptoir <comptoir@localhost>";

/// Longest a single email may take to send, whatever the server does.
const SEND_LIMIT: Duration = Duration::from_secs(120);

impl Mailer {
    /// Sends through `smtp`.
    pub fn smtp(smtp: &SmtpSettings, from: Mailbox) -> Result<Mailer, MailConfigError> {
        let failed = |e: lettre::transport::smtp::Error| MailConfigError::Smtp {
            host: smtp.host.clone(),
            message: chain(&e),
        };
        let tls = match smtp.security {
            SmtpSecurity::StartTls => {
                Tls::Required(TlsParameters::new(smtp.host.clone()).map_err(failed)?)
            }
            SmtpSecurity::Tls => {
                Tls::Wrapper(TlsParameters::new(smtp.host.clone()).map_err(failed)?)
            }
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(smtp.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        Ok(Mailer {
            from,
            transport: Transport::Smtp(builder.build()),
            description: format!(
                "SMTP {}:{} ({})",
                smtp.host,
                smtp.port,
                smtp.security.label()
            ),
        })
    }

    /// Writes `.eml` files into `dir` (created if missing).
    pub fn file(dir: &Path, from: Mailbox) -> Result<Mailer, MailConfigError> {
        std::fs::create_dir_all(dir).map_err(|source| MailConfigError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Mailer {
            from,
            transport: Transport::File(AsyncFileTransport::new(dir)),
            description: format!("files in {}", dir.display()),
        })
    }

    /// From the environment: SMTP when `COMPTOIR_SMTP_HOST` is set, otherwise files in
    /// `<data_dir>/outbox`. Also checks the other email settings (`COMPTOIR_PUBLIC_URL`,
    /// `COMPTOIR_STAFF_EMAIL`, `COMPTOIR_LINK_SECRET`), so `serve` stops at once on a bad
    /// one instead of when the first email is due.
    pub fn from_env(data_dir: &Path) -> Result<Mailer, MailConfigError> {
        super::OutboxSettings::from_env().map_err(MailConfigError::Variable)?;
        crate::links::LinkSigner::from_env()
            .map_err(|e| MailConfigError::Variable(e.to_string()))?;
        let mailer = Mailer::from_lookup(|name| std::env::var(name).ok(), data_dir)?;
        if matches!(mailer.transport, Transport::Smtp(_))
            && std::env::var("COMPTOIR_PUBLIC_URL").is_err()
        {
            tracing::warn!("COMPTOIR_PUBLIC_URL is not set: links in emails point at this machine's bind address");
        }
        Ok(mailer)
    }

    /// From `lookup` (the environment, or a test's map).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        data_dir: &Path,
    ) -> Result<Mailer, MailConfigError> {
        let set = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let invalid = |message: String| MailConfigError::Variable(message);
        let from = match set("COMPTOIR_MAIL_FROM") {
            Some(from) => Some(from.parse::<Mailbox>().map_err(|e| {
                invalid(format!(
                    "COMPTOIR_MAIL_FROM must be an address such as `Ma Boutique <boutique@example.fr>`, not `{from}`: {e}"
                ))
            })?),
            None => None,
        };
        let Some(host) = set("COMPTOIR_SMTP_HOST") else {
            for name in [
                "COMPTOIR_SMTP_PORT",
                "COMPTOIR_SMTP_SECURITY",
                "COMPTOIR_SMTP_USER",
                "COMPTOIR_SMTP_PASSWORD",
            ] {
                if set(name).is_some() {
                    return Err(invalid(format!(
                        "{name} is set but COMPTOIR_SMTP_HOST is not: set the SMTP server's host too, or remove {name} to write emails to files"
                    )));
                }
            }
            let from = match from {
                Some(from) => from,
                None => DEFAULT_FROM
                    .parse()
                    .map_err(|e| invalid(format!("default sender: {e}")))?,
            };
            return Mailer::file(&data_dir.join("outbox"), from);
        };
        let security = match set("COMPTOIR_SMTP_SECURITY") {
            Some(value) => SmtpSecurity::parse(&value).ok_or_else(|| {
                invalid(format!(
                    "COMPTOIR_SMTP_SECURITY must be starttls, tls or none, not `{value}`"
                ))
            })?,
            None => SmtpSecurity::StartTls,
        };
        let mut smtp = SmtpSettings::new(host, security);
        if let Some(port) = set("COMPTOIR_SMTP_PORT") {
            smtp.port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                invalid(format!(
                    "COMPTOIR_SMTP_PORT must be a port number (1 to 65535), not `{port}`"
                ))
            })?;
        }
        smtp.credentials = match (set("COMPTOIR_SMTP_USER"), lookup("COMPTOIR_SMTP_PASSWORD")) {
            (Some(user), Some(password)) if !password.is_empty() => Some((user, Secret(password))),
            (Some(_), _) => return Err(invalid(
                "COMPTOIR_SMTP_USER is set but COMPTOIR_SMTP_PASSWORD is not: set both, or neither"
                    .into(),
            )),
            (None, Some(password)) if !password.is_empty() => return Err(invalid(
                "COMPTOIR_SMTP_PASSWORD is set but COMPTOIR_SMTP_USER is not: set both, or neither"
                    .into(),
            )),
            (None, _) => None,
        };
        let from = from.ok_or_else(|| {
            invalid(
                "COMPTOIR_MAIL_FROM must be set when COMPTOIR_SMTP_HOST is: the address emails are sent from, such as `Ma Boutique <boutique@example.fr>`".into(),
            )
        })?;
        Mailer::smtp(&smtp, from)
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Where emails go, for the log.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Sends one email.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        let sent = match &self.transport {
            Transport::Smtp(smtp) => tokio::time::timeout(SEND_LIMIT, smtp.send(message))
                .await
                .map_err(|_| SendError::transient("the SMTP server took too long"))?
                .map(|_| ())
                .map_err(|e| SendError {
                    message: chain(&e),
                    permanent: e.is_permanent(),
                }),
            Transport::File(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::transient(chain(&e))),
        };
        sent
    }
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

    fn error(pairs: &[(&str, &str)]) -> String {
        let dir = std::env::temp_dir();
        match Mailer::from_lookup(env(pairs), &dir) {
            Ok(mailer) => panic!("accepted: {mailer:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn without_an_smtp_host_emails_become_files_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_lookup(env(&[]), dir.path()).unwrap();
        assert!(dir.path().join("outbox").is_dir());
        assert!(mailer.describe().starts_with("files in "));
        assert_eq!(mailer.from().to_string(), "Comptoir <comptoir@localhost>");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn an_smtp_host_with_its_settings_makes_an_smtp_mailer() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_lookup(
            env(&[
                ("COMPTOIR_SMTP_HOST", "mail.example.fr"),
                ("COMPTOIR_MAIL_FROM", "Boutique <boutique@example.fr>"),
                ("COMPTOIR_SMTP_USER", "boutique"),
                ("COMPTOIR_SMTP_PASSWORD", "s3cret"),
            ]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(mailer.describe(), "SMTP mail.example.fr:587 (STARTTLS)");
        assert!(!format!("{mailer:?}").contains("s3cret"));
        let mailer = Mailer::from_lookup(
            env(&[
                ("COMPTOIR_SMTP_HOST", "mailpit"),
                ("COMPTOIR_SMTP_PORT", "1025"),
                ("COMPTOIR_SMTP_SECURITY", "none"),
                (
                    "COMPTOIR_MAIL_FROM",
                    "Comptoir Moto Démo <boutique@comptoir.test>",
                ),
            ]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(mailer.describe(), "SMTP mailpit:1025 (unencrypted)");
        assert_eq!(mailer.from().name.as_deref(), Some("Comptoir Moto Démo"));
        let mailer = Mailer::from_lookup(
            env(&[
                ("COMPTOIR_SMTP_HOST", "mail.example.fr"),
                ("COMPTOIR_SMTP_SECURITY", "TLS"),
                ("COMPTOIR_MAIL_FROM", "boutique@example.fr"),
            ]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(mailer.describe(), "SMTP mail.example.fr:465 (TLS)");
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let host = ("COMPTOIR_SMTP_HOST", "mail.example.fr");
        let from = ("COMPTOIR_MAIL_FROM", "boutique@example.fr");
        assert!(error(&[host]).starts_with("COMPTOIR_MAIL_FROM must be set"));
        assert!(error(&[host, ("COMPTOIR_MAIL_FROM", "not an address")])
            .starts_with("COMPTOIR_MAIL_FROM must be an address"));
        assert!(error(&[host, from, ("COMPTOIR_SMTP_PORT", "smtp")])
            .starts_with("COMPTOIR_SMTP_PORT must be a port number"));
        assert!(
            error(&[host, from, ("COMPTOIR_SMTP_PORT", "70000")]).starts_with("COMPTOIR_SMTP_PORT")
        );
        assert!(error(&[host, from, ("COMPTOIR_SMTP_SECURITY", "maybe")])
            .starts_with("COMPTOIR_SMTP_SECURITY must be starttls, tls or none"));
        assert!(error(&[host, from, ("COMPTOIR_SMTP_USER", "me")])
            .starts_with("COMPTOIR_SMTP_USER is set but COMPTOIR_SMTP_PASSWORD is not"));
        assert!(error(&[host, from, ("COMPTOIR_SMTP_PASSWORD", "pw")])
            .starts_with("COMPTOIR_SMTP_PASSWORD is set but COMPTOIR_SMTP_USER is not"));
        assert!(error(&[("COMPTOIR_SMTP_PORT", "25")])
            .starts_with("COMPTOIR_SMTP_PORT is set but COMPTOIR_SMTP_HOST is not"));
    }
}
