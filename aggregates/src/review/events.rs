use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Email;

/// What happened to a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewEvent {
    /// A review was submitted.
    ReviewSubmitted {
        /// Its id.
        review_id: Uuid,
        /// The product.
        product_id: Uuid,
        /// The order named by the customer.
        order_id: Option<Uuid>,
        /// Whether that order, by that customer, contains the product.
        verified_purchase: bool,
        /// Name shown.
        customer_name: String,
        /// Customer email.
        customer_email: Email,
        /// 1 to 5.
        rating: u8,
        /// Comment.
        comment: String,
        /// When.
        submitted_at: DateTime<Utc>,
    },
    /// The review was approved (published).
    ReviewApproved,
    /// The review was rejected.
    ReviewRejected {
        /// Why.
        feedback: String,
    },
    /// The shop answered.
    VendorResponded {
        /// The answer.
        response: String,
        /// When.
        responded_at: DateTime<Utc>,
        /// Whether it replaces an earlier answer.
        edited: bool,
    },
}

impl DomainEvent for ReviewEvent {
    fn event_type(&self) -> String {
        match self {
            ReviewEvent::ReviewSubmitted { .. } => "ReviewSubmitted",
            ReviewEvent::ReviewApproved => "ReviewApproved",
            ReviewEvent::ReviewRejected { .. } => "ReviewRejected",
            ReviewEvent::VendorResponded { .. } => "VendorResponded",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
