/// Why a number could not be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceSeriesError {
    /// The prefix is empty, too long or not upper-case letters and digits.
    #[error("an invoice prefix is 1 to 10 upper-case letters or digits, not \"{0}\"")]
    InvalidPrefix(String),
    /// The year is outside 2000..=9999.
    #[error("an invoice year is between 2000 and 9999, not {0}")]
    InvalidYear(i32),
    /// The command names another series than the stream's.
    #[error("this stream holds series {expected}, not {given}")]
    SeriesMismatch {
        /// The stream's series.
        expected: String,
        /// The series named by the command.
        given: String,
    },
}
