use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    PasswordHash, StaffAccountCommand, StaffAccountError, StaffAccountEvent, StaffRole,
    MAX_DISPLAY_NAME_LEN, PASSWORD_HASH_PREFIX,
};
use crate::services::{StaffServices, STAFF_EMAIL_SCOPE};
use crate::values::Email;

/// A staff member's account in the admin. `Debug` shows the password hash as
/// `[redacted]` (see [`PasswordHash`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    id: Option<Uuid>,
    email: Option<Email>,
    display_name: String,
    role: Option<StaffRole>,
    password_hash: Option<PasswordHash>,
    disabled: bool,
    sessions_valid_after: Option<DateTime<Utc>>,
    #[serde(default)]
    password_temporary: bool,
}

impl StaffAccount {
    /// Whether the account was created.
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Its id, once created.
    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// Its sign-in address, once created.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    /// Its display name (empty before creation).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Its role. Before creation there is none and this answers [`StaffRole::Support`],
    /// the least powerful, so a caller that forgot [`StaffAccount::exists`] grants little.
    pub fn role(&self) -> StaffRole {
        self.role.unwrap_or(StaffRole::Support)
    }

    /// The argon2id PHC string to verify a password against, once created.
    pub fn password_hash(&self) -> Option<&str> {
        self.password_hash.as_ref().map(PasswordHash::as_str)
    }

    /// Whether the password was made up for the member (creation from the admin, a
    /// reset): until they choose their own, the admin only lets them do that.
    pub fn must_change_password(&self) -> bool {
        self.password_temporary
    }

    /// Whether sign-in is refused.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Sessions opened before this instant are no longer valid (password changed, account
    /// disabled, "log out everywhere"); `None` when no session was ever cut off.
    pub fn sessions_valid_after(&self) -> Option<DateTime<Utc>> {
        self.sessions_valid_after
    }

    /// The account's id, or `NotFound`.
    fn existing(&self) -> Result<Uuid, StaffAccountError> {
        self.id.ok_or(StaffAccountError::NotFound)
    }

    /// Moves the session cut-off to `at`, never back: an event carrying an earlier time
    /// (a clock set back between two commands) must not revive sessions already ended.
    fn end_sessions_at(&mut self, at: DateTime<Utc>) {
        self.sessions_valid_after = Some(self.sessions_valid_after.map_or(at, |t| t.max(at)));
    }
}

/// The key under which a staff email is unique: the whole address lower-cased, although
/// [`Email`] keeps the local part as typed, so `Jane@x.fr` and `jane@x.fr` are one person.
fn email_key(email: &Email) -> String {
    email.as_str().to_lowercase()
}

fn checked_display_name(name: &str) -> Result<String, StaffAccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StaffAccountError::DisplayNameEmpty);
    }
    if name.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(StaffAccountError::DisplayNameTooLong);
    }
    Ok(name.to_owned())
}

/// Only the shape is checked (hashing belongs to the caller): an argon2id PHC string, so a
/// plain password passed by mistake is never stored.
fn checked_password_hash(hash: String) -> Result<PasswordHash, StaffAccountError> {
    if hash.len() > PASSWORD_HASH_PREFIX.len() && hash.starts_with(PASSWORD_HASH_PREFIX) {
        Ok(PasswordHash::new(hash))
    } else {
        Err(StaffAccountError::PasswordHashInvalid)
    }
}

impl Aggregate for StaffAccount {
    const TYPE: &'static str = "StaffAccount";
    type Command = StaffAccountCommand;
    type Event = StaffAccountEvent;
    type Error = StaffAccountError;
    type Services = StaffServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            StaffAccountCommand::CreateStaffAccount {
                staff_id,
                email,
                display_name,
                role,
                password_hash,
                temporary,
            } => {
                if self.exists() {
                    return Err(StaffAccountError::AlreadyExists);
                }
                let display_name = checked_display_name(&display_name)?;
                let password_hash = checked_password_hash(password_hash)?;
                // Claimed last, once nothing else can refuse the command, so a refusal
                // never leaves a stale claim behind.
                if !services
                    .keys
                    .claim(STAFF_EMAIL_SCOPE, &email_key(&email), staff_id)
                    .await?
                {
                    return Err(StaffAccountError::EmailTaken(email));
                }
                let event = StaffAccountEvent::StaffAccountCreated {
                    staff_id,
                    email,
                    display_name,
                    role,
                    password_hash,
                    temporary,
                };
                sink.write(event, self).await;
            }
            StaffAccountCommand::ChangeStaffRole { role } => {
                let previous = self.role.ok_or(StaffAccountError::NotFound)?;
                if role == previous {
                    return Err(StaffAccountError::RoleUnchanged);
                }
                let event = StaffAccountEvent::StaffRoleChanged { role, previous };
                sink.write(event, self).await;
            }
            StaffAccountCommand::ChangeStaffPassword {
                password_hash,
                at,
                temporary,
            } => {
                self.existing()?;
                let password_hash = checked_password_hash(password_hash)?;
                let event = StaffAccountEvent::StaffPasswordChanged {
                    password_hash,
                    at,
                    temporary,
                };
                sink.write(event, self).await;
            }
            StaffAccountCommand::RenameStaff { display_name } => {
                self.existing()?;
                let display_name = checked_display_name(&display_name)?;
                if display_name == self.display_name {
                    return Ok(());
                }
                let event = StaffAccountEvent::StaffRenamed {
                    display_name,
                    previous: self.display_name.clone(),
                };
                sink.write(event, self).await;
            }
            StaffAccountCommand::DisableStaffAccount { at } => {
                self.existing()?;
                if self.disabled {
                    return Err(StaffAccountError::AlreadyDisabled);
                }
                sink.write(StaffAccountEvent::StaffAccountDisabled { at }, self)
                    .await;
            }
            StaffAccountCommand::EnableStaffAccount => {
                self.existing()?;
                if !self.disabled {
                    return Err(StaffAccountError::NotDisabled);
                }
                sink.write(StaffAccountEvent::StaffAccountEnabled, self)
                    .await;
            }
            StaffAccountCommand::EndStaffSessions { at } => {
                self.existing()?;
                sink.write(StaffAccountEvent::StaffSessionsEnded { at }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            StaffAccountEvent::StaffAccountCreated {
                staff_id,
                email,
                display_name,
                role,
                password_hash,
                temporary,
            } => {
                self.id = Some(staff_id);
                self.email = Some(email);
                self.display_name = display_name;
                self.role = Some(role);
                self.password_hash = Some(password_hash);
                self.password_temporary = temporary;
            }
            StaffAccountEvent::StaffRoleChanged { role, .. } => self.role = Some(role),
            StaffAccountEvent::StaffPasswordChanged {
                password_hash,
                at,
                temporary,
            } => {
                self.password_hash = Some(password_hash);
                self.password_temporary = temporary;
                self.end_sessions_at(at);
            }
            StaffAccountEvent::StaffRenamed { display_name, .. } => {
                self.display_name = display_name;
            }
            StaffAccountEvent::StaffAccountDisabled { at } => {
                self.disabled = true;
                self.end_sessions_at(at);
            }
            StaffAccountEvent::StaffAccountEnabled => self.disabled = false,
            StaffAccountEvent::StaffSessionsEnded { at } => self.end_sessions_at(at),
        }
    }
}
