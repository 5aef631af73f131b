//! Staff accounts through the real store: the read model follows every event without the
//! password hash, the audit trail names the account by its email, a rebuild gives the same
//! table (and keeps the email index), and an email is unique among staff whatever its case.
#![allow(clippy::unwrap_used)]

mod common;

use aggregates::metadata::{Actor, EventMetadata};
use aggregates::staff::{StaffAccountCommand, StaffAccountError, StaffRole};
use aggregates::Email;
use chrono::{TimeZone, Utc};
use common::TestDb;
use comptoir::commands::CommandError;
use projections::rebuild::compare_with_fresh;
use projections::views::staff::{StaffAccountView, StaffAccounts};
use projections::Projector;
use uuid::Uuid;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
const NEW_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXI";

fn create(staff_id: Uuid, email: &str) -> StaffAccountCommand {
    StaffAccountCommand::CreateStaffAccount {
        staff_id,
        email: Email::try_from(email).unwrap(),
        display_name: "Jane Doe".into(),
        role: StaffRole::Operator,
        password_hash: HASH.into(),
        temporary: false,
    }
}

async fn project(db: &TestDb) {
    Projector::new(db.pool.clone(), projections::read_models())
        .run_once()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_staff_read_model_follows_the_account_without_its_password_hash() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let owner = EventMetadata::new(Actor::Staff(Uuid::now_v7()));
    let staff_id = Uuid::now_v7();
    let id = staff_id.to_string();
    let day = |d| Utc.with_ymd_and_hms(2026, 2, d, 9, 0, 0).unwrap();
    for command in [
        create(staff_id, "Jane@Example.fr"),
        StaffAccountCommand::ChangeStaffRole {
            role: StaffRole::Manager,
        },
        StaffAccountCommand::RenameStaff {
            display_name: "Jane Martin".into(),
        },
        StaffAccountCommand::ChangeStaffPassword {
            password_hash: NEW_HASH.into(),
            at: day(3),
            temporary: false,
        },
        StaffAccountCommand::DisableStaffAccount { at: day(4) },
        StaffAccountCommand::EnableStaffAccount,
        StaffAccountCommand::EndStaffSessions { at: day(2) },
    ] {
        bus.staff.execute(&id, command, &owner).await.unwrap();
    }
    project(&db).await;

    let view: StaffAccountView = serde_json::from_value(
        sqlx::query_scalar("select to_jsonb(s) from staff_accounts s where lower(email) = $1")
            .bind("jane@example.fr")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(view.staff_id, staff_id);
    assert_eq!(view.email, "Jane@example.fr");
    assert_eq!(view.display_name, "Jane Martin");
    assert_eq!(view.role, StaffRole::Manager);
    assert!(!view.disabled);
    assert_eq!(view.password_changed_at, Some(day(3)));
    // The earlier "log out everywhere" does not move the cut-off back.
    assert_eq!(view.sessions_valid_after, Some(day(4)));
    let account = bus.staff.load(&id).await.unwrap();
    assert_eq!(account.sessions_valid_after(), view.sessions_valid_after);
    assert_eq!(account.password_hash(), Some(NEW_HASH));

    let audit: Vec<String> = sqlx::query_scalar(
        "select summary from audit_trail where aggregate_type = 'StaffAccount' order by position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [
            "created the staff account Jane@example.fr (operator)",
            "changed the role of Jane@example.fr from operator to manager",
            "renamed Jane@example.fr from \"Jane Doe\" to \"Jane Martin\"",
            "changed the password of Jane@example.fr",
            "disabled Jane@example.fr",
            "re-enabled Jane@example.fr",
            "ended every session of Jane@example.fr",
        ]
    );
    let leaks: i64 = sqlx::query_scalar(
        "select (select count(*) from staff_accounts s where to_jsonb(s)::text like '%argon2%')
              + (select count(*) from audit_trail where summary like '%argon2%')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0, "a password hash reached a read model");

    let differences = compare_with_fresh(&db.pool, std::sync::Arc::new(StaffAccounts))
        .await
        .unwrap();
    assert!(differences.iter().all(|(_, n)| *n == 0), "{differences:?}");
    projections::rebuild::rebuild(&db.pool, &projections::read_models(), &|_| {})
        .await
        .unwrap();
    let after: String = sqlx::query_scalar("select display_name from staff_accounts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(after, "Jane Martin");
    let index: i64 = sqlx::query_scalar(
        "select count(*) from pg_indexes where indexname = 'staff_accounts_email'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(index, 1, "the email index survives a rebuild");
}

#[tokio::test]
async fn a_staff_email_is_unique_whatever_its_case() {
    let db = TestDb::new().await;
    let bus = db.bus();
    let system = EventMetadata::system();
    let first = Uuid::now_v7();
    bus.staff
        .execute(
            &first.to_string(),
            create(first, "jane@example.fr"),
            &system,
        )
        .await
        .unwrap();
    let second = Uuid::now_v7();
    let refused = bus
        .staff
        .execute(
            &second.to_string(),
            create(second, "JANE@example.fr"),
            &system,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            CommandError::Refused(StaffAccountError::EmailTaken(ref email))
                if email.as_str() == "JANE@example.fr"
        ),
        "{refused:?}"
    );
    assert!(!bus.staff.load(&second.to_string()).await.unwrap().exists());
}
