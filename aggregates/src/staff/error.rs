use crate::services::ServiceError;
use crate::values::Email;

/// Why a staff account command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffAccountError {
    /// Another staff account signs in with this address (case ignored).
    #[error("another staff account already uses {0}")]
    EmailTaken(Email),
    /// The display name is blank.
    #[error("a display name cannot be empty")]
    DisplayNameEmpty,
    /// The display name is longer than 100 characters.
    #[error("a display name is at most 100 characters")]
    DisplayNameTooLong,
    /// The password hash is not an argon2id PHC string. Says nothing about the value: it
    /// may be a password pasted where a hash was expected.
    #[error("the password hash is not an argon2id PHC string")]
    PasswordHashInvalid,
    /// The account already has this role.
    #[error("this staff account already has this role")]
    RoleUnchanged,
    /// The account is already disabled.
    #[error("this staff account is already disabled")]
    AlreadyDisabled,
    /// The account is not disabled.
    #[error("this staff account is not disabled")]
    NotDisabled,
    /// The account was already created.
    #[error("this staff account already exists")]
    AlreadyExists,
    /// The account was never created.
    #[error("staff account not found")]
    NotFound,
    /// A service could not answer.
    #[error("service unavailable: {0}")]
    Service(#[from] ServiceError),
}
