use crate::services::ServiceError;

/// Why a review command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The review was already submitted.
    #[error("this review already exists")]
    AlreadyExists,
    /// The review was never submitted.
    #[error("review not found")]
    NotFound,
    /// A rating outside 1..=5.
    #[error("a rating is from 1 to 5 stars, not {0}")]
    InvalidRating(u8),
    /// A comment under 10 characters.
    #[error("a comment needs at least 10 characters")]
    CommentTooShort,
    /// A comment over 5000 characters.
    #[error("a comment is at most 5000 characters")]
    CommentTooLong,
    /// A blank customer name.
    #[error("a review needs the customer's name")]
    NameRequired,
    /// A customer name over 100 characters.
    #[error("a customer name is at most 100 characters")]
    NameTooLong,
    /// Rejecting without feedback.
    #[error("a rejection needs feedback")]
    FeedbackRequired,
    /// A blank response.
    #[error("a response cannot be empty")]
    ResponseRequired,
    /// A response over 5000 characters.
    #[error("a response is at most 5000 characters")]
    ResponseTooLong,
    /// A service could not answer.
    #[error("service unavailable: {0}")]
    Service(#[from] ServiceError),
}
