//! In-memory caches that keep the database off the hot read path of the public API:
//! catalog answers (valid until the projector applies new events, or a short time to live
//! for changes made by another process) and verified API keys (dropped at once when a key
//! is revoked, through a NOTIFY). Both are bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::watch;
use uuid::Uuid;

/// Most entries either cache holds; when full it starts afresh (simple, and bounded
/// whatever query strings crawlers invent).
const MAX_ENTRIES: usize = 2_000;

/// A serialised answer.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    pub etag: String,
    pub body: Bytes,
    generation: u64,
    stored: Instant,
}

/// Catalog answers by request URI.
#[derive(Debug)]
pub struct ReadCache {
    generation: Option<watch::Receiver<u64>>,
    ttl: Duration,
    entries: Mutex<HashMap<String, CachedAnswer>>,
}

impl ReadCache {
    /// Answers stay valid while `generation` (bumped by the projector whenever it applies
    /// events) does not move, and at most `ttl`.
    pub fn new(generation: watch::Receiver<u64>, ttl: Duration) -> Self {
        ReadCache {
            generation: Some(generation),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// No caching (tests that change the store without a running projector).
    pub fn disabled() -> Self {
        ReadCache {
            generation: None,
            ttl: Duration::ZERO,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn current(&self) -> Option<u64> {
        self.generation.as_ref().map(|g| *g.borrow())
    }

    /// A still valid answer for `uri`.
    pub fn get(&self, uri: &str) -> Option<CachedAnswer> {
        let generation = self.current()?;
        let entries = self.entries.lock().ok()?;
        entries
            .get(uri)
            .filter(|a| a.generation == generation && a.stored.elapsed() < self.ttl)
            .cloned()
    }

    /// Keeps an answer computed at the generation read before computing it.
    pub fn put(&self, uri: String, etag: String, body: Bytes, generation: Option<u64>) {
        let Some(generation) = generation else { return };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                uri,
                CachedAnswer {
                    etag,
                    body,
                    generation,
                    stored: Instant::now(),
                },
            );
        }
    }

    /// The generation to tag an answer about to be computed with.
    pub fn generation(&self) -> Option<u64> {
        self.current()
    }
}

/// Verified API keys, so a read does not cost a query to check its key.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Uuid, Instant)>>,
}

impl KeyCache {
    /// Keys verified less than `ttl` ago are trusted without a query (revocations clear
    /// the cache through [`KeyCache::clear`] as soon as they are notified).
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Every key is checked against the database.
    pub fn disabled() -> Self {
        KeyCache::new(Duration::ZERO)
    }

    /// The key id of a recently verified key.
    pub fn get(&self, presented: &str) -> Option<Uuid> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(presented)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(id, _)| *id)
    }

    /// Remembers a verified key.
    pub fn put(&self, presented: &str, key_id: Uuid) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(presented.to_owned(), (key_id, Instant::now()));
        }
    }

    /// Forgets every key (a key was revoked, or revocations may have been missed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// Clears `keys` whenever a key is revoked (and whenever the notification connection is
/// lost, since a revocation may have been missed meanwhile).
pub async fn follow_revocations(
    pool: sqlx::PgPool,
    keys: std::sync::Arc<KeyCache>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let listen = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(crate::api::keys::REVOKED_CHANNEL).await?;
            keys.clear();
            loop {
                listener.recv().await?;
                keys.clear();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            result = listen => {
                keys.clear();
                if let Err(error) = result {
                    tracing::warn!(%error, "API key revocation listener lost; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
