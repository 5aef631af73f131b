#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::services::{FailingServices, FixedSales, ShopSettingsServices};
use crate::test_support::assert_events_are_named_and_round_trip;
use crate::values::{Currency, Email, Money, Siren, Siret, VatNumber, VatRate, WebOrigin};

type SettingsTest = TestFramework<ShopSettings>;

fn services(orders: u64) -> ShopSettingsServices {
    ShopSettingsServices::new(Arc::new(FixedSales(orders)))
}

fn given_settings(
    events: Vec<ShopSettingsEvent>,
) -> cqrs_es::test::AggregateTestExecutor<ShopSettings> {
    SettingsTest::with(services(0)).given(events)
}

fn identity() -> LegalIdentity {
    LegalIdentity {
        company_name: " Moto Pièces Lyon ".to_owned(),
        legal_form: "SARL".to_owned(),
        share_capital: Some(Money::new(Decimal::new(10_000, 0)).unwrap()),
        address: PostalAddress {
            street: "12 rue des Artisans".to_owned(),
            postal_code: "69007".to_owned(),
            city: "Lyon".to_owned(),
            country: "France".to_owned(),
        },
        siren: Siren::new("732829320").unwrap(),
        siret: Siret::new("73282932000074").unwrap(),
        rcs_city: Some("Lyon".to_owned()),
        vat_number: Some(VatNumber::new("FR44732829320").unwrap()),
        email: Email::new("contact@moto-pieces.fr").unwrap(),
        phone: None,
    }
}

fn trimmed(mut identity: LegalIdentity) -> LegalIdentity {
    identity.company_name = identity.company_name.trim().to_owned();
    identity
}

fn rate(text: &str) -> VatRate {
    text.parse().unwrap()
}

fn location(id: u128, name: &str) -> PickupLocation {
    PickupLocation {
        location_id: Uuid::from_u128(id),
        name: name.to_owned(),
        address: "12 rue des Artisans, 69007 Lyon".to_owned(),
        opening_hours: "Tue-Sat 9:00-18:00".to_owned(),
    }
}

fn add(id: u128, name: &str) -> ShopSettingsCommand {
    let l = location(id, name);
    ShopSettingsCommand::AddPickupLocation {
        location_id: l.location_id,
        name: l.name,
        address: l.address,
        opening_hours: l.opening_hours,
    }
}

#[test]
fn a_new_shop_offers_the_french_vat_rates_in_euros() {
    let settings = ShopSettings::default();
    assert_eq!(
        settings.vat_rates(),
        &[rate("20"), rate("10"), rate("5.5"), rate("2.1")]
    );
    assert_eq!(settings.default_vat_rate(), rate("20"));
    assert_eq!(settings.currency(), &Currency::euro());
    assert!(settings.identity().is_none());
}

#[test]
fn setting_the_legal_identity_records_it_trimmed_with_nothing_before() {
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeLegalIdentity {
            identity: Box::new(identity()),
        })
        .then_expect_events(vec![ShopSettingsEvent::LegalIdentityChanged {
            identity: Box::new(trimmed(identity())),
            previous: None,
        }]);
}

#[test]
fn changing_the_identity_carries_the_previous_one_and_an_unchanged_one_writes_nothing() {
    let first = ShopSettingsEvent::LegalIdentityChanged {
        identity: Box::new(trimmed(identity())),
        previous: None,
    };
    given_settings(vec![first.clone()])
        .when(ShopSettingsCommand::ChangeLegalIdentity {
            identity: Box::new(identity()),
        })
        .then_expect_events(vec![]);
    let mut moved = identity();
    moved.address.city = "Villeurbanne".to_owned();
    given_settings(vec![first])
        .when(ShopSettingsCommand::ChangeLegalIdentity {
            identity: Box::new(moved.clone()),
        })
        .then_expect_events(vec![ShopSettingsEvent::LegalIdentityChanged {
            identity: Box::new(trimmed(moved)),
            previous: Some(Box::new(trimmed(identity()))),
        }]);
}

#[test]
fn an_identity_names_the_field_that_is_wrong() {
    type Change = Box<dyn Fn(&mut LegalIdentity)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|i| i.company_name = "  ".into()), "company_name"),
        (Box::new(|i| i.address.postal_code.clear()), "postal_code"),
        (Box::new(|i| i.share_capital = None), "share_capital"),
        (
            Box::new(|i| i.siret = Siret::new("35600000000001").unwrap()),
            "siret",
        ),
        (
            Box::new(|i| i.vat_number = Some(VatNumber::new("FR40303265045").unwrap())),
            "vat_number",
        ),
        (Box::new(|i| i.legal_form = "x".repeat(101)), "legal_form"),
    ];
    for (change, field) in cases {
        let mut wrong = identity();
        change(&mut wrong);
        let error = given_settings(vec![])
            .when(ShopSettingsCommand::ChangeLegalIdentity {
                identity: Box::new(wrong),
            })
            .inspect_result()
            .unwrap_err();
        assert_eq!(error.field(), Some(field), "{error}");
    }
}

#[test]
fn a_sole_trader_states_no_share_capital() {
    let mut sole = identity();
    sole.legal_form = "EI".to_owned();
    sole.share_capital = None;
    sole.rcs_city = Some(" ".to_owned());
    let mut expected = trimmed(sole.clone());
    expected.rcs_city = None;
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeLegalIdentity {
            identity: Box::new(sole),
        })
        .then_expect_events(vec![ShopSettingsEvent::LegalIdentityChanged {
            identity: Box::new(expected),
            previous: None,
        }]);
}

#[test]
fn pickup_locations_are_added_changed_and_removed_by_id_with_unique_names() {
    let added = ShopSettingsEvent::PickupLocationAdded {
        location: location(1, "Atelier Lyon 7e"),
    };
    given_settings(vec![])
        .when(add(1, " Atelier Lyon 7e "))
        .then_expect_events(vec![added.clone()]);
    given_settings(vec![added.clone()])
        .when(add(2, "atelier lyon 7E"))
        .then_expect_error(ShopSettingsError::PickupNameTaken("atelier lyon 7E".into()));
    given_settings(vec![added.clone()])
        .when(add(1, "Another"))
        .then_expect_error(ShopSettingsError::PickupExists);
    given_settings(vec![added.clone()])
        .when(ShopSettingsCommand::ChangePickupLocation {
            location_id: Uuid::from_u128(1),
            name: "Atelier Lyon".into(),
            address: location(1, "").address,
            opening_hours: "Mon-Sat 8:00-19:00".into(),
        })
        .then_expect_events(vec![ShopSettingsEvent::PickupLocationChanged {
            location: PickupLocation {
                name: "Atelier Lyon".into(),
                opening_hours: "Mon-Sat 8:00-19:00".into(),
                ..location(1, "")
            },
            previous: location(1, "Atelier Lyon 7e"),
        }]);
    given_settings(vec![added.clone()])
        .when(ShopSettingsCommand::RemovePickupLocation {
            location_id: Uuid::from_u128(1),
        })
        .then_expect_events(vec![ShopSettingsEvent::PickupLocationRemoved {
            location_id: Uuid::from_u128(1),
            name: "Atelier Lyon 7e".into(),
        }]);
    given_settings(vec![
        added,
        ShopSettingsEvent::PickupLocationRemoved {
            location_id: Uuid::from_u128(1),
            name: "Atelier Lyon 7e".into(),
        },
    ])
    .when(ShopSettingsCommand::RemovePickupLocation {
        location_id: Uuid::from_u128(1),
    })
    .then_expect_error(ShopSettingsError::PickupNotFound);
    let error = given_settings(vec![])
        .when(add(3, ""))
        .inspect_result()
        .unwrap_err();
    assert_eq!(error.field(), Some("name"));
}

#[test]
fn vat_rates_are_sorted_deduplicated_and_include_the_default() {
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeVatRates {
            offered: vec![rate("5.5"), rate("20"), rate("5.50")],
            default_rate: rate("5.5"),
        })
        .then_expect_events(vec![ShopSettingsEvent::VatRatesChanged {
            offered: vec![rate("20"), rate("5.5")],
            default_rate: rate("5.5"),
            previous_offered: vec![rate("20"), rate("10"), rate("5.5"), rate("2.1")],
            previous_default: rate("20"),
        }]);
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeVatRates {
            offered: vec![rate("20")],
            default_rate: rate("10"),
        })
        .then_expect_error(ShopSettingsError::DefaultVatNotOffered);
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeVatRates {
            offered: vec![],
            default_rate: rate("20"),
        })
        .then_expect_error(ShopSettingsError::NoVatRate);
}

#[test]
fn the_currency_changes_only_before_the_first_order() {
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeCurrency {
            currency: Currency::new("CHF").unwrap(),
        })
        .then_expect_events(vec![ShopSettingsEvent::CurrencyChanged {
            currency: Currency::new("CHF").unwrap(),
            previous: Currency::euro(),
        }]);
    SettingsTest::with(services(3))
        .given_no_previous_events()
        .when(ShopSettingsCommand::ChangeCurrency {
            currency: Currency::new("CHF").unwrap(),
        })
        .then_expect_error(ShopSettingsError::CurrencyLocked(3));
    // Saying the same currency again needs no question to the read side.
    SettingsTest::with(ShopSettingsServices::new(Arc::new(FailingServices(
        "down".into(),
    ))))
    .given_no_previous_events()
    .when(ShopSettingsCommand::ChangeCurrency {
        currency: Currency::euro(),
    })
    .then_expect_events(vec![]);
}

#[test]
fn cors_origins_are_kept_once_each() {
    let origin = |o: &str| WebOrigin::new(o).unwrap();
    given_settings(vec![])
        .when(ShopSettingsCommand::ChangeCorsOrigins {
            origins: vec![
                origin("https://shop.example.fr"),
                origin("HTTPS://shop.example.fr/"),
                origin("http://localhost:5173"),
            ],
        })
        .then_expect_events(vec![ShopSettingsEvent::CorsOriginsChanged {
            origins: vec![
                origin("https://shop.example.fr"),
                origin("http://localhost:5173"),
            ],
            previous: vec![],
        }]);
}

#[test]
fn events_are_named_after_their_variant_and_round_trip() {
    assert_events_are_named_and_round_trip(&[
        ShopSettingsEvent::LegalIdentityChanged {
            identity: Box::new(identity()),
            previous: Some(Box::new(identity())),
        },
        ShopSettingsEvent::PickupLocationAdded {
            location: location(1, "A"),
        },
        ShopSettingsEvent::PickupLocationChanged {
            location: location(1, "B"),
            previous: location(1, "A"),
        },
        ShopSettingsEvent::PickupLocationRemoved {
            location_id: Uuid::from_u128(1),
            name: "B".into(),
        },
        ShopSettingsEvent::VatRatesChanged {
            offered: vec![rate("20")],
            default_rate: rate("20"),
            previous_offered: vec![rate("10")],
            previous_default: rate("10"),
        },
        ShopSettingsEvent::CurrencyChanged {
            currency: Currency::euro(),
            previous: Currency::new("USD").unwrap(),
        },
        ShopSettingsEvent::CorsOriginsChanged {
            origins: vec![WebOrigin::new("https://a.fr").unwrap()],
            previous: vec![],
        },
    ]);
}
