use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a product [`Reference`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty once trimmed.
    #[error("a product reference cannot be empty")]
    Empty,
    /// More than 40 characters.
    #[error("a product reference is at most 40 characters")]
    TooLong,
    /// A character outside A-Z 0-9 - _ . /
    #[error("a product reference may only contain letters A-Z, digits and - _ . /, not {0:?}")]
    InvalidCharacter(char),
}

/// A product reference such as `PN-1234`: 1 to 40 characters of `A-Z 0-9 - _ . /`,
/// stored upper-cased (one reference = one article, so `pn-1234` is the same one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

impl Reference {
    /// Trims, upper-cases and checks `value`.
    pub fn new(value: &str) -> Result<Self, ReferenceError> {
        let upper = value.trim().to_ascii_uppercase();
        if upper.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some(bad) = upper.chars().find(|c| {
            !(c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/'))
        }) {
            return Err(ReferenceError::InvalidCharacter(bad));
        }
        // Only ASCII is left, so the byte length is the character count.
        if upper.len() > 40 {
            return Err(ReferenceError::TooLong);
        }
        Ok(Self(upper))
    }

    /// The reference text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Reference {
    type Error = ReferenceError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for Reference {
    type Error = ReferenceError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Reference> for String {
    fn from(value: Reference) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_are_trimmed_and_upper_cased() {
        assert_eq!(Reference::new("  pn-1234 ").unwrap().as_str(), "PN-1234");
        assert_eq!(Reference::new("a_b.c/d").unwrap().as_str(), "A_B.C/D");
    }

    #[test]
    fn bad_references_are_refused() {
        assert_eq!(Reference::new("   "), Err(ReferenceError::Empty));
        assert_eq!(
            Reference::new("PN 12"),
            Err(ReferenceError::InvalidCharacter(' '))
        );
        assert_eq!(
            Reference::new("é"),
            Err(ReferenceError::InvalidCharacter('é'))
        );
        assert_eq!(
            Reference::new(&"A".repeat(41)),
            Err(ReferenceError::TooLong)
        );
        assert!(serde_json::from_str::<Reference>("\"\"").is_err());
    }

    proptest! {
        #[test]
        fn valid_references_round_trip(raw in "[A-Za-z0-9_./-]{1,40}") {
            let reference = Reference::new(&raw).unwrap();
            prop_assert_eq!(Reference::new(reference.as_str()).unwrap(), reference);
        }
    }
}
