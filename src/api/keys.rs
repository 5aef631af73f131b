//! Storefront API keys: created and revoked from the CLI, shown once, stored as a SHA-256
//! of their secret, and checked in constant time.
//!
//! A key reads `ck_<key id, 32 hex>_<secret, 64 hex>`: the id finds the row, the secret is
//! compared. 256 random bits need no slow hash: guessing is hopeless, and a stolen table
//! does not reveal usable keys.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// The channel notified when a key is revoked, so servers drop their cached keys.
pub const REVOKED_CHANNEL: &str = "comptoir_api_keys";

/// A key just created; `key` is shown once and never stored.
#[derive(Debug)]
pub struct CreatedKey {
    pub key_id: Uuid,
    pub name: String,
    pub key: String,
}

/// A key as listed.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyInfo {
    pub key_id: Uuid,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a key command failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key name needs 1 to 60 characters of letters, digits, '-', '_' or '.'")]
    BadName,
    #[error("a live key is already named `{0}`; revoke it first or choose another name")]
    NameTaken(String),
    #[error("no live key is named or numbered `{0}`")]
    NotFound(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a key named `name`.
pub async fn create(pool: &PgPool, name: &str) -> Result<CreatedKey, KeyError> {
    let name = name.trim();
    let valid = (1..=60).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(KeyError::BadName);
    }
    let key_id = Uuid::new_v4();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    let inserted =
        sqlx::query("insert into api_keys (key_id, name, secret_hash) values ($1, $2, $3)")
            .bind(key_id)
            .bind(name)
            .bind(digest(&secret))
            .execute(pool)
            .await;
    match inserted {
        Ok(_) => Ok(CreatedKey {
            key_id,
            name: name.to_owned(),
            key: format!("ck_{}_{secret}", key_id.simple()),
        }),
        Err(e)
            if e.as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "23505") =>
        {
            Err(KeyError::NameTaken(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes the live key with this name or id. Its next request is refused.
pub async fn revoke(pool: &PgPool, name_or_id: &str) -> Result<Uuid, KeyError> {
    let id = name_or_id.parse::<Uuid>().ok();
    let revoked: Option<Uuid> = sqlx::query_scalar(
        "with revoked as (
            update api_keys set revoked_at = now()
            where revoked_at is null and (name = $1 or key_id = $2) returning key_id)
         select key_id from revoked, pg_notify('comptoir_api_keys', key_id::text)",
    )
    .bind(name_or_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    revoked.ok_or_else(|| KeyError::NotFound(name_or_id.to_owned()))
}

/// Every key, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<KeyInfo>, KeyError> {
    Ok(sqlx::query_as(
        "select key_id, name, created_at, revoked_at from api_keys order by created_at desc",
    )
    .fetch_all(pool)
    .await?)
}

/// The id of the live key `presented` is, if it is one.
pub async fn verify(pool: &PgPool, presented: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let Some((id, secret)) = presented
        .strip_prefix("ck_")
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    let Ok(key_id) = Uuid::try_parse(id) else {
        return Ok(None);
    };
    let stored: Option<Vec<u8>> = sqlx::query_scalar(
        "select secret_hash from api_keys where key_id = $1 and revoked_at is null",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    // Compare digests in constant time; an unknown id still pays for a digest.
    let presented = digest(secret);
    let matches = match stored {
        Some(stored) => bool::from(stored.ct_eq(&presented)),
        None => {
            let _ = presented.ct_eq(&[0u8; 32]);
            false
        }
    };
    Ok(matches.then_some(key_id))
}
