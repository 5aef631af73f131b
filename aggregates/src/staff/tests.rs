#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::services::{
    FailingServices, InMemoryUniqueKeys, ServiceError, StaffServices, STAFF_EMAIL_SCOPE,
};
use crate::test_support::{assert_events_are_named_and_round_trip, at};
use crate::values::Email;

type StaffTest = TestFramework<StaffAccount>;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
const NEW_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXI";

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn email() -> Email {
    Email::new("Jane.Doe@Example.fr").unwrap()
}

fn services_with(keys: Arc<InMemoryUniqueKeys>) -> StaffServices {
    StaffServices::new(keys)
}

fn services() -> StaffServices {
    services_with(Arc::new(InMemoryUniqueKeys::new()))
}

fn create(display_name: &str, password_hash: &str) -> StaffAccountCommand {
    StaffAccountCommand::CreateStaffAccount {
        staff_id: id(),
        email: email(),
        display_name: display_name.to_owned(),
        role: StaffRole::Manager,
        password_hash: password_hash.to_owned(),
        temporary: false,
    }
}

fn created() -> StaffAccountEvent {
    StaffAccountEvent::StaffAccountCreated {
        staff_id: id(),
        email: email(),
        display_name: "Jane Doe".to_owned(),
        role: StaffRole::Manager,
        password_hash: PasswordHash::new(HASH),
        temporary: false,
    }
}

fn disabled() -> StaffAccountEvent {
    StaffAccountEvent::StaffAccountDisabled { at: at(5, 9) }
}

/// The account after `events`, as cqrs-es would load it.
fn replayed(events: Vec<StaffAccountEvent>) -> StaffAccount {
    let mut account = StaffAccount::default();
    for event in events {
        account.apply(event);
    }
    account
}

// Creating

#[tokio::test]
async fn creating_an_account_records_it_with_a_trimmed_display_name() {
    StaffTest::with(services())
        .given_no_previous_events()
        .when_async(create("  Jane Doe ", HASH))
        .await
        .then_expect_events(vec![created()]);
}

#[tokio::test]
async fn creating_an_account_claims_its_whole_email_lower_cased() {
    let keys = Arc::new(InMemoryUniqueKeys::new());
    StaffTest::with(services_with(keys.clone()))
        .given_no_previous_events()
        .when_async(create("Jane Doe", HASH))
        .await
        .then_expect_events(vec![created()]);
    assert_eq!(
        keys.holder(STAFF_EMAIL_SCOPE, "jane.doe@example.fr"),
        Some(id())
    );
}

#[tokio::test]
async fn an_email_used_by_another_account_is_refused_whatever_its_case() {
    let keys = InMemoryUniqueKeys::new().with_claim(
        STAFF_EMAIL_SCOPE,
        "jane.doe@example.fr",
        Uuid::from_u128(9),
    );
    StaffTest::with(services_with(Arc::new(keys)))
        .given_no_previous_events()
        .when_async(create("Jane Doe", HASH))
        .await
        .then_expect_error(StaffAccountError::EmailTaken(email()));
}

#[tokio::test]
async fn an_email_already_claimed_by_the_same_account_is_accepted_on_retry() {
    let keys = InMemoryUniqueKeys::new().with_claim(STAFF_EMAIL_SCOPE, "jane.doe@example.fr", id());
    StaffTest::with(services_with(Arc::new(keys)))
        .given_no_previous_events()
        .when_async(create("Jane Doe", HASH))
        .await
        .then_expect_events(vec![created()]);
}

#[tokio::test]
async fn creating_an_account_twice_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(create("Jane Doe", HASH))
        .await
        .then_expect_error(StaffAccountError::AlreadyExists);
}

#[tokio::test]
async fn an_empty_display_name_is_refused() {
    StaffTest::with(services())
        .given_no_previous_events()
        .when_async(create("   ", HASH))
        .await
        .then_expect_error(StaffAccountError::DisplayNameEmpty);
}

#[tokio::test]
async fn a_display_name_over_100_characters_is_refused() {
    StaffTest::with(services())
        .given_no_previous_events()
        .when_async(create(&"é".repeat(101), HASH))
        .await
        .then_expect_error(StaffAccountError::DisplayNameTooLong);
}

#[tokio::test]
async fn a_display_name_of_exactly_100_characters_is_accepted() {
    StaffTest::with(services())
        .given_no_previous_events()
        .when_async(create(&"é".repeat(100), HASH))
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffAccountCreated {
            staff_id: id(),
            email: email(),
            display_name: "é".repeat(100),
            role: StaffRole::Manager,
            password_hash: PasswordHash::new(HASH),
            temporary: false,
        }]);
}

#[tokio::test]
async fn a_password_hash_that_is_not_argon2id_is_refused() {
    for hash in [
        "",
        "$argon2id$",
        "correct horse battery staple",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        " $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    ] {
        StaffTest::with(services())
            .given_no_previous_events()
            .when_async(create("Jane Doe", hash))
            .await
            .then_expect_error(StaffAccountError::PasswordHashInvalid);
    }
}

#[tokio::test]
async fn a_refused_creation_leaves_the_email_free() {
    let keys = Arc::new(InMemoryUniqueKeys::new());
    StaffTest::with(services_with(keys.clone()))
        .given_no_previous_events()
        .when_async(create("Jane Doe", "hunter2"))
        .await
        .then_expect_error(StaffAccountError::PasswordHashInvalid);
    assert_eq!(keys.holder(STAFF_EMAIL_SCOPE, "jane.doe@example.fr"), None);
}

#[tokio::test]
async fn an_unavailable_key_service_is_reported() {
    StaffTest::with(StaffServices::new(Arc::new(FailingServices(
        "database down".to_owned(),
    ))))
    .given_no_previous_events()
    .when_async(create("Jane Doe", HASH))
    .await
    .then_expect_error(StaffAccountError::Service(ServiceError(
        "database down".to_owned(),
    )));
}

// Changing the role

#[tokio::test]
async fn changing_the_role_records_the_previous_one() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::ChangeStaffRole {
            role: StaffRole::Accountant,
        })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffRoleChanged {
            role: StaffRole::Accountant,
            previous: StaffRole::Manager,
        }]);
}

#[tokio::test]
async fn changing_to_the_same_role_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::ChangeStaffRole {
            role: StaffRole::Manager,
        })
        .await
        .then_expect_error(StaffAccountError::RoleUnchanged);
}

#[tokio::test]
async fn the_role_of_a_disabled_account_can_still_change() {
    StaffTest::with(services())
        .given(vec![created(), disabled()])
        .when_async(StaffAccountCommand::ChangeStaffRole {
            role: StaffRole::Support,
        })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffRoleChanged {
            role: StaffRole::Support,
            previous: StaffRole::Manager,
        }]);
}

// Changing the password

#[tokio::test]
async fn changing_the_password_records_the_new_hash_and_when() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::ChangeStaffPassword {
            password_hash: NEW_HASH.to_owned(),
            at: at(6, 10),
            temporary: false,
        })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffPasswordChanged {
            password_hash: PasswordHash::new(NEW_HASH),
            at: at(6, 10),
            temporary: false,
        }]);
}

#[tokio::test]
async fn a_new_password_hash_that_is_not_argon2id_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::ChangeStaffPassword {
            password_hash: "new password".to_owned(),
            at: at(6, 10),
            temporary: false,
        })
        .await
        .then_expect_error(StaffAccountError::PasswordHashInvalid);
}

#[tokio::test]
async fn the_password_of_a_disabled_account_can_still_change() {
    StaffTest::with(services())
        .given(vec![created(), disabled()])
        .when_async(StaffAccountCommand::ChangeStaffPassword {
            password_hash: NEW_HASH.to_owned(),
            at: at(6, 10),
            temporary: false,
        })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffPasswordChanged {
            password_hash: PasswordHash::new(NEW_HASH),
            at: at(6, 10),
            temporary: false,
        }]);
}

// Renaming

#[tokio::test]
async fn renaming_records_the_previous_name() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::RenameStaff {
            display_name: " Jane Martin ".to_owned(),
        })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffRenamed {
            display_name: "Jane Martin".to_owned(),
            previous: "Jane Doe".to_owned(),
        }]);
}

#[tokio::test]
async fn renaming_to_the_same_name_records_nothing() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::RenameStaff {
            display_name: "Jane Doe  ".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn renaming_to_an_empty_name_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::RenameStaff {
            display_name: "\t".to_owned(),
        })
        .await
        .then_expect_error(StaffAccountError::DisplayNameEmpty);
}

#[tokio::test]
async fn renaming_to_a_name_over_100_characters_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::RenameStaff {
            display_name: "x".repeat(101),
        })
        .await
        .then_expect_error(StaffAccountError::DisplayNameTooLong);
}

// Disabling, enabling, ending sessions

#[tokio::test]
async fn disabling_an_account_records_when() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::DisableStaffAccount { at: at(5, 9) })
        .await
        .then_expect_events(vec![disabled()]);
}

#[tokio::test]
async fn disabling_a_disabled_account_is_refused() {
    StaffTest::with(services())
        .given(vec![created(), disabled()])
        .when_async(StaffAccountCommand::DisableStaffAccount { at: at(6, 9) })
        .await
        .then_expect_error(StaffAccountError::AlreadyDisabled);
}

#[tokio::test]
async fn enabling_a_disabled_account_is_recorded() {
    StaffTest::with(services())
        .given(vec![created(), disabled()])
        .when_async(StaffAccountCommand::EnableStaffAccount)
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffAccountEnabled]);
}

#[tokio::test]
async fn enabling_an_account_that_is_not_disabled_is_refused() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::EnableStaffAccount)
        .await
        .then_expect_error(StaffAccountError::NotDisabled);
}

#[tokio::test]
async fn a_re_enabled_account_can_be_disabled_again() {
    StaffTest::with(services())
        .given(vec![
            created(),
            disabled(),
            StaffAccountEvent::StaffAccountEnabled,
        ])
        .when_async(StaffAccountCommand::DisableStaffAccount { at: at(7, 9) })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffAccountDisabled {
            at: at(7, 9),
        }]);
}

#[tokio::test]
async fn ending_every_session_records_the_cut_off() {
    StaffTest::with(services())
        .given(vec![created()])
        .when_async(StaffAccountCommand::EndStaffSessions { at: at(8, 18) })
        .await
        .then_expect_events(vec![StaffAccountEvent::StaffSessionsEnded {
            at: at(8, 18),
        }]);
}

#[tokio::test]
async fn every_command_on_an_account_never_created_is_not_found() {
    for command in [
        StaffAccountCommand::ChangeStaffRole {
            role: StaffRole::Owner,
        },
        StaffAccountCommand::ChangeStaffPassword {
            password_hash: NEW_HASH.to_owned(),
            at: at(6, 10),
            temporary: false,
        },
        StaffAccountCommand::RenameStaff {
            display_name: "Jane".to_owned(),
        },
        StaffAccountCommand::DisableStaffAccount { at: at(6, 10) },
        StaffAccountCommand::EnableStaffAccount,
        StaffAccountCommand::EndStaffSessions { at: at(6, 10) },
    ] {
        StaffTest::with(services())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(StaffAccountError::NotFound);
    }
}

// State

#[test]
fn a_created_account_exposes_what_it_was_given() {
    let account = replayed(vec![created()]);
    assert!(account.exists());
    assert_eq!(account.id(), Some(id()));
    assert_eq!(account.email(), Some(&email()));
    assert_eq!(account.display_name(), "Jane Doe");
    assert_eq!(account.role(), StaffRole::Manager);
    assert_eq!(account.password_hash(), Some(HASH));
    assert!(!account.is_disabled());
    assert_eq!(account.sessions_valid_after(), None);
}

#[test]
fn an_account_never_created_does_not_exist() {
    let account = StaffAccount::default();
    assert!(!account.exists());
    assert_eq!(account.role(), StaffRole::Support);
    assert_eq!(account.password_hash(), None);
}

#[test]
fn a_password_change_ends_the_sessions_opened_before_it() {
    let account = replayed(vec![
        created(),
        StaffAccountEvent::StaffPasswordChanged {
            password_hash: PasswordHash::new(NEW_HASH),
            at: at(6, 10),
            temporary: false,
        },
    ]);
    assert_eq!(account.password_hash(), Some(NEW_HASH));
    assert_eq!(account.sessions_valid_after(), Some(at(6, 10)));
}

#[test]
fn disabling_ends_the_sessions_and_enabling_does_not_revive_them() {
    let account = replayed(vec![created(), disabled()]);
    assert!(account.is_disabled());
    assert_eq!(account.sessions_valid_after(), Some(at(5, 9)));
    let account = replayed(vec![
        created(),
        disabled(),
        StaffAccountEvent::StaffAccountEnabled,
    ]);
    assert!(!account.is_disabled());
    assert_eq!(account.sessions_valid_after(), Some(at(5, 9)));
}

#[test]
fn ending_sessions_moves_the_cut_off_forward_but_never_back() {
    let account = replayed(vec![
        created(),
        StaffAccountEvent::StaffSessionsEnded { at: at(8, 18) },
    ]);
    assert_eq!(account.sessions_valid_after(), Some(at(8, 18)));
    let account = replayed(vec![
        created(),
        StaffAccountEvent::StaffSessionsEnded { at: at(8, 18) },
        StaffAccountEvent::StaffSessionsEnded { at: at(7, 18) },
    ]);
    assert_eq!(account.sessions_valid_after(), Some(at(8, 18)));
}

#[test]
fn a_role_change_and_a_rename_are_applied() {
    let account = replayed(vec![
        created(),
        StaffAccountEvent::StaffRoleChanged {
            role: StaffRole::Owner,
            previous: StaffRole::Manager,
        },
        StaffAccountEvent::StaffRenamed {
            display_name: "Jane Martin".to_owned(),
            previous: "Jane Doe".to_owned(),
        },
    ]);
    assert_eq!(account.role(), StaffRole::Owner);
    assert_eq!(account.display_name(), "Jane Martin");
}

// The hash stays out of sight

#[test]
fn debug_output_never_shows_a_password_hash() {
    let account = replayed(vec![created()]);
    let texts = [
        format!("{account:?}"),
        format!("{:?}", created()),
        format!(
            "{:?}",
            StaffAccountEvent::StaffPasswordChanged {
                password_hash: PasswordHash::new(NEW_HASH),
                at: at(6, 10),
                temporary: false,
            }
        ),
        format!("{:?}", create("Jane Doe", HASH)),
        format!(
            "{:?}",
            StaffAccountCommand::ChangeStaffPassword {
                password_hash: NEW_HASH.to_owned(),
                at: at(6, 10),
                temporary: false,
            }
        ),
    ];
    for text in texts {
        assert!(!text.contains("argon2"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}

#[test]
fn a_password_hash_is_stored_as_a_plain_string() {
    let json = serde_json::to_value(created()).unwrap();
    assert_eq!(json["StaffAccountCreated"]["password_hash"], HASH);
    let snapshot = serde_json::to_value(replayed(vec![created()])).unwrap();
    assert_eq!(snapshot["password_hash"], HASH);
}

#[test]
fn events_are_named_after_their_variant() {
    assert_events_are_named_and_round_trip(&[
        created(),
        StaffAccountEvent::StaffRoleChanged {
            role: StaffRole::Owner,
            previous: StaffRole::Manager,
        },
        StaffAccountEvent::StaffPasswordChanged {
            password_hash: PasswordHash::new(NEW_HASH),
            at: at(6, 10),
            temporary: false,
        },
        StaffAccountEvent::StaffRenamed {
            display_name: "a".into(),
            previous: "b".into(),
        },
        disabled(),
        StaffAccountEvent::StaffAccountEnabled,
        StaffAccountEvent::StaffSessionsEnded { at: at(8, 18) },
    ]);
}

// Roles and permissions

#[test]
fn roles_are_named_in_snake_case_and_parse_back() {
    for role in StaffRole::ALL {
        assert_eq!(
            serde_json::to_value(role).unwrap(),
            serde_json::Value::from(role.as_str())
        );
        assert_eq!(role.as_str().parse::<StaffRole>(), Ok(role));
        assert_eq!(role.to_string(), role.as_str());
    }
    assert_eq!(
        "admin".parse::<StaffRole>(),
        Err(UnknownStaffRole("admin".to_owned()))
    );
    assert!("Owner".parse::<StaffRole>().is_err());
}

#[test]
fn permissions_are_named_in_snake_case_and_parse_back() {
    for permission in Permission::ALL {
        assert_eq!(
            serde_json::to_value(permission).unwrap(),
            serde_json::Value::from(permission.as_str())
        );
        assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
    }
    assert!("delete_everything".parse::<Permission>().is_err());
}

#[test]
fn each_role_has_exactly_the_permissions_of_the_matrix() {
    use Permission::*;
    // owner, manager, operator, accountant, support
    const O: bool = true;
    const X: bool = false;
    let matrix: [(Permission, [bool; 5]); 18] = [
        (ViewCatalog, [O, O, O, X, X]),
        (EditCatalog, [O, O, X, X, X]),
        (AdjustStock, [O, O, O, X, X]),
        (ViewOrders, [O, O, O, O, O]),
        (ChangeOrderStatus, [O, O, O, X, X]),
        (ViewCustomers, [O, O, O, X, O]),
        (ViewReviews, [O, O, O, X, X]),
        (ModerateReviews, [O, O, X, X, X]),
        (ViewRevenue, [O, O, X, O, X]),
        (ViewInvoices, [O, O, X, O, X]),
        (Export, [O, X, X, O, X]),
        (ViewAudit, [O, X, X, O, X]),
        (RefundOrders, [O, O, X, X, X]),
        (CloseBooks, [O, X, X, X, X]),
        (ManageStaff, [O, X, X, X, X]),
        (ManageSettings, [O, X, X, X, X]),
        (ManageApiKeys, [O, X, X, X, X]),
        (ManageEmails, [O, O, X, X, X]),
    ];
    assert_eq!(
        matrix.map(|(permission, _)| permission),
        Permission::ALL,
        "the table lists every permission once, in order"
    );
    assert_eq!(
        StaffRole::ALL,
        [
            StaffRole::Owner,
            StaffRole::Manager,
            StaffRole::Operator,
            StaffRole::Accountant,
            StaffRole::Support
        ]
    );
    for (permission, allowed) in matrix {
        for (role, expected) in StaffRole::ALL.into_iter().zip(allowed) {
            assert_eq!(role.may(permission), expected, "{role} may {permission}");
        }
    }
}
