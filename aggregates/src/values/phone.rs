use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a [`Phone`] number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// A character other than digits, a leading `+`, spaces, dots and hyphens.
    #[error(
        "a phone number may only contain digits, a leading +, spaces, dots and hyphens, not {0:?}"
    )]
    InvalidCharacter(char),
    /// Fewer than 6 or more than 20 digits.
    #[error("a phone number has between 6 and 20 digits")]
    Length,
}

/// A phone number: digits with an optional leading `+`, separators removed
/// (`"06 12 34 56 78"` → `"0612345678"`), 6 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Strips separators and checks `value`.
    pub fn new(value: &str) -> Result<Self, PhoneError> {
        let trimmed = value.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len() + 1);
        if plus {
            digits.push('+');
        }
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' => {}
                other => return Err(PhoneError::InvalidCharacter(other)),
            }
        }
        let count = digits.len() - usize::from(plus);
        if !(6..=20).contains(&count) {
            return Err(PhoneError::Length);
        }
        Ok(Self(digits))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Phone {
    type Error = PhoneError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn separators_are_removed() {
        assert_eq!(Phone::new("06 12.34-56 78").unwrap().as_str(), "0612345678");
        assert_eq!(
            Phone::new(" +33 6 12 34 56 78 ").unwrap().as_str(),
            "+33612345678"
        );
    }

    #[test]
    fn malformed_phone_numbers_are_refused() {
        assert_eq!(Phone::new("12345"), Err(PhoneError::Length));
        assert_eq!(Phone::new(&"1".repeat(21)), Err(PhoneError::Length));
        assert_eq!(
            Phone::new("06 12 ab"),
            Err(PhoneError::InvalidCharacter('a'))
        );
        assert_eq!(
            Phone::new("0612+345678"),
            Err(PhoneError::InvalidCharacter('+'))
        );
        assert!(serde_json::from_str::<Phone>("\"1\"").is_err());
    }
}
