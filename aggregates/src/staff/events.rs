use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{PasswordHash, StaffRole};
use crate::values::Email;

/// What happened to a staff account. Password hashes are [`PasswordHash`]es: plain strings
/// in the store, `[redacted]` in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffAccountEvent {
    /// The account was opened.
    StaffAccountCreated {
        /// Its id.
        staff_id: Uuid,
        /// Its sign-in address.
        email: Email,
        /// Its display name.
        display_name: String,
        /// Its role.
        role: StaffRole,
        /// argon2id PHC string of its password.
        password_hash: PasswordHash,
        /// A password made up for the member (shown once): they must choose their own
        /// before anything else. Absent from events written before it existed: false.
        #[serde(default)]
        temporary: bool,
    },
    /// The role changed.
    StaffRoleChanged {
        /// New role.
        role: StaffRole,
        /// Role before.
        previous: StaffRole,
    },
    /// The password changed; sessions opened before `at` are no longer valid.
    StaffPasswordChanged {
        /// argon2id PHC string of the new password.
        password_hash: PasswordHash,
        /// When.
        at: DateTime<Utc>,
        /// Set by someone else for the member (a reset): they must choose their own.
        #[serde(default)]
        temporary: bool,
    },
    /// The display name changed.
    StaffRenamed {
        /// New name.
        display_name: String,
        /// Name before.
        previous: String,
    },
    /// The account may no longer sign in; sessions opened before `at` are no longer valid.
    StaffAccountDisabled {
        /// When.
        at: DateTime<Utc>,
    },
    /// The account may sign in again.
    StaffAccountEnabled,
    /// Every session opened before `at` was ended ("log out everywhere").
    StaffSessionsEnded {
        /// The cut-off.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for StaffAccountEvent {
    fn event_type(&self) -> String {
        match self {
            StaffAccountEvent::StaffAccountCreated { .. } => "StaffAccountCreated",
            StaffAccountEvent::StaffRoleChanged { .. } => "StaffRoleChanged",
            StaffAccountEvent::StaffPasswordChanged { .. } => "StaffPasswordChanged",
            StaffAccountEvent::StaffRenamed { .. } => "StaffRenamed",
            StaffAccountEvent::StaffAccountDisabled { .. } => "StaffAccountDisabled",
            StaffAccountEvent::StaffAccountEnabled => "StaffAccountEnabled",
            StaffAccountEvent::StaffSessionsEnded { .. } => "StaffSessionsEnded",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
