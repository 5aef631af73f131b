use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StaffRole;
use crate::values::Email;

/// What an owner (or the account holder) can ask of a staff account. Times come with the
/// command: the domain has no clock.
///
/// `Debug` is written by hand so a command logged with `{:?}` never shows a password hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffAccountCommand {
    /// Opens the account.
    CreateStaffAccount {
        /// Id of the new account (also the aggregate id).
        staff_id: Uuid,
        /// Sign-in address, unique among staff regardless of case.
        email: Email,
        /// Name shown in the admin and the audit trail, 1 to 100 characters once trimmed.
        display_name: String,
        /// What the account may do.
        role: StaffRole,
        /// argon2id PHC string of the password, hashed by the caller.
        password_hash: String,
        /// Whether the password was made up for the member, who must then replace it.
        temporary: bool,
    },
    /// Gives the account another role.
    ChangeStaffRole {
        /// New role (must differ from the current one).
        role: StaffRole,
    },
    /// Replaces the password; sessions opened before `at` stop being valid.
    ChangeStaffPassword {
        /// argon2id PHC string of the new password.
        password_hash: String,
        /// When the change happens.
        at: DateTime<Utc>,
        /// Whether it was set for the member by someone else, who must then replace it.
        temporary: bool,
    },
    /// Changes the display name.
    RenameStaff {
        /// New display name.
        display_name: String,
    },
    /// Refuses sign-in from now on and ends every session opened before `at`.
    DisableStaffAccount {
        /// When the account is disabled.
        at: DateTime<Utc>,
    },
    /// Lets a disabled account sign in again (its old sessions stay ended).
    EnableStaffAccount,
    /// "Log out everywhere": sessions opened before `at` stop being valid.
    EndStaffSessions {
        /// The cut-off.
        at: DateTime<Utc>,
    },
}

impl fmt::Debug for StaffAccountCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaffAccountCommand::CreateStaffAccount {
                staff_id,
                email,
                display_name,
                role,
                password_hash: _,
                temporary,
            } => f
                .debug_struct("CreateStaffAccount")
                .field("staff_id", staff_id)
                .field("email", email)
                .field("display_name", display_name)
                .field("role", role)
                .field("password_hash", &format_args!("[redacted]"))
                .field("temporary", temporary)
                .finish(),
            StaffAccountCommand::ChangeStaffRole { role } => f
                .debug_struct("ChangeStaffRole")
                .field("role", role)
                .finish(),
            StaffAccountCommand::ChangeStaffPassword {
                password_hash: _,
                at,
                temporary,
            } => f
                .debug_struct("ChangeStaffPassword")
                .field("password_hash", &format_args!("[redacted]"))
                .field("at", at)
                .field("temporary", temporary)
                .finish(),
            StaffAccountCommand::RenameStaff { display_name } => f
                .debug_struct("RenameStaff")
                .field("display_name", display_name)
                .finish(),
            StaffAccountCommand::DisableStaffAccount { at } => f
                .debug_struct("DisableStaffAccount")
                .field("at", at)
                .finish(),
            StaffAccountCommand::EnableStaffAccount => f.write_str("EnableStaffAccount"),
            StaffAccountCommand::EndStaffSessions { at } => {
                f.debug_struct("EndStaffSessions").field("at", at).finish()
            }
        }
    }
}
