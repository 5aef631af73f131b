//! The command side: one postgres-es framework per aggregate, behind a bus that retries
//! optimistic-concurrency conflicts a bounded number of times (each retry reloads the
//! aggregate) and reports a conflict that persists as a typed error, never a panic.

use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, CqrsFramework, EventStore};
use postgres_es::PostgresEventRepository;
use rand::Rng;
use sqlx::PgPool;

use aggregates::metadata::EventMetadata;
use aggregates::services::{CatalogServices, ReviewServices, ShopSettingsServices, StaffServices};
use aggregates::{
    Category, Closures, InvoiceSeries, Order, Product, Review, ShopSettings, StaffAccount, Stock,
};
use projections::stream::{self, StreamPosition};

use crate::metrics::{self, CommandOutcome};
use crate::services::{PgCatalogLookup, PgPurchaseLookup, PgSalesLookup, PgUniqueKeys};

/// How a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused it (a rule of the domain).
    #[error(transparent)]
    Refused(E),
    /// Others kept writing to the same aggregate; retried, still conflicting.
    #[error("{aggregate} {id} was changed by someone else {attempts} times in a row; try again")]
    Conflict {
        aggregate: &'static str,
        id: String,
        attempts: u32,
    },
    /// The store failed (database down, an event that does not decode).
    #[error("event store: {0}")]
    Store(String),
}

impl<E: std::error::Error> CommandError<E> {
    /// Whether this is a concurrency conflict (409 at the HTTP edge).
    pub fn is_conflict(&self) -> bool {
        matches!(self, CommandError::Conflict { .. })
    }
}

type Store<A> = PersistedEventStore<PostgresEventRepository, A>;

/// One aggregate type's command handler and loader.
pub struct Handler<A: Aggregate> {
    cqrs: CqrsFramework<A, Store<A>>,
    loader: Store<A>,
    attempts: u32,
}

impl<A: Aggregate> std::fmt::Debug for Handler<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("aggregate", &A::TYPE)
            .finish()
    }
}

impl<A> Handler<A>
where
    A: Aggregate + 'static,
    A::Command: Clone,
{
    fn new(
        pool: &PgPool,
        services: A::Services,
        snapshot_every: Option<usize>,
        attempts: u32,
    ) -> Self
    where
        A::Services: Sized,
    {
        let store = |pool: &PgPool| {
            let repo = PostgresEventRepository::new(pool.clone());
            match snapshot_every {
                Some(n) => PersistedEventStore::new_snapshot_store(repo, n),
                None => PersistedEventStore::new_event_store(repo),
            }
        };
        Handler {
            cqrs: CqrsFramework::new(store(pool), Vec::new(), services),
            loader: store(pool),
            attempts,
        }
    }

    /// Runs `command` on aggregate `id`, retrying conflicts with a jittered back-off. Every
    /// outcome and every conflict met is counted for `/metrics`.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError<A::Error>> {
        let mut delay_ms = 2u64;
        for attempt in 1..=self.attempts {
            let result = self
                .cqrs
                .execute_with_metadata(id, command.clone(), metadata.to_map())
                .await;
            match result {
                Ok(()) => {
                    metrics::command_executed(A::TYPE, CommandOutcome::Ok);
                    return Ok(());
                }
                Err(AggregateError::UserError(error)) => {
                    metrics::command_executed(A::TYPE, CommandOutcome::Refused);
                    return Err(CommandError::Refused(error));
                }
                Err(AggregateError::AggregateConflict) => {
                    metrics::conflict(A::TYPE);
                    if attempt == self.attempts {
                        break;
                    }
                    let jitter = rand::rng().random_range(0..=delay_ms);
                    tokio::time::sleep(Duration::from_millis(delay_ms + jitter)).await;
                    delay_ms = (delay_ms * 2).min(50);
                }
                Err(other) => {
                    metrics::command_executed(A::TYPE, CommandOutcome::Error);
                    return Err(CommandError::Store(other.to_string()));
                }
            }
        }
        metrics::command_executed(A::TYPE, CommandOutcome::Conflict);
        Err(CommandError::Conflict {
            aggregate: A::TYPE,
            id: id.to_owned(),
            attempts: self.attempts,
        })
    }

    /// The aggregate's current state (a default one if it has no events).
    pub async fn load(&self, id: &str) -> Result<A, CommandError<A::Error>>
    where
        A: Clone,
    {
        let mut context = self
            .loader
            .load_aggregate(id)
            .await
            .map_err(|e| CommandError::Store(e.to_string()))?;
        Ok(context.aggregate().clone())
    }
}

/// Every aggregate's handler, sharing one pool.
#[derive(Debug)]
pub struct CommandBus {
    pub pool: PgPool,
    pub categories: Handler<Category>,
    pub products: Handler<Product>,
    pub stock: Handler<Stock>,
    pub orders: Handler<Order>,
    pub reviews: Handler<Review>,
    pub invoice_series: Handler<InvoiceSeries>,
    pub staff: Handler<StaffAccount>,
    pub settings: Handler<ShopSettings>,
    pub closures: Handler<Closures>,
}

/// Attempts per command before a conflict is reported. Enough for dozens of buyers
/// racing for one product's stock; bounded so a hot aggregate cannot hold a request.
pub const ATTEMPTS: u32 = 24;

impl CommandBus {
    /// Wires every aggregate to the store in `pool`.
    pub fn new(pool: PgPool) -> Arc<Self> {
        let lookup = Arc::new(PgCatalogLookup::new(pool.clone()));
        let catalog =
            || CatalogServices::new(Arc::new(PgUniqueKeys::new(pool.clone())), lookup.clone());
        let reviews = ReviewServices::new(Arc::new(PgPurchaseLookup::new(pool.clone())));
        let staff = StaffServices::new(Arc::new(PgUniqueKeys::new(pool.clone())));
        let settings = ShopSettingsServices::new(Arc::new(PgSalesLookup::new(pool.clone())));
        Arc::new(CommandBus {
            categories: Handler::new(&pool, catalog(), None, ATTEMPTS),
            products: Handler::new(&pool, catalog(), None, ATTEMPTS),
            // Stock and invoice series streams grow with every order: snapshots keep
            // loading them cheap.
            stock: Handler::new(&pool, (), Some(50), ATTEMPTS),
            orders: Handler::new(&pool, (), None, ATTEMPTS),
            reviews: Handler::new(&pool, reviews, None, ATTEMPTS),
            invoice_series: Handler::new(&pool, (), Some(50), ATTEMPTS),
            staff: Handler::new(&pool, staff, None, ATTEMPTS),
            settings: Handler::new(&pool, settings, None, ATTEMPTS),
            // One stream, a few events a day for years.
            closures: Handler::new(&pool, (), Some(50), ATTEMPTS),
            pool,
        })
    }

    /// The stream position of the last event of an aggregate, for read-your-writes.
    pub async fn position_of(
        &self,
        aggregate_type: &str,
        id: &str,
    ) -> Result<Option<StreamPosition>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        stream::last_of_aggregate(&mut conn, aggregate_type, id).await
    }
}
