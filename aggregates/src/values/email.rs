use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Empty once trimmed.
    #[error("an email address cannot be empty")]
    Empty,
    /// Longer than 254 characters.
    #[error("an email address is at most 254 characters")]
    TooLong,
    /// Contains spaces or control characters.
    #[error("an email address cannot contain spaces or control characters")]
    Whitespace,
    /// Zero or several `@`.
    #[error("an email address has exactly one @")]
    AtSign,
    /// Nothing before the `@`.
    #[error("an email address needs a name before the @")]
    EmptyLocalPart,
    /// The domain is empty, undotted or has empty labels.
    #[error("an email address needs a domain such as example.com after the @")]
    InvalidDomain,
}

/// An email address, checked pragmatically (not RFC 5322): one `@`, a non-empty local part,
/// a dotted domain stored lower-cased, no whitespace, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Trims and checks `value`; lower-cases the domain (the local part is, in theory, case
    /// sensitive, so it is kept as typed).
    pub fn new(value: &str) -> Result<Self, EmailError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::AtSign);
        };
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Email {
    type Error = EmailError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn emails_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(
            Email::new("  Jean.Dupont@Example.FR ").unwrap().as_str(),
            "Jean.Dupont@example.fr"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        assert_eq!(Email::new(" "), Err(EmailError::Empty));
        assert_eq!(Email::new("a b@c.fr"), Err(EmailError::Whitespace));
        assert_eq!(Email::new("a@b@c.fr"), Err(EmailError::AtSign));
        assert_eq!(Email::new("abc.fr"), Err(EmailError::AtSign));
        assert_eq!(Email::new("@c.fr"), Err(EmailError::EmptyLocalPart));
        assert_eq!(Email::new("a@localhost"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::new("a@c..fr"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::new("a@.fr"), Err(EmailError::InvalidDomain));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::new(&long), Err(EmailError::TooLong));
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
