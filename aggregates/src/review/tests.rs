#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::services::{FailingServices, FixedPurchases, ReviewServices, ServiceError};
use crate::test_support::{assert_events_are_named_and_round_trip, at};
use crate::values::Email;

type ReviewTest = TestFramework<Review>;

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn product() -> Uuid {
    Uuid::from_u128(2)
}

fn order() -> Uuid {
    Uuid::from_u128(3)
}

fn email() -> Email {
    Email::new("jean@example.fr").unwrap()
}

fn services() -> ReviewServices {
    ReviewServices::new(Arc::new(FixedPurchases::default().with(order(), product())))
}

fn submit(order_id: Option<Uuid>, rating: u8, comment: &str, name: &str) -> ReviewCommand {
    ReviewCommand::SubmitReview {
        review_id: id(),
        product_id: product(),
        order_id,
        customer_name: name.to_owned(),
        customer_email: email(),
        rating,
        comment: comment.to_owned(),
        submitted_at: at(6, 9),
    }
}

fn submitted(order_id: Option<Uuid>, verified_purchase: bool) -> ReviewEvent {
    ReviewEvent::ReviewSubmitted {
        review_id: id(),
        product_id: product(),
        order_id,
        verified_purchase,
        customer_name: "Jean".to_owned(),
        customer_email: email(),
        rating: 5,
        comment: "Great grip in the rain".to_owned(),
        submitted_at: at(6, 9),
    }
}

fn rejected(feedback: &str) -> ReviewEvent {
    ReviewEvent::ReviewRejected {
        feedback: feedback.to_owned(),
    }
}

#[tokio::test]
async fn a_review_naming_an_order_with_the_product_is_a_verified_purchase() {
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(
            Some(order()),
            5,
            "  Great grip in the rain ",
            " Jean ",
        ))
        .await
        .then_expect_events(vec![submitted(Some(order()), true)]);
}

#[tokio::test]
async fn a_review_without_order_or_with_another_order_is_not_verified() {
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(None, 5, "Great grip in the rain", "Jean"))
        .await
        .then_expect_events(vec![submitted(None, false)]);
    let other = Uuid::from_u128(9);
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(Some(other), 5, "Great grip in the rain", "Jean"))
        .await
        .then_expect_events(vec![submitted(Some(other), false)]);
}

#[tokio::test]
async fn submitting_twice_is_refused() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false)])
        .when_async(submit(None, 5, "Great grip in the rain", "Jean"))
        .await
        .then_expect_error(ReviewError::AlreadyExists);
}

#[tokio::test]
async fn a_rating_outside_1_to_5_is_refused() {
    for rating in [0, 6] {
        ReviewTest::with(services())
            .given_no_previous_events()
            .when_async(submit(None, rating, "Great grip in the rain", "Jean"))
            .await
            .then_expect_error(ReviewError::InvalidRating(rating));
    }
}

#[tokio::test]
async fn a_comment_under_10_or_over_5000_characters_is_refused() {
    // Nine characters once trimmed.
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(None, 4, "   too short   ", "Jean"))
        .await
        .then_expect_error(ReviewError::CommentTooShort);
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(None, 4, &"é".repeat(5001), "Jean"))
        .await
        .then_expect_error(ReviewError::CommentTooLong);
}

#[tokio::test]
async fn a_name_empty_or_over_100_characters_is_refused() {
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(None, 4, "Great grip in the rain", "  "))
        .await
        .then_expect_error(ReviewError::NameRequired);
    ReviewTest::with(services())
        .given_no_previous_events()
        .when_async(submit(None, 4, "Great grip in the rain", &"n".repeat(101)))
        .await
        .then_expect_error(ReviewError::NameTooLong);
}

#[tokio::test]
async fn an_unavailable_purchase_lookup_is_reported() {
    let failing = ReviewServices::new(Arc::new(FailingServices("down".to_owned())));
    ReviewTest::with(failing)
        .given_no_previous_events()
        .when_async(submit(Some(order()), 5, "Great grip in the rain", "Jean"))
        .await
        .then_expect_error(ReviewError::Service(ServiceError("down".to_owned())));
}

#[tokio::test]
async fn approving_a_pending_review_is_recorded() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false)])
        .when_async(ReviewCommand::ApproveReview)
        .await
        .then_expect_events(vec![ReviewEvent::ReviewApproved]);
}

#[tokio::test]
async fn approving_an_approved_review_records_nothing() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false), ReviewEvent::ReviewApproved])
        .when_async(ReviewCommand::ApproveReview)
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_rejected_review_can_still_be_approved() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false), rejected("spam")])
        .when_async(ReviewCommand::ApproveReview)
        .await
        .then_expect_events(vec![ReviewEvent::ReviewApproved]);
}

#[tokio::test]
async fn rejecting_records_the_feedback() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false)])
        .when_async(ReviewCommand::RejectReview {
            feedback: " off topic ".to_owned(),
        })
        .await
        .then_expect_events(vec![rejected("off topic")]);
}

#[tokio::test]
async fn an_approved_review_can_be_rejected() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false), ReviewEvent::ReviewApproved])
        .when_async(ReviewCommand::RejectReview {
            feedback: "insults".to_owned(),
        })
        .await
        .then_expect_events(vec![rejected("insults")]);
}

#[tokio::test]
async fn rejecting_again_with_the_same_feedback_records_nothing() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false), rejected("spam")])
        .when_async(ReviewCommand::RejectReview {
            feedback: "spam".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn rejecting_without_feedback_is_refused() {
    ReviewTest::with(services())
        .given(vec![submitted(None, false)])
        .when_async(ReviewCommand::RejectReview {
            feedback: " ".to_owned(),
        })
        .await
        .then_expect_error(ReviewError::FeedbackRequired);
}

#[tokio::test]
async fn responding_is_recorded_on_any_status_and_marks_edits() {
    let respond = |text: &str| ReviewCommand::RespondToReview {
        response: text.to_owned(),
        responded_at: at(7, 9),
    };
    let responded = |text: &str, edited: bool| ReviewEvent::VendorResponded {
        response: text.to_owned(),
        responded_at: at(7, 9),
        edited,
    };
    ReviewTest::with(services())
        .given(vec![submitted(None, false), rejected("spam")])
        .when_async(respond("Thank you"))
        .await
        .then_expect_events(vec![responded("Thank you", false)]);
    ReviewTest::with(services())
        .given(vec![submitted(None, false), responded("Thank you", false)])
        .when_async(respond("Thank you!"))
        .await
        .then_expect_events(vec![responded("Thank you!", true)]);
    ReviewTest::with(services())
        .given(vec![submitted(None, false), responded("Thank you", false)])
        .when_async(respond("Thank you"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_response_empty_or_over_5000_characters_is_refused() {
    for (text, error) in [
        (" ".to_owned(), ReviewError::ResponseRequired),
        ("r".repeat(5001), ReviewError::ResponseTooLong),
    ] {
        ReviewTest::with(services())
            .given(vec![submitted(None, false)])
            .when_async(ReviewCommand::RespondToReview {
                response: text,
                responded_at: at(7, 9),
            })
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn every_command_on_a_review_never_submitted_is_not_found() {
    for command in [
        ReviewCommand::ApproveReview,
        ReviewCommand::RejectReview {
            feedback: "spam".to_owned(),
        },
        ReviewCommand::RespondToReview {
            response: "Thanks".to_owned(),
            responded_at: at(7, 9),
        },
    ] {
        ReviewTest::with(services())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(ReviewError::NotFound);
    }
}

#[test]
fn events_are_named_after_their_variant() {
    assert_events_are_named_and_round_trip(&[
        submitted(Some(order()), true),
        ReviewEvent::ReviewApproved,
        rejected("spam"),
        ReviewEvent::VendorResponded {
            response: "r".into(),
            responded_at: at(1, 1),
            edited: false,
        },
    ]);
    assert_eq!(
        serde_json::to_value(ReviewStatus::Approved).unwrap(),
        "approved"
    );
}
