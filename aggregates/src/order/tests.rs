#![allow(clippy::unwrap_used)]

use cqrs_es::test::TestFramework;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::test_support::{assert_events_are_named_and_round_trip, at, execute};
use crate::values::{compute_totals, Email, Language, Money, Phone, Reference, VatRate};

type OrderTest = TestFramework<Order>;

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn product(n: u128) -> Uuid {
    Uuid::from_u128(100 + n)
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn rate(s: &str) -> VatRate {
    s.parse().unwrap()
}

fn line(n: u128, quantity: u32, price: &str, vat: &str) -> OrderLineInput {
    OrderLineInput {
        product_id: product(n),
        reference: Reference::new(&format!("REF-{n}")).unwrap(),
        name: format!("Product {n}"),
        quantity,
        unit_price_ht: money(price),
        vat_rate: rate(vat),
    }
}

fn place_with(lines: Vec<OrderLineInput>) -> OrderCommand {
    OrderCommand::PlaceOrder {
        order_id: id(),
        order_number: "CMD-2026-0001".to_owned(),
        customer_email: Email::new("jean@example.fr").unwrap(),
        customer_name: "Jean Dupont".to_owned(),
        customer_phone: Phone::new("06 12 34 56 78").unwrap(),
        pickup_location: "Boutique Lyon".to_owned(),
        payment_method: PaymentMethod::Stripe,
        lines,
        placed_at: at(5, 10),
        language: Language::Fr,
        billing: None,
    }
}

fn place() -> OrderCommand {
    place_with(vec![line(1, 3, "0.35", "5.5"), line(2, 1, "89", "20")])
}

fn placed() -> OrderEvent {
    let lines = vec![
        OrderLine {
            product_id: product(1),
            reference: Reference::new("REF-1").unwrap(),
            name: "Product 1".to_owned(),
            quantity: 3,
            unit_price_ht: money("0.35"),
            vat_rate: rate("5.5"),
            line_total_ht: money("1.05"),
        },
        OrderLine {
            product_id: product(2),
            reference: Reference::new("REF-2").unwrap(),
            name: "Product 2".to_owned(),
            quantity: 1,
            unit_price_ht: money("89"),
            vat_rate: rate("20"),
            line_total_ht: money("89.00"),
        },
    ];
    OrderEvent::OrderPlaced {
        order_id: id(),
        order_number: "CMD-2026-0001".to_owned(),
        customer_email: Email::new("jean@example.fr").unwrap(),
        customer_name: "Jean Dupont".to_owned(),
        customer_phone: Phone::new("0612345678").unwrap(),
        pickup_location: "Boutique Lyon".to_owned(),
        payment_method: PaymentMethod::Stripe,
        lines,
        totals: compute_totals(&[
            (3, money("0.35"), rate("5.5")),
            (1, money("89"), rate("20")),
        ]),
        placed_at: at(5, 10),
        language: Language::Fr,
        billing: None,
    }
}

fn paid() -> OrderEvent {
    OrderEvent::PaymentConfirmed {
        provider: "stripe".to_owned(),
        reference: "pi_123".to_owned(),
        amount: money("107.91"),
        paid_at: at(5, 11),
        provider_event_id: None,
    }
}

fn confirm_payment(reference: &str) -> OrderCommand {
    OrderCommand::ConfirmPayment {
        provider: "stripe".to_owned(),
        reference: reference.to_owned(),
        amount: money("107.91"),
        paid_at: at(5, 11),
        provider_event_id: None,
    }
}

fn cancelled(previous_status: OrderStatus) -> OrderEvent {
    OrderEvent::OrderCancelled {
        reason: "customer asked".to_owned(),
        previous_status,
    }
}

fn cancel() -> OrderCommand {
    OrderCommand::CancelOrder {
        reason: " customer asked ".to_owned(),
    }
}

fn invoiced() -> OrderEvent {
    OrderEvent::InvoiceIssued {
        invoice_number: "FA-2026-000001".to_owned(),
        issued_at: Some(at(5, 12)),
    }
}

/// The credit note a cancellation asks for: everything, under the order's own id.
fn credit_requested() -> OrderEvent {
    let OrderEvent::OrderPlaced { lines, totals, .. } = placed() else {
        unreachable!()
    };
    OrderEvent::CreditNoteRequested {
        credit_id: id(),
        lines,
        totals,
        reason: "customer asked".to_owned(),
        provider_event_id: None,
        provider_refunded_total: None,
    }
}

fn credit_noted() -> OrderEvent {
    OrderEvent::CreditNoteIssued {
        credit_note_number: "AV-2026-000001".to_owned(),
        invoice_number: "FA-2026-000001".to_owned(),
        reason: "customer asked".to_owned(),
        credit_id: Some(id()),
        issued_at: Some(at(5, 13)),
    }
}

fn issue_invoice(number: &str) -> OrderCommand {
    OrderCommand::IssueInvoice {
        invoice_number: number.to_owned(),
        issued_at: at(5, 12),
    }
}

fn issue_credit_note(number: &str) -> OrderCommand {
    OrderCommand::IssueCreditNote {
        credit_id: id(),
        credit_note_number: number.to_owned(),
        issued_at: at(5, 13),
    }
}

fn ready() -> Vec<OrderEvent> {
    vec![
        placed(),
        OrderEvent::OrderConfirmed,
        OrderEvent::OrderReadyForPickup,
    ]
}

fn completed() -> Vec<OrderEvent> {
    let mut events = ready();
    events.push(OrderEvent::OrderCompleted);
    events
}

// --- placing ---

#[tokio::test]
async fn placing_an_order_snapshots_lines_and_computes_totals() {
    OrderTest::with(())
        .given_no_previous_events()
        .when_async(place())
        .await
        .then_expect_events(vec![placed()]);
}

#[test]
fn placed_totals_are_rounded_per_rate_on_line_sums() {
    let OrderEvent::OrderPlaced { totals, .. } = placed() else {
        unreachable!()
    };
    assert_eq!(totals.total_ht, money("90.05"));
    assert_eq!(totals.total_vat, money("17.86"));
    assert_eq!(totals.total_ttc, money("107.91"));
    assert_eq!(totals.vat_breakdown[0].vat, money("0.06"));
    let json = serde_json::to_value(&totals).unwrap();
    assert_eq!(json["total_ttc"], "107.91");
    assert_eq!(json["vat_breakdown"][0]["rate"], "5.5");
}

fn garage(company: &str) -> Billing {
    Billing {
        company: company.to_owned(),
        address: crate::shop_settings::PostalAddress {
            street: "4 quai Perrache".to_owned(),
            postal_code: "69002".to_owned(),
            city: "Lyon".to_owned(),
            country: "France".to_owned(),
        },
        vat_number: Some("FR11123456782".parse().unwrap()),
    }
}

fn with_billing(command: OrderCommand, with: Billing) -> OrderCommand {
    let OrderCommand::PlaceOrder {
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
        ..
    } = command
    else {
        unreachable!()
    };
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
        billing: Some(Box::new(with)),
    }
}

#[tokio::test]
async fn a_business_customer_s_details_are_recorded_trimmed() {
    let OrderEvent::OrderPlaced {
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
        ..
    } = placed()
    else {
        unreachable!()
    };
    let expected = OrderEvent::OrderPlaced {
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
        billing: Some(Box::new(garage("Garage du Rhône"))),
    };
    OrderTest::with(())
        .given_no_previous_events()
        .when_async(with_billing(place(), garage("  Garage du Rhône ")))
        .await
        .then_expect_events(vec![expected]);
}

#[tokio::test]
async fn a_business_customer_without_a_company_name_is_refused() {
    OrderTest::with(())
        .given_no_previous_events()
        .when_async(with_billing(place(), garage(" ")))
        .await
        .then_expect_error(OrderError::Billing(BillingError::Required("company")));
}

#[tokio::test]
async fn placing_an_order_twice_is_refused() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(place())
        .await
        .then_expect_error(OrderError::AlreadyExists);
}

#[tokio::test]
async fn an_order_without_lines_is_refused() {
    OrderTest::with(())
        .given_no_previous_events()
        .when_async(place_with(vec![]))
        .await
        .then_expect_error(OrderError::NoLines);
}

#[tokio::test]
async fn a_quantity_outside_1_to_999_is_refused() {
    for quantity in [0, 1000] {
        OrderTest::with(())
            .given_no_previous_events()
            .when_async(place_with(vec![line(1, quantity, "1", "20")]))
            .await
            .then_expect_error(OrderError::InvalidQuantity {
                product_id: product(1),
                quantity,
            });
    }
}

#[tokio::test]
async fn a_line_name_empty_or_over_200_characters_is_refused() {
    for name in [" ".to_owned(), "n".repeat(201)] {
        let mut input = line(1, 1, "1", "20");
        input.name = name;
        OrderTest::with(())
            .given_no_previous_events()
            .when_async(place_with(vec![input]))
            .await
            .then_expect_error(OrderError::InvalidLineName(product(1)));
    }
}

#[tokio::test]
async fn two_lines_for_one_product_are_refused() {
    OrderTest::with(())
        .given_no_previous_events()
        .when_async(place_with(vec![
            line(1, 1, "1", "20"),
            line(1, 2, "1", "20"),
        ]))
        .await
        .then_expect_error(OrderError::DuplicateProduct(product(1)));
}

#[tokio::test]
async fn an_order_without_pickup_location_number_or_customer_name_is_refused() {
    type Blank = fn(&mut OrderCommand);
    let cases: [(Blank, OrderError); 3] = [
        (
            |c: &mut OrderCommand| {
                if let OrderCommand::PlaceOrder {
                    pickup_location, ..
                } = c
                {
                    *pickup_location = " ".to_owned();
                }
            },
            OrderError::PickupLocationRequired,
        ),
        (
            |c: &mut OrderCommand| {
                if let OrderCommand::PlaceOrder { order_number, .. } = c {
                    *order_number = String::new();
                }
            },
            OrderError::OrderNumberRequired,
        ),
        (
            |c: &mut OrderCommand| {
                if let OrderCommand::PlaceOrder { customer_name, .. } = c {
                    *customer_name = String::new();
                }
            },
            OrderError::CustomerNameRequired,
        ),
    ];
    for (mutate, error) in cases {
        let mut command = place();
        mutate(&mut command);
        OrderTest::with(())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn every_command_on_an_order_never_placed_is_not_found() {
    for command in every_command_but_place() {
        OrderTest::with(())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(OrderError::NotFound);
    }
}

fn every_command_but_place() -> Vec<OrderCommand> {
    vec![
        OrderCommand::OpenPaymentSession {
            provider: "stripe".to_owned(),
            session_id: "cs_1".to_owned(),
            expires_at: at(5, 12),
            url: None,
        },
        confirm_payment("pi_123"),
        OrderCommand::FailPayment {
            provider: "stripe".to_owned(),
            reference: "pi_1".to_owned(),
            reason: "declined".to_owned(),
            provider_event_id: None,
        },
        OrderCommand::ConfirmOrder,
        OrderCommand::MarkReadyForPickup,
        OrderCommand::CompleteOrder,
        cancel(),
        issue_invoice("FA-2026-000001"),
        issue_credit_note("AV-2026-000001"),
    ]
}

// --- payment ---

#[tokio::test]
async fn opening_a_payment_session_is_recorded_once() {
    let open = || OrderCommand::OpenPaymentSession {
        provider: "stripe".to_owned(),
        session_id: "cs_1".to_owned(),
        expires_at: at(5, 12),
        url: None,
    };
    let opened = OrderEvent::PaymentSessionOpened {
        provider: "stripe".to_owned(),
        session_id: "cs_1".to_owned(),
        expires_at: at(5, 12),
        url: None,
    };
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(open())
        .await
        .then_expect_events(vec![opened.clone()]);
    OrderTest::with(())
        .given(vec![placed(), opened])
        .when_async(open())
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn opening_a_payment_session_is_refused_when_paid_or_cancelled() {
    let open = || OrderCommand::OpenPaymentSession {
        provider: "stripe".to_owned(),
        session_id: "cs_2".to_owned(),
        expires_at: at(5, 12),
        url: None,
    };
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(open())
        .await
        .then_expect_error(OrderError::AlreadyPaid);
    OrderTest::with(())
        .given(vec![placed(), cancelled(OrderStatus::Pending)])
        .when_async(open())
        .await
        .then_expect_error(OrderError::Cancelled);
}

#[tokio::test]
async fn confirming_a_payment_is_recorded() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(confirm_payment("pi_123"))
        .await
        .then_expect_events(vec![paid()]);
}

#[tokio::test]
async fn confirming_the_same_payment_again_records_nothing() {
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(confirm_payment("pi_123"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn confirming_another_payment_when_paid_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(confirm_payment("pi_456"))
        .await
        .then_expect_error(OrderError::AlreadyPaid);
}

#[tokio::test]
async fn confirming_a_payment_on_a_cancelled_order_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), cancelled(OrderStatus::Pending)])
        .when_async(confirm_payment("pi_123"))
        .await
        .then_expect_error(OrderError::Cancelled);
}

#[tokio::test]
async fn a_payment_without_reference_is_refused() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(confirm_payment(" "))
        .await
        .then_expect_error(OrderError::PaymentReferenceRequired);
}

#[tokio::test]
async fn a_failed_payment_is_recorded_once_and_can_be_followed_by_a_success() {
    let fail = || OrderCommand::FailPayment {
        provider: "stripe".to_owned(),
        reference: "pi_1".to_owned(),
        reason: "card declined".to_owned(),
        provider_event_id: None,
    };
    let failed = OrderEvent::PaymentFailed {
        provider: "stripe".to_owned(),
        reference: "pi_1".to_owned(),
        reason: "card declined".to_owned(),
        provider_event_id: None,
    };
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(fail())
        .await
        .then_expect_events(vec![failed.clone()]);
    OrderTest::with(())
        .given(vec![placed(), failed.clone()])
        .when_async(fail())
        .await
        .then_expect_events(vec![]);
    OrderTest::with(())
        .given(vec![placed(), failed])
        .when_async(confirm_payment("pi_123"))
        .await
        .then_expect_events(vec![paid()]);
}

#[tokio::test]
async fn a_failure_reported_after_payment_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(OrderCommand::FailPayment {
            provider: "stripe".to_owned(),
            reference: "pi_9".to_owned(),
            reason: "late".to_owned(),
            provider_event_id: None,
        })
        .await
        .then_expect_error(OrderError::AlreadyPaid);
}

// --- workflow ---

#[tokio::test]
async fn a_pending_order_can_be_confirmed() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(OrderCommand::ConfirmOrder)
        .await
        .then_expect_events(vec![OrderEvent::OrderConfirmed]);
}

#[tokio::test]
async fn a_confirmed_order_can_be_marked_ready_for_pickup() {
    OrderTest::with(())
        .given(vec![placed(), OrderEvent::OrderConfirmed])
        .when_async(OrderCommand::MarkReadyForPickup)
        .await
        .then_expect_events(vec![OrderEvent::OrderReadyForPickup]);
}

#[tokio::test]
async fn an_order_ready_for_pickup_can_be_completed() {
    OrderTest::with(())
        .given(ready())
        .when_async(OrderCommand::CompleteOrder)
        .await
        .then_expect_events(vec![OrderEvent::OrderCompleted]);
}

#[tokio::test]
async fn skipping_a_step_is_an_invalid_transition() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(OrderCommand::CompleteOrder)
        .await
        .then_expect_error(OrderError::InvalidTransition {
            from: OrderStatus::Pending,
            to: OrderStatus::Completed,
        });
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(OrderCommand::MarkReadyForPickup)
        .await
        .then_expect_error(OrderError::InvalidTransition {
            from: OrderStatus::Pending,
            to: OrderStatus::ReadyForPickup,
        });
    OrderTest::with(())
        .given(vec![placed(), OrderEvent::OrderConfirmed])
        .when_async(OrderCommand::ConfirmOrder)
        .await
        .then_expect_error(OrderError::InvalidTransition {
            from: OrderStatus::Confirmed,
            to: OrderStatus::Confirmed,
        });
}

#[tokio::test]
async fn a_cancelled_order_cannot_move_on() {
    OrderTest::with(())
        .given(vec![placed(), cancelled(OrderStatus::Pending)])
        .when_async(OrderCommand::ConfirmOrder)
        .await
        .then_expect_error(OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Confirmed,
        });
}

#[tokio::test]
async fn an_order_can_be_cancelled_from_any_state_before_completed() {
    let histories = [
        (vec![placed()], OrderStatus::Pending),
        (
            vec![placed(), OrderEvent::OrderConfirmed],
            OrderStatus::Confirmed,
        ),
        (ready(), OrderStatus::ReadyForPickup),
    ];
    for (history, previous) in histories {
        OrderTest::with(())
            .given(history)
            .when_async(cancel())
            .await
            .then_expect_events(vec![cancelled(previous)]);
    }
}

#[tokio::test]
async fn a_completed_order_cannot_be_cancelled() {
    let result = OrderTest::with(())
        .given(completed())
        .when_async(cancel())
        .await
        .inspect_result();
    let error = result.unwrap_err();
    assert_eq!(
        error,
        OrderError::InvalidTransition {
            from: OrderStatus::Completed,
            to: OrderStatus::Cancelled,
        }
    );
    assert_eq!(
        error.to_string(),
        "an order that is completed cannot be cancelled"
    );
}

#[tokio::test]
async fn cancelling_twice_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), cancelled(OrderStatus::Pending)])
        .when_async(cancel())
        .await
        .then_expect_error(OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Cancelled,
        });
}

#[tokio::test]
async fn cancelling_without_a_reason_is_refused() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(OrderCommand::CancelOrder {
            reason: "  ".to_owned(),
        })
        .await
        .then_expect_error(OrderError::ReasonRequired);
}

#[tokio::test]
async fn cancelling_a_paid_order_asks_for_a_credit_note_of_everything() {
    // Invoiced already, or about to be (the number is assigned after the payment).
    for history in [vec![placed(), paid(), invoiced()], vec![placed(), paid()]] {
        OrderTest::with(())
            .given(history)
            .when_async(cancel())
            .await
            .then_expect_events(vec![cancelled(OrderStatus::Pending), credit_requested()]);
    }
    // Unpaid: nothing was invoiced, nothing to credit.
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(cancel())
        .await
        .then_expect_events(vec![cancelled(OrderStatus::Pending)]);
}

#[tokio::test]
async fn cancelling_after_a_partial_refund_credits_only_what_is_left() {
    let refunded = OrderEvent::CreditNoteRequested {
        credit_id: Uuid::from_u128(9),
        lines: vec![OrderLine {
            product_id: product(1),
            reference: Reference::new("REF-1").unwrap(),
            name: "Product 1".to_owned(),
            quantity: 2,
            unit_price_ht: money("0.35"),
            vat_rate: rate("5.5"),
            line_total_ht: money("0.70"),
        }],
        totals: compute_totals(&[(2, money("0.35"), rate("5.5"))]),
        reason: "damaged".to_owned(),
        provider_event_id: None,
        provider_refunded_total: None,
    };
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced(), refunded] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    let events = execute(&mut order, cancel(), &()).await.unwrap();
    let OrderEvent::CreditNoteRequested { lines, totals, .. } = &events[1] else {
        panic!("{events:?}")
    };
    let left: Vec<_> = lines.iter().map(|l| (l.product_id, l.quantity)).collect();
    assert_eq!(left, [(product(1), 1), (product(2), 1)]);
    assert_eq!(totals.total_ht, money("89.35"));
    assert!(order.lines_left_to_credit().is_empty());
}

#[tokio::test]
async fn a_refund_takes_back_lines_never_more_than_invoiced() {
    let refund = |quantity: u32, credit: u128| OrderCommand::RefundLines {
        credit_id: Uuid::from_u128(credit),
        lines: vec![RefundLineInput {
            product_id: product(1),
            quantity,
        }],
        reason: "damaged".to_owned(),
    };
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced()] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    let events = execute(&mut order, refund(2, 9), &()).await.unwrap();
    assert_eq!(events.len(), 1);
    // The same refund again (a double click) changes nothing.
    assert!(execute(&mut order, refund(2, 9), &())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        execute(&mut order, refund(2, 10), &()).await.unwrap_err(),
        OrderError::CreditQuantity {
            product_id: product(1),
            quantity: 2,
            left: 1
        }
    );
    let unknown = OrderCommand::RefundLines {
        credit_id: Uuid::from_u128(11),
        lines: vec![RefundLineInput {
            product_id: product(7),
            quantity: 1,
        }],
        reason: "x".to_owned(),
    };
    assert_eq!(
        execute(&mut order, unknown, &()).await.unwrap_err(),
        OrderError::NotOnOrder(product(7))
    );
    // An unpaid order has nothing to refund.
    let mut unpaid = Order::default();
    cqrs_es::Aggregate::apply(&mut unpaid, placed());
    assert_eq!(
        execute(&mut unpaid, refund(1, 12), &()).await.unwrap_err(),
        OrderError::RefundUnpaid
    );
}

#[tokio::test]
async fn a_provider_refund_credits_what_is_new_and_adds_up_to_the_amount() {
    let notice = |total: &str, event: &str, credit: u128| OrderCommand::RecordProviderRefund {
        credit_id: Uuid::from_u128(credit),
        refunded_total: money(total),
        provider_event_id: Some(event.to_owned()),
    };
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced()] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    // 107.91 TTC: 1.11 at 5.5 % (base 1.05), 106.80 at 20 % (base 89.00).
    let events = execute(&mut order, notice("50.00", "evt_1", 20), &())
        .await
        .unwrap();
    let OrderEvent::CreditNoteRequested { lines, totals, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(totals.total_ttc, money("50.00"));
    let lines_ht: Money = lines.iter().map(|l| l.line_total_ht).sum();
    assert_eq!(lines_ht, totals.total_ht);
    assert_eq!(totals.total_ht + totals.total_vat, totals.total_ttc);
    // Repeated, or older than what was already acted on: nothing new.
    assert!(execute(&mut order, notice("50.00", "evt_1", 21), &())
        .await
        .unwrap()
        .is_empty());
    assert!(execute(&mut order, notice("30.00", "evt_0", 22), &())
        .await
        .unwrap()
        .is_empty());
    // The rest: 57.91 more, and nothing is left.
    let events = execute(&mut order, notice("107.91", "evt_2", 23), &())
        .await
        .unwrap();
    let OrderEvent::CreditNoteRequested { totals, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(totals.total_ttc, money("57.91"));
    assert_eq!(
        execute(&mut order, notice("107.92", "evt_3", 24), &())
            .await
            .unwrap_err(),
        OrderError::CreditExceedsInvoice {
            amount: money("0.01"),
            left: money("0.00")
        }
    );
}

#[tokio::test]
async fn after_a_refund_by_amount_lines_are_refunded_only_within_what_is_left() {
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced()] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    // 107.91 TTC, of which 106.80 at 20 % (product 2); 50.00 refunded in the dashboard,
    // spread over the rates: about 57.31 left at 20 % and 0.60 at 5.5 %.
    let notice = OrderCommand::RecordProviderRefund {
        credit_id: Uuid::from_u128(40),
        refunded_total: money("50.00"),
        provider_event_id: Some("evt_1".to_owned()),
    };
    execute(&mut order, notice, &()).await.unwrap();
    let refund = |product_id: Uuid, quantity: u32, credit: u128| OrderCommand::RefundLines {
        credit_id: Uuid::from_u128(credit),
        lines: vec![RefundLineInput {
            product_id,
            quantity,
        }],
        reason: "returned".to_owned(),
    };
    // Product 2's 106.80 would credit more than the 20 % left after the refund.
    let refused = execute(&mut order, refund(product(2), 1, 41), &())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, OrderError::CreditExceedsInvoice { amount, .. } if amount == money("106.80")),
        "{refused:?}"
    );
    // One unit of product 1 (0.35 + 0.02 VAT) still fits in what is left at 5.5 %.
    let events = execute(&mut order, refund(product(1), 1, 42), &())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn a_full_provider_refund_credits_the_lines_themselves() {
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced()] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    let command = OrderCommand::RecordProviderRefund {
        credit_id: Uuid::from_u128(30),
        refunded_total: money("107.91"),
        provider_event_id: Some("evt_1".to_owned()),
    };
    let events = execute(&mut order, command, &()).await.unwrap();
    let OrderEvent::CreditNoteRequested { lines, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| !l.product_id.is_nil()));
}

#[tokio::test]
async fn a_document_is_stored_once_and_never_replaced() {
    let record = |number: &str, sha: &str| OrderCommand::RecordDocument {
        number: number.to_owned(),
        key: format!("invoices/{number}.pdf"),
        sha256: sha.to_owned(),
        size: 1000,
    };
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced()] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    assert_eq!(
        execute(&mut order, record("FA-2026-000001", "aa"), &())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(execute(&mut order, record("FA-2026-000001", "aa"), &())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        execute(&mut order, record("FA-2026-000001", "bb"), &())
            .await
            .unwrap_err(),
        OrderError::DocumentAlreadyStored("FA-2026-000001".to_owned())
    );
    assert_eq!(
        execute(&mut order, record("FA-2026-000009", "aa"), &())
            .await
            .unwrap_err(),
        OrderError::UnknownDocument("FA-2026-000009".to_owned())
    );
    assert_eq!(
        order.document("FA-2026-000001"),
        Some(("invoices/FA-2026-000001.pdf", "aa"))
    );
}

// --- invoice and credit note ---

#[tokio::test]
async fn a_paid_order_is_invoiced_once() {
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(issue_invoice("FA-2026-000001"))
        .await
        .then_expect_events(vec![invoiced()]);
    OrderTest::with(())
        .given(vec![placed(), paid(), invoiced()])
        .when_async(issue_invoice("FA-2026-000001"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_second_invoice_number_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), paid(), invoiced()])
        .when_async(issue_invoice("FA-2026-000002"))
        .await
        .then_expect_error(OrderError::AlreadyInvoiced("FA-2026-000001".to_owned()));
}

#[tokio::test]
async fn an_unpaid_order_is_not_invoiced() {
    OrderTest::with(())
        .given(vec![placed()])
        .when_async(issue_invoice("FA-2026-000001"))
        .await
        .then_expect_error(OrderError::NotPaid);
}

#[tokio::test]
async fn a_paid_order_cancelled_before_its_number_came_is_still_invoiced() {
    // The series gave the number already: refusing it would leave a gap.
    OrderTest::with(())
        .given(vec![
            placed(),
            paid(),
            cancelled(OrderStatus::Pending),
            credit_requested(),
        ])
        .when_async(issue_invoice("FA-2026-000001"))
        .await
        .then_expect_events(vec![invoiced()]);
}

#[tokio::test]
async fn an_empty_invoice_number_is_refused() {
    OrderTest::with(())
        .given(vec![placed(), paid()])
        .when_async(issue_invoice(" "))
        .await
        .then_expect_error(OrderError::NumberRequired);
}

#[tokio::test]
async fn a_credit_note_is_numbered_once() {
    let asked = vec![
        placed(),
        paid(),
        invoiced(),
        cancelled(OrderStatus::Pending),
        credit_requested(),
    ];
    OrderTest::with(())
        .given(asked.clone())
        .when_async(issue_credit_note("AV-2026-000001"))
        .await
        .then_expect_events(vec![credit_noted()]);
    let numbered = [asked.clone(), vec![credit_noted()]].concat();
    OrderTest::with(())
        .given(numbered.clone())
        .when_async(issue_credit_note("AV-2026-000001"))
        .await
        .then_expect_events(vec![]);
    OrderTest::with(())
        .given(numbered)
        .when_async(issue_credit_note("AV-2026-000002"))
        .await
        .then_expect_error(OrderError::CreditNoteAlreadyIssued(
            "AV-2026-000001".to_owned(),
        ));
}

#[tokio::test]
async fn a_credit_note_needs_an_invoice_and_a_request() {
    OrderTest::with(())
        .given(vec![
            placed(),
            paid(),
            cancelled(OrderStatus::Pending),
            credit_requested(),
        ])
        .when_async(issue_credit_note("AV-2026-000001"))
        .await
        .then_expect_error(OrderError::NotInvoiced);
    OrderTest::with(())
        .given(vec![placed(), paid(), invoiced()])
        .when_async(issue_credit_note("AV-2026-000001"))
        .await
        .then_expect_error(OrderError::UnknownCreditNote(id()));
}

#[test]
fn getters_reflect_the_events() {
    let mut order = Order::default();
    for event in [placed(), paid(), invoiced(), OrderEvent::OrderConfirmed] {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    assert_eq!(order.status(), OrderStatus::Confirmed);
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    assert_eq!(order.lines().len(), 2);
    assert_eq!(order.totals().unwrap().total_ttc, money("107.91"));
    assert_eq!(order.order_number(), "CMD-2026-0001");
    assert_eq!(order.invoice_number(), Some("FA-2026-000001"));
}

#[test]
fn statuses_serialise_in_snake_case() {
    assert_eq!(
        serde_json::to_value(OrderStatus::ReadyForPickup).unwrap(),
        "ready_for_pickup"
    );
    assert_eq!(OrderStatus::ReadyForPickup.as_str(), "ready_for_pickup");
    assert_eq!(serde_json::to_value(PaymentMethod::Oney).unwrap(), "oney");
    assert_eq!(
        serde_json::to_value(PaymentStatus::Refunded).unwrap(),
        "refunded"
    );
}

#[test]
fn events_are_named_after_their_variant() {
    assert_events_are_named_and_round_trip(&[
        placed(),
        OrderEvent::PaymentSessionOpened {
            provider: "stripe".into(),
            session_id: "cs".into(),
            expires_at: at(1, 1),
            url: None,
        },
        OrderEvent::PaymentSessionExpired {
            session_id: "cs".into(),
            provider_event_id: Some("evt".into()),
        },
        paid(),
        OrderEvent::PaymentFailed {
            provider: "stripe".into(),
            reference: "pi".into(),
            reason: "r".into(),
            provider_event_id: None,
        },
        OrderEvent::OrderConfirmed,
        OrderEvent::OrderReadyForPickup,
        OrderEvent::OrderCompleted,
        cancelled(OrderStatus::Confirmed),
        invoiced(),
        credit_requested(),
        credit_noted(),
        OrderEvent::DocumentStored {
            number: "FA-2026-000001".into(),
            key: "invoices/FA-2026-000001.pdf".into(),
            sha256: "ab".into(),
            size: 10,
        },
    ]);
}

fn any_command() -> impl Strategy<Value = OrderCommand> {
    prop_oneof![
        Just(OrderCommand::ConfirmOrder),
        Just(OrderCommand::MarkReadyForPickup),
        Just(OrderCommand::CompleteOrder),
        Just(cancel()),
        prop::sample::select(vec!["pi_1", "pi_2"]).prop_map(confirm_payment),
        Just(OrderCommand::FailPayment {
            provider: "stripe".to_owned(),
            reference: "pi_3".to_owned(),
            reason: "declined".to_owned(),
            provider_event_id: None,
        }),
        prop::sample::select(vec!["FA-1", "FA-2"]).prop_map(issue_invoice),
        prop::sample::select(vec!["AV-1", "AV-2"]).prop_map(issue_credit_note),
        Just(place()),
    ]
}

proptest! {
    #[test]
    fn random_commands_never_reach_an_illegal_status(commands in prop::collection::vec(any_command(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut order = Order::default();
            execute(&mut order, place(), &()).await.unwrap();
            for command in commands {
                let before = order.clone();
                let Ok(events) = execute(&mut order, command, &()).await else {
                    prop_assert_eq!(&order, &before);
                    continue;
                };
                if before.status() != order.status() {
                    prop_assert!(before.status().can_become(order.status()),
                        "{:?} -> {:?}", before.status(), order.status());
                }
                prop_assert!(events.len() <= 2);
                // A cancelled order that was paid has everything taken back by credit notes.
                if order.status() == OrderStatus::Cancelled
                    && order.payment_status() == PaymentStatus::Paid
                {
                    prop_assert!(order.lines_left_to_credit().is_empty());
                }
                if order.invoice_number().is_some() {
                    prop_assert_eq!(order.payment_status(), PaymentStatus::Paid);
                }
                // Numbers, once set, never change.
                if let Some(number) = before.invoice_number() {
                    prop_assert_eq!(order.invoice_number(), Some(number));
                }
                for credit in before.credit_notes() {
                    let now = order.credit_note(credit.id);
                    prop_assert!(now.is_some());
                    if credit.number.is_some() {
                        prop_assert_eq!(&now.unwrap().number, &credit.number);
                    }
                }
                if let Some(reference) = before.payment_reference() {
                    prop_assert_eq!(order.payment_reference(), Some(reference));
                }
            }
            Ok(())
        })?;
    }
}

// --- provider notifications (webhooks) ---

fn session_opened() -> OrderEvent {
    OrderEvent::PaymentSessionOpened {
        provider: "stripe".to_owned(),
        session_id: "cs_1".to_owned(),
        expires_at: at(5, 12),
        url: Some("https://checkout.stripe.com/c/pay/cs_1".to_owned()),
    }
}

fn expire(session_id: &str, event_id: &str) -> OrderCommand {
    OrderCommand::ExpirePaymentSession {
        session_id: session_id.to_owned(),
        provider_event_id: Some(event_id.to_owned()),
    }
}

#[tokio::test]
async fn a_notification_delivered_again_changes_nothing_even_with_another_reference() {
    let paid_by_event = OrderEvent::PaymentConfirmed {
        provider: "stripe".to_owned(),
        reference: "pi_123".to_owned(),
        amount: money("107.91"),
        paid_at: at(5, 11),
        provider_event_id: Some("evt_1".to_owned()),
    };
    let again = OrderCommand::FailPayment {
        provider: "stripe".to_owned(),
        reference: "pi_other".to_owned(),
        reason: "late".to_owned(),
        provider_event_id: Some("evt_1".to_owned()),
    };
    OrderTest::with(())
        .given(vec![placed(), session_opened(), paid_by_event])
        .when_async(again)
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_lapsed_session_cancels_an_unpaid_order_once() {
    let expired = vec![
        OrderEvent::PaymentSessionExpired {
            session_id: "cs_1".to_owned(),
            provider_event_id: Some("evt_9".to_owned()),
        },
        OrderEvent::OrderCancelled {
            reason: PAYMENT_EXPIRED.to_owned(),
            previous_status: OrderStatus::Pending,
        },
    ];
    OrderTest::with(())
        .given(vec![placed(), session_opened()])
        .when_async(expire("cs_1", "evt_9"))
        .await
        .then_expect_events(expired.clone());
    let mut history = vec![placed(), session_opened()];
    history.extend(expired);
    OrderTest::with(())
        .given(history)
        .when_async(expire("cs_1", "evt_10"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_lapse_after_the_payment_or_of_another_session_changes_nothing() {
    OrderTest::with(())
        .given(vec![placed(), session_opened(), paid()])
        .when_async(expire("cs_1", "evt_late"))
        .await
        .then_expect_events(vec![]);
    OrderTest::with(())
        .given(vec![placed(), session_opened()])
        .when_async(expire("cs_old", "evt_old"))
        .await
        .then_expect_events(vec![]);
}
