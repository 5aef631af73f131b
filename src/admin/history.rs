//! What happened, told in the staff member's language, read from the event store (the
//! history is the streams themselves). One narrator turns a decoded event of any
//! aggregate into a sentence; a product's history, an order's timeline and the audit
//! trail all go through it, in one of two [`Voice`]s: on the thing's own page the page
//! names it ("Prix HT : 89,00 € → 79,00 €"), in the trail the sentence does ("a changé le
//! prix de PN-1234 de 89,00 € à 79,00 € HT", the actor in front).
//!
//! Subjects are named the way staff know them (a product's reference, an order's number, a
//! category's or a staff member's name), looked up in the read models, else learnt from the
//! events told, else shown as their id. Previous values come from the event when it carries
//! them (a price change does) and otherwise from the events before it (a details edit is
//! told against the creation or edit that preceded it).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use uuid::Uuid;

use aggregates::{
    Actor, CategoryEvent, InvoiceSeriesEvent, OrderEvent, PaymentMethod, ProductEvent,
    ReleaseReason, ReviewEvent, ShopSettingsEvent, StaffAccountEvent, StockEvent,
};
use projections::stream::{DomainEvent, Envelope, StoredEvent};

use crate::admin::chart::money;
use crate::admin::dashboard::order_status_label;
use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{local_time, role_label};
use crate::http::AppState;

/// One line of a history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
    /// For stock events: units in (+) or out (−) of the shelf, and the count after.
    pub movement: Option<(i64, i64)>,
}

/// Which streams of the product to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    ProductAndStock,
    Stock,
}

/// How a sentence names the thing the event happened to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// On the thing's own page (a product's history, an order's timeline), which names it:
    /// "Prix HT : 89,00 € → 79,00 €".
    OwnPage,
    /// Among every event (the audit trail), after the actor's name: "a changé le prix de
    /// PN-1234 de 89,00 € à 79,00 € HT".
    Trail,
}

/// An event, told.
#[derive(Debug, Clone)]
pub struct Told {
    pub what: String,
    /// For stock events: units in (+) or out (−) of the shelf, and the count after.
    pub movement: Option<(i64, i64)>,
}

/// The latest `limit` entries of a product's history, newest first.
pub async fn of_product(
    state: &AppState,
    lang: Lang,
    product_id: Uuid,
    streams: Streams,
    limit: usize,
) -> Result<Vec<Entry>, AdminError> {
    // The product's own events all (few; each edit is told against the one before), the
    // stock's only the latest `limit` (many: every sale; each carries its own figures).
    let id = product_id.to_string();
    let newest = Some(i64::try_from(limit).unwrap_or(i64::MAX));
    let mut raw = read_stream(state, "Stock", &id, newest).await?;
    if streams == Streams::ProductAndStock {
        raw.extend(read_stream(state, "Product", &id, None).await?);
        raw.sort_by_key(|e| e.position);
    }
    let mut entries = tell_stream(state, lang, raw).await?;
    entries.reverse();
    entries.truncate(limit);
    Ok(entries)
}

/// An order's timeline, oldest first: every event of its stream, with who and when.
pub async fn of_order(
    state: &AppState,
    lang: Lang,
    order_id: Uuid,
) -> Result<Vec<Entry>, AdminError> {
    let raw = read_stream(state, "Order", &order_id.to_string(), None).await?;
    tell_stream(state, lang, raw).await
}

/// Events of a thing's own page (oldest first), told in its voice.
async fn tell_stream(
    state: &AppState,
    lang: Lang,
    raw: Vec<StoredEvent>,
) -> Result<Vec<Entry>, AdminError> {
    let events: Vec<Envelope> = raw.into_iter().filter_map(decoded).collect();
    let names = Names::load(state, &events).await?;
    let mut narrator = Narrator::new(
        lang,
        Voice::OwnPage,
        names,
        state.shop.get().currency().symbol(),
    );
    let mut entries = Vec::with_capacity(events.len());
    for envelope in &events {
        let Some(told) = narrator.tell(envelope) else {
            continue;
        };
        entries.push(Entry {
            at: envelope.raw.recorded_at,
            actor: narrator.names.actor(narrator.t, &envelope.metadata.actor),
            what: told.what,
            movement: told.movement,
        });
    }
    Ok(entries)
}

/// The audit trail's sentences for `events` (any streams, any order), by position. An
/// event the narrator cannot tell (an aggregate type it does not know yet) is left out:
/// the caller shows what it has instead.
pub async fn describe(
    state: &AppState,
    lang: Lang,
    events: &[Envelope],
) -> Result<HashMap<i64, String>, AdminError> {
    let context = context_of(state, events).await?;
    let shown: HashSet<i64> = events.iter().map(|e| e.raw.position).collect();
    let mut all: Vec<&Envelope> = context.iter().chain(events).collect();
    all.sort_by_key(|e| e.raw.position);
    all.dedup_by_key(|e| e.raw.position);
    let names = Names::load(state, all.iter().copied()).await?;
    let mut narrator = Narrator::new(
        lang,
        Voice::Trail,
        names,
        state.shop.get().currency().symbol(),
    );
    let mut told = HashMap::with_capacity(events.len());
    for envelope in all {
        if !shown.contains(&envelope.raw.position) {
            narrator.learn(envelope);
            continue;
        }
        if let Some(sentence) = narrator.tell(envelope) {
            told.insert(envelope.raw.position, sentence.what);
        }
    }
    Ok(told)
}

/// A stored event decoded, or `None` (logged) when this build cannot read it.
pub fn decoded(raw: StoredEvent) -> Option<Envelope> {
    Envelope::decode(raw)
        .map_err(|error| tracing::warn!(%error, "event not told"))
        .ok()
}

/// The columns of a [`StoredEvent`], for queries on `events e`.
const STORED_COLUMNS: &str = "e.position, e.transaction_id::text::bigint as tx, e.aggregate_type,
    e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload::text as payload,
    e.metadata::text as metadata, e.recorded_at";

/// The events at these positions (in no particular order).
pub async fn at_positions(
    state: &AppState,
    positions: &[i64],
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as::<_, StoredEvent>(&format!(
        "select {STORED_COLUMNS} from events e where e.position = any($1)"
    ))
    .bind(positions)
    .fetch_all(&state.pool)
    .await
}

/// The latest `newest` events of one stream (all when `None`), oldest first.
async fn read_stream(
    state: &AppState,
    aggregate_type: &str,
    id: &str,
    newest: Option<i64>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as::<_, StoredEvent>(&format!(
        "select * from (
             select {STORED_COLUMNS}
               from events e where e.aggregate_type = $1 and e.aggregate_id = $2
              order by e.sequence desc limit $3
         ) latest order by position"
    ))
    .bind(aggregate_type)
    .bind(id)
    .bind(newest.unwrap_or(i64::MAX))
    .fetch_all(&state.pool)
    .await
}

/// What events told out of their stream need from the events before them: for a details
/// edit (which carries only the new values), the creation or edit just before it.
async fn context_of(state: &AppState, events: &[Envelope]) -> Result<Vec<Envelope>, AdminError> {
    let (ids, sequences): (Vec<String>, Vec<i64>) = events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                DomainEvent::Product(ProductEvent::ProductDetailsEdited { .. })
            )
        })
        .map(|e| (e.raw.aggregate_id.clone(), e.raw.sequence))
        .unzip();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw = sqlx::query_as::<_, StoredEvent>(&format!(
        "select {STORED_COLUMNS}
           from unnest($1::text[], $2::bigint[]) as shown(id, sequence)
           cross join lateral (
               select * from events
                where aggregate_type = 'Product' and aggregate_id = shown.id
                  and sequence < shown.sequence
                  and event_type in ('ProductCreated', 'ProductDetailsEdited')
                order by sequence desc limit 1
           ) e"
    ))
    .bind(&ids)
    .bind(&sequences)
    .fetch_all(&state.pool)
    .await?;
    Ok(raw.into_iter().filter_map(decoded).collect())
}

/// A reason recorded by the admin's stock form (`key` or `key: note`), in words.
fn stock_reason(t: &Texts, reason: &str) -> String {
    let (key, note) = match reason.split_once(": ") {
        Some((key, note)) => (key, Some(note)),
        None => (reason, None),
    };
    let label = match key {
        "damaged" => t.reason_damaged,
        "inventory" => t.reason_inventory,
        "correction" => t.reason_correction,
        _ => return reason.to_owned(),
    };
    match note {
        Some(note) => format!("{label} : {note}"),
        None => label.to_owned(),
    }
}

/// Who took a payment, as staff say it: "le comptoir (carte bancaire)" for a payment
/// recorded at the counter (its reference reads `counter-<means>-…`), else the provider.
pub fn provider_label(t: &Texts, provider: &str, reference: &str) -> String {
    let means = reference
        .strip_prefix("counter-")
        .and_then(|rest| rest.split('-').next());
    match (provider, means) {
        ("pickup", Some(means)) => {
            let means = match means {
                "cash" => t.pay_cash,
                "card" => t.pay_card,
                "cheque" => t.pay_cheque,
                other => other,
            };
            fill(t.provider_counter, &[("means", &means.to_lowercase())])
        }
        ("stripe", _) => t.method_stripe.to_owned(),
        (other, _) => other.to_owned(),
    }
}

fn method_label(t: &Texts, method: &PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Stripe => t.method_stripe,
        PaymentMethod::Oney => t.method_oney,
        PaymentMethod::Pickup => t.method_pickup,
    }
}

fn release_reason(t: &Texts, reason: &ReleaseReason) -> &'static str {
    match reason {
        ReleaseReason::Cancelled => t.h_release_cancelled,
        ReleaseReason::Expired => t.h_release_expired,
        ReleaseReason::PaymentFailed => t.h_release_payment_failed,
        ReleaseReason::PlacementFailed => t.h_release_placement_failed,
    }
}

/// The names a history shows instead of ids: from the read models, completed by what the
/// events told carry themselves (a creation names its product, order, category, account).
#[derive(Debug, Default)]
struct Names {
    staff: HashMap<Uuid, String>,
    keys: HashMap<Uuid, String>,
    orders: HashMap<Uuid, String>,
    products: HashMap<Uuid, String>,
    categories: HashMap<Uuid, String>,
    /// A review's product and author.
    reviews: HashMap<Uuid, (Uuid, String)>,
}

impl Names {
    async fn load<'e>(
        state: &AppState,
        events: impl IntoIterator<Item = &'e Envelope>,
    ) -> Result<Names, AdminError> {
        let mut staff = HashSet::new();
        let mut keys = HashSet::new();
        let mut orders = HashSet::new();
        let mut products = HashSet::new();
        let mut reviews = HashSet::new();
        for e in events {
            match &e.metadata.actor {
                Actor::Staff(id) => {
                    staff.insert(*id);
                }
                Actor::ApiKey(id) => {
                    keys.insert(*id);
                }
                _ => {}
            }
            let Ok(id) = Uuid::parse_str(&e.raw.aggregate_id) else {
                continue;
            };
            match &e.event {
                DomainEvent::Product(_) => {
                    products.insert(id);
                }
                DomainEvent::Stock(event) => {
                    products.insert(id);
                    if let Some(order_id) = stock_order(event) {
                        orders.insert(order_id);
                    }
                }
                DomainEvent::Order(_) => {
                    orders.insert(id);
                }
                DomainEvent::Review(_) => {
                    reviews.insert(id);
                }
                DomainEvent::Staff(_) => {
                    staff.insert(id);
                }
                DomainEvent::Category(_)
                | DomainEvent::InvoiceSeries(_)
                | DomainEvent::Settings(_)
                | DomainEvent::Closure(_)
                | DomainEvent::Other => {}
            }
            if let DomainEvent::InvoiceSeries(InvoiceSeriesEvent::InvoiceNumberAssigned {
                order_id,
                ..
            }) = &e.event
            {
                orders.insert(*order_id);
            }
        }
        let ids = |set: HashSet<Uuid>| set.into_iter().collect::<Vec<_>>();
        let pairs = |sql: &'static str, ids: Vec<Uuid>| async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            sqlx::query_as::<_, (Uuid, String)>(sql)
                .bind(ids)
                .fetch_all(&state.pool)
                .await
                .map(|rows| rows.into_iter().collect::<HashMap<_, _>>())
        };
        let reviews: HashMap<Uuid, (Uuid, String)> = if reviews.is_empty() {
            HashMap::new()
        } else {
            sqlx::query_as::<_, (Uuid, Uuid, String)>(
                "select review_id, product_id, customer_name from reviews where review_id = any($1)",
            )
            .bind(ids(reviews))
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|(review, product, name)| (review, (product, name)))
            .collect()
        };
        products.extend(reviews.values().map(|(product, _)| *product));
        Ok(Names {
            staff: pairs(
                "select staff_id, display_name from staff_accounts where staff_id = any($1)",
                ids(staff),
            )
            .await?,
            keys: pairs(
                "select key_id, name from api_keys where key_id = any($1)",
                ids(keys),
            )
            .await?,
            orders: pairs(
                "select order_id, order_number from orders where order_id = any($1)",
                ids(orders),
            )
            .await?,
            products: pairs(
                "select product_id, reference from admin_products where product_id = any($1)",
                ids(products),
            )
            .await?,
            // Deleted categories stay in the list (flagged): their events still name them.
            categories: sqlx::query_as::<_, (Uuid, String)>(
                "select category_id, name from category_list",
            )
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .collect(),
            reviews,
        })
    }

    /// Takes the names an event carries, for the ones no read model had (yet).
    fn learn(&mut self, e: &Envelope) {
        let Ok(id) = Uuid::parse_str(&e.raw.aggregate_id) else {
            return;
        };
        match &e.event {
            DomainEvent::Product(ProductEvent::ProductCreated { reference, .. }) => {
                self.products
                    .entry(id)
                    .or_insert_with(|| reference.to_string());
            }
            DomainEvent::Order(OrderEvent::OrderPlaced { order_number, .. }) => {
                self.orders
                    .entry(id)
                    .or_insert_with(|| order_number.clone());
            }
            DomainEvent::Category(CategoryEvent::CategoryCreated { name, .. }) => {
                self.categories.entry(id).or_insert_with(|| name.clone());
            }
            DomainEvent::Staff(StaffAccountEvent::StaffAccountCreated { display_name, .. }) => {
                self.staff.entry(id).or_insert_with(|| display_name.clone());
            }
            DomainEvent::Review(ReviewEvent::ReviewSubmitted {
                product_id,
                customer_name,
                ..
            }) => {
                self.reviews
                    .entry(id)
                    .or_insert_with(|| (*product_id, customer_name.clone()));
            }
            _ => {}
        }
    }

    fn actor(&self, t: &Texts, actor: &Actor) -> String {
        match actor {
            Actor::Staff(id) => self.staff(*id),
            Actor::ApiKey(id) => {
                let name = self.keys.get(id).cloned().unwrap_or_else(|| id.to_string());
                fill(t.actor_api_key, &[("id", &name)])
            }
            Actor::Customer(email) => fill(t.actor_customer, &[("id", email)]),
            Actor::PaymentProvider(name) => fill(t.actor_payment, &[("id", name)]),
            Actor::Process(name) => fill(t.actor_process, &[("id", name)]),
            Actor::System => t.actor_system.to_owned(),
        }
    }

    fn lookup(map: &HashMap<Uuid, String>, id: Uuid) -> String {
        map.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }

    fn staff(&self, id: Uuid) -> String {
        Names::lookup(&self.staff, id)
    }

    fn order(&self, id: Uuid) -> String {
        Names::lookup(&self.orders, id)
    }

    fn product(&self, id: Uuid) -> String {
        Names::lookup(&self.products, id)
    }

    fn category(&self, id: Uuid) -> String {
        Names::lookup(&self.categories, id)
    }

    /// A review's product (its reference) and author, when known.
    fn review(&self, id: Uuid) -> (String, String) {
        match self.reviews.get(&id) {
            Some((product, author)) => (self.product(*product), author.clone()),
            None => (id.to_string(), String::from("?")),
        }
    }
}

/// The order a stock movement is for, if any.
fn stock_order(event: &StockEvent) -> Option<Uuid> {
    match event {
        StockEvent::StockReserved { order_id, .. }
        | StockEvent::ReservationReleased { order_id, .. }
        | StockEvent::ReservationCommitted { order_id, .. }
        | StockEvent::StockReturned { order_id, .. } => Some(*order_id),
        StockEvent::StockReceived { .. } | StockEvent::StockAdjusted { .. } => None,
    }
}

/// A product's editable details, as its creation or last edit left them.
#[derive(Debug, Clone)]
struct Details {
    name: String,
    description: String,
    category_id: Uuid,
    meta_description: String,
}

/// Tells events one after the other, each stream oldest first, remembering what later
/// events do not carry.
struct Narrator {
    t: &'static Texts,
    french: bool,
    /// The shop's currency sign.
    symbol: String,
    voice: Voice,
    names: Names,
    /// By product: a details edit carries only the new values; the change is told against
    /// these.
    details: HashMap<String, Details>,
}

impl Narrator {
    fn new(lang: Lang, voice: Voice, names: Names, symbol: &str) -> Narrator {
        Narrator {
            t: lang.texts(),
            french: lang == Lang::Fr,
            symbol: symbol.to_owned(),
            voice,
            names,
            details: HashMap::new(),
        }
    }

    /// Tells `e` (`None` for an event this build cannot tell), then remembers it.
    fn tell(&mut self, e: &Envelope) -> Option<Told> {
        let told = self.describe(e);
        self.learn(e);
        told
    }

    /// Remembers what `e` leaves for the events after it, without telling it.
    fn learn(&mut self, e: &Envelope) {
        self.names.learn(e);
        let details = match &e.event {
            DomainEvent::Product(ProductEvent::ProductCreated {
                name,
                description,
                category_id,
                meta_description,
                ..
            })
            | DomainEvent::Product(ProductEvent::ProductDetailsEdited {
                name,
                description,
                category_id,
                meta_description,
            }) => Details {
                name: name.clone(),
                description: description.clone(),
                category_id: *category_id,
                meta_description: meta_description.clone(),
            },
            _ => return,
        };
        self.details.insert(e.raw.aggregate_id.clone(), details);
    }

    fn money(&self, m: &aggregates::Money) -> String {
        money(m.amount(), self.french, &self.symbol)
    }

    fn percent(&self, r: &aggregates::VatRate) -> String {
        let text = r.percent().normalize().to_string();
        if self.french {
            text.replace('.', ",")
        } else {
            text
        }
    }

    /// What a details edit changed, against the details before it ("" when nothing did,
    /// `None` when they are not known).
    fn changes(&self, id: &str, now: &Details) -> Option<String> {
        let t = self.t;
        let before = self.details.get(id)?;
        let mut changes = Vec::new();
        if before.name != now.name {
            changes.push(fill(
                t.h_name_changed,
                &[("old", &before.name), ("new", &now.name)],
            ));
        }
        if before.category_id != now.category_id {
            changes.push(fill(
                t.h_category_changed,
                &[
                    ("old", &self.names.category(before.category_id)),
                    ("new", &self.names.category(now.category_id)),
                ],
            ));
        }
        if before.description != now.description {
            changes.push(t.h_description_changed.to_owned());
        }
        if before.meta_description != now.meta_description {
            changes.push(t.h_meta_changed.to_owned());
        }
        Some(changes.join(" · "))
    }

    /// A label's colon: spaced in French typography.
    fn colon(&self) -> &'static str {
        if self.french {
            " :"
        } else {
            ":"
        }
    }

    /// A change of the shop's settings, with what it was before.
    fn settings(&self, event: &ShopSettingsEvent) -> String {
        let t = self.t;
        let list = |items: Vec<String>| {
            if items.is_empty() {
                t.none.to_owned()
            } else {
                items.join(", ")
            }
        };
        match event {
            ShopSettingsEvent::LegalIdentityChanged {
                identity,
                previous: None,
            } => fill(
                t.trail_identity_set,
                &[
                    ("name", &identity.company_name),
                    ("siren", identity.siren.as_str()),
                ],
            ),
            ShopSettingsEvent::LegalIdentityChanged {
                identity,
                previous: Some(previous),
            } => {
                let text = |i: &aggregates::LegalIdentity| {
                    let optional = |v: Option<String>| v.unwrap_or_default();
                    [
                        (t.set_company_name, i.company_name.clone()),
                        (t.set_legal_form, i.legal_form.clone()),
                        (
                            t.set_share_capital,
                            optional(i.share_capital.map(|m| self.money(&m))),
                        ),
                        (t.set_street, i.address.street.clone()),
                        (t.set_postal_code, i.address.postal_code.clone()),
                        (t.set_city, i.address.city.clone()),
                        (t.set_country, i.address.country.clone()),
                        (t.set_siren, i.siren.to_string()),
                        (t.set_siret, i.siret.to_string()),
                        (t.set_rcs_city, optional(i.rcs_city.clone())),
                        (
                            t.set_vat_number,
                            optional(i.vat_number.as_ref().map(ToString::to_string)),
                        ),
                        (t.set_contact_email, i.email.to_string()),
                        (t.phone, optional(i.phone.as_ref().map(ToString::to_string))),
                    ]
                };
                let changes: Vec<String> = text(previous)
                    .into_iter()
                    .zip(text(identity))
                    .filter(|((_, old), (_, new))| old != new)
                    .map(|((label, old), (_, new))| {
                        let shown = |v: &str| {
                            if v.is_empty() {
                                t.none.to_owned()
                            } else {
                                v.to_owned()
                            }
                        };
                        format!("{label}{} {} → {}", self.colon(), shown(&old), shown(&new))
                    })
                    .collect();
                fill(
                    t.trail_identity_changed,
                    &[("changes", &changes.join(" · "))],
                )
            }
            ShopSettingsEvent::PickupLocationAdded { location } => fill(
                t.trail_pickup_added,
                &[("name", &location.name), ("address", &location.address)],
            ),
            ShopSettingsEvent::PickupLocationChanged { location, previous } => {
                let mut changes = Vec::new();
                for (label, old, new) in [
                    (t.set_pickup_name, &previous.name, &location.name),
                    (t.set_pickup_address, &previous.address, &location.address),
                    (
                        t.set_pickup_hours,
                        &previous.opening_hours,
                        &location.opening_hours,
                    ),
                ] {
                    if old != new {
                        changes.push(format!("{label}{} {old} → {new}", self.colon()));
                    }
                }
                fill(
                    t.trail_pickup_changed,
                    &[("name", &previous.name), ("changes", &changes.join(" · "))],
                )
            }
            ShopSettingsEvent::PickupLocationRemoved { name, .. } => {
                fill(t.trail_pickup_removed, &[("name", name)])
            }
            ShopSettingsEvent::VatRatesChanged {
                offered,
                default_rate,
                previous_offered,
                ..
            } => {
                let rates = |rates: &[aggregates::VatRate]| {
                    list(
                        rates
                            .iter()
                            .map(|r| format!("{} %", self.percent(r)))
                            .collect(),
                    )
                };
                fill(
                    t.trail_vat_rates_changed,
                    &[
                        ("old", &rates(previous_offered)),
                        ("new", &rates(offered)),
                        ("default", &format!("{} %", self.percent(default_rate))),
                    ],
                )
            }
            ShopSettingsEvent::CurrencyChanged { currency, previous } => fill(
                t.trail_currency_changed,
                &[("old", previous.as_str()), ("new", currency.as_str())],
            ),
            ShopSettingsEvent::CorsOriginsChanged { origins, previous } => {
                let origins_text =
                    |o: &[aggregates::WebOrigin]| list(o.iter().map(ToString::to_string).collect());
                fill(
                    t.trail_origins_changed,
                    &[
                        ("old", &origins_text(previous)),
                        ("new", &origins_text(origins)),
                    ],
                )
            }
        }
    }

    /// The sentence for `e`, in this narrator's voice.
    fn describe(&self, e: &Envelope) -> Option<Told> {
        let t = self.t;
        let id = Uuid::parse_str(&e.raw.aggregate_id).ok();
        // Whose account a staff event is about, and whether its holder did it themselves.
        let by_self = id.is_some_and(|id| e.metadata.actor == Actor::Staff(id));
        // `page` on the thing's own page, `trail` in the audit trail; both filled with the
        // same values, `subject` among them.
        let say = |page: &str, trail: &str, values: &[(&str, &str)]| -> String {
            fill(
                match self.voice {
                    Voice::OwnPage => page,
                    Voice::Trail => trail,
                },
                values,
            )
        };
        let plain = |what: String| {
            Some(Told {
                what,
                movement: None,
            })
        };
        match &e.event {
            DomainEvent::Category(event) => {
                let subject =
                    id.map_or_else(|| e.raw.aggregate_id.clone(), |id| self.names.category(id));
                let s = subject.as_str();
                let what = match event {
                    CategoryEvent::CategoryCreated { name, slug, .. } => fill(
                        t.trail_category_created,
                        &[("name", name), ("slug", slug.as_str())],
                    ),
                    CategoryEvent::CategoryRenamed { name, previous } => fill(
                        t.trail_category_renamed,
                        &[("old", previous), ("new", name)],
                    ),
                    CategoryEvent::CategorySlugChanged { slug, previous } => fill(
                        t.trail_category_slug_changed,
                        &[
                            ("subject", s),
                            ("old", previous.as_str()),
                            ("new", slug.as_str()),
                        ],
                    ),
                    CategoryEvent::CategoryDescriptionChanged { .. } => {
                        fill(t.trail_category_described, &[("subject", s)])
                    }
                    CategoryEvent::CategoryDeleted => {
                        fill(t.trail_category_deleted, &[("subject", s)])
                    }
                };
                plain(what)
            }
            DomainEvent::Product(event) => {
                let subject =
                    id.map_or_else(|| e.raw.aggregate_id.clone(), |id| self.names.product(id));
                let s = subject.as_str();
                let what = match event {
                    ProductEvent::ProductCreated {
                        reference,
                        name,
                        price_ht,
                        vat_rate,
                        ..
                    } => say(
                        t.h_product_created,
                        t.trail_product_created,
                        &[
                            ("reference", reference.as_str()),
                            ("name", name),
                            ("price", &self.money(price_ht)),
                            ("vat", &self.percent(vat_rate)),
                        ],
                    ),
                    ProductEvent::ProductDetailsEdited {
                        name,
                        description,
                        category_id,
                        meta_description,
                    } => {
                        let now = Details {
                            name: name.clone(),
                            description: description.clone(),
                            category_id: *category_id,
                            meta_description: meta_description.clone(),
                        };
                        let changes = match self.changes(&e.raw.aggregate_id, &now) {
                            Some(changes) if changes.is_empty() => t.h_details_unchanged.to_owned(),
                            Some(changes) => changes,
                            None => t.h_details_edited.to_owned(),
                        };
                        say(
                            "{changes}",
                            t.trail_product_edited,
                            &[("subject", s), ("changes", &changes)],
                        )
                    }
                    ProductEvent::ProductPriceChanged { price_ht, previous } => say(
                        t.h_price_changed,
                        t.trail_price_changed,
                        &[
                            ("subject", s),
                            ("old", &self.money(previous)),
                            ("new", &self.money(price_ht)),
                        ],
                    ),
                    ProductEvent::ProductVatRateChanged { vat_rate, previous } => say(
                        t.h_vat_changed,
                        t.trail_vat_changed,
                        &[
                            ("subject", s),
                            ("old", &self.percent(previous)),
                            ("new", &self.percent(vat_rate)),
                        ],
                    ),
                    ProductEvent::ProductSlugChanged { slug, previous } => say(
                        t.h_slug_changed,
                        t.trail_slug_changed,
                        &[
                            ("subject", s),
                            ("old", previous.as_str()),
                            ("new", slug.as_str()),
                        ],
                    ),
                    ProductEvent::ProductPublished => {
                        say(t.h_published, t.trail_published, &[("subject", s)])
                    }
                    ProductEvent::ProductUnpublished => {
                        say(t.h_unpublished, t.trail_unpublished, &[("subject", s)])
                    }
                    ProductEvent::ProductArchived => {
                        say(t.h_archived, t.trail_archived, &[("subject", s)])
                    }
                    ProductEvent::ProductImageAdded { alt_text, .. } => say(
                        t.h_image_added,
                        t.trail_image_added,
                        &[("subject", s), ("alt", alt_text)],
                    ),
                    ProductEvent::ProductImageRemoved { .. } => {
                        say(t.h_image_removed, t.trail_image_removed, &[("subject", s)])
                    }
                    ProductEvent::ProductImagesReordered { .. } => say(
                        t.h_images_reordered,
                        t.trail_images_reordered,
                        &[("subject", s)],
                    ),
                    ProductEvent::ProductImageAltTextChanged { alt_text, .. } => say(
                        t.h_image_alt_changed,
                        t.trail_image_alt_changed,
                        &[("subject", s), ("alt", alt_text)],
                    ),
                };
                plain(what)
            }
            DomainEvent::Stock(event) => {
                let subject =
                    id.map_or_else(|| e.raw.aggregate_id.clone(), |id| self.names.product(id));
                let s = subject.as_str();
                let order = stock_order(event).map(|o| self.names.order(o));
                let order = order.as_deref().unwrap_or_default();
                // Every movement carries the count after it: the count before follows.
                let (delta, on_hand) = match event {
                    StockEvent::StockReceived {
                        quantity, on_hand, ..
                    }
                    | StockEvent::StockReturned {
                        quantity, on_hand, ..
                    } => (i64::from(*quantity), *on_hand),
                    StockEvent::StockAdjusted { delta, on_hand, .. } => (*delta, *on_hand),
                    StockEvent::ReservationCommitted {
                        quantity, on_hand, ..
                    } => (-i64::from(*quantity), *on_hand),
                    StockEvent::StockReserved { on_hand, .. }
                    | StockEvent::ReservationReleased { on_hand, .. } => (0, *on_hand),
                };
                let quantity = match event {
                    StockEvent::StockReceived { quantity, .. }
                    | StockEvent::StockReserved { quantity, .. }
                    | StockEvent::ReservationReleased { quantity, .. }
                    | StockEvent::ReservationCommitted { quantity, .. }
                    | StockEvent::StockReturned { quantity, .. } => quantity.to_string(),
                    StockEvent::StockAdjusted { delta, .. } => format!("{delta:+}"),
                };
                let old = (on_hand - delta).to_string();
                let new = on_hand.to_string();
                let values = [
                    ("subject", s),
                    ("order", order),
                    ("quantity", quantity.as_str()),
                    ("old", old.as_str()),
                    ("new", new.as_str()),
                ];
                let what = match event {
                    StockEvent::StockReceived { note, .. } => {
                        let what = say(t.h_stock_received, t.trail_stock_received, &values);
                        if note.is_empty() {
                            what
                        } else {
                            format!("{what} — {note}")
                        }
                    }
                    StockEvent::StockAdjusted { reason, .. } => {
                        let reason = stock_reason(t, reason);
                        match self.voice {
                            Voice::OwnPage => format!("{} — {reason}", t.h_stock_adjusted),
                            Voice::Trail => fill(
                                t.trail_stock_adjusted,
                                &[values.as_slice(), &[("reason", reason.as_str())]].concat(),
                            ),
                        }
                    }
                    StockEvent::StockReserved { .. } => {
                        say(t.h_stock_reserved, t.trail_stock_reserved, &values)
                    }
                    StockEvent::ReservationReleased { reason, .. } => say(
                        t.h_reservation_released,
                        t.trail_reservation_released,
                        &[values.as_slice(), &[("reason", release_reason(t, reason))]].concat(),
                    ),
                    StockEvent::ReservationCommitted { .. } => say(
                        t.h_reservation_committed,
                        t.trail_reservation_committed,
                        &values,
                    ),
                    StockEvent::StockReturned { .. } => {
                        say(t.h_stock_returned, t.trail_stock_returned, &values)
                    }
                };
                Some(Told {
                    what,
                    movement: Some((delta, on_hand)),
                })
            }
            DomainEvent::Order(event) => {
                let subject = match event {
                    OrderEvent::OrderPlaced { order_number, .. } => order_number.clone(),
                    _ => id.map_or_else(|| e.raw.aggregate_id.clone(), |id| self.names.order(id)),
                };
                let s = subject.as_str();
                let what = match event {
                    OrderEvent::OrderPlaced {
                        lines,
                        totals,
                        payment_method,
                        ..
                    } => say(
                        t.h_order_placed,
                        t.trail_order_placed,
                        &[
                            ("subject", s),
                            ("lines", &lines.len().to_string()),
                            ("total", &self.money(&totals.total_ttc)),
                            ("method", method_label(t, payment_method)),
                        ],
                    ),
                    OrderEvent::PaymentSessionOpened { provider, .. } => say(
                        t.h_payment_session,
                        t.trail_payment_session,
                        &[("subject", s), ("provider", provider)],
                    ),
                    OrderEvent::PaymentConfirmed {
                        provider,
                        reference,
                        amount,
                        ..
                    } => say(
                        t.h_payment_confirmed,
                        t.trail_payment_confirmed,
                        &[
                            ("subject", s),
                            ("amount", &self.money(amount)),
                            ("provider", &provider_label(t, provider, reference)),
                            ("reference", reference),
                        ],
                    ),
                    OrderEvent::PaymentFailed {
                        provider, reason, ..
                    } => say(
                        t.h_payment_failed,
                        t.trail_payment_failed,
                        &[("subject", s), ("provider", provider), ("reason", reason)],
                    ),
                    OrderEvent::OrderConfirmed => say(
                        t.h_order_confirmed,
                        t.trail_order_confirmed,
                        &[("subject", s)],
                    ),
                    // "Payment failed (stripe): hold expired"; the cancellation follows.
                    OrderEvent::PaymentSessionExpired { .. } => say(
                        t.h_payment_failed,
                        t.trail_payment_failed,
                        &[
                            ("subject", s),
                            ("provider", t.method_stripe),
                            ("reason", t.h_release_expired),
                        ],
                    ),
                    OrderEvent::OrderReadyForPickup => {
                        say(t.h_order_ready, t.trail_order_ready, &[("subject", s)])
                    }
                    OrderEvent::OrderCompleted => say(
                        t.h_order_completed,
                        t.trail_order_completed,
                        &[("subject", s)],
                    ),
                    OrderEvent::OrderCancelled {
                        reason,
                        previous_status,
                    } => say(
                        t.h_order_cancelled,
                        t.trail_order_cancelled,
                        &[
                            ("subject", s),
                            ("reason", reason),
                            ("old", &order_status_label(t, previous_status.as_str())),
                            ("new", t.order_status_cancelled),
                        ],
                    ),
                    OrderEvent::InvoiceIssued { invoice_number, .. } => say(
                        t.h_invoice_issued,
                        t.trail_invoice_issued,
                        &[("subject", s), ("number", invoice_number)],
                    ),
                    OrderEvent::CreditNoteIssued {
                        credit_note_number,
                        invoice_number,
                        reason,
                        ..
                    } => say(
                        t.h_credit_note_issued,
                        t.trail_credit_note_issued,
                        &[
                            ("subject", s),
                            ("number", credit_note_number),
                            ("invoice", invoice_number),
                            ("reason", reason),
                        ],
                    ),
                    OrderEvent::CreditNoteRequested { totals, reason, .. } => say(
                        t.h_credit_note_requested,
                        t.trail_credit_note_requested,
                        &[
                            ("subject", s),
                            ("total", &self.money(&totals.total_ttc)),
                            ("reason", reason),
                        ],
                    ),
                    OrderEvent::DocumentStored { number, sha256, .. } => say(
                        t.h_document_stored,
                        t.trail_document_stored,
                        &[("subject", s), ("number", number), ("sha", sha256)],
                    ),
                };
                plain(what)
            }
            DomainEvent::Review(event) => {
                let (product, author) = match (event, id) {
                    (
                        ReviewEvent::ReviewSubmitted {
                            product_id,
                            customer_name,
                            ..
                        },
                        _,
                    ) => (self.names.product(*product_id), customer_name.clone()),
                    (_, Some(id)) => self.names.review(id),
                    (_, None) => (e.raw.aggregate_id.clone(), String::from("?")),
                };
                let about = [("product", product.as_str()), ("name", author.as_str())];
                let what = match event {
                    ReviewEvent::ReviewSubmitted {
                        rating,
                        verified_purchase,
                        ..
                    } => {
                        let what = fill(
                            t.trail_review_submitted,
                            &[about.as_slice(), &[("rating", &rating.to_string())]].concat(),
                        );
                        if *verified_purchase {
                            format!("{what} ({})", t.review_verified)
                        } else {
                            what
                        }
                    }
                    ReviewEvent::ReviewApproved => fill(t.trail_review_approved, &about),
                    ReviewEvent::ReviewRejected { feedback } => fill(
                        t.trail_review_rejected,
                        &[about.as_slice(), &[("feedback", feedback.as_str())]].concat(),
                    ),
                    ReviewEvent::VendorResponded { edited: false, .. } => {
                        fill(t.trail_review_responded, &about)
                    }
                    ReviewEvent::VendorResponded { edited: true, .. } => {
                        fill(t.trail_review_response_edited, &about)
                    }
                };
                plain(what)
            }
            DomainEvent::InvoiceSeries(InvoiceSeriesEvent::InvoiceNumberAssigned {
                formatted,
                order_id,
                ..
            }) => plain(fill(
                t.trail_invoice_number_assigned,
                &[
                    ("number", formatted),
                    ("order", &self.names.order(*order_id)),
                ],
            )),
            // Password hashes never appear: a sentence is read by every auditor.
            DomainEvent::Staff(event) => {
                let subject =
                    id.map_or_else(|| e.raw.aggregate_id.clone(), |id| self.names.staff(id));
                let s = subject.as_str();
                let what = match event {
                    StaffAccountEvent::StaffAccountCreated {
                        email,
                        display_name,
                        role,
                        ..
                    } => fill(
                        t.trail_staff_created,
                        &[
                            ("name", display_name),
                            ("email", email.as_str()),
                            ("role", role_label(t, *role)),
                        ],
                    ),
                    StaffAccountEvent::StaffRoleChanged { role, previous } => fill(
                        t.trail_staff_role_changed,
                        &[
                            ("subject", s),
                            ("old", role_label(t, *previous)),
                            ("new", role_label(t, *role)),
                        ],
                    ),
                    StaffAccountEvent::StaffPasswordChanged { .. } if by_self => {
                        t.trail_own_password_changed.to_owned()
                    }
                    StaffAccountEvent::StaffPasswordChanged { .. } => {
                        fill(t.trail_staff_password_changed, &[("subject", s)])
                    }
                    StaffAccountEvent::StaffRenamed {
                        display_name,
                        previous,
                    } => fill(
                        t.trail_staff_renamed,
                        &[("old", previous), ("new", display_name)],
                    ),
                    StaffAccountEvent::StaffAccountDisabled { .. } => {
                        fill(t.trail_staff_disabled, &[("subject", s)])
                    }
                    StaffAccountEvent::StaffAccountEnabled => {
                        fill(t.trail_staff_enabled, &[("subject", s)])
                    }
                    StaffAccountEvent::StaffSessionsEnded { .. } if by_self => {
                        t.trail_own_sessions_ended.to_owned()
                    }
                    StaffAccountEvent::StaffSessionsEnded { .. } => {
                        fill(t.trail_staff_sessions_ended, &[("subject", s)])
                    }
                };
                plain(what)
            }
            DomainEvent::Settings(event) => plain(self.settings(event)),
            DomainEvent::Closure(aggregates::ClosureEvent::PeriodClosed {
                kind,
                period,
                totals,
                ..
            }) => plain(fill(
                t.trail_period_closed,
                &[
                    (
                        "period",
                        match kind {
                            aggregates::PeriodKind::Day => t.period_day,
                            aggregates::PeriodKind::Month => t.period_month,
                            aggregates::PeriodKind::Year => t.period_year,
                        },
                    ),
                    ("name", period),
                    ("invoices", &totals.invoices.to_string()),
                    ("credits", &totals.credit_notes.to_string()),
                    ("total", &money(totals.ttc, self.french, &self.symbol)),
                ],
            )),
            // An aggregate type this build does not know: the caller falls back (the audit
            // trail shows the projection's stored summary).
            DomainEvent::Other => None,
        }
    }
}

/// The history as a table: when, who, what, and for stock the movement and the count after.
pub fn table(t: &Texts, lang: Lang, entries: &[Entry], with_movements: bool) -> Markup {
    let french = lang == Lang::Fr;
    html! {
        @if entries.is_empty() { p.empty { (t.history_none) } } @else {
            div.table-wrap tabindex="0" { table.data.history {
                thead { tr {
                    th scope="col" { (t.when) } th scope="col" { (t.who) } th scope="col" { (t.what) }
                    @if with_movements { th.num scope="col" { (t.movement) } th.num scope="col" { (t.h_on_hand_after) } }
                } }
                tbody { @for entry in entries { tr {
                    td { time datetime=(entry.at.to_rfc3339()) { (local_time(&entry.at, french)) } }
                    td.actor { (entry.actor) }
                    td.summary { (entry.what) }
                    @if with_movements {
                        @match entry.movement {
                            Some((delta, on_hand)) => {
                                td.num { @if delta != 0 { (format!("{delta:+}")) } }
                                td.num { (on_hand) }
                            }
                            None => { td {} td {} }
                        }
                    }
                } } }
            } }
        }
    }
}
