use std::fmt;

use serde::{Deserialize, Serialize};

/// A password hash as a PHC string (`$argon2id$v=19$...`), computed outside the domain.
///
/// Serialised as a plain string; `Debug` prints `[redacted]` so the hash never reaches a
/// log through a `{:?}` of an event or an aggregate. A hash is not the password, but it
/// can be attacked offline, so it is kept out of every text meant for humans.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps `phc` as is; the aggregate checks its shape.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, to verify a password against.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for PasswordHash {
    fn from(phc: String) -> Self {
        Self(phc)
    }
}
