//! The shop's settings as every request sees them: the `ShopSettings` aggregate's state,
//! read from its stream at start and again whenever it changes, held in memory so the API's
//! CORS check and order validation cost no query. The stream is the read model here, as
//! for staff sessions: one short stream, always current, nothing to rebuild.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aggregates::{ShopSettings, SHOP_SETTINGS_ID};
use tokio::sync::watch;

use crate::commands::CommandBus;

/// The current settings, shared by every handler.
#[derive(Debug, Clone, Default)]
pub struct ShopProfile {
    current: Arc<RwLock<Arc<ShopSettings>>>,
}

impl ShopProfile {
    /// Holds `settings` until the next reload.
    pub fn new(settings: ShopSettings) -> Self {
        ShopProfile {
            current: Arc::new(RwLock::new(Arc::new(settings))),
        }
    }

    /// The settings now.
    pub fn get(&self) -> Arc<ShopSettings> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, settings: ShopSettings) {
        let mut current = match self.current.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        *current = Arc::new(settings);
    }

    /// Reads the settings from their stream again.
    pub async fn reload(&self, bus: &CommandBus) -> Result<Arc<ShopSettings>, String> {
        let settings = bus
            .settings
            .load(SHOP_SETTINGS_ID)
            .await
            .map_err(|e| e.to_string())?;
        self.set(settings);
        Ok(self.get())
    }

    /// Loads the settings once, then reloads them whenever the settings stream grew: the
    /// projector bumps `changes` after every batch it applies, and one indexed lookup of the
    /// stream's last position tells whether the batch touched the settings (another
    /// process, such as a second server, may have changed them).
    pub async fn follow(
        self,
        bus: Arc<CommandBus>,
        mut changes: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut seen = None;
        loop {
            match bus.position_of("ShopSettings", SHOP_SETTINGS_ID).await {
                Ok(position) if position != seen => match self.reload(&bus).await {
                    Ok(_) => seen = position,
                    Err(error) => tracing::warn!(%error, "shop settings not reloaded"),
                },
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "shop settings position unknown"),
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
            }
            // Batches come in bursts under load: look at most a few times a second.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
