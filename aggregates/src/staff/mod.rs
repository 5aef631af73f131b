//! Staff accounts of the admin: who may sign in, under which role, and when their sessions
//! stop being valid. Passwords are hashed outside the domain (argon2id); the aggregate only
//! keeps the PHC string and never prints it.

mod aggregate;
mod commands;
mod error;
mod events;
mod password;
mod role;
#[cfg(test)]
mod tests;

pub use aggregate::StaffAccount;
pub use commands::StaffAccountCommand;
pub use error::StaffAccountError;
pub use events::StaffAccountEvent;
pub use password::PasswordHash;
pub use role::{Permission, StaffRole, UnknownPermission, UnknownStaffRole};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 100;
/// How every accepted password hash starts: a PHC string of argon2id.
pub const PASSWORD_HASH_PREFIX: &str = "$argon2id$";
