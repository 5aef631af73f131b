//! Staff accounts for the admin's staff pages and the sign-in lookup (email to id). The
//! password hash stays in the events: the sign-in check loads the account's own stream,
//! so the hash is never copied into a table that every report and dump can read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{StaffAccountEvent, StaffRole};

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};

/// A staff account, without its credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffAccountView {
    pub staff_id: Uuid,
    /// As typed at creation (domain lower-cased); unique among staff regardless of case.
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
    pub disabled: bool,
    /// Sessions opened before this instant are no longer valid.
    pub sessions_valid_after: Option<DateTime<Utc>>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row for StaffAccountView {
    const TABLE: &'static str = "staff_accounts";
    const KEY: &'static str = "staff_id";
    const COLUMNS: &'static [&'static str] = &[
        "staff_id",
        "email",
        "display_name",
        "role",
        "disabled",
        "sessions_valid_after",
        "password_changed_at",
        "created_at",
        "updated_at",
    ];
}

/// The projection.
#[derive(Debug, Default)]
pub struct StaffAccounts;

/// The session cut-off after one more at `at`: it only moves forward, as in the aggregate.
fn cut_off(current: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(current.map_or(at, |t| t.max(at)))
}

#[async_trait]
impl Projection for StaffAccounts {
    fn name(&self) -> &'static str {
        "staff_accounts"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["staff_accounts"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        let ids = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Staff(_)))
            .filter_map(Envelope::aggregate_uuid);
        let mut rows = RowSet::<StaffAccountView>::load(conn, ids.collect::<Vec<_>>()).await?;
        for e in events {
            let DomainEvent::Staff(event) = &e.event else {
                continue;
            };
            let Some(id) = e.aggregate_uuid() else {
                continue;
            };
            let at = e.raw.recorded_at;
            if let StaffAccountEvent::StaffAccountCreated {
                email,
                display_name,
                role,
                ..
            } = event
            {
                rows.put(
                    id,
                    StaffAccountView {
                        staff_id: id,
                        email: email.to_string(),
                        display_name: display_name.clone(),
                        role: *role,
                        disabled: false,
                        sessions_valid_after: None,
                        password_changed_at: None,
                        created_at: at,
                        updated_at: at,
                    },
                );
                continue;
            }
            let Some(s) = rows.get_mut(&id) else { continue };
            s.updated_at = at;
            match event {
                StaffAccountEvent::StaffAccountCreated { .. } => {}
                StaffAccountEvent::StaffRoleChanged { role, .. } => s.role = *role,
                StaffAccountEvent::StaffPasswordChanged { at, .. } => {
                    s.password_changed_at = Some(*at);
                    s.sessions_valid_after = cut_off(s.sessions_valid_after, *at);
                }
                StaffAccountEvent::StaffRenamed { display_name, .. } => {
                    s.display_name = display_name.clone();
                }
                StaffAccountEvent::StaffAccountDisabled { at } => {
                    s.disabled = true;
                    s.sessions_valid_after = cut_off(s.sessions_valid_after, *at);
                }
                StaffAccountEvent::StaffAccountEnabled => s.disabled = false,
                StaffAccountEvent::StaffSessionsEnded { at } => {
                    s.sessions_valid_after = cut_off(s.sessions_valid_after, *at);
                }
            }
        }
        rows.flush(conn).await?;
        Ok(())
    }
}
