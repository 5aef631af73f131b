#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::services::{
    CatalogServices, FailingServices, FixedCatalogLookup, InMemoryUniqueKeys, ServiceError,
};
use crate::values::{Slug, SlugError};

type CategoryTest = TestFramework<Category>;

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn slug(s: &str) -> Slug {
    Slug::new(s).unwrap()
}

fn services_with(keys: Arc<InMemoryUniqueKeys>, lookup: FixedCatalogLookup) -> CatalogServices {
    CatalogServices::new(keys, Arc::new(lookup))
}

fn services() -> CatalogServices {
    services_with(
        Arc::new(InMemoryUniqueKeys::new()),
        FixedCatalogLookup::new(),
    )
}

fn create(name: &str, given_slug: Option<Slug>) -> CategoryCommand {
    CategoryCommand::CreateCategory {
        category_id: id(),
        name: name.to_owned(),
        slug: given_slug,
        description: "Tyres for every bike".to_owned(),
    }
}

fn created() -> CategoryEvent {
    CategoryEvent::CategoryCreated {
        category_id: id(),
        name: "Pneus & Chambres à air".to_owned(),
        slug: slug("pneus-chambres-a-air"),
        description: "Tyres for every bike".to_owned(),
    }
}

#[tokio::test]
async fn creating_a_category_derives_its_slug_from_the_name() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(create("  Pneus & Chambres à air ", None))
        .await
        .then_expect_events(vec![created()]);
}

#[tokio::test]
async fn creating_a_category_keeps_a_given_slug() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(create("Batteries", Some(slug("batteries-moto"))))
        .await
        .then_expect_events(vec![CategoryEvent::CategoryCreated {
            category_id: id(),
            name: "Batteries".to_owned(),
            slug: slug("batteries-moto"),
            description: "Tyres for every bike".to_owned(),
        }]);
}

#[tokio::test]
async fn creating_a_category_claims_its_name_and_slug() {
    let keys = Arc::new(InMemoryUniqueKeys::new());
    CategoryTest::with(services_with(keys.clone(), FixedCatalogLookup::new()))
        .given_no_previous_events()
        .when_async(create("Pneus & Chambres à air", None))
        .await
        .then_expect_events(vec![created()]);
    assert_eq!(
        keys.holder("category_name", "pneus & chambres à air"),
        Some(id())
    );
    assert_eq!(
        keys.holder("category_slug", "pneus-chambres-a-air"),
        Some(id())
    );
}

#[tokio::test]
async fn creating_a_category_twice_is_refused() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(create("Other", None))
        .await
        .then_expect_error(CategoryError::AlreadyExists);
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(create("   ", None))
        .await
        .then_expect_error(CategoryError::NameEmpty);
}

#[tokio::test]
async fn a_name_over_100_characters_is_refused() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(create(&"é".repeat(101), None))
        .await
        .then_expect_error(CategoryError::NameTooLong);
}

#[tokio::test]
async fn a_description_over_5000_characters_is_refused() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(CategoryCommand::CreateCategory {
            category_id: id(),
            name: "Batteries".to_owned(),
            slug: None,
            description: "x".repeat(5001),
        })
        .await
        .then_expect_error(CategoryError::DescriptionTooLong);
}

#[tokio::test]
async fn a_name_without_letters_or_digits_cannot_make_a_slug() {
    CategoryTest::with(services())
        .given_no_previous_events()
        .when_async(create("&&&", None))
        .await
        .then_expect_error(CategoryError::InvalidSlug(SlugError::NoLettersOrDigits));
}

#[tokio::test]
async fn a_name_taken_by_another_category_is_refused_whatever_its_case() {
    let keys =
        InMemoryUniqueKeys::new().with_claim("category_name", "batteries", Uuid::from_u128(9));
    CategoryTest::with(services_with(Arc::new(keys), FixedCatalogLookup::new()))
        .given_no_previous_events()
        .when_async(create("BATTERIES", None))
        .await
        .then_expect_error(CategoryError::NameTaken("BATTERIES".to_owned()));
}

#[tokio::test]
async fn a_slug_taken_by_another_category_is_refused_and_frees_the_name() {
    let keys = Arc::new(InMemoryUniqueKeys::new().with_claim(
        "category_slug",
        "batteries",
        Uuid::from_u128(9),
    ));
    CategoryTest::with(services_with(keys.clone(), FixedCatalogLookup::new()))
        .given_no_previous_events()
        .when_async(create("Batteries", None))
        .await
        .then_expect_error(CategoryError::SlugTaken(slug("batteries")));
    assert_eq!(keys.holder("category_name", "batteries"), None);
}

#[tokio::test]
async fn an_unavailable_key_service_is_reported() {
    let failing = Arc::new(FailingServices("database down".to_owned()));
    CategoryTest::with(CatalogServices::new(failing.clone(), failing))
        .given_no_previous_events()
        .when_async(create("Batteries", None))
        .await
        .then_expect_error(CategoryError::Service(ServiceError(
            "database down".to_owned(),
        )));
}

#[tokio::test]
async fn renaming_records_the_previous_name_and_frees_it() {
    let keys = Arc::new(InMemoryUniqueKeys::new().with_claim(
        "category_name",
        "pneus & chambres à air",
        id(),
    ));
    CategoryTest::with(services_with(keys.clone(), FixedCatalogLookup::new()))
        .given(vec![created()])
        .when_async(CategoryCommand::RenameCategory {
            name: "Pneus".to_owned(),
        })
        .await
        .then_expect_events(vec![CategoryEvent::CategoryRenamed {
            name: "Pneus".to_owned(),
            previous: "Pneus & Chambres à air".to_owned(),
        }]);
    assert_eq!(keys.holder("category_name", "pneus"), Some(id()));
    assert_eq!(keys.holder("category_name", "pneus & chambres à air"), None);
}

#[tokio::test]
async fn renaming_to_the_same_name_records_nothing() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::RenameCategory {
            name: " Pneus & Chambres à air ".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn renaming_only_the_case_is_allowed_without_a_new_claim() {
    let keys =
        InMemoryUniqueKeys::new().with_claim("category_name", "pneus & chambres à air", id());
    CategoryTest::with(services_with(Arc::new(keys), FixedCatalogLookup::new()))
        .given(vec![created()])
        .when_async(CategoryCommand::RenameCategory {
            name: "PNEUS & Chambres à air".to_owned(),
        })
        .await
        .then_expect_events(vec![CategoryEvent::CategoryRenamed {
            name: "PNEUS & Chambres à air".to_owned(),
            previous: "Pneus & Chambres à air".to_owned(),
        }]);
}

#[tokio::test]
async fn renaming_to_a_taken_name_is_refused() {
    let keys =
        InMemoryUniqueKeys::new().with_claim("category_name", "batteries", Uuid::from_u128(9));
    CategoryTest::with(services_with(Arc::new(keys), FixedCatalogLookup::new()))
        .given(vec![created()])
        .when_async(CategoryCommand::RenameCategory {
            name: "Batteries".to_owned(),
        })
        .await
        .then_expect_error(CategoryError::NameTaken("Batteries".to_owned()));
}

#[tokio::test]
async fn renaming_to_an_empty_name_is_refused() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::RenameCategory {
            name: String::new(),
        })
        .await
        .then_expect_error(CategoryError::NameEmpty);
}

#[tokio::test]
async fn changing_the_slug_records_the_previous_one_and_frees_it() {
    let keys = Arc::new(InMemoryUniqueKeys::new().with_claim(
        "category_slug",
        "pneus-chambres-a-air",
        id(),
    ));
    CategoryTest::with(services_with(keys.clone(), FixedCatalogLookup::new()))
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategorySlug {
            slug: slug("pneus"),
        })
        .await
        .then_expect_events(vec![CategoryEvent::CategorySlugChanged {
            slug: slug("pneus"),
            previous: slug("pneus-chambres-a-air"),
        }]);
    assert_eq!(keys.holder("category_slug", "pneus-chambres-a-air"), None);
    assert_eq!(keys.holder("category_slug", "pneus"), Some(id()));
}

#[tokio::test]
async fn changing_to_the_same_slug_records_nothing() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategorySlug {
            slug: slug("pneus-chambres-a-air"),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn changing_to_a_taken_slug_is_refused() {
    let keys = InMemoryUniqueKeys::new().with_claim("category_slug", "pneus", Uuid::from_u128(9));
    CategoryTest::with(services_with(Arc::new(keys), FixedCatalogLookup::new()))
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategorySlug {
            slug: slug("pneus"),
        })
        .await
        .then_expect_error(CategoryError::SlugTaken(slug("pneus")));
}

#[tokio::test]
async fn changing_the_description_is_recorded() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategoryDescription {
            description: "Road and trail tyres".to_owned(),
        })
        .await
        .then_expect_events(vec![CategoryEvent::CategoryDescriptionChanged {
            description: "Road and trail tyres".to_owned(),
        }]);
}

#[tokio::test]
async fn an_unchanged_description_records_nothing() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategoryDescription {
            description: "Tyres for every bike".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_new_description_over_5000_characters_is_refused() {
    CategoryTest::with(services())
        .given(vec![created()])
        .when_async(CategoryCommand::ChangeCategoryDescription {
            description: "x".repeat(5001),
        })
        .await
        .then_expect_error(CategoryError::DescriptionTooLong);
}

#[tokio::test]
async fn deleting_an_empty_category_frees_its_name_and_slug() {
    let keys = Arc::new(
        InMemoryUniqueKeys::new()
            .with_claim("category_name", "pneus & chambres à air", id())
            .with_claim("category_slug", "pneus-chambres-a-air", id()),
    );
    CategoryTest::with(services_with(
        keys.clone(),
        FixedCatalogLookup::new().with_category(id()),
    ))
    .given(vec![created()])
    .when_async(CategoryCommand::DeleteCategory)
    .await
    .then_expect_events(vec![CategoryEvent::CategoryDeleted]);
    assert_eq!(keys.holder("category_name", "pneus & chambres à air"), None);
    assert_eq!(keys.holder("category_slug", "pneus-chambres-a-air"), None);
}

#[tokio::test]
async fn deleting_a_category_that_holds_products_is_refused_with_the_count() {
    let lookup = FixedCatalogLookup::new().with_products(id(), 3);
    CategoryTest::with(services_with(Arc::new(InMemoryUniqueKeys::new()), lookup))
        .given(vec![created()])
        .when_async(CategoryCommand::DeleteCategory)
        .await
        .then_expect_error(CategoryError::HasProducts { count: 3 });
}

#[tokio::test]
async fn every_command_on_a_deleted_category_is_refused() {
    for command in [
        CategoryCommand::RenameCategory {
            name: "New".to_owned(),
        },
        CategoryCommand::ChangeCategorySlug { slug: slug("new") },
        CategoryCommand::ChangeCategoryDescription {
            description: "New".to_owned(),
        },
        CategoryCommand::DeleteCategory,
    ] {
        CategoryTest::with(services())
            .given(vec![created(), CategoryEvent::CategoryDeleted])
            .when_async(command)
            .await
            .then_expect_error(CategoryError::Deleted);
    }
}

#[tokio::test]
async fn every_command_on_a_category_never_created_is_not_found() {
    for command in [
        CategoryCommand::RenameCategory {
            name: "New".to_owned(),
        },
        CategoryCommand::ChangeCategorySlug { slug: slug("new") },
        CategoryCommand::ChangeCategoryDescription {
            description: "New".to_owned(),
        },
        CategoryCommand::DeleteCategory,
    ] {
        CategoryTest::with(services())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(CategoryError::NotFound);
    }
}

#[test]
fn events_are_named_after_their_variant() {
    crate::test_support::assert_events_are_named_and_round_trip(&[
        created(),
        CategoryEvent::CategoryRenamed {
            name: "a".into(),
            previous: "b".into(),
        },
        CategoryEvent::CategorySlugChanged {
            slug: slug("a"),
            previous: slug("b"),
        },
        CategoryEvent::CategoryDescriptionChanged {
            description: "d".into(),
        },
        CategoryEvent::CategoryDeleted,
    ]);
}
