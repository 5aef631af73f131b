//! What aggregates need from the outside world, as traits, plus in-memory doubles.
//!
//! The doubles are public and not behind `cfg(test)` so other crates' tests can use them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use uuid::Uuid;

use crate::values::Email;

/// A service could not answer (database down, ...). Carried as text: the aggregate only
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

/// Scope of category names (value: trimmed, lower-cased name).
pub const CATEGORY_NAME_SCOPE: &str = "category_name";
/// Scope of category slugs.
pub const CATEGORY_SLUG_SCOPE: &str = "category_slug";
/// Scope of product references.
pub const PRODUCT_REFERENCE_SCOPE: &str = "product_reference";
/// Scope of product slugs.
pub const PRODUCT_SLUG_SCOPE: &str = "product_slug";
/// Scope of staff sign-in addresses (value: the whole address, lower-cased).
pub const STAFF_EMAIL_SCOPE: &str = "staff_email";

/// Uniqueness across aggregates (names, slugs, references), which one aggregate cannot
/// enforce alone.
#[async_trait]
pub trait UniqueKeys: Send + Sync {
    /// Claims `value` in `scope` for `owner`. Ok(true) when owner now holds it (fresh or
    /// already its own), Ok(false) when another owner holds it.
    async fn claim(&self, scope: &str, value: &str, owner: Uuid) -> Result<bool, ServiceError>;
    /// Releases `value` in `scope` if `owner` holds it; does nothing otherwise.
    async fn release(&self, scope: &str, value: &str, owner: Uuid) -> Result<(), ServiceError>;
}

/// Read-side questions the catalog aggregates ask.
#[async_trait]
pub trait CatalogLookup: Send + Sync {
    /// Whether the category exists and is not deleted.
    async fn category_exists(&self, id: Uuid) -> Result<bool, ServiceError>;
    /// How many non-archived products the category holds.
    async fn products_in_category(&self, id: Uuid) -> Result<u64, ServiceError>;
}

/// Services of [`crate::Category`] and [`crate::Product`].
#[derive(Clone)]
pub struct CatalogServices {
    /// Unique names, slugs and references.
    pub keys: Arc<dyn UniqueKeys>,
    /// Category existence and product counts.
    pub lookup: Arc<dyn CatalogLookup>,
}

impl CatalogServices {
    /// Bundles the two services.
    pub fn new(keys: Arc<dyn UniqueKeys>, lookup: Arc<dyn CatalogLookup>) -> Self {
        Self { keys, lookup }
    }
}

impl fmt::Debug for CatalogServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogServices").finish_non_exhaustive()
    }
}

/// Whether a customer bought a product, for "verified purchase" reviews.
#[async_trait]
pub trait PurchaseLookup: Send + Sync {
    /// Whether order `order_id`, placed by `email`, contains `product_id`.
    async fn order_contains_product(
        &self,
        order_id: Uuid,
        product_id: Uuid,
        email: &Email,
    ) -> Result<bool, ServiceError>;
}

/// Services of [`crate::Review`].
#[derive(Clone)]
pub struct ReviewServices {
    /// Purchase history.
    pub purchases: Arc<dyn PurchaseLookup>,
}

impl ReviewServices {
    /// Wraps `purchases`.
    pub fn new(purchases: Arc<dyn PurchaseLookup>) -> Self {
        Self { purchases }
    }
}

impl fmt::Debug for ReviewServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReviewServices").finish_non_exhaustive()
    }
}

/// Services of [`crate::StaffAccount`].
#[derive(Clone)]
pub struct StaffServices {
    /// Unique sign-in addresses.
    pub keys: Arc<dyn UniqueKeys>,
}

impl StaffServices {
    /// Wraps `keys`.
    pub fn new(keys: Arc<dyn UniqueKeys>) -> Self {
        Self { keys }
    }
}

impl fmt::Debug for StaffServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffServices").finish_non_exhaustive()
    }
}

/// How many orders the shop has taken, for settings that may only change before the first.
#[async_trait]
pub trait SalesLookup: Send + Sync {
    /// Orders placed so far, whatever became of them.
    async fn orders_placed(&self) -> Result<u64, ServiceError>;
}

/// Services of [`crate::ShopSettings`].
#[derive(Clone)]
pub struct ShopSettingsServices {
    /// Whether orders exist.
    pub sales: Arc<dyn SalesLookup>,
}

impl ShopSettingsServices {
    /// Wraps `sales`.
    pub fn new(sales: Arc<dyn SalesLookup>) -> Self {
        Self { sales }
    }
}

impl fmt::Debug for ShopSettingsServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopSettingsServices")
            .finish_non_exhaustive()
    }
}

/// [`SalesLookup`] answering a fixed count, for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedSales(pub u64);

#[async_trait]
impl SalesLookup for FixedSales {
    async fn orders_placed(&self) -> Result<u64, ServiceError> {
        Ok(self.0)
    }
}

/// Gives a key back once the event that stopped using it is written. A failure must not
/// fail the command (cqrs-es would drop the written event), and a stale claim only blocks a
/// name until someone frees it, so the error is dropped.
pub(crate) async fn release_quietly(keys: &dyn UniqueKeys, scope: &str, value: &str, owner: Uuid) {
    keys.release(scope, value, owner).await.ok();
}

/// [`UniqueKeys`] in memory, for tests.
#[derive(Debug, Default)]
pub struct InMemoryUniqueKeys {
    keys: Mutex<HashMap<(String, String), Uuid>>,
}

impl InMemoryUniqueKeys {
    /// No key claimed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pre-claims `value` in `scope` for `owner` (builder style, for test setup).
    pub fn with_claim(self, scope: &str, value: &str, owner: Uuid) -> Self {
        self.lock()
            .insert((scope.to_owned(), value.to_owned()), owner);
        self
    }

    /// Who holds `value` in `scope`.
    pub fn holder(&self, scope: &str, value: &str) -> Option<Uuid> {
        self.lock()
            .get(&(scope.to_owned(), value.to_owned()))
            .copied()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Uuid>> {
        // A panic in another test thread cannot leave the map half-updated (single
        // insert/remove), so a poisoned lock is still usable.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl UniqueKeys for InMemoryUniqueKeys {
    async fn claim(&self, scope: &str, value: &str, owner: Uuid) -> Result<bool, ServiceError> {
        let mut keys = self.lock();
        let holder = keys
            .entry((scope.to_owned(), value.to_owned()))
            .or_insert(owner);
        Ok(*holder == owner)
    }

    async fn release(&self, scope: &str, value: &str, owner: Uuid) -> Result<(), ServiceError> {
        let mut keys = self.lock();
        let key = (scope.to_owned(), value.to_owned());
        if keys.get(&key) == Some(&owner) {
            keys.remove(&key);
        }
        Ok(())
    }
}

/// [`CatalogLookup`] answering from fixed sets, for tests.
#[derive(Debug, Default, Clone)]
pub struct FixedCatalogLookup {
    /// Categories that exist.
    pub categories: HashSet<Uuid>,
    /// Non-archived product count per category (absent = 0).
    pub product_counts: HashMap<Uuid, u64>,
}

impl FixedCatalogLookup {
    /// No category.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an existing category.
    pub fn with_category(mut self, id: Uuid) -> Self {
        self.categories.insert(id);
        self
    }

    /// Sets the product count of a category (and makes it exist).
    pub fn with_products(mut self, id: Uuid, count: u64) -> Self {
        self.categories.insert(id);
        self.product_counts.insert(id, count);
        self
    }
}

#[async_trait]
impl CatalogLookup for FixedCatalogLookup {
    async fn category_exists(&self, id: Uuid) -> Result<bool, ServiceError> {
        Ok(self.categories.contains(&id))
    }

    async fn products_in_category(&self, id: Uuid) -> Result<u64, ServiceError> {
        Ok(self.product_counts.get(&id).copied().unwrap_or(0))
    }
}

/// [`PurchaseLookup`] answering from a fixed set of `(order_id, product_id)` pairs
/// (whatever the email), for tests.
#[derive(Debug, Default, Clone)]
pub struct FixedPurchases(pub HashSet<(Uuid, Uuid)>);

impl FixedPurchases {
    /// Records that `order_id` contains `product_id`.
    pub fn with(mut self, order_id: Uuid, product_id: Uuid) -> Self {
        self.0.insert((order_id, product_id));
        self
    }
}

#[async_trait]
impl PurchaseLookup for FixedPurchases {
    async fn order_contains_product(
        &self,
        order_id: Uuid,
        product_id: Uuid,
        _email: &Email,
    ) -> Result<bool, ServiceError> {
        Ok(self.0.contains(&(order_id, product_id)))
    }
}

/// A service that always fails, to test how aggregates report outages.
#[derive(Debug, Clone)]
pub struct FailingServices(pub String);

#[async_trait]
impl SalesLookup for FailingServices {
    async fn orders_placed(&self) -> Result<u64, ServiceError> {
        Err(ServiceError(self.0.clone()))
    }
}

#[async_trait]
impl UniqueKeys for FailingServices {
    async fn claim(&self, _: &str, _: &str, _: Uuid) -> Result<bool, ServiceError> {
        Err(ServiceError(self.0.clone()))
    }

    async fn release(&self, _: &str, _: &str, _: Uuid) -> Result<(), ServiceError> {
        Err(ServiceError(self.0.clone()))
    }
}

#[async_trait]
impl CatalogLookup for FailingServices {
    async fn category_exists(&self, _: Uuid) -> Result<bool, ServiceError> {
        Err(ServiceError(self.0.clone()))
    }

    async fn products_in_category(&self, _: Uuid) -> Result<u64, ServiceError> {
        Err(ServiceError(self.0.clone()))
    }
}

#[async_trait]
impl PurchaseLookup for FailingServices {
    async fn order_contains_product(
        &self,
        _: Uuid,
        _: Uuid,
        _: &Email,
    ) -> Result<bool, ServiceError> {
        Err(ServiceError(self.0.clone()))
    }
}
