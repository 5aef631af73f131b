//! Reviews: the moderation queue and the per-product lists.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::ReviewEvent;

use crate::rows::{Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};

/// A review.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewView {
    pub review_id: Uuid,
    pub product_id: Uuid,
    pub order_id: Option<Uuid>,
    pub verified_purchase: bool,
    pub customer_name: String,
    pub customer_email: String,
    pub rating: i32,
    pub comment: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub feedback: Option<String>,
    pub response: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row for ReviewView {
    const TABLE: &'static str = "reviews";
    const KEY: &'static str = "review_id";
    const COLUMNS: &'static [&'static str] = &[
        "review_id",
        "product_id",
        "order_id",
        "verified_purchase",
        "customer_name",
        "customer_email",
        "rating",
        "comment",
        "status",
        "feedback",
        "response",
        "responded_at",
        "submitted_at",
        "updated_at",
    ];
}

/// The projection.
#[derive(Debug, Default)]
pub struct Reviews;

#[async_trait]
impl Projection for Reviews {
    fn name(&self) -> &'static str {
        "reviews"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["reviews"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        // Reviews submitted in this batch have no row yet: load only the others.
        let submitted: std::collections::HashSet<Uuid> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.event,
                    DomainEvent::Review(ReviewEvent::ReviewSubmitted { .. })
                )
            })
            .filter_map(Envelope::aggregate_uuid)
            .collect();
        let ids: Vec<Uuid> = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Review(_)))
            .filter_map(Envelope::aggregate_uuid)
            .filter(|id| !submitted.contains(id))
            .collect();
        let mut rows = RowSet::<ReviewView>::load(conn, ids).await?;
        for e in events {
            let (Some(id), DomainEvent::Review(event)) = (e.aggregate_uuid(), &e.event) else {
                continue;
            };
            let at = e.raw.recorded_at;
            if let ReviewEvent::ReviewSubmitted {
                product_id,
                order_id,
                verified_purchase,
                customer_name,
                customer_email,
                rating,
                comment,
                submitted_at,
                ..
            } = event
            {
                rows.put(
                    id,
                    ReviewView {
                        review_id: id,
                        product_id: *product_id,
                        order_id: *order_id,
                        verified_purchase: *verified_purchase,
                        customer_name: customer_name.clone(),
                        customer_email: customer_email.to_string(),
                        rating: i32::from(*rating),
                        comment: comment.clone(),
                        status: "pending".into(),
                        feedback: None,
                        response: None,
                        responded_at: None,
                        submitted_at: *submitted_at,
                        updated_at: at,
                    },
                );
                continue;
            }
            let Some(r) = rows.get_mut(&id) else { continue };
            r.updated_at = at;
            match event {
                ReviewEvent::ReviewSubmitted { .. } => {}
                ReviewEvent::ReviewApproved => {
                    r.status = "approved".into();
                    r.feedback = None;
                }
                ReviewEvent::ReviewRejected { feedback } => {
                    r.status = "rejected".into();
                    r.feedback = Some(feedback.clone());
                }
                ReviewEvent::VendorResponded {
                    response,
                    responded_at,
                    ..
                } => {
                    r.response = Some(response.clone());
                    r.responded_at = Some(*responded_at);
                }
            }
        }
        rows.flush(conn).await?;
        Ok(())
    }
}
