//! Publishes invoices and credit notes: once an order records a number, its document is
//! laid out from the order as issued and the shop's legal identity, rendered to PDF/A-3b,
//! stored once in the media store, and its SHA-256 recorded on the order
//! (`DocumentStored`). Every later download is those bytes, checked against that hash.
//!
//! A process manager like the invoicer: it runs again over the same events without doing
//! anything twice (a document already recorded is skipped; a PDF stored but not yet
//! recorded is rendered again to the same bytes and the same key).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use aggregates::calendar::paris_day;
use aggregates::metadata::EventMetadata;
use aggregates::order::{Order, OrderCommand, OrderEvent};
use aggregates::{ShopSettings, SHOP_SETTINGS_ID};
use projections::runtime::{Projection, ProjectionError};
use projections::stream::{DomainEvent, Envelope};

use super::document::{
    BusinessTerms, Customer, DocumentKind, DocumentLine, InvoiceDocument, PaymentInfo, Seller,
    VatBreakdownLine,
};
use super::pdf::Renderer;
use crate::commands::{CommandBus, CommandError};
use crate::media::Media;

/// The process manager.
#[derive(Debug)]
pub struct Publisher {
    bus: Arc<CommandBus>,
    media: Media,
    renderer: Arc<Renderer>,
}

/// Where the PDF of `number` with hash `sha256` is stored. The hash makes the key
/// unguessable, which matters where the bucket is public.
pub fn document_key(number: &str, sha256: &str) -> String {
    let safe: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("documents/{safe}-{sha256}.pdf")
}

/// A payment's means in words, as printed: "Carte bancaire (Stripe)", "Espèces"…
pub fn means_in_words(provider: Option<&str>, reference: Option<&str>) -> String {
    match projections::views::invoices::payment_means(provider, reference).as_str() {
        "stripe" => "Carte bancaire (Stripe)".to_owned(),
        "card" => "Carte bancaire".to_owned(),
        "cash" => "Espèces".to_owned(),
        "cheque" => "Chèque".to_owned(),
        other => other.to_owned(),
    }
}

/// Why a document cannot be laid out.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the shop's legal identity is not set (admin, Settings): no invoice can be issued without it")]
    NoSeller,
    #[error("order {0} has no invoice or credit note {1}")]
    UnknownNumber(Uuid, String),
    #[error("order {0} has no totals")]
    NotPlaced(Uuid),
}

/// The document `number` of `order`, as issued. `issued_fallback` dates documents from
/// before issue times were recorded.
pub fn document_for(
    order: &Order,
    settings: &ShopSettings,
    number: &str,
    issued_fallback: DateTime<Utc>,
) -> Result<InvoiceDocument, DocumentError> {
    let order_id = order.id().unwrap_or_default();
    let identity = settings.identity().ok_or(DocumentError::NoSeller)?;
    let invoice_number = order.invoice_number().unwrap_or_default();
    let invoice_issued = order.invoice_issued_at().unwrap_or(issued_fallback);
    let (kind, lines, totals, issued_at) = if number == invoice_number {
        let totals = order
            .totals()
            .cloned()
            .ok_or(DocumentError::NotPlaced(order_id))?;
        (
            DocumentKind::Invoice,
            order.lines().to_vec(),
            totals,
            invoice_issued,
        )
    } else {
        let credit = order
            .credit_notes()
            .iter()
            .find(|c| c.number.as_deref() == Some(number))
            .ok_or_else(|| DocumentError::UnknownNumber(order_id, number.to_owned()))?;
        (
            DocumentKind::CreditNote {
                corrects: invoice_number.to_owned(),
                corrects_issued_at: paris_day(invoice_issued),
                reason: credit.reason.clone(),
            },
            credit.lines.clone(),
            credit.totals.clone(),
            credit.issued_at.unwrap_or(issued_fallback),
        )
    };
    let paid_at = order.paid_at().unwrap_or(issued_at);
    let billing = order.billing();
    let payment = PaymentInfo {
        method: means_in_words(order.payment_provider(), order.payment_reference()),
        // A credit note's money goes back when it is issued.
        paid_at: if matches!(kind, DocumentKind::Invoice) {
            paid_at
        } else {
            issued_at
        },
    };
    Ok(InvoiceDocument {
        kind,
        number: number.to_owned(),
        issued_at,
        sale_date: paris_day(paid_at),
        seller: Seller::from(identity),
        customer: Customer {
            name: order.customer_name().to_owned(),
            email: order
                .customer_email()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            phone: order
                .customer_phone()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            address: billing.map(|b| b.address_lines().join("\n")),
            company: billing.map(|b| b.company.clone()),
            vat_number: billing.and_then(|b| b.vat_number.as_ref().map(ToString::to_string)),
        },
        order_number: order.order_number().to_owned(),
        lines: lines
            .iter()
            .map(|l| DocumentLine {
                reference: l.reference.to_string(),
                designation: l.name.clone(),
                quantity: l.quantity,
                unit_price_ht: l.unit_price_ht,
                vat_rate: l.vat_rate,
                total_ht: l.line_total_ht,
            })
            .collect(),
        vat_breakdown: totals
            .vat_breakdown
            .iter()
            .map(VatBreakdownLine::from)
            .collect(),
        total_ht: totals.total_ht,
        total_vat: totals.total_vat,
        total_ttc: totals.total_ttc,
        payment: Some(payment),
        pickup_location: order.pickup_location().to_owned(),
        // A business is owed the terms of C. com. L441-9 on its invoice.
        business_terms: billing.map(|_| BusinessTerms::legal_defaults()),
        currency: settings.currency().as_str().to_owned(),
    })
}

impl Publisher {
    /// The process manager's name.
    pub const NAME: &'static str = "publisher";

    /// A publisher storing into `media`.
    pub fn new(bus: Arc<CommandBus>, media: Media, renderer: Arc<Renderer>) -> Self {
        Publisher {
            bus,
            media,
            renderer,
        }
    }

    async fn publish(
        &self,
        order_id: &str,
        number: &str,
        issued_fallback: DateTime<Utc>,
        position: i64,
    ) -> Result<(), ProjectionError> {
        let failed = |message: String| ProjectionError::Event { position, message };
        let order = self
            .bus
            .orders
            .load(order_id)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if order.document(number).is_some() {
            return Ok(());
        }
        let settings = self
            .bus
            .settings
            .load(SHOP_SETTINGS_ID)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let document = document_for(&order, &settings, number, issued_fallback)
            .map_err(|e| failed(e.to_string()))?;
        let renderer = self.renderer.clone();
        let pdf = tokio::task::spawn_blocking(move || renderer.render(&document))
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(format!("rendering {number}: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(&pdf));
        let key = document_key(number, &sha256);
        let size = pdf.len() as u64;
        self.media
            .store()
            .put(&key, pdf, "application/pdf")
            .await
            .map_err(|e| failed(format!("storing {number}: {e}")))?;
        let command = OrderCommand::RecordDocument {
            number: number.to_owned(),
            key,
            sha256,
            size,
        };
        let metadata = EventMetadata::process(Self::NAME).caused_by(position.to_string());
        match self.bus.orders.execute(order_id, command, &metadata).await {
            Ok(()) => Ok(()),
            Err(CommandError::Refused(error)) => {
                tracing::warn!(%error, number, "document not recorded");
                Ok(())
            }
            Err(error) => Err(failed(error.to_string())),
        }
    }
}

#[async_trait]
impl Projection for Publisher {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        _conn: &mut PgConnection,
        events: &[Envelope],
    ) -> Result<(), ProjectionError> {
        for envelope in events {
            let number = match &envelope.event {
                DomainEvent::Order(OrderEvent::InvoiceIssued { invoice_number, .. }) => {
                    invoice_number
                }
                DomainEvent::Order(OrderEvent::CreditNoteIssued {
                    credit_note_number, ..
                }) => credit_note_number,
                _ => continue,
            };
            self.publish(
                &envelope.raw.aggregate_id,
                number,
                envelope.raw.recorded_at,
                envelope.raw.position,
            )
            .await?;
        }
        Ok(())
    }
}
