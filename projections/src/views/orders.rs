//! Orders: the list and detail the admin and the customer's confirmation page read, and
//! each order's timeline (every event, who, when, what).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::{Billing, Money, OrderEvent, OrderLine, VatLine};

use crate::rows::{self, Row, RowSet};
use crate::runtime::{Projection, ProjectionError};
use crate::stream::{DomainEvent, Envelope};
use crate::views::summary::summarize;

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: Uuid,
    pub order_number: String,
    pub customer_email: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub pickup_location: String,
    pub payment_method: String,
    /// `pending`, `paid`, `failed` or `refunded`.
    pub payment_status: String,
    pub payment_provider: Option<String>,
    pub payment_reference: Option<String>,
    pub payment_session_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// `pending`, `confirmed`, `ready_for_pickup`, `completed` or `cancelled`.
    pub status: String,
    pub cancel_reason: Option<String>,
    pub lines: Vec<OrderLine>,
    pub vat_breakdown: Vec<VatLine>,
    pub total_ht: Money,
    pub total_vat: Money,
    pub total_ttc: Money,
    pub invoice_number: Option<String>,
    /// The latest credit note's number.
    pub credit_note_number: Option<String>,
    /// What credit notes took back so far, incl. VAT.
    #[serde(default)]
    pub credited_ttc: Money,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The company invoiced, for a business customer.
    #[serde(default)]
    pub billing: Option<Billing>,
}

impl Row for OrderView {
    const TABLE: &'static str = "orders";
    const KEY: &'static str = "order_id";
    const COLUMNS: &'static [&'static str] = &[
        "order_id",
        "order_number",
        "customer_email",
        "customer_name",
        "customer_phone",
        "pickup_location",
        "payment_method",
        "payment_status",
        "payment_provider",
        "payment_reference",
        "payment_session_id",
        "paid_at",
        "status",
        "cancel_reason",
        "lines",
        "vat_breakdown",
        "total_ht",
        "total_vat",
        "total_ttc",
        "invoice_number",
        "credit_note_number",
        "credited_ttc",
        "placed_at",
        "updated_at",
        "billing",
    ];
    const NUMERIC: &'static [&'static str] =
        &["total_ht", "total_vat", "total_ttc", "credited_ttc"];
}

/// One step of an order's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderTimelineEntry {
    pub position: i64,
    pub order_id: Uuid,
    pub event_type: String,
    pub actor: String,
    pub summary: String,
    pub recorded_at: DateTime<Utc>,
}

impl Row for OrderTimelineEntry {
    const TABLE: &'static str = "order_timeline";
    const KEY: &'static str = "position";
    const COLUMNS: &'static [&'static str] = &[
        "position",
        "order_id",
        "event_type",
        "actor",
        "summary",
        "recorded_at",
    ];
}

fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The projection.
#[derive(Debug, Default)]
pub struct Orders;

#[async_trait]
impl Projection for Orders {
    fn name(&self) -> &'static str {
        "orders"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["orders", "order_timeline"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        // Orders placed in this batch have no row yet: load only the others.
        let placed: std::collections::HashSet<Uuid> = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Order(OrderEvent::OrderPlaced { .. })))
            .filter_map(Envelope::aggregate_uuid)
            .collect();
        let ids: Vec<Uuid> = events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::Order(_)))
            .filter_map(Envelope::aggregate_uuid)
            .filter(|id| !placed.contains(id))
            .collect();
        let mut orders = RowSet::<OrderView>::load(conn, ids).await?;
        let mut timeline = Vec::new();
        for e in events {
            let (Some(id), DomainEvent::Order(event)) = (e.aggregate_uuid(), &e.event) else {
                continue;
            };
            let at = e.raw.recorded_at;
            if let OrderEvent::OrderPlaced {
                order_number,
                customer_email,
                customer_name,
                customer_phone,
                pickup_location,
                payment_method,
                lines,
                totals,
                placed_at,
                billing,
                ..
            } = event
            {
                orders.put(
                    id,
                    OrderView {
                        order_id: id,
                        order_number: order_number.clone(),
                        customer_email: customer_email.to_string(),
                        customer_name: customer_name.clone(),
                        customer_phone: customer_phone.to_string(),
                        pickup_location: pickup_location.clone(),
                        payment_method: wire(payment_method),
                        payment_status: "pending".into(),
                        payment_provider: None,
                        payment_reference: None,
                        payment_session_id: None,
                        paid_at: None,
                        status: "pending".into(),
                        cancel_reason: None,
                        lines: lines.clone(),
                        vat_breakdown: totals.vat_breakdown.clone(),
                        total_ht: totals.total_ht,
                        total_vat: totals.total_vat,
                        total_ttc: totals.total_ttc,
                        invoice_number: None,
                        credit_note_number: None,
                        credited_ttc: Money::zero(),
                        placed_at: *placed_at,
                        updated_at: at,
                        billing: billing.as_deref().cloned(),
                    },
                );
            } else if let Some(o) = orders.get_mut(&id) {
                o.updated_at = at;
                match event {
                    // The cancellation that follows says what the view shows.
                    OrderEvent::OrderPlaced { .. } | OrderEvent::PaymentSessionExpired { .. } => {}
                    OrderEvent::PaymentSessionOpened {
                        provider,
                        session_id,
                        ..
                    } => {
                        o.payment_provider = Some(provider.clone());
                        o.payment_session_id = Some(session_id.clone());
                    }
                    OrderEvent::PaymentConfirmed {
                        provider,
                        reference,
                        paid_at,
                        ..
                    } => {
                        o.payment_status = "paid".into();
                        o.payment_provider = Some(provider.clone());
                        o.payment_reference = Some(reference.clone());
                        o.paid_at = Some(*paid_at);
                    }
                    OrderEvent::PaymentFailed {
                        provider,
                        reference,
                        ..
                    } => {
                        o.payment_status = "failed".into();
                        o.payment_provider = Some(provider.clone());
                        o.payment_reference = Some(reference.clone());
                    }
                    OrderEvent::OrderConfirmed => o.status = "confirmed".into(),
                    OrderEvent::OrderReadyForPickup => o.status = "ready_for_pickup".into(),
                    OrderEvent::OrderCompleted => o.status = "completed".into(),
                    OrderEvent::OrderCancelled { reason, .. } => {
                        o.status = "cancelled".into();
                        o.cancel_reason = Some(reason.clone());
                    }
                    OrderEvent::InvoiceIssued { invoice_number, .. } => {
                        o.invoice_number = Some(invoice_number.clone())
                    }
                    OrderEvent::CreditNoteRequested { totals, .. } => {
                        o.credited_ttc = o.credited_ttc + totals.total_ttc;
                        if o.payment_status == "paid" && o.credited_ttc >= o.total_ttc {
                            o.payment_status = "refunded".into();
                        }
                    }
                    OrderEvent::CreditNoteIssued {
                        credit_note_number,
                        credit_id,
                        ..
                    } => {
                        o.credit_note_number = Some(credit_note_number.clone());
                        // Notes from before partial refunds took the whole order back.
                        if credit_id.is_none() && o.payment_status == "paid" {
                            o.credited_ttc = o.total_ttc;
                            o.payment_status = "refunded".into();
                        }
                    }
                    OrderEvent::DocumentStored { .. } => {}
                }
            }
            let label = orders.get(&id).map(|o| o.order_number.clone());
            timeline.push(OrderTimelineEntry {
                position: e.raw.position,
                order_id: id,
                event_type: e.raw.event_type.clone(),
                actor: e.metadata.actor.to_string(),
                summary: summarize(e, label.as_deref()),
                recorded_at: at,
            });
        }
        orders.flush(conn).await?;
        rows::insert(conn, &timeline).await?;
        Ok(())
    }
}
