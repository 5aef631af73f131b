//! The audit trail: every event, who did it (actor, request, IP) and what, in one line.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use aggregates::{CategoryEvent, OrderEvent, ProductEvent, ReviewEvent, StaffAccountEvent};

use crate::rows::{self, Row};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};
use crate::views::summary::summarize;

/// One audited event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub summary: String,
    pub recorded_at: DateTime<Utc>,
}

impl Row for AuditEntryView {
    const TABLE: &'static str = "audit_trail";
    const KEY: &'static str = "position";
    const COLUMNS: &'static [&'static str] = &[
        "position",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        "event_type",
        "actor_kind",
        "actor_id",
        "request_id",
        "client_ip",
        "summary",
        "recorded_at",
    ];
}

/// The projection.
#[derive(Debug, Default)]
pub struct AuditTrail;

/// The label an event gives its aggregate (a product's reference, an order's number, a
/// staff account's email).
fn label_of(event: &DomainEvent) -> Option<String> {
    match event {
        DomainEvent::Category(
            CategoryEvent::CategoryCreated { name, .. }
            | CategoryEvent::CategoryRenamed { name, .. },
        ) => Some(name.clone()),
        DomainEvent::Product(ProductEvent::ProductCreated { reference, .. }) => {
            Some(reference.to_string())
        }
        DomainEvent::Order(OrderEvent::OrderPlaced { order_number, .. }) => {
            Some(order_number.clone())
        }
        DomainEvent::Staff(StaffAccountEvent::StaffAccountCreated { email, .. }) => {
            Some(email.to_string())
        }
        _ => None,
    }
}

#[async_trait]
impl Projection for AuditTrail {
    fn name(&self) -> &'static str {
        "audit_trail"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_trail", "audit_labels"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        // Stock and reviews are labelled by their product.
        let subject = |e: &Envelope| -> String {
            match &e.event {
                DomainEvent::Review(ReviewEvent::ReviewSubmitted { product_id, .. }) => {
                    product_id.to_string()
                }
                _ => e.raw.aggregate_id.clone(),
            }
        };
        let wanted: Vec<String> = events.iter().map(subject).collect();
        let mut labels: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
            "select aggregate_id, label from audit_labels where aggregate_id = any($1)",
        )
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let mut new_labels: HashMap<String, String> = HashMap::new();
        let mut entries = Vec::with_capacity(events.len());
        for e in events {
            if let Some(label) = label_of(&e.event) {
                labels.insert(e.raw.aggregate_id.clone(), label.clone());
                new_labels.insert(e.raw.aggregate_id.clone(), label);
            }
            let label = labels.get(&subject(e)).map(String::as_str);
            entries.push(AuditEntryView {
                position: e.raw.position,
                aggregate_type: e.raw.aggregate_type.clone(),
                aggregate_id: e.raw.aggregate_id.clone(),
                sequence: e.raw.sequence,
                event_type: e.raw.event_type.clone(),
                actor_kind: e.metadata.actor.kind().to_owned(),
                actor_id: e.metadata.actor.id(),
                request_id: e.metadata.request_id.clone(),
                client_ip: e.metadata.client_ip.clone(),
                summary: summarize(e, label),
                recorded_at: e.raw.recorded_at,
            });
        }
        rows::insert(conn, &entries).await?;
        if !new_labels.is_empty() {
            let (ids, names): (Vec<String>, Vec<String>) = new_labels.into_iter().unzip();
            sqlx::query(
                "insert into audit_labels (aggregate_id, label) select * from unnest($1::text[], $2::text[])
                 on conflict (aggregate_id) do update set label = excluded.label",
            )
            .bind(&ids)
            .bind(&names)
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}
