//! A realistic, deterministic French demo shop (motorcycle tyres, batteries, maintenance),
//! written through the command side like any real activity: the same seed always gives
//! the same catalogue, stock, orders and reviews.

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use uuid::Uuid;

use aggregates::category::CategoryCommand;
use aggregates::metadata::EventMetadata;
use aggregates::order::{OrderCommand, PaymentMethod};
use aggregates::product::ProductCommand;
use aggregates::review::ReviewCommand;
use aggregates::stock::StockCommand;
use aggregates::{
    Email, LegalIdentity, Money, Phone, PostalAddress, Reference, ShopSettingsCommand, Siren,
    Siret, Slug, VatNumber, VatRate, SHOP_SETTINGS_ID,
};

/// The demo owner's sign-in address (`serve --demo` prints its password once).
pub const DEMO_OWNER_EMAIL: &str = "demo@comptoir.test";

use crate::commands::CommandBus;
use crate::ordering::{place_order, OrderRequest, RequestedItem};

/// How big a shop to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub products: u32,
    pub orders: u32,
    pub seed: u64,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize {
            products: 160,
            orders: 240,
            seed: 42,
        }
    }
}

const TYRES: &[(&str, &[&str])] = &[
    (
        "Michelin",
        &[
            "Road 6",
            "Power 6",
            "Pilot Street 2",
            "Anakee Adventure",
            "Power GP 2",
        ],
    ),
    (
        "Bridgestone",
        &["Battlax T32", "Battlax S23", "Battlax A41", "Battlax BT46"],
    ),
    (
        "Pirelli",
        &[
            "Diablo Rosso IV",
            "Angel GT II",
            "Scorpion Trail II",
            "Diablo Supercorsa V4",
        ],
    ),
    (
        "Metzeler",
        &[
            "Roadtec 01 SE",
            "Sportec M9 RR",
            "Tourance Next 2",
            "Karoo Street",
        ],
    ),
    (
        "Dunlop",
        &[
            "Sportmax Roadsmart IV",
            "Sportmax Q5",
            "Trailmax Mission",
            "Arrowmax GT601",
        ],
    ),
    (
        "Continental",
        &[
            "ContiRoadAttack 4",
            "ContiSportAttack 4",
            "TKC 70",
            "ContiGo!",
        ],
    ),
];
const SIZES: &[&str] = &[
    "120/70 ZR17",
    "180/55 ZR17",
    "190/50 ZR17",
    "110/80 R19",
    "150/70 R17",
    "100/90-18",
    "130/80-17",
    "160/60 ZR17",
];
const BATTERIES: &[(&str, &[&str])] = &[
    (
        "Yuasa",
        &[
            "YTX14-BS", "YTZ10S", "YB12A-A", "YTX9-BS", "YTZ14S", "YT12B-BS",
        ],
    ),
    (
        "Varta",
        &[
            "Powersports AGM 512014010",
            "Funstar YB10L-B",
            "Powersports Li-ion LFP14",
        ],
    ),
    (
        "Bosch",
        &[
            "M6 AGM YTX20L-BS",
            "M6 AGM YTX12-BS",
            "M4 Fresh Pack YB14L-A2",
        ],
    ),
    (
        "Exide",
        &[
            "AGM Ready ETX9-BS",
            "Bike Conventional 12N9-4B-1",
            "Lithium ELTZ10S",
        ],
    ),
];
const MAINTENANCE: &[(&str, &[&str])] = &[
    (
        "Motul",
        &[
            "7100 10W40 4 L",
            "7100 10W50 4 L",
            "300V 15W50 4 L",
            "5100 10W40 1 L",
            "Chain Lube Road 400 ml",
            "RBF 600 liquide de frein 500 ml",
        ],
    ),
    (
        "Castrol",
        &["Power1 Racing 4T 10W40 4 L", "Power1 4T 15W50 1 L"],
    ),
    (
        "Hiflofiltro",
        &[
            "filtre à huile HF204",
            "filtre à huile HF303",
            "filtre à huile HF138",
            "filtre à air HFA1602",
        ],
    ),
    (
        "EBC",
        &[
            "plaquettes de frein FA196HH",
            "plaquettes de frein FA244HH",
            "plaquettes de frein FA209/2HH",
        ],
    ),
    (
        "DID",
        &["kit chaîne 520VX3 15/45", "kit chaîne 525ZVM-X 16/43"],
    ),
    (
        "NGK",
        &["bougie CR9EIX", "bougie CR8E", "bougie LMAR8AI-10"],
    ),
];
/// Pickup locations: name, address, opening hours.
const PICKUP: &[(&str, &str, &str)] = &[
    (
        "Atelier de Lyon",
        "12 rue de la Moto, 69007 Lyon",
        "Du mardi au samedi, 9 h – 12 h 30 et 14 h – 19 h",
    ),
    (
        "Dépôt de Villeurbanne",
        "4 avenue des Pistons, 69100 Villeurbanne",
        "Du lundi au vendredi, 8 h – 17 h",
    ),
];
/// Garages that buy their parts here and want the invoice in their company's name:
/// (company, street, postal code, city, made-up VAT number).
const GARAGES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Garage des Brotteaux SARL",
        "18 boulevard des Brotteaux",
        "69006",
        "Lyon",
        "FR15901234567",
    ),
    (
        "Moto Service Vaise",
        "5 rue Marietton\nZone artisanale, bâtiment C",
        "69009",
        "Lyon",
        "FR40902345678",
    ),
    (
        "Atelier Deux-Roues du Beaujolais",
        "230 route de Frans",
        "69400",
        "Villefranche-sur-Saône",
        "FR65903456789",
    ),
];

/// The company an order of the demo is invoiced to: one order in nine is a garage's.
fn demo_billing(n: u32) -> Option<aggregates::Billing> {
    if n % 9 != 4 {
        return None;
    }
    let (company, street, postal_code, city, vat) = GARAGES[(n as usize / 9) % GARAGES.len()];
    Some(aggregates::Billing {
        company: company.to_owned(),
        address: aggregates::PostalAddress {
            street: street.to_owned(),
            postal_code: postal_code.to_owned(),
            city: city.to_owned(),
            country: "France".to_owned(),
        },
        vat_number: aggregates::VatNumber::new(vat).ok(),
    })
}

const FIRST: &[&str] = &[
    "Camille",
    "Léa",
    "Hugo",
    "Lucas",
    "Chloé",
    "Inès",
    "Théo",
    "Manon",
    "Nathan",
    "Zoé",
    "Julien",
    "Élodie",
    "François",
    "Sébastien",
    "Maëlle",
];
const LAST: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Garnier", "Faure",
];
const PRAISE: &[&str] = &[
    "Très bon pneu, excellente adhérence sur le mouillé.",
    "Livré rapidement en retrait atelier, montage impeccable.",
    "Batterie conforme, la moto démarre du premier coup même par temps froid.",
    "Bon rapport qualité-prix, je recommande.",
    "Produit correct mais un peu cher par rapport à la concurrence.",
    "Accueil très sympathique au dépôt, conseils avisés.",
    "Tient bien la route, usure régulière après 5 000 km.",
];

/// A product family: category name, description, reference prefix, brands with their
/// models, price range in cents.
type Family = (&'static str, &'static str, &'static str, Brands, (u32, u32));
type Brands = &'static [(&'static str, &'static [&'static str])];

/// The demo seller: a made-up SARL in Lyon whose SIREN, SIRET and VAT number have valid
/// keys.
pub fn seller() -> Result<LegalIdentity, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    Ok(LegalIdentity {
        company_name: "Comptoir Moto Démo".to_owned(),
        legal_form: "SARL".to_owned(),
        share_capital: Some(Money::new(Decimal::new(10_000, 0)).map_err(|e| err(&e))?),
        address: PostalAddress {
            street: "12 rue de la Moto".to_owned(),
            postal_code: "69007".to_owned(),
            city: "Lyon".to_owned(),
            country: "France".to_owned(),
        },
        siren: Siren::new("123456782").map_err(|e| err(&e))?,
        siret: Siret::new("12345678200002").map_err(|e| err(&e))?,
        rcs_city: Some("Lyon".to_owned()),
        vat_number: Some(VatNumber::new("FR11123456782").map_err(|e| err(&e))?),
        email: Email::new("contact@comptoir.test").map_err(|e| err(&e))?,
        phone: Some(Phone::new("04 72 00 00 00").map_err(|e| err(&e))?),
    })
}

/// The demo seller and its pickup locations.
async fn settings(
    bus: &CommandBus,
    rng: &mut StdRng,
    system: &EventMetadata,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let identity = seller()?;
    let mut commands = vec![ShopSettingsCommand::ChangeLegalIdentity {
        identity: Box::new(identity),
    }];
    for (name, address, hours) in PICKUP {
        commands.push(ShopSettingsCommand::AddPickupLocation {
            location_id: uuid_from(rng),
            name: (*name).to_owned(),
            address: (*address).to_owned(),
            opening_hours: (*hours).to_owned(),
        });
    }
    for command in commands {
        bus.settings
            .execute(SHOP_SETTINGS_ID, command, system)
            .await
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// Writes the demo shop. Returns a one-paragraph summary.
pub async fn seed(bus: &CommandBus, size: DemoSize) -> Result<String, String> {
    let mut rng = StdRng::seed_from_u64(size.seed);
    let system = EventMetadata::system();
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let vat = VatRate::try_from("20").map_err(|e| err(&e))?;
    settings(bus, &mut rng, &system).await?;

    let families: [Family; 3] = [
        (
            "Pneus",
            "Pneus route, sport, trail et custom, montés à l'atelier sur rendez-vous.",
            "PN",
            TYRES,
            (8_000, 26_000),
        ),
        (
            "Batteries",
            "Batteries AGM, lithium et conventionnelles pour toutes les cylindrées.",
            "BAT",
            BATTERIES,
            (3_500, 18_000),
        ),
        (
            "Entretien",
            "Huiles, filtres, plaquettes, chaînes et bougies.",
            "ENT",
            MAINTENANCE,
            (600, 25_000),
        ),
    ];
    let mut categories = Vec::new();
    for (name, description, _, _, _) in &families {
        let category_id = uuid_from(&mut rng);
        bus.categories
            .execute(
                &category_id.to_string(),
                CategoryCommand::CreateCategory {
                    category_id,
                    name: (*name).to_owned(),
                    slug: None,
                    description: (*description).to_owned(),
                },
                &system,
            )
            .await
            .map_err(|e| err(&e))?;
        categories.push(category_id);
    }

    // Products: cycle through the families, building distinct names.
    let mut products: Vec<(Uuid, u32)> = Vec::new();
    for n in 0..size.products {
        let family = (n % 3) as usize;
        let (_, _, prefix, brands, (low, high)) = families[family];
        let (brand, models) = brands[(n as usize / 3) % brands.len()];
        let model = models[(n as usize / 3 / brands.len()) % models.len()];
        let name = if family == 0 {
            format!("{brand} {model} {}", SIZES[(n as usize / 3) % SIZES.len()])
        } else {
            format!("{brand} {model}")
        };
        let reference = format!("{prefix}-{:04}", 1000 + n);
        let product_id = uuid_from(&mut rng);
        let price = Money::new(Decimal::new(i64::from(rng.random_range(low..=high)), 2))
            .map_err(|e| err(&e))?;
        let slug = Slug::from_name(&format!("{name} {reference}")).map_err(|e| err(&e))?;
        let command = ProductCommand::CreateProduct {
            product_id,
            reference: Reference::try_from(reference.as_str()).map_err(|e| err(&e))?,
            name: name.clone(),
            slug: Some(slug),
            description: format!("{name} : pièce d'origine ou équivalente, garantie constructeur. Retrait en magasin sur rendez-vous."),
            category_id: categories[family],
            price_ht: price,
            vat_rate: vat,
            meta_description: format!("{name} au meilleur prix, retrait en atelier à Lyon.").chars().take(160).collect(),
        };
        let id = product_id.to_string();
        bus.products
            .execute(&id, command, &system)
            .await
            .map_err(|e| err(&e))?;
        // One product in twenty is sold out, the rest hold 3 to 40.
        let quantity = if rng.random_ratio(1, 20) {
            0
        } else {
            rng.random_range(3..=40)
        };
        if quantity > 0 {
            let receive = StockCommand::ReceiveStock {
                product_id,
                quantity,
                note: "stock initial".into(),
            };
            bus.stock
                .execute(&id, receive, &system)
                .await
                .map_err(|e| err(&e))?;
        }
        if !rng.random_ratio(1, 12) {
            bus.products
                .execute(&id, ProductCommand::PublishProduct, &system)
                .await
                .map_err(|e| err(&e))?;
            products.push((product_id, quantity));
        }
    }

    // Orders over the last 90 days, in every status.
    let now = Utc::now();
    let mut placed = 0u32;
    let mut completed: Vec<(Uuid, Uuid, Email)> = Vec::new();
    for n in 0..size.orders {
        let first = *FIRST.choose(&mut rng).unwrap_or(&"Camille");
        let last = *LAST.choose(&mut rng).unwrap_or(&"Martin");
        let email =
            Email::try_from(format!("{}.{}@example.fr", ascii(first), ascii(last)).as_str())
                .map_err(|e| err(&e))?;
        let phone = Phone::try_from(
            format!(
                "06 {:02} {:02} {:02} {:02}",
                rng.random_range(0..100),
                rng.random_range(0..100),
                rng.random_range(0..100),
                rng.random_range(0..100)
            )
            .as_str(),
        )
        .map_err(|e| err(&e))?;
        let count = rng.random_range(1..=3usize).min(products.len());
        let items: Vec<RequestedItem> = products
            .choose_multiple(&mut rng, count)
            .map(|(product_id, _)| RequestedItem {
                product_id: *product_id,
                quantity: rng.random_range(1..=2),
            })
            .collect();
        let payment_method = if rng.random_ratio(1, 4) {
            PaymentMethod::Stripe
        } else {
            PaymentMethod::Pickup
        };
        let placed_at = now - Duration::minutes(rng.random_range(0..90 * 24 * 60));
        let request = OrderRequest {
            order_id: uuid_from(&mut rng),
            customer_email: email.clone(),
            customer_name: format!("{first} {last}"),
            customer_phone: phone,
            pickup_location: PICKUP.choose(&mut rng).unwrap_or(&PICKUP[0]).0.to_owned(),
            language: if rng.random_ratio(1, 10) {
                aggregates::Language::En
            } else {
                aggregates::Language::Fr
            },
            payment_method,
            items: items.clone(),
            billing: demo_billing(n),
        };
        let order = match place_order(bus, request, &system, placed_at, Duration::minutes(30)).await
        {
            Ok(order) => order,
            // Sold out by earlier demo orders: a real shop sees that too.
            Err(crate::ordering::PlaceOrderError::InsufficientStock { .. }) => continue,
            Err(error) => return Err(error.to_string()),
        };
        placed += 1;
        let id = order.order_id.to_string();
        let roll = rng.random_range(0..100);
        let paid = |reference: String| OrderCommand::ConfirmPayment {
            // As the admin records them: the counter's means in the reference.
            provider: if payment_method == PaymentMethod::Stripe {
                "stripe".into()
            } else {
                "pickup".into()
            },
            reference,
            amount: order.totals.total_ttc,
            paid_at: placed_at + Duration::minutes(5),
            provider_event_id: None,
        };
        let mut steps: Vec<OrderCommand> = Vec::new();
        if payment_method == PaymentMethod::Stripe && roll >= 10 {
            steps.push(paid(format!("pi_demo_{}", order.order_number)));
        }
        if roll >= 25 {
            steps.push(OrderCommand::ConfirmOrder);
        }
        if (25..90).contains(&roll) && roll >= 40 {
            steps.push(OrderCommand::MarkReadyForPickup);
        }
        if (55..90).contains(&roll) {
            if payment_method == PaymentMethod::Pickup {
                steps.push(paid(format!("counter-cash-{}", order.order_number)));
            }
            steps.push(OrderCommand::CompleteOrder);
        }
        if roll >= 90 {
            steps.push(OrderCommand::CancelOrder {
                reason: "le client a annulé par téléphone".into(),
            });
        }
        for step in steps {
            bus.orders
                .execute(&id, step, &system)
                .await
                .map_err(|e| err(&e))?;
        }
        if (55..90).contains(&roll) {
            completed.push((order.order_id, items[0].product_id, email));
        }
    }

    // Reviews: verified ones from completed orders, others from visitors, in every state.
    let mut reviews = 0u32;
    for (index, (order_id, product_id, email)) in completed
        .iter()
        .enumerate()
        .take((size.orders / 3) as usize)
    {
        let review_id = uuid_from(&mut rng);
        let verified = index % 3 != 0;
        let submit = ReviewCommand::SubmitReview {
            review_id,
            product_id: *product_id,
            order_id: verified.then_some(*order_id),
            customer_name: format!(
                "{} {}.",
                FIRST.choose(&mut rng).unwrap_or(&"Léa"),
                &LAST.choose(&mut rng).unwrap_or(&"M")[..1]
            ),
            customer_email: email.clone(),
            rating: rng.random_range(2..=5),
            comment: (*PRAISE.choose(&mut rng).unwrap_or(&PRAISE[0])).to_owned(),
            submitted_at: now - Duration::days(rng.random_range(0..60)),
        };
        let id = review_id.to_string();
        bus.reviews
            .execute(&id, submit, &system)
            .await
            .map_err(|e| err(&e))?;
        reviews += 1;
        match index % 5 {
            0..=2 => {
                bus.reviews
                    .execute(&id, ReviewCommand::ApproveReview, &system)
                    .await
                    .map_err(|e| err(&e))?;
                if index % 2 == 0 {
                    let respond = ReviewCommand::RespondToReview {
                        response: "Merci pour votre retour, à bientôt à l'atelier !".into(),
                        responded_at: now - Duration::days(1),
                    };
                    bus.reviews
                        .execute(&id, respond, &system)
                        .await
                        .map_err(|e| err(&e))?;
                }
            }
            3 => {
                let reject = ReviewCommand::RejectReview {
                    feedback: "Merci de décrire le produit plutôt que la livraison.".into(),
                };
                bus.reviews
                    .execute(&id, reject, &system)
                    .await
                    .map_err(|e| err(&e))?;
            }
            _ => {}
        }
    }

    Ok(format!(
        "demo shop: 3 categories, {} products ({} published), {placed} orders, {reviews} reviews",
        size.products,
        products.len()
    ))
}

fn uuid_from(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'ç' => 'c',
            'ï' | 'î' => 'i',
            _ => c.to_ascii_lowercase(),
        })
        .collect()
}
