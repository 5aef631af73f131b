#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::services::{CatalogServices, FixedCatalogLookup, InMemoryUniqueKeys};
use crate::values::{Money, Reference, Slug, VatRate};

type ProductTest = TestFramework<Product>;

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn category() -> Uuid {
    Uuid::from_u128(100)
}

fn other_category() -> Uuid {
    Uuid::from_u128(101)
}

fn image(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn rate(s: &str) -> VatRate {
    s.parse().unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::new(s).unwrap()
}

fn reference() -> Reference {
    Reference::new("PN-1234").unwrap()
}

fn lookup() -> FixedCatalogLookup {
    FixedCatalogLookup::new()
        .with_category(category())
        .with_category(other_category())
}

fn services_with(keys: InMemoryUniqueKeys) -> CatalogServices {
    CatalogServices::new(Arc::new(keys), Arc::new(lookup()))
}

fn services() -> CatalogServices {
    services_with(InMemoryUniqueKeys::new())
}

fn create() -> ProductCommand {
    ProductCommand::CreateProduct {
        product_id: id(),
        reference: reference(),
        name: "Pneu Michelin Road 6".to_owned(),
        slug: None,
        description: "Sport touring tyre".to_owned(),
        category_id: category(),
        price_ht: money("89"),
        vat_rate: rate("20"),
        meta_description: "Michelin Road 6 tyre".to_owned(),
    }
}

fn created() -> ProductEvent {
    ProductEvent::ProductCreated {
        product_id: id(),
        reference: reference(),
        name: "Pneu Michelin Road 6".to_owned(),
        slug: slug("pneu-michelin-road-6"),
        description: "Sport touring tyre".to_owned(),
        category_id: category(),
        price_ht: money("89.00"),
        vat_rate: rate("20"),
        meta_description: "Michelin Road 6 tyre".to_owned(),
    }
}

fn image_added(n: u128) -> ProductEvent {
    ProductEvent::ProductImageAdded {
        image_id: image(n),
        key: format!("products/{n}.jpg"),
        thumbnail_key: None,
        alt_text: format!("view {n}"),
    }
}

fn edit(name: &str, category_id: Uuid, meta: &str) -> ProductCommand {
    ProductCommand::EditProductDetails {
        name: name.to_owned(),
        description: "Sport touring tyre".to_owned(),
        category_id,
        meta_description: meta.to_owned(),
    }
}

fn with_create(mutate: impl FnOnce(&mut ProductCommand)) -> ProductCommand {
    let mut command = create();
    mutate(&mut command);
    command
}

// --- creation ---

#[tokio::test]
async fn creating_a_product_derives_its_slug_and_claims_reference_and_slug() {
    let keys = Arc::new(InMemoryUniqueKeys::new());
    ProductTest::with(CatalogServices::new(keys.clone(), Arc::new(lookup())))
        .given_no_previous_events()
        .when_async(create())
        .await
        .then_expect_events(vec![created()]);
    assert_eq!(keys.holder("product_reference", "PN-1234"), Some(id()));
    assert_eq!(
        keys.holder("product_slug", "pneu-michelin-road-6"),
        Some(id())
    );
}

#[tokio::test]
async fn creating_a_product_twice_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(create())
        .await
        .then_expect_error(ProductError::AlreadyExists);
}

#[tokio::test]
async fn a_zero_price_is_refused() {
    let command = with_create(|c| {
        if let ProductCommand::CreateProduct { price_ht, .. } = c {
            *price_ht = Money::zero();
        }
    });
    ProductTest::with(services())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_error(ProductError::PriceNotPositive);
}

#[tokio::test]
async fn a_meta_description_over_160_characters_is_refused() {
    let command = with_create(|c| {
        if let ProductCommand::CreateProduct {
            meta_description, ..
        } = c
        {
            *meta_description = "m".repeat(161);
        }
    });
    ProductTest::with(services())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_error(ProductError::MetaDescriptionTooLong);
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let command = with_create(|c| {
        if let ProductCommand::CreateProduct { name, .. } = c {
            *name = " ".to_owned();
        }
    });
    ProductTest::with(services())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_error(ProductError::NameEmpty);
}

#[tokio::test]
async fn a_name_over_200_characters_is_refused() {
    let command = with_create(|c| {
        if let ProductCommand::CreateProduct { name, .. } = c {
            *name = "n".repeat(201);
        }
    });
    ProductTest::with(services())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_error(ProductError::NameTooLong);
}

#[tokio::test]
async fn an_unknown_category_is_refused() {
    let command = with_create(|c| {
        if let ProductCommand::CreateProduct { category_id, .. } = c {
            *category_id = Uuid::from_u128(999);
        }
    });
    ProductTest::with(services())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_error(ProductError::CategoryNotFound(Uuid::from_u128(999)));
}

#[tokio::test]
async fn a_reference_held_by_another_product_is_refused() {
    let keys =
        InMemoryUniqueKeys::new().with_claim("product_reference", "PN-1234", Uuid::from_u128(9));
    ProductTest::with(services_with(keys))
        .given_no_previous_events()
        .when_async(create())
        .await
        .then_expect_error(ProductError::ReferenceTaken(reference()));
}

#[tokio::test]
async fn a_slug_held_by_another_product_is_refused_and_frees_the_reference() {
    let keys = Arc::new(InMemoryUniqueKeys::new().with_claim(
        "product_slug",
        "pneu-michelin-road-6",
        Uuid::from_u128(9),
    ));
    ProductTest::with(CatalogServices::new(keys.clone(), Arc::new(lookup())))
        .given_no_previous_events()
        .when_async(create())
        .await
        .then_expect_error(ProductError::SlugTaken(slug("pneu-michelin-road-6")));
    assert_eq!(keys.holder("product_reference", "PN-1234"), None);
}

// --- details, price, VAT, slug ---

#[tokio::test]
async fn editing_details_is_recorded() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(edit("Pneu Road 6", other_category(), "New meta"))
        .await
        .then_expect_events(vec![ProductEvent::ProductDetailsEdited {
            name: "Pneu Road 6".to_owned(),
            description: "Sport touring tyre".to_owned(),
            category_id: other_category(),
            meta_description: "New meta".to_owned(),
        }]);
}

#[tokio::test]
async fn editing_nothing_records_nothing() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(edit(
            "Pneu Michelin Road 6",
            category(),
            "Michelin Road 6 tyre",
        ))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn moving_to_an_unknown_category_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(edit("Pneu", Uuid::from_u128(999), ""))
        .await
        .then_expect_error(ProductError::CategoryNotFound(Uuid::from_u128(999)));
}

#[tokio::test]
async fn editing_with_invalid_fields_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(edit("", category(), ""))
        .await
        .then_expect_error(ProductError::NameEmpty);
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(edit("Pneu", category(), &"m".repeat(161)))
        .await
        .then_expect_error(ProductError::MetaDescriptionTooLong);
}

#[tokio::test]
async fn changing_the_price_records_the_previous_one() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductPrice {
            price_ht: money("79.90"),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductPriceChanged {
            price_ht: money("79.90"),
            previous: money("89.00"),
        }]);
}

#[tokio::test]
async fn the_same_price_records_nothing_and_a_zero_price_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductPrice {
            price_ht: money("89"),
        })
        .await
        .then_expect_events(vec![]);
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductPrice {
            price_ht: Money::zero(),
        })
        .await
        .then_expect_error(ProductError::PriceNotPositive);
}

#[tokio::test]
async fn changing_the_vat_rate_records_the_previous_one() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductVatRate {
            vat_rate: rate("5.5"),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductVatRateChanged {
            vat_rate: rate("5.5"),
            previous: rate("20"),
        }]);
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductVatRate {
            vat_rate: rate("20.00"),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn changing_the_slug_remembers_the_old_one_and_frees_it() {
    let keys = Arc::new(InMemoryUniqueKeys::new().with_claim(
        "product_slug",
        "pneu-michelin-road-6",
        id(),
    ));
    ProductTest::with(CatalogServices::new(keys.clone(), Arc::new(lookup())))
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductSlug {
            slug: slug("road-6"),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductSlugChanged {
            slug: slug("road-6"),
            previous: slug("pneu-michelin-road-6"),
        }]);
    assert_eq!(keys.holder("product_slug", "pneu-michelin-road-6"), None);
    assert_eq!(keys.holder("product_slug", "road-6"), Some(id()));

    let mut product = Product::default();
    product.apply(created());
    product.apply(ProductEvent::ProductSlugChanged {
        slug: slug("road-6"),
        previous: slug("pneu-michelin-road-6"),
    });
    assert_eq!(product.previous_slugs(), &[slug("pneu-michelin-road-6")]);
}

#[tokio::test]
async fn the_same_slug_records_nothing_and_a_taken_one_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductSlug {
            slug: slug("pneu-michelin-road-6"),
        })
        .await
        .then_expect_events(vec![]);
    let keys = InMemoryUniqueKeys::new().with_claim("product_slug", "road-6", Uuid::from_u128(9));
    ProductTest::with(services_with(keys))
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductSlug {
            slug: slug("road-6"),
        })
        .await
        .then_expect_error(ProductError::SlugTaken(slug("road-6")));
}

// --- publication and archiving ---

#[tokio::test]
async fn publishing_a_draft_is_recorded_once() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::PublishProduct)
        .await
        .then_expect_events(vec![ProductEvent::ProductPublished]);
    ProductTest::with(services())
        .given(vec![created(), ProductEvent::ProductPublished])
        .when_async(ProductCommand::PublishProduct)
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn unpublishing_a_published_product_is_recorded_once() {
    ProductTest::with(services())
        .given(vec![created(), ProductEvent::ProductPublished])
        .when_async(ProductCommand::UnpublishProduct)
        .await
        .then_expect_events(vec![ProductEvent::ProductUnpublished]);
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::UnpublishProduct)
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn archiving_a_draft_is_recorded() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ArchiveProduct)
        .await
        .then_expect_events(vec![ProductEvent::ProductArchived]);
}

#[tokio::test]
async fn archiving_a_published_product_unpublishes_it_first() {
    ProductTest::with(services())
        .given(vec![created(), ProductEvent::ProductPublished])
        .when_async(ProductCommand::ArchiveProduct)
        .await
        .then_expect_events(vec![
            ProductEvent::ProductUnpublished,
            ProductEvent::ProductArchived,
        ]);
}

#[tokio::test]
async fn archiving_twice_is_refused() {
    ProductTest::with(services())
        .given(vec![created(), ProductEvent::ProductArchived])
        .when_async(ProductCommand::ArchiveProduct)
        .await
        .then_expect_error(ProductError::AlreadyArchived);
}

fn every_command_but_create() -> Vec<ProductCommand> {
    vec![
        edit("Pneu", category(), ""),
        ProductCommand::ChangeProductPrice {
            price_ht: money("1"),
        },
        ProductCommand::ChangeProductVatRate {
            vat_rate: rate("10"),
        },
        ProductCommand::ChangeProductSlug { slug: slug("x") },
        ProductCommand::PublishProduct,
        ProductCommand::UnpublishProduct,
        ProductCommand::AddProductImage {
            image_id: image(1),
            key: "k".to_owned(),
            thumbnail_key: None,
            alt_text: None,
        },
        ProductCommand::RemoveProductImage { image_id: image(1) },
        ProductCommand::ReorderProductImages { image_ids: vec![] },
        ProductCommand::ChangeProductImageAltText {
            image_id: image(1),
            alt_text: "a".to_owned(),
        },
    ]
}

#[tokio::test]
async fn an_archived_product_refuses_every_command() {
    for command in every_command_but_create() {
        ProductTest::with(services())
            .given(vec![created(), ProductEvent::ProductArchived])
            .when_async(command)
            .await
            .then_expect_error(ProductError::Archived);
    }
}

#[tokio::test]
async fn every_command_on_a_product_never_created_is_not_found() {
    let mut commands = every_command_but_create();
    commands.push(ProductCommand::ArchiveProduct);
    for command in commands {
        ProductTest::with(services())
            .given_no_previous_events()
            .when_async(command)
            .await
            .then_expect_error(ProductError::NotFound);
    }
}

// --- images ---

#[tokio::test]
async fn adding_an_image_without_alt_text_uses_the_product_name() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::AddProductImage {
            image_id: image(1),
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: Some("  ".to_owned()),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductImageAdded {
            image_id: image(1),
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: "Pneu Michelin Road 6".to_owned(),
        }]);
}

#[tokio::test]
async fn adding_an_image_keeps_its_alt_text() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::AddProductImage {
            image_id: image(1),
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: Some("view 1".to_owned()),
        })
        .await
        .then_expect_events(vec![image_added(1)]);
}

#[tokio::test]
async fn adding_the_same_image_again_records_nothing_but_reusing_its_id_is_refused() {
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::AddProductImage {
            image_id: image(1),
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: None,
        })
        .await
        .then_expect_events(vec![]);
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::AddProductImage {
            image_id: image(1),
            key: "products/other.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: None,
        })
        .await
        .then_expect_error(ProductError::ImageAlreadyAdded(image(1)));
}

#[tokio::test]
async fn an_image_without_a_key_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::AddProductImage {
            image_id: image(1),
            key: " ".to_owned(),
            thumbnail_key: None,
            alt_text: None,
        })
        .await
        .then_expect_error(ProductError::ImageKeyEmpty);
}

#[tokio::test]
async fn removing_an_image_names_its_key() {
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::RemoveProductImage { image_id: image(1) })
        .await
        .then_expect_events(vec![ProductEvent::ProductImageRemoved {
            image_id: image(1),
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
        }]);
}

#[tokio::test]
async fn removing_an_unknown_image_is_refused() {
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::RemoveProductImage { image_id: image(1) })
        .await
        .then_expect_error(ProductError::ImageNotFound(image(1)));
}

#[tokio::test]
async fn reordering_images_is_recorded_and_applied() {
    let given = vec![created(), image_added(1), image_added(2), image_added(3)];
    let order = vec![image(3), image(1), image(2)];
    ProductTest::with(services())
        .given(given.clone())
        .when_async(ProductCommand::ReorderProductImages {
            image_ids: order.clone(),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductImagesReordered {
            image_ids: order.clone(),
        }]);
    let mut product = Product::default();
    for event in given {
        product.apply(event);
    }
    product.apply(ProductEvent::ProductImagesReordered {
        image_ids: order.clone(),
    });
    let ids: Vec<Uuid> = product.images().iter().map(|i| i.image_id).collect();
    assert_eq!(ids, order);
}

#[tokio::test]
async fn reordering_into_the_current_order_records_nothing() {
    ProductTest::with(services())
        .given(vec![created(), image_added(1), image_added(2)])
        .when_async(ProductCommand::ReorderProductImages {
            image_ids: vec![image(1), image(2)],
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_reorder_that_is_not_a_permutation_is_refused() {
    for image_ids in [
        vec![image(1)],
        vec![image(1), image(1)],
        vec![image(1), image(2), image(3)],
        vec![image(1), image(9)],
    ] {
        ProductTest::with(services())
            .given(vec![created(), image_added(1), image_added(2)])
            .when_async(ProductCommand::ReorderProductImages { image_ids })
            .await
            .then_expect_error(ProductError::ImageOrderMismatch);
    }
}

#[tokio::test]
async fn changing_an_alt_text_is_recorded() {
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::ChangeProductImageAltText {
            image_id: image(1),
            alt_text: "Side view".to_owned(),
        })
        .await
        .then_expect_events(vec![ProductEvent::ProductImageAltTextChanged {
            image_id: image(1),
            alt_text: "Side view".to_owned(),
        }]);
}

#[tokio::test]
async fn an_alt_text_change_is_refused_when_empty_or_for_an_unknown_image() {
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::ChangeProductImageAltText {
            image_id: image(1),
            alt_text: " ".to_owned(),
        })
        .await
        .then_expect_error(ProductError::AltTextEmpty);
    ProductTest::with(services())
        .given(vec![created()])
        .when_async(ProductCommand::ChangeProductImageAltText {
            image_id: image(1),
            alt_text: "x".to_owned(),
        })
        .await
        .then_expect_error(ProductError::ImageNotFound(image(1)));
    ProductTest::with(services())
        .given(vec![created(), image_added(1)])
        .when_async(ProductCommand::ChangeProductImageAltText {
            image_id: image(1),
            alt_text: "view 1".to_owned(),
        })
        .await
        .then_expect_events(vec![]);
}

#[test]
fn getters_reflect_the_events() {
    let mut product = Product::default();
    assert!(!product.exists());
    product.apply(created());
    product.apply(ProductEvent::ProductPublished);
    assert!(product.exists());
    assert!(product.is_published());
    assert_eq!(product.reference(), Some(&reference()));
    assert_eq!(product.name(), "Pneu Michelin Road 6");
    assert_eq!(product.price_ht(), money("89"));
    assert_eq!(product.vat_rate(), rate("20"));
    assert_eq!(product.status(), ProductStatus::Published);
}

#[test]
fn events_are_named_after_their_variant() {
    crate::test_support::assert_events_are_named_and_round_trip(&[
        created(),
        ProductEvent::ProductDetailsEdited {
            name: "n".into(),
            description: "d".into(),
            category_id: category(),
            meta_description: "m".into(),
        },
        ProductEvent::ProductPriceChanged {
            price_ht: money("1"),
            previous: money("2"),
        },
        ProductEvent::ProductVatRateChanged {
            vat_rate: rate("5.5"),
            previous: rate("20"),
        },
        ProductEvent::ProductSlugChanged {
            slug: slug("a"),
            previous: slug("b"),
        },
        ProductEvent::ProductPublished,
        ProductEvent::ProductUnpublished,
        ProductEvent::ProductArchived,
        image_added(1),
        ProductEvent::ProductImageRemoved {
            image_id: image(1),
            key: "k".into(),
            thumbnail_key: None,
        },
        ProductEvent::ProductImagesReordered {
            image_ids: vec![image(1)],
        },
        ProductEvent::ProductImageAltTextChanged {
            image_id: image(1),
            alt_text: "a".into(),
        },
    ]);
}

#[test]
fn money_and_rates_are_stored_as_strings() {
    let json = serde_json::to_value(created()).unwrap();
    assert_eq!(json["ProductCreated"]["price_ht"], "89.00");
    assert_eq!(json["ProductCreated"]["vat_rate"], "20");
    assert_eq!(json["ProductCreated"]["reference"], "PN-1234");
}

#[test]
fn image_events_stored_before_thumbnail_keys_still_decode() {
    let image_id = image(1);
    let added = serde_json::json!({
        "ProductImageAdded": { "image_id": image_id, "key": "products/1.jpg", "alt_text": "vue" }
    });
    let event: ProductEvent = serde_json::from_value(added).unwrap();
    assert_eq!(
        event,
        ProductEvent::ProductImageAdded {
            image_id,
            key: "products/1.jpg".to_owned(),
            thumbnail_key: None,
            alt_text: "vue".to_owned(),
        }
    );
    let removed = serde_json::json!({
        "ProductImageRemoved": { "image_id": image_id, "key": "products/1.jpg" }
    });
    let event: ProductEvent = serde_json::from_value(removed).unwrap();
    assert!(matches!(
        event,
        ProductEvent::ProductImageRemoved {
            thumbnail_key: None,
            ..
        }
    ));
}

#[tokio::test]
async fn removing_an_image_names_its_thumbnail_too() {
    ProductTest::with(services())
        .given(vec![
            created(),
            ProductEvent::ProductImageAdded {
                image_id: image(1),
                key: "images/a.jpg".to_owned(),
                thumbnail_key: Some("images/b.jpg".to_owned()),
                alt_text: "vue".to_owned(),
            },
        ])
        .when_async(ProductCommand::RemoveProductImage { image_id: image(1) })
        .await
        .then_expect_events(vec![ProductEvent::ProductImageRemoved {
            image_id: image(1),
            key: "images/a.jpg".to_owned(),
            thumbnail_key: Some("images/b.jpg".to_owned()),
        }]);
}
