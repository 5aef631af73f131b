//! Staff credentials: password hashing (argon2id), the sign-in throttle and the record of
//! security events. The web side (sessions, CSRF) is in `admin::session`.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; staff hold the shop's
/// money, so more).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted: hashing cost grows with it, so it is bounded.
pub const MAX_PASSWORD_LEN: usize = 256;
/// Failed sign-ins, per account or per address, that close the door...
pub const MAX_FAILURES: i64 = 5;
/// ...within this window, and for as long as the window still holds that many.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// Argon2id with OWASP's first recommended setting: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    #[allow(clippy::unwrap_used)] // constant, valid parameters
    let params = Params::new(19 * 1024, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    #[error("the password could not be hashed: {0}")]
    Hashing(String),
}

/// Checks a new password against the policy.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a password that passes the policy into a PHC string (`$argon2id$...`). Slow on
/// purpose: call it off the async threads ([`hash_password_async`]).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_policy(password)?;
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// [`hash_password`] on a blocking thread.
pub async fn hash_password_async(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// A hash of a random password, verified against when the account does not exist so that
/// an unknown address takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(Uuid::new_v4().to_string().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` matches `hash` (`None`: no such account, checked against a decoy).
/// Runs on a blocking thread.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        if password.len() > MAX_PASSWORD_LEN * 4 {
            return false;
        }
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| decoy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// What a security event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEventKind {
    LoginSucceeded,
    LoginFailed,
    /// Refused by the throttle before the password was looked at.
    LoginThrottled,
    Logout,
    CsrfRefused,
    ApiKeyCreated,
    ApiKeyRevoked,
    /// A member changed their own password.
    PasswordChanged,
    /// A payment notification whose signature was missing, wrong or stale.
    WebhookRefused,
    /// The books left the shop: an export downloaded from the admin (which, in `detail`).
    ExportDownloaded,
}

impl SecurityEventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEventKind::LoginSucceeded => "login_succeeded",
            SecurityEventKind::LoginFailed => "login_failed",
            SecurityEventKind::LoginThrottled => "login_throttled",
            SecurityEventKind::Logout => "logout",
            SecurityEventKind::CsrfRefused => "csrf_refused",
            SecurityEventKind::ApiKeyCreated => "api_key_created",
            SecurityEventKind::ApiKeyRevoked => "api_key_revoked",
            SecurityEventKind::PasswordChanged => "password_changed",
            SecurityEventKind::WebhookRefused => "webhook_refused",
            SecurityEventKind::ExportDownloaded => "export_downloaded",
        }
    }
}

/// Who and where, for a security event.
#[derive(Debug, Clone, Default)]
pub struct Attempt<'a> {
    pub email: Option<&'a str>,
    pub staff_id: Option<Uuid>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Appends a security event (on the pool, or inside a transaction).
pub async fn record<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    kind: SecurityEventKind,
    attempt: &Attempt<'_>,
) -> Result<(), sqlx::Error> {
    record_detailed(executor, kind, attempt, None).await
}

/// [`record`], with what the event concerned (`fec 2026-01-01..2026-12-31, 129 rows`).
pub async fn record_detailed<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    kind: SecurityEventKind,
    attempt: &Attempt<'_>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into security_events (kind, email, staff_id, client_ip, user_agent, detail)
         values ($1, lower($2), $3, $4, $5, $6)",
    )
    .bind(kind.as_str())
    .bind(attempt.email)
    .bind(attempt.staff_id)
    .bind(attempt.client_ip)
    .bind(attempt.user_agent)
    .bind(detail)
    .execute(executor)
    .await?;
    Ok(())
}

/// A password for someone to change: 12 random bytes as 24 hex digits (within the
/// length policy). Used for the demo owner and for accounts the owner creates or resets.
pub fn temporary_password() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Serialises the sign-in attempts for one address and from one client until the
/// transaction ends, so that concurrent attempts count each other's failures: without it,
/// N parallel guesses would all see the counter before any of them is recorded. Always
/// the address's lock first, then the client's: no two attempts wait on each other in a
/// cycle.
pub async fn lock_attempts(
    conn: &mut PgConnection,
    email: &str,
    client_ip: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(1, hashtext(lower($1)))")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    if let Some(ip) = client_ip {
        sqlx::query("select pg_advisory_xact_lock(2, hashtext($1))")
            .bind(client_network(ip))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// What the throttle counts as one client: the address, or its /64 for IPv6 (one
/// subscriber's whole prefix, which they can rotate through at will).
pub fn client_network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_owned(),
    }
}

/// Password checks running at once. Each holds 19 MiB for tens of milliseconds: a flood
/// of sign-ins waits here instead of exhausting memory.
const CONCURRENT_VERIFICATIONS: usize = 4;

/// A turn to verify a password, or `None` after `wait` (the server is too busy).
pub async fn verification_turn(
    wait: std::time::Duration,
) -> Option<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: tokio::sync::Semaphore =
        tokio::sync::Semaphore::const_new(CONCURRENT_VERIFICATIONS);
    tokio::time::timeout(wait, TURNS.acquire())
        .await
        .ok()
        .and_then(Result::ok)
}

/// When sign-ins for this address or from this client open again, if they are closed now:
/// five failures within fifteen minutes close them until the fifth-latest failure is
/// fifteen minutes old. For an account, failures before its last success do not count.
pub async fn locked_until(
    conn: &mut PgConnection,
    email: &str,
    client_ip: Option<&str>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let by_account: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select at from security_events
          where lower(email) = lower($1) and kind = 'login_failed'
            and at > now() - make_interval(mins => $2::int)
            and at > coalesce((select max(at) from security_events
                                where lower(email) = lower($1) and kind = 'login_succeeded'),
                              '-infinity')
          order by at desc offset $3 - 1 limit 1",
    )
    .bind(email)
    .bind(FAILURE_WINDOW_MINUTES as i32)
    .bind(MAX_FAILURES)
    .fetch_optional(&mut *conn)
    .await?;
    let by_client: Option<DateTime<Utc>> = match client_ip {
        Some(ip) => {
            // An IPv6 client is its /64 (see `client_network`).
            sqlx::query_scalar(
                "select at from security_events
                  where kind = 'login_failed'
                    and at > now() - make_interval(mins => $2::int)
                    and (client_ip = $1
                         or (family($1::inet) = 6 and client_ip like '%:%'
                             and network(set_masklen(client_ip::inet, 64))
                                 = network(set_masklen($1::inet, 64))))
                  order by at desc offset $3 - 1 limit 1",
            )
            .bind(ip)
            .bind(FAILURE_WINDOW_MINUTES as i32)
            .bind(MAX_FAILURES)
            .fetch_optional(&mut *conn)
            .await?
        }
        None => None,
    };
    let window = chrono::Duration::minutes(FAILURE_WINDOW_MINUTES);
    Ok(by_account.max(by_client).map(|at| at + window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_prefix() {
        assert_eq!(client_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_network("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(client_network("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert_eq!(check_policy("short"), Err(PasswordError::TooShort));
        assert_eq!(
            check_policy(&"x".repeat(MAX_PASSWORD_LEN + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(check_policy("correct horse battery").is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("correct horse batterY".into(), Some(hash)).await);
        assert!(!verify_password("correct horse battery".into(), None).await);
    }
}

/// Why a staff account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateStaffError {
    #[error("email: {0}")]
    Email(String),
    #[error("role: `{0}` is not one of owner, manager, operator, accountant, support")]
    Role(String),
    #[error("password: {0}")]
    Password(#[from] PasswordError),
    #[error("{0}")]
    Refused(String),
    #[error("no staff account has the address {0}")]
    Unknown(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Runs `command` on the account of `email`, on behalf of `actor`.
pub async fn change_account(
    bus: &crate::commands::CommandBus,
    email: &str,
    command: aggregates::StaffAccountCommand,
    actor: aggregates::Actor,
) -> Result<Uuid, CreateStaffError> {
    let id = account_for(&bus.pool, email)
        .await?
        .ok_or_else(|| CreateStaffError::Unknown(email.to_owned()))?;
    bus.staff
        .execute(
            &id.to_string(),
            command,
            &aggregates::EventMetadata::new(actor),
        )
        .await
        .map_err(|e| CreateStaffError::Refused(e.to_string()))?;
    Ok(id)
}

/// Parses a role name.
pub fn parse_role(role: &str) -> Result<aggregates::staff::StaffRole, CreateStaffError> {
    role.parse()
        .map_err(|_| CreateStaffError::Role(role.to_owned()))
}

/// The staff account holding this address (any case), from the command side's unique
/// claims: always current, unlike a projection.
pub async fn account_for(pool: &PgPool, email: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select owner_id from unique_keys where scope = $1 and value = $2")
        .bind(aggregates::services::STAFF_EMAIL_SCOPE)
        .bind(email.trim().to_lowercase())
        .fetch_optional(pool)
        .await
}

/// Creates a staff account through the command side (so it is in the audit trail).
pub async fn create_account(
    bus: &crate::commands::CommandBus,
    email: &str,
    display_name: &str,
    role: &str,
    password: String,
    actor: aggregates::Actor,
) -> Result<Uuid, CreateStaffError> {
    use aggregates::staff::StaffRole;
    use aggregates::{Email, EventMetadata, StaffAccountCommand};
    let email = Email::new(email).map_err(|e| CreateStaffError::Email(e.to_string()))?;
    let role: StaffRole = parse_role(role)?;
    let password_hash = hash_password_async(password).await?;
    let staff_id = Uuid::now_v7();
    let command = StaffAccountCommand::CreateStaffAccount {
        staff_id,
        email,
        display_name: display_name.to_owned(),
        role,
        password_hash,
        temporary: false,
    };
    bus.staff
        .execute(&staff_id.to_string(), command, &EventMetadata::new(actor))
        .await
        .map_err(|e| CreateStaffError::Refused(e.to_string()))?;
    Ok(staff_id)
}
