//! Logging: human-readable by default, JSON with `LOG_FORMAT=json` (or
//! `COMPTOIR_LOG_FORMAT=json`) for production. Every line written while a request is
//! handled carries that request's span, whose `request_id` is the `x-request-id` header:
//! in text as `request{method=.. uri=.. request_id=..}:`, in JSON as `span` and `spans`.
//!
//! What is never logged: the request span holds the path without its query (signed links
//! and customer tokens travel there), no layer logs headers (`Authorization`, `Cookie`,
//! `X-API-Key`, `Stripe-Signature`), and settings holding a secret redact it in `Debug`
//! ([`crate::config::Secret`]).

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line per event for a person reading a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    /// From `COMPTOIR_LOG_FORMAT`, else `LOG_FORMAT`: `json`, or `text` (the default). An
    /// unknown value is an error rather than a silent fallback: the collector would
    /// otherwise receive lines it cannot parse.
    pub fn from_env() -> Result<LogFormat, String> {
        let (name, value) = match std::env::var("COMPTOIR_LOG_FORMAT") {
            Ok(value) => ("COMPTOIR_LOG_FORMAT", value),
            Err(_) => match std::env::var("LOG_FORMAT") {
                Ok(value) => ("LOG_FORMAT", value),
                Err(_) => return Ok(LogFormat::Text),
            },
        };
        LogFormat::parse(&value)
            .ok_or_else(|| format!("{name} must be `json` or `text`, not `{value}`"))
    }

    /// `json`, or `text` (also `pretty`, `plain` and empty), in any case.
    pub fn parse(value: &str) -> Option<LogFormat> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Some(LogFormat::Json),
            "" | "text" | "pretty" | "plain" => Some(LogFormat::Text),
            _ => None,
        }
    }
}

/// A subscriber writing `format` lines through `writer`, filtered by `filter`. Separate from
/// [`init`] so tests can capture what a request logs.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                // The request id lives on the request's span: both the innermost span and
                // the whole list, so a line from a nested span still names its request.
                .with_current_span(true)
                .with_span_list(true)
                .flatten_event(true)
                .finish(),
        ),
    }
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info,sqlx=warn`).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let (format, problem) = match LogFormat::from_env() {
        Ok(format) => (format, None),
        Err(problem) => (LogFormat::Text, Some(problem)),
    };
    // `try_init` also forwards the `log` records of the few crates that use it.
    let installed = subscriber(format, filter, std::io::stderr).try_init();
    if let (Ok(()), Some(problem)) = (installed, problem) {
        tracing::warn!("{problem}; logging as text");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_formats_are_read_in_any_case() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse(" text "), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse(""), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("xml"), None);
    }
}
