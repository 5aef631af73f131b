//! One-line, human summaries of events for the audit trail and order timelines
//! ("changed the price of PN-1234 from 89.00 to 79.00 HT"). The admin puts the actor in
//! front; here we only say what happened.

use aggregates::{
    CategoryEvent, InvoiceSeriesEvent, OrderEvent, ProductEvent, ReviewEvent, StaffAccountEvent,
    StockEvent,
};

use aggregates::shop_settings::ShopSettingsEvent;

use crate::stream::{DomainEvent, Envelope};

/// What the event did, naming its subject by `label` (a reference, an order number, a
/// name) when one is known, else by its id.
pub fn summarize(envelope: &Envelope, label: Option<&str>) -> String {
    let subject = label
        .map(str::to_owned)
        .unwrap_or_else(|| envelope.raw.aggregate_id.clone());
    let s = subject.as_str();
    match &envelope.event {
        DomainEvent::Category(event) => match event {
            CategoryEvent::CategoryCreated { name, slug, .. } => {
                format!("created the category {name} ({slug})")
            }
            CategoryEvent::CategoryRenamed { name, previous } => {
                format!("renamed the category {previous} to {name}")
            }
            CategoryEvent::CategorySlugChanged { slug, previous } => {
                format!("changed the slug of the category {s} from {previous} to {slug}")
            }
            CategoryEvent::CategoryDescriptionChanged { .. } => {
                format!("changed the description of the category {s}")
            }
            CategoryEvent::CategoryDeleted => format!("deleted the category {s}"),
        },
        DomainEvent::Product(event) => match event {
            ProductEvent::ProductCreated {
                reference,
                name,
                price_ht,
                vat_rate,
                ..
            } => {
                format!(
                    "created the product {reference} \"{name}\" at {price_ht} HT, VAT {vat_rate} %"
                )
            }
            ProductEvent::ProductDetailsEdited { .. } => format!("edited the details of {s}"),
            ProductEvent::ProductPriceChanged { price_ht, previous } => {
                format!("changed the price of {s} from {previous} to {price_ht} HT")
            }
            ProductEvent::ProductVatRateChanged { vat_rate, previous } => {
                format!("changed the VAT rate of {s} from {previous} % to {vat_rate} %")
            }
            ProductEvent::ProductSlugChanged { slug, previous } => {
                format!("changed the slug of {s} from {previous} to {slug}")
            }
            ProductEvent::ProductPublished => format!("published {s}"),
            ProductEvent::ProductUnpublished => format!("unpublished {s}"),
            ProductEvent::ProductArchived => format!("archived {s}"),
            ProductEvent::ProductImageAdded { .. } => format!("added an image to {s}"),
            ProductEvent::ProductImageRemoved { .. } => format!("removed an image from {s}"),
            ProductEvent::ProductImagesReordered { .. } => format!("reordered the images of {s}"),
            ProductEvent::ProductImageAltTextChanged { alt_text, .. } => {
                format!("changed an image's alt text of {s} to \"{alt_text}\"")
            }
        },
        DomainEvent::Stock(event) => match event {
            StockEvent::StockReceived {
                quantity, on_hand, ..
            } => format!("received {quantity} of {s} (on hand {on_hand})"),
            StockEvent::StockAdjusted {
                delta,
                reason,
                on_hand,
                ..
            } => format!("adjusted the stock of {s} by {delta:+} ({reason}; on hand {on_hand})"),
            StockEvent::StockReserved {
                quantity, order_id, ..
            } => format!("reserved {quantity} of {s} for order {order_id}"),
            StockEvent::ReservationReleased {
                quantity,
                order_id,
                reason,
                ..
            } => format!(
                "released {quantity} of {s} reserved for order {order_id} ({})",
                wire(reason)
            ),
            StockEvent::ReservationCommitted {
                quantity, order_id, ..
            } => format!("sold {quantity} of {s} (order {order_id})"),
            StockEvent::StockReturned {
                quantity, order_id, ..
            } => format!("returned {quantity} of {s} to stock (order {order_id})"),
        },
        DomainEvent::Order(event) => match event {
            OrderEvent::OrderPlaced {
                order_number,
                totals,
                payment_method,
                lines,
                ..
            } => format!(
                "placed order {order_number}: {} line(s), {} TTC, payment {}",
                lines.len(),
                totals.total_ttc,
                wire(payment_method)
            ),
            OrderEvent::PaymentSessionOpened {
                provider,
                session_id,
                ..
            } => format!("opened a {provider} payment session {session_id} for {s}"),
            OrderEvent::PaymentConfirmed {
                provider,
                reference,
                amount,
                ..
            } => format!("confirmed the payment of {amount} for {s} ({provider} {reference})"),
            OrderEvent::PaymentFailed {
                provider, reason, ..
            } => format!("recorded a failed {provider} payment for {s}: {reason}"),
            OrderEvent::PaymentSessionExpired { session_id, .. } => {
                format!("recorded that the payment session {session_id} of {s} lapsed unpaid")
            }
            OrderEvent::OrderConfirmed => format!("confirmed {s}"),
            OrderEvent::OrderReadyForPickup => format!("marked {s} ready for pickup"),
            OrderEvent::OrderCompleted => format!("completed {s}"),
            OrderEvent::OrderCancelled { reason, .. } => format!("cancelled {s}: {reason}"),
            OrderEvent::InvoiceIssued { invoice_number, .. } => {
                format!("issued invoice {invoice_number} for {s}")
            }
            OrderEvent::CreditNoteRequested { totals, reason, .. } => format!(
                "asked for a credit note of {} TTC on {s}: {reason}",
                totals.total_ttc
            ),
            OrderEvent::CreditNoteIssued {
                credit_note_number,
                invoice_number,
                ..
            } => {
                format!("issued credit note {credit_note_number} against {invoice_number} for {s}")
            }
            OrderEvent::DocumentStored { number, sha256, .. } => {
                format!("stored the PDF of {number} for {s} (SHA-256 {sha256})")
            }
        },
        DomainEvent::Review(event) => match event {
            ReviewEvent::ReviewSubmitted {
                customer_name,
                rating,
                ..
            } => format!("{customer_name} reviewed {s} ({rating}/5)"),
            ReviewEvent::ReviewApproved => format!("approved a review of {s}"),
            ReviewEvent::ReviewRejected { .. } => format!("rejected a review of {s}"),
            ReviewEvent::VendorResponded { edited, .. } => {
                if *edited {
                    format!("edited the response to a review of {s}")
                } else {
                    format!("responded to a review of {s}")
                }
            }
        },
        DomainEvent::InvoiceSeries(InvoiceSeriesEvent::InvoiceNumberAssigned {
            formatted,
            order_id,
            ..
        }) => {
            format!("assigned invoice number {formatted} to order {order_id}")
        }
        // Password hashes never appear here: a summary is read by every auditor.
        DomainEvent::Staff(event) => match event {
            StaffAccountEvent::StaffAccountCreated { email, role, .. } => {
                format!("created the staff account {email} ({role})")
            }
            StaffAccountEvent::StaffRoleChanged { role, previous } => {
                format!("changed the role of {s} from {previous} to {role}")
            }
            StaffAccountEvent::StaffPasswordChanged { .. } => {
                format!("changed the password of {s}")
            }
            StaffAccountEvent::StaffRenamed {
                display_name,
                previous,
            } => format!("renamed {s} from \"{previous}\" to \"{display_name}\""),
            StaffAccountEvent::StaffAccountDisabled { .. } => format!("disabled {s}"),
            StaffAccountEvent::StaffAccountEnabled => format!("re-enabled {s}"),
            StaffAccountEvent::StaffSessionsEnded { .. } => {
                format!("ended every session of {s}")
            }
        },
        DomainEvent::Settings(event) => settings_summary(event),
        DomainEvent::Closure(aggregates::ClosureEvent::PeriodClosed {
            kind,
            period,
            totals,
            ..
        }) => format!(
            "closed the {} {period}: {} invoice(s), {} credit note(s), {} TTC",
            match kind {
                aggregates::PeriodKind::Day => "day",
                aggregates::PeriodKind::Month => "month",
                aggregates::PeriodKind::Year => "year",
            },
            totals.invoices,
            totals.credit_notes,
            totals.ttc
        ),
        DomainEvent::Other => format!(
            "{} on {} {}",
            envelope.raw.event_type, envelope.raw.aggregate_type, s
        ),
    }
}

fn settings_summary(event: &ShopSettingsEvent) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    match event {
        ShopSettingsEvent::LegalIdentityChanged { identity, .. } => format!(
            "set the seller's legal identity: {} ({}), SIREN {}",
            identity.company_name, identity.legal_form, identity.siren
        ),
        ShopSettingsEvent::PickupLocationAdded { location } => {
            format!("added the pickup location {}", location.name)
        }
        ShopSettingsEvent::PickupLocationChanged { location, previous } => format!(
            "changed the pickup location {} (now {}, {})",
            previous.name, location.name, location.address
        ),
        ShopSettingsEvent::PickupLocationRemoved { name, .. } => {
            format!("removed the pickup location {name}")
        }
        ShopSettingsEvent::VatRatesChanged {
            offered,
            default_rate,
            previous_offered,
            ..
        } => format!(
            "changed the VAT rates offered from {} to {} (default {default_rate})",
            list(
                &previous_offered
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ),
            list(&offered.iter().map(ToString::to_string).collect::<Vec<_>>()),
        ),
        ShopSettingsEvent::CurrencyChanged { currency, previous } => {
            format!("changed the currency from {previous} to {currency}")
        }
        ShopSettingsEvent::CorsOriginsChanged { origins, previous } => format!(
            "changed the storefront origins from {} to {}",
            list(&previous.iter().map(ToString::to_string).collect::<Vec<_>>()),
            list(&origins.iter().map(ToString::to_string).collect::<Vec<_>>()),
        ),
    }
}

fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
