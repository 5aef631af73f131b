use chrono::NaiveDate;

/// Why a closure was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosureError {
    /// A day skipped or closed out of order.
    #[error("{day} cannot be closed before {expected}: days are closed in order, each once")]
    OutOfOrder {
        /// The day asked for.
        day: NaiveDate,
        /// The next day to close.
        expected: NaiveDate,
    },
    /// Totals that do not add up.
    #[error("the totals of {0} do not add up (by rate, by means of payment, HT + VAT = TTC)")]
    Inconsistent(NaiveDate),
    /// The period's bounds are not one day long and in order.
    #[error("the bounds given for {0} are not those of one day")]
    Bounds(NaiveDate),
    /// The last event of the period is older than the last closure's.
    #[error("the last event of {0} comes before the last event already closed")]
    PositionBackwards(NaiveDate),
}
