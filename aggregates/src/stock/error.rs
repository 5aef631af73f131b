use uuid::Uuid;

/// Why a stock command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    /// A quantity of zero.
    #[error("a quantity must be above zero")]
    QuantityNotPositive,
    /// An adjustment of zero units.
    #[error("an adjustment must add or remove at least one unit")]
    ZeroAdjustment,
    /// An adjustment without a reason.
    #[error("an adjustment needs a reason")]
    ReasonRequired,
    /// Not enough unreserved units.
    #[error("only {available} unit(s) available, {requested} requested")]
    InsufficientStock {
        /// Units asked for (removed, for an adjustment).
        requested: i64,
        /// Units not reserved.
        available: i64,
    },
    /// The order already holds a different quantity.
    #[error("order {order_id} already holds {existing} unit(s); release it before reserving {requested}")]
    ReservationConflict {
        /// The order.
        order_id: Uuid,
        /// Units it holds.
        existing: u32,
        /// Units asked for.
        requested: u32,
    },
    /// Committing for an order that never reserved.
    #[error("order {0} holds no reservation")]
    ReservationNotFound(Uuid),
    /// The command names another product than the stream's.
    #[error("this stock belongs to product {expected}, not {given}")]
    ProductMismatch {
        /// The stream's product.
        expected: Uuid,
        /// The product named by the command.
        given: Uuid,
    },
    /// The count would leave the representable range.
    #[error("this quantity is out of range")]
    QuantityOutOfRange,
}
