use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ReviewCommand, ReviewError, ReviewEvent, MAX_NAME_LEN, MAX_TEXT_LEN, MIN_COMMENT_LEN};
use crate::services::ReviewServices;
use crate::values::Email;

/// Where a review stands in moderation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a moderator.
    #[default]
    Pending,
    /// Published.
    Approved,
    /// Refused.
    Rejected,
}

impl ReviewStatus {
    /// `pending`, `approved` or `rejected`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
        }
    }
}

/// A customer review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    id: Option<Uuid>,
    product_id: Option<Uuid>,
    order_id: Option<Uuid>,
    verified_purchase: bool,
    customer_name: String,
    customer_email: Option<Email>,
    rating: u8,
    comment: String,
    submitted_at: Option<DateTime<Utc>>,
    status: ReviewStatus,
    feedback: Option<String>,
    response: Option<String>,
    responded_at: Option<DateTime<Utc>>,
}

impl Review {
    /// Whether the review was submitted.
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// The product reviewed.
    pub fn product_id(&self) -> Option<Uuid> {
        self.product_id
    }

    /// Moderation status.
    pub fn status(&self) -> ReviewStatus {
        self.status
    }

    /// 1 to 5 (0 before submission).
    pub fn rating(&self) -> u8 {
        self.rating
    }

    /// Whether it is a verified purchase.
    pub fn is_verified_purchase(&self) -> bool {
        self.verified_purchase
    }

    /// The comment.
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The last rejection feedback.
    pub fn feedback(&self) -> Option<&str> {
        self.feedback.as_deref()
    }

    /// The shop's answer.
    pub fn response(&self) -> Option<&str> {
        self.response.as_deref()
    }

    fn submitted(&self) -> Result<(), ReviewError> {
        if self.exists() {
            Ok(())
        } else {
            Err(ReviewError::NotFound)
        }
    }
}

impl Aggregate for Review {
    const TYPE: &'static str = "Review";
    type Command = ReviewCommand;
    type Event = ReviewEvent;
    type Error = ReviewError;
    type Services = ReviewServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ReviewCommand::SubmitReview {
                review_id,
                product_id,
                order_id,
                customer_name,
                customer_email,
                rating,
                comment,
                submitted_at,
            } => {
                if self.exists() {
                    return Err(ReviewError::AlreadyExists);
                }
                if !(1..=5).contains(&rating) {
                    return Err(ReviewError::InvalidRating(rating));
                }
                let customer_name = customer_name.trim().to_owned();
                if customer_name.is_empty() {
                    return Err(ReviewError::NameRequired);
                }
                if customer_name.chars().count() > MAX_NAME_LEN {
                    return Err(ReviewError::NameTooLong);
                }
                let comment = comment.trim().to_owned();
                let length = comment.chars().count();
                if length < MIN_COMMENT_LEN {
                    return Err(ReviewError::CommentTooShort);
                }
                if length > MAX_TEXT_LEN {
                    return Err(ReviewError::CommentTooLong);
                }
                let verified_purchase = match order_id {
                    Some(order_id) => {
                        services
                            .purchases
                            .order_contains_product(order_id, product_id, &customer_email)
                            .await?
                    }
                    None => false,
                };
                let event = ReviewEvent::ReviewSubmitted {
                    review_id,
                    product_id,
                    order_id,
                    verified_purchase,
                    customer_name,
                    customer_email,
                    rating,
                    comment,
                    submitted_at,
                };
                sink.write(event, self).await;
            }
            ReviewCommand::ApproveReview => {
                self.submitted()?;
                if self.status != ReviewStatus::Approved {
                    sink.write(ReviewEvent::ReviewApproved, self).await;
                }
            }
            ReviewCommand::RejectReview { feedback } => {
                self.submitted()?;
                let feedback = feedback.trim().to_owned();
                if feedback.is_empty() {
                    return Err(ReviewError::FeedbackRequired);
                }
                let same = self.status == ReviewStatus::Rejected
                    && self.feedback.as_deref() == Some(feedback.as_str());
                if !same {
                    sink.write(ReviewEvent::ReviewRejected { feedback }, self)
                        .await;
                }
            }
            ReviewCommand::RespondToReview {
                response,
                responded_at,
            } => {
                self.submitted()?;
                let response = response.trim().to_owned();
                if response.is_empty() {
                    return Err(ReviewError::ResponseRequired);
                }
                if response.chars().count() > MAX_TEXT_LEN {
                    return Err(ReviewError::ResponseTooLong);
                }
                if self.response.as_deref() == Some(response.as_str()) {
                    return Ok(());
                }
                let event = ReviewEvent::VendorResponded {
                    response,
                    responded_at,
                    edited: self.response.is_some(),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ReviewEvent::ReviewSubmitted {
                review_id,
                product_id,
                order_id,
                verified_purchase,
                customer_name,
                customer_email,
                rating,
                comment,
                submitted_at,
            } => {
                self.id = Some(review_id);
                self.product_id = Some(product_id);
                self.order_id = order_id;
                self.verified_purchase = verified_purchase;
                self.customer_name = customer_name;
                self.customer_email = Some(customer_email);
                self.rating = rating;
                self.comment = comment;
                self.submitted_at = Some(submitted_at);
                self.status = ReviewStatus::Pending;
            }
            ReviewEvent::ReviewApproved => self.status = ReviewStatus::Approved,
            ReviewEvent::ReviewRejected { feedback } => {
                self.status = ReviewStatus::Rejected;
                self.feedback = Some(feedback);
            }
            ReviewEvent::VendorResponded {
                response,
                responded_at,
                ..
            } => {
                self.response = Some(response);
                self.responded_at = Some(responded_at);
            }
        }
    }
}
