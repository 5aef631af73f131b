//! Where staff sessions live: tower-sessions' PostgreSQL store, except that saving a
//! session only updates a row that still exists. The stock store saves with an upsert,
//! so a request already in flight when its session was ended (logout) would write the
//! session back, signed in. Here an ended session stays ended.

use async_trait::async_trait;
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;
use tower_sessions_sqlx_store::PostgresStore;

/// The session store of the admin (table `tower_sessions.session`, see migration 0005).
#[derive(Debug, Clone)]
pub struct SessionRows {
    inner: PostgresStore,
    pool: PgPool,
}

impl SessionRows {
    pub fn new(pool: PgPool) -> SessionRows {
        SessionRows {
            inner: PostgresStore::new(pool.clone()),
            pool,
        }
    }
}

#[async_trait]
impl SessionStore for SessionRows {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        // The same encoding as the stock store, which loads it.
        let data = rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let expiry = chrono::DateTime::from_timestamp(
            record.expiry_date.unix_timestamp(),
            record.expiry_date.nanosecond(),
        )
        .ok_or_else(|| Error::Encode("session expiry out of range".into()))?;
        sqlx::query("update tower_sessions.session set data = $2, expiry_date = $3 where id = $1")
            .bind(record.id.to_string())
            .bind(data)
            .bind(expiry)
            .execute(&self.pool)
            .await
            .map_err(|e| Error::Backend(e.to_string()))?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.inner.delete(id).await
    }
}
