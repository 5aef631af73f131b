//! PostgreSQL implementations of the services the aggregates call.

use std::time::Duration;

use async_trait::async_trait;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateContext, EventStore};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use uuid::Uuid;

use aggregates::services::{CatalogLookup, PurchaseLookup, SalesLookup, ServiceError, UniqueKeys};
use aggregates::{Category, Email, Order};
use projections::{runtime, stream};

fn service_error(error: impl std::fmt::Display) -> ServiceError {
    ServiceError(error.to_string())
}

/// Unique values claimed in the `unique_keys` table. The primary key makes a claim atomic
/// whatever the number of concurrent writers.
#[derive(Debug, Clone)]
pub struct PgUniqueKeys {
    pool: PgPool,
}

impl PgUniqueKeys {
    /// Claims in `pool`'s store.
    pub fn new(pool: PgPool) -> Self {
        PgUniqueKeys { pool }
    }
}

#[async_trait]
impl UniqueKeys for PgUniqueKeys {
    async fn claim(&self, scope: &str, value: &str, owner: Uuid) -> Result<bool, ServiceError> {
        // When a concurrent claim of the same value commits while this statement runs, the
        // insert yields to it but the statement's snapshot cannot see its row: ask again.
        for _ in 0..3 {
            let holder: Option<Uuid> = sqlx::query_scalar(
                "with claimed as (
                    insert into unique_keys (scope, value, owner_id) values ($1, $2, $3)
                    on conflict (scope, value) do nothing returning owner_id)
                 select owner_id from claimed
                 union all
                 select owner_id from unique_keys where scope = $1 and value = $2
                 limit 1",
            )
            .bind(scope)
            .bind(value)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await
            .map_err(service_error)?;
            if let Some(holder) = holder {
                return Ok(holder == owner);
            }
        }
        Err(ServiceError(format!(
            "could not claim {scope} `{value}`; try again"
        )))
    }

    async fn release(&self, scope: &str, value: &str, owner: Uuid) -> Result<(), ServiceError> {
        sqlx::query("delete from unique_keys where scope = $1 and value = $2 and owner_id = $3")
            .bind(scope)
            .bind(value)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(service_error)?;
        Ok(())
    }
}

/// Catalog questions: a category's existence straight from its events (always current),
/// its product count from the `categories` read model once that has caught up.
#[derive(Clone)]
pub struct PgCatalogLookup {
    pool: PgPool,
    categories: std::sync::Arc<PersistedEventStore<PostgresEventRepository, Category>>,
}

impl std::fmt::Debug for PgCatalogLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgCatalogLookup")
    }
}

impl PgCatalogLookup {
    /// Looks things up in `pool`'s store.
    pub fn new(pool: PgPool) -> Self {
        let repo = PostgresEventRepository::new(pool.clone());
        PgCatalogLookup {
            pool,
            categories: std::sync::Arc::new(PersistedEventStore::new_event_store(repo)),
        }
    }
}

#[async_trait]
impl CatalogLookup for PgCatalogLookup {
    async fn category_exists(&self, id: Uuid) -> Result<bool, ServiceError> {
        let mut context = self
            .categories
            .load_aggregate(&id.to_string())
            .await
            .map_err(service_error)?;
        let category = context.aggregate();
        Ok(category.exists() && !category.is_deleted())
    }

    async fn products_in_category(&self, id: Uuid) -> Result<u64, ServiceError> {
        let mut conn = self.pool.acquire().await.map_err(service_error)?;
        let head = stream::head(&mut conn).await.map_err(service_error)?;
        drop(conn);
        let fresh = runtime::wait_for(&self.pool, &["categories"], head, Duration::from_secs(5))
            .await
            .map_err(service_error)?;
        if !fresh {
            return Err(ServiceError(
                "the category counts are catching up; try again in a moment".into(),
            ));
        }
        let count: Option<i64> =
            sqlx::query_scalar("select product_count from category_list where category_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(service_error)?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }
}

/// Whether an order holds a product, from the order's own events.
#[derive(Clone)]
pub struct PgPurchaseLookup {
    orders: std::sync::Arc<PersistedEventStore<PostgresEventRepository, Order>>,
}

impl std::fmt::Debug for PgPurchaseLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgPurchaseLookup")
    }
}

impl PgPurchaseLookup {
    /// Looks orders up in `pool`'s store.
    pub fn new(pool: PgPool) -> Self {
        PgPurchaseLookup {
            orders: std::sync::Arc::new(PersistedEventStore::new_event_store(
                PostgresEventRepository::new(pool),
            )),
        }
    }
}

#[async_trait]
impl PurchaseLookup for PgPurchaseLookup {
    async fn order_contains_product(
        &self,
        order_id: Uuid,
        product_id: Uuid,
        email: &Email,
    ) -> Result<bool, ServiceError> {
        let mut context = self
            .orders
            .load_aggregate(&order_id.to_string())
            .await
            .map_err(service_error)?;
        let order = context.aggregate();
        Ok(order.customer_email() == Some(email)
            && order
                .lines()
                .iter()
                .any(|line| line.product_id == product_id))
    }
}

/// Counts orders in the event store itself (not a view that may lag): the currency must
/// not change once the first order is written.
#[derive(Debug, Clone)]
pub struct PgSalesLookup {
    pool: PgPool,
}

impl PgSalesLookup {
    /// Counts in `pool`'s store.
    pub fn new(pool: PgPool) -> Self {
        PgSalesLookup { pool }
    }
}

#[async_trait]
impl SalesLookup for PgSalesLookup {
    async fn orders_placed(&self) -> Result<u64, ServiceError> {
        let count: i64 = sqlx::query_scalar(
            "select count(*) from events where aggregate_type = 'Order' and event_type = 'OrderPlaced'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(service_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
