use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Email;

/// What customers and staff can ask of a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewCommand {
    /// A customer submits a review; it waits for moderation.
    SubmitReview {
        /// Id of the new review (also the aggregate id).
        review_id: Uuid,
        /// The product reviewed.
        product_id: Uuid,
        /// The order it was bought in, for a verified purchase.
        order_id: Option<Uuid>,
        /// Name shown, 1 to 100 characters.
        customer_name: String,
        /// Customer email (never shown).
        customer_email: Email,
        /// 1 to 5 stars.
        rating: u8,
        /// 10 to 5000 characters.
        comment: String,
        /// When it was submitted.
        submitted_at: DateTime<Utc>,
    },
    /// A moderator publishes the review.
    ApproveReview,
    /// A moderator refuses the review.
    RejectReview {
        /// Why, required (kept for the moderation log).
        feedback: String,
    },
    /// The shop answers publicly (again to edit the answer).
    RespondToReview {
        /// 1 to 5000 characters.
        response: String,
        /// When.
        responded_at: DateTime<Utc>,
    },
}
