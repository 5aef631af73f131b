use std::collections::HashSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::credit::{
    credit_for_amount, lines_to_credit, remaining_lines, totals_of, within_amount_left,
};
use super::{
    Billing, CreditNote, OrderCommand, OrderError, OrderEvent, OrderLine, OrderLineInput,
    OrderStatus, PaymentMethod, PaymentStatus, MAX_LINE_NAME_LEN, MAX_LINE_QUANTITY,
    PAYMENT_EXPIRED,
};
use crate::values::{compute_totals, Email, Language, Money, Phone, Totals};

/// A customer order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    id: Option<Uuid>,
    order_number: String,
    customer_email: Option<Email>,
    customer_name: String,
    customer_phone: Option<Phone>,
    pickup_location: String,
    #[serde(default)]
    language: Language,
    /// The company invoiced, for a business customer.
    #[serde(default)]
    billing: Option<Box<Billing>>,
    payment_method: Option<PaymentMethod>,
    lines: Vec<OrderLine>,
    totals: Option<Totals>,
    placed_at: Option<DateTime<Utc>>,
    status: OrderStatus,
    payment_status: PaymentStatus,
    payment_session_id: Option<String>,
    payment_reference: Option<String>,
    amount_paid: Option<Money>,
    failed_payment_reference: Option<String>,
    invoice_number: Option<String>,
    /// When the invoice was issued.
    #[serde(default)]
    invoice_issued_at: Option<DateTime<Utc>>,
    /// Who took the payment (`stripe`, `pickup`) and when.
    #[serde(default)]
    payment_provider: Option<String>,
    #[serde(default)]
    paid_at: Option<DateTime<Utc>>,
    /// Credit notes asked for and issued, in order.
    #[serde(default)]
    credit_notes: Vec<CreditNote>,
    /// What the payment provider said it refunded so far, incl. VAT.
    #[serde(default)]
    provider_refunded: Money,
    /// Stored PDFs by number: (key, SHA-256).
    #[serde(default)]
    documents: std::collections::BTreeMap<String, (String, String)>,
    /// Provider notifications already acted on: one delivered again changes nothing.
    #[serde(default)]
    provider_events: HashSet<String>,
}

impl Order {
    /// Whether the order was placed.
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Its id, once placed.
    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// Workflow status.
    pub fn status(&self) -> OrderStatus {
        self.status
    }

    /// Payment status.
    pub fn payment_status(&self) -> PaymentStatus {
        self.payment_status
    }

    /// Payment method, once placed.
    pub fn payment_method(&self) -> Option<PaymentMethod> {
        self.payment_method
    }

    /// Lines as placed.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// Totals as placed.
    pub fn totals(&self) -> Option<&Totals> {
        self.totals.as_ref()
    }

    /// Human order number.
    pub fn order_number(&self) -> &str {
        &self.order_number
    }

    /// Customer email, once placed.
    pub fn customer_email(&self) -> Option<&Email> {
        self.customer_email.as_ref()
    }

    /// Customer name.
    pub fn customer_name(&self) -> &str {
        &self.customer_name
    }

    /// Customer phone, once placed.
    pub fn customer_phone(&self) -> Option<&Phone> {
        self.customer_phone.as_ref()
    }

    /// The company invoiced, when the customer buys for a business.
    pub fn billing(&self) -> Option<&Billing> {
        self.billing.as_deref()
    }

    /// Whether the provider's notification `id` was already acted on.
    fn seen(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| self.provider_events.contains(id))
    }

    /// The customer's language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Where the customer collects the order.
    pub fn pickup_location(&self) -> &str {
        &self.pickup_location
    }

    /// When it was placed.
    pub fn placed_at(&self) -> Option<DateTime<Utc>> {
        self.placed_at
    }

    /// Provider reference of the confirmed payment.
    pub fn payment_reference(&self) -> Option<&str> {
        self.payment_reference.as_deref()
    }

    /// Amount of the confirmed payment.
    pub fn amount_paid(&self) -> Option<Money> {
        self.amount_paid
    }

    /// Invoice number, once issued.
    pub fn invoice_number(&self) -> Option<&str> {
        self.invoice_number.as_deref()
    }

    /// When the invoice was issued (unknown for invoices from before this was recorded).
    pub fn invoice_issued_at(&self) -> Option<DateTime<Utc>> {
        self.invoice_issued_at
    }

    /// Who took the confirmed payment (`stripe`, `pickup`).
    pub fn payment_provider(&self) -> Option<&str> {
        self.payment_provider.as_deref()
    }

    /// When the confirmed payment was made.
    pub fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.paid_at
    }

    /// The credit notes asked for, numbered or not yet, in order.
    pub fn credit_notes(&self) -> &[CreditNote] {
        &self.credit_notes
    }

    /// The credit note `id`.
    pub fn credit_note(&self, id: Uuid) -> Option<&CreditNote> {
        self.credit_notes.iter().find(|c| c.id == id)
    }

    /// The stored PDF of invoice or credit note `number`: its key and SHA-256.
    pub fn document(&self, number: &str) -> Option<(&str, &str)> {
        self.documents
            .get(number)
            .map(|(key, sha)| (key.as_str(), sha.as_str()))
    }

    /// The lines not yet taken back by a credit note.
    pub fn lines_left_to_credit(&self) -> Vec<OrderLine> {
        remaining_lines(&self.lines, &self.credit_notes)
    }

    /// Whether a credit note can be asked for: paid (an invoice follows every payment).
    fn creditable(&self) -> Result<(), OrderError> {
        self.placed()?;
        if self.payment_status != PaymentStatus::Paid {
            return Err(OrderError::RefundUnpaid);
        }
        Ok(())
    }

    fn placed(&self) -> Result<(), OrderError> {
        if self.exists() {
            Ok(())
        } else {
            Err(OrderError::NotFound)
        }
    }

    fn not_cancelled(&self) -> Result<(), OrderError> {
        if self.status == OrderStatus::Cancelled {
            Err(OrderError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn transition(&self, to: OrderStatus) -> Result<(), OrderError> {
        if self.status.can_become(to) {
            Ok(())
        } else {
            Err(OrderError::InvalidTransition {
                from: self.status,
                to,
            })
        }
    }
}

/// Trims `value`, refusing it with `error` when blank.
fn required(value: &str, error: OrderError) -> Result<String, OrderError> {
    let value = value.trim();
    if value.is_empty() {
        Err(error)
    } else {
        Ok(value.to_owned())
    }
}

fn checked_lines(inputs: Vec<OrderLineInput>) -> Result<Vec<OrderLine>, OrderError> {
    if inputs.is_empty() {
        return Err(OrderError::NoLines);
    }
    let mut seen = HashSet::new();
    inputs
        .into_iter()
        .map(|input| {
            if !seen.insert(input.product_id) {
                return Err(OrderError::DuplicateProduct(input.product_id));
            }
            if !(1..=MAX_LINE_QUANTITY).contains(&input.quantity) {
                return Err(OrderError::InvalidQuantity {
                    product_id: input.product_id,
                    quantity: input.quantity,
                });
            }
            let name = input.name.trim();
            if name.is_empty() || name.chars().count() > MAX_LINE_NAME_LEN {
                return Err(OrderError::InvalidLineName(input.product_id));
            }
            Ok(OrderLine {
                product_id: input.product_id,
                reference: input.reference,
                name: name.to_owned(),
                quantity: input.quantity,
                unit_price_ht: input.unit_price_ht,
                vat_rate: input.vat_rate,
                line_total_ht: input.unit_price_ht.times(input.quantity),
            })
        })
        .collect()
}

impl Aggregate for Order {
    const TYPE: &'static str = "Order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            OrderCommand::PlaceOrder {
                order_id,
                order_number,
                customer_email,
                customer_name,
                customer_phone,
                pickup_location,
                payment_method,
                lines,
                placed_at,
                language,
                billing,
            } => {
                if self.exists() {
                    return Err(OrderError::AlreadyExists);
                }
                let order_number = required(&order_number, OrderError::OrderNumberRequired)?;
                let customer_name = required(&customer_name, OrderError::CustomerNameRequired)?;
                if customer_name.chars().count() > MAX_LINE_NAME_LEN {
                    return Err(OrderError::CustomerNameRequired);
                }
                let pickup_location =
                    required(&pickup_location, OrderError::PickupLocationRequired)?;
                let lines = checked_lines(lines)?;
                let billing = billing
                    .map(|b| (*b).checked().map(Box::new))
                    .transpose()
                    .map_err(OrderError::Billing)?;
                let priced: Vec<_> = lines
                    .iter()
                    .map(|line| (line.quantity, line.unit_price_ht, line.vat_rate))
                    .collect();
                let totals = compute_totals(&priced);
                let event = OrderEvent::OrderPlaced {
                    order_id,
                    order_number,
                    customer_email,
                    customer_name,
                    customer_phone,
                    pickup_location,
                    payment_method,
                    lines,
                    totals,
                    placed_at,
                    language,
                    billing,
                };
                sink.write(event, self).await;
            }
            OrderCommand::OpenPaymentSession {
                provider,
                session_id,
                expires_at,
                url,
            } => {
                self.placed()?;
                let provider = required(&provider, OrderError::PaymentReferenceRequired)?;
                let session_id = required(&session_id, OrderError::PaymentReferenceRequired)?;
                if self.payment_session_id.as_deref() == Some(session_id.as_str()) {
                    return Ok(());
                }
                self.not_cancelled()?;
                if self.payment_status == PaymentStatus::Paid {
                    return Err(OrderError::AlreadyPaid);
                }
                let event = OrderEvent::PaymentSessionOpened {
                    provider,
                    session_id,
                    expires_at,
                    url,
                };
                sink.write(event, self).await;
            }
            OrderCommand::ConfirmPayment {
                provider,
                reference,
                amount,
                paid_at,
                provider_event_id,
            } => {
                self.placed()?;
                if self.seen(provider_event_id.as_deref()) {
                    return Ok(());
                }
                let provider = required(&provider, OrderError::PaymentReferenceRequired)?;
                let reference = required(&reference, OrderError::PaymentReferenceRequired)?;
                // Webhooks are delivered at least once: the same payment again is no news.
                if self.payment_status == PaymentStatus::Paid {
                    if self.payment_reference.as_deref() == Some(reference.as_str()) {
                        return Ok(());
                    }
                    return Err(OrderError::AlreadyPaid);
                }
                self.not_cancelled()?;
                // The amount is recorded as received, not checked against the totals: the
                // money moved either way, and the ledger must say so.
                let event = OrderEvent::PaymentConfirmed {
                    provider,
                    reference,
                    amount,
                    paid_at,
                    provider_event_id,
                };
                sink.write(event, self).await;
            }
            OrderCommand::FailPayment {
                provider,
                reference,
                reason,
                provider_event_id,
            } => {
                self.placed()?;
                if self.seen(provider_event_id.as_deref()) {
                    return Ok(());
                }
                let provider = required(&provider, OrderError::PaymentReferenceRequired)?;
                let reference = required(&reference, OrderError::PaymentReferenceRequired)?;
                if self.payment_status == PaymentStatus::Paid {
                    return Err(OrderError::AlreadyPaid);
                }
                if self.failed_payment_reference.as_deref() == Some(reference.as_str()) {
                    return Ok(());
                }
                let event = OrderEvent::PaymentFailed {
                    provider,
                    reference,
                    reason: reason.trim().to_owned(),
                    provider_event_id,
                };
                sink.write(event, self).await;
            }
            OrderCommand::ExpirePaymentSession {
                session_id,
                provider_event_id,
            } => {
                self.placed()?;
                // Late or repeated news, or about a session this order no longer waits on:
                // Stripe sends `expired` after `completed` at times.
                let current = self.payment_session_id.as_deref() == Some(session_id.as_str());
                if self.seen(provider_event_id.as_deref())
                    || !current
                    || self.payment_status == PaymentStatus::Paid
                    || self.status == OrderStatus::Cancelled
                {
                    return Ok(());
                }
                let previous_status = self.status;
                self.transition(OrderStatus::Cancelled)?;
                sink.write(
                    OrderEvent::PaymentSessionExpired {
                        session_id,
                        provider_event_id,
                    },
                    self,
                )
                .await;
                sink.write(
                    OrderEvent::OrderCancelled {
                        reason: PAYMENT_EXPIRED.to_owned(),
                        previous_status,
                    },
                    self,
                )
                .await;
            }
            OrderCommand::ConfirmOrder => {
                self.placed()?;
                self.transition(OrderStatus::Confirmed)?;
                sink.write(OrderEvent::OrderConfirmed, self).await;
            }
            OrderCommand::MarkReadyForPickup => {
                self.placed()?;
                self.transition(OrderStatus::ReadyForPickup)?;
                sink.write(OrderEvent::OrderReadyForPickup, self).await;
            }
            OrderCommand::CompleteOrder => {
                self.placed()?;
                self.transition(OrderStatus::Completed)?;
                sink.write(OrderEvent::OrderCompleted, self).await;
            }
            OrderCommand::CancelOrder { reason } => {
                self.placed()?;
                let reason = required(&reason, OrderError::ReasonRequired)?;
                self.transition(OrderStatus::Cancelled)?;
                let event = OrderEvent::OrderCancelled {
                    reason: reason.clone(),
                    previous_status: self.status,
                };
                sink.write(event, self).await;
                // A paid order is (or is about to be) invoiced, and an invoice is never
                // withdrawn, only offset: the cancellation asks for a credit note of what is
                // left, identified by the order's own id (an order is cancelled once).
                let left = self.lines_left_to_credit();
                if self.payment_status == PaymentStatus::Paid && !left.is_empty() {
                    let totals = totals_of(&left);
                    let event = OrderEvent::CreditNoteRequested {
                        credit_id: self.id.unwrap_or_default(),
                        lines: left,
                        totals,
                        reason,
                        provider_event_id: None,
                        provider_refunded_total: None,
                    };
                    sink.write(event, self).await;
                }
            }
            OrderCommand::IssueInvoice {
                invoice_number,
                issued_at,
            } => {
                self.placed()?;
                let invoice_number = required(&invoice_number, OrderError::NumberRequired)?;
                if let Some(existing) = &self.invoice_number {
                    if *existing == invoice_number {
                        return Ok(());
                    }
                    return Err(OrderError::AlreadyInvoiced(existing.clone()));
                }
                // A paid order is invoiced even if cancelled since: the number is already
                // taken in the series, and the cancellation's credit note corrects it.
                if self.payment_status != PaymentStatus::Paid {
                    return Err(OrderError::NotPaid);
                }
                let event = OrderEvent::InvoiceIssued {
                    invoice_number,
                    issued_at: Some(issued_at),
                };
                sink.write(event, self).await;
            }
            OrderCommand::IssueCreditNote {
                credit_id,
                credit_note_number,
                issued_at,
            } => {
                self.placed()?;
                let credit_note_number = required(&credit_note_number, OrderError::NumberRequired)?;
                let Some(invoice_number) = self.invoice_number.clone() else {
                    return Err(OrderError::NotInvoiced);
                };
                let Some(credit) = self.credit_note(credit_id) else {
                    return Err(OrderError::UnknownCreditNote(credit_id));
                };
                if let Some(existing) = &credit.number {
                    if *existing == credit_note_number {
                        return Ok(());
                    }
                    return Err(OrderError::CreditNoteAlreadyIssued(existing.clone()));
                }
                let event = OrderEvent::CreditNoteIssued {
                    credit_note_number,
                    invoice_number,
                    reason: credit.reason.clone(),
                    credit_id: Some(credit_id),
                    issued_at: Some(issued_at),
                };
                sink.write(event, self).await;
            }
            OrderCommand::RefundLines {
                credit_id,
                lines,
                reason,
            } => {
                self.creditable()?;
                if self.credit_note(credit_id).is_some() {
                    return Ok(());
                }
                let reason = required(&reason, OrderError::ReasonRequired)?;
                let lines = lines_to_credit(&self.lines, &self.credit_notes, &lines)?;
                let totals = totals_of(&lines);
                if let Some(invoiced) = &self.totals {
                    within_amount_left(invoiced, &self.credit_notes, &totals)?;
                }
                let event = OrderEvent::CreditNoteRequested {
                    credit_id,
                    lines,
                    totals,
                    reason,
                    provider_event_id: None,
                    provider_refunded_total: None,
                };
                sink.write(event, self).await;
            }
            OrderCommand::RecordProviderRefund {
                credit_id,
                refunded_total,
                provider_event_id,
            } => {
                self.creditable()?;
                if self.seen(provider_event_id.as_deref()) || self.credit_note(credit_id).is_some()
                {
                    return Ok(());
                }
                // Cumulative: a notice older than one already acted on brings nothing new.
                let Some(new) = refunded_total
                    .amount()
                    .checked_sub(self.provider_refunded.amount())
                    .filter(|d| d.is_sign_positive() && !d.is_zero())
                    .and_then(|d| Money::new(d).ok())
                else {
                    return Ok(());
                };
                let Some(totals) = self.totals.as_ref() else {
                    return Err(OrderError::NotFound);
                };
                let (lines, totals) =
                    credit_for_amount(&self.lines, totals, &self.credit_notes, new)?;
                let event = OrderEvent::CreditNoteRequested {
                    credit_id,
                    lines,
                    totals,
                    reason: format!("refund of {new} made with the payment provider"),
                    provider_event_id,
                    provider_refunded_total: Some(refunded_total),
                };
                sink.write(event, self).await;
            }
            OrderCommand::RecordDocument {
                number,
                key,
                sha256,
                size,
            } => {
                self.placed()?;
                let issued = self.invoice_number.as_deref() == Some(number.as_str())
                    || self
                        .credit_notes
                        .iter()
                        .any(|c| c.number.as_deref() == Some(number.as_str()));
                if !issued {
                    return Err(OrderError::UnknownDocument(number));
                }
                if let Some((_, stored)) = self.documents.get(&number) {
                    if *stored == sha256 {
                        return Ok(());
                    }
                    return Err(OrderError::DocumentAlreadyStored(number));
                }
                let event = OrderEvent::DocumentStored {
                    number,
                    key,
                    sha256,
                    size,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            OrderEvent::OrderPlaced {
                order_id,
                order_number,
                customer_email,
                customer_name,
                customer_phone,
                pickup_location,
                payment_method,
                lines,
                totals,
                placed_at,
                language,
                billing,
            } => {
                self.id = Some(order_id);
                self.language = language;
                self.billing = billing;
                self.order_number = order_number;
                self.customer_email = Some(customer_email);
                self.customer_name = customer_name;
                self.customer_phone = Some(customer_phone);
                self.pickup_location = pickup_location;
                self.payment_method = Some(payment_method);
                self.lines = lines;
                self.totals = Some(totals);
                self.placed_at = Some(placed_at);
                self.status = OrderStatus::Pending;
                self.payment_status = PaymentStatus::Pending;
            }
            OrderEvent::PaymentSessionOpened { session_id, .. } => {
                self.payment_session_id = Some(session_id);
            }
            OrderEvent::PaymentConfirmed {
                provider,
                reference,
                amount,
                paid_at,
                provider_event_id,
            } => {
                self.payment_provider = Some(provider);
                self.paid_at = Some(paid_at);
                self.provider_events.extend(provider_event_id);
                self.payment_status = PaymentStatus::Paid;
                self.payment_reference = Some(reference);
                self.amount_paid = Some(amount);
            }
            OrderEvent::PaymentFailed {
                reference,
                provider_event_id,
                ..
            } => {
                self.provider_events.extend(provider_event_id);
                self.payment_status = PaymentStatus::Failed;
                self.failed_payment_reference = Some(reference);
            }
            OrderEvent::PaymentSessionExpired {
                provider_event_id, ..
            } => self.provider_events.extend(provider_event_id),
            OrderEvent::OrderConfirmed => self.status = OrderStatus::Confirmed,
            OrderEvent::OrderReadyForPickup => self.status = OrderStatus::ReadyForPickup,
            OrderEvent::OrderCompleted => self.status = OrderStatus::Completed,
            OrderEvent::OrderCancelled { .. } => self.status = OrderStatus::Cancelled,
            OrderEvent::InvoiceIssued {
                invoice_number,
                issued_at,
            } => {
                self.invoice_number = Some(invoice_number);
                self.invoice_issued_at = issued_at;
            }
            OrderEvent::CreditNoteRequested {
                credit_id,
                lines,
                totals,
                reason,
                provider_event_id,
                provider_refunded_total,
            } => {
                self.provider_events.extend(provider_event_id);
                if let Some(total) = provider_refunded_total {
                    self.provider_refunded = self.provider_refunded.max(total);
                }
                self.credit_notes.push(CreditNote {
                    id: credit_id,
                    lines,
                    totals,
                    reason,
                    number: None,
                    issued_at: None,
                });
            }
            OrderEvent::CreditNoteIssued {
                credit_note_number,
                credit_id,
                reason,
                issued_at,
                ..
            } => match credit_id {
                Some(id) => {
                    if let Some(credit) = self.credit_notes.iter_mut().find(|c| c.id == id) {
                        credit.number = Some(credit_note_number);
                        credit.issued_at = issued_at;
                    }
                }
                // Before partial refunds a credit note took back the whole order.
                None => {
                    let lines = self.lines_left_to_credit();
                    let totals = totals_of(&lines);
                    self.credit_notes.push(CreditNote {
                        id: self.id.unwrap_or_default(),
                        lines,
                        totals,
                        reason,
                        number: Some(credit_note_number),
                        issued_at,
                    });
                }
            },
            OrderEvent::DocumentStored {
                number,
                key,
                sha256,
                ..
            } => {
                self.documents.insert(number, (key, sha256));
            }
        }
    }
}
