//! A product's history, told in the staff member's language: every event of the product
//! and of its stock, read from the event store (the history is the stream itself), with
//! who did it, when, and what changed (old → new). Previous values that an event does not
//! carry (a details edit) are known from the events before it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use uuid::Uuid;

use aggregates::{Actor, OrderEvent, ProductEvent, ReleaseReason, StockEvent};
use projections::stream::{DomainEvent, Envelope, StoredEvent};

use crate::admin::chart::amount;
use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::local_time;
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

/// The latest `limit` entries of a product's history, newest first.
pub async fn of_product(
    state: &AppState,
    lang: Lang,
    product_id: Uuid,
    streams: Streams,
    limit: usize,
) -> Result<Vec<Entry>, AdminError> {
    let t = lang.texts();
    let french = lang == Lang::Fr;
    // The product's own events all (few; each edit is told against the one before), the
    // stock's only the latest `limit` (many: every sale; each carries its own figures).
    let id = product_id.to_string();
    let newest = Some(i64::try_from(limit).unwrap_or(i64::MAX));
    let mut raw = read_stream(state, "Stock", &id, newest).await?;
    if streams == Streams::ProductAndStock {
        raw.extend(read_stream(state, "Product", &id, None).await?);
        raw.sort_by_key(|e| e.position);
    }
    let events: Vec<Envelope> = raw
        .into_iter()
        .filter_map(|e| Envelope::decode(e).ok())
        .collect();
    let names = Names::load(state, &events).await?;
    let money = |m: &aggregates::Money| format!("{} €", amount(m.amount(), french));
    let percent = |r: &aggregates::VatRate| {
        let text = r.percent().normalize().to_string();
        if french {
            text.replace('.', ",")
        } else {
            text
        }
    };
    let mut details: Option<(String, String, Uuid, String)> = None;
    let mut entries = Vec::with_capacity(events.len());
    for envelope in &events {
        let actor = names.actor(t, &envelope.metadata.actor);
        let at = envelope.raw.recorded_at;
        let mut push = |what: String, movement: Option<(i64, i64)>| {
            entries.push(Entry {
                at,
                actor: actor.clone(),
                what,
                movement,
            })
        };
        match &envelope.event {
            DomainEvent::Product(event) => match event {
                ProductEvent::ProductCreated {
                    reference,
                    name,
                    description,
                    category_id,
                    price_ht,
                    vat_rate,
                    meta_description,
                    ..
                } => {
                    details = Some((
                        name.clone(),
                        description.clone(),
                        *category_id,
                        meta_description.clone(),
                    ));
                    push(
                        fill(
                            t.h_product_created,
                            &[
                                ("reference", reference.as_str()),
                                ("name", name),
                                ("price", &money(price_ht)),
                                ("vat", &percent(vat_rate)),
                            ],
                        ),
                        None,
                    );
                }
                ProductEvent::ProductDetailsEdited {
                    name,
                    description,
                    category_id,
                    meta_description,
                } => {
                    let mut changes = Vec::new();
                    if let Some((old_name, old_description, old_category, old_meta)) = &details {
                        if old_name != name {
                            changes
                                .push(fill(t.h_name_changed, &[("old", old_name), ("new", name)]));
                        }
                        if old_category != category_id {
                            changes.push(fill(
                                t.h_category_changed,
                                &[
                                    ("old", &names.category(*old_category)),
                                    ("new", &names.category(*category_id)),
                                ],
                            ));
                        }
                        if old_description != description {
                            changes.push(t.h_description_changed.to_owned());
                        }
                        if old_meta != meta_description {
                            changes.push(t.h_meta_changed.to_owned());
                        }
                    }
                    details = Some((
                        name.clone(),
                        description.clone(),
                        *category_id,
                        meta_description.clone(),
                    ));
                    push(changes.join(" · "), None);
                }
                ProductEvent::ProductPriceChanged { price_ht, previous } => push(
                    fill(
                        t.h_price_changed,
                        &[("old", &money(previous)), ("new", &money(price_ht))],
                    ),
                    None,
                ),
                ProductEvent::ProductVatRateChanged { vat_rate, previous } => push(
                    fill(
                        t.h_vat_changed,
                        &[("old", &percent(previous)), ("new", &percent(vat_rate))],
                    ),
                    None,
                ),
                ProductEvent::ProductSlugChanged { slug, previous } => push(
                    fill(
                        t.h_slug_changed,
                        &[("old", previous.as_str()), ("new", slug.as_str())],
                    ),
                    None,
                ),
                ProductEvent::ProductPublished => push(t.h_published.to_owned(), None),
                ProductEvent::ProductUnpublished => push(t.h_unpublished.to_owned(), None),
                ProductEvent::ProductArchived => push(t.h_archived.to_owned(), None),
                ProductEvent::ProductImageAdded { alt_text, .. } => {
                    push(fill(t.h_image_added, &[("alt", alt_text)]), None)
                }
                ProductEvent::ProductImageRemoved { .. } => {
                    push(t.h_image_removed.to_owned(), None)
                }
                ProductEvent::ProductImagesReordered { .. } => {
                    push(t.h_images_reordered.to_owned(), None)
                }
                ProductEvent::ProductImageAltTextChanged { alt_text, .. } => {
                    push(fill(t.h_image_alt_changed, &[("alt", alt_text)]), None)
                }
            },
            DomainEvent::Stock(event) => {
                let order = |id: &Uuid| names.order(*id);
                match event {
                    StockEvent::StockReceived {
                        quantity,
                        note,
                        on_hand,
                        ..
                    } => {
                        let what = if note.is_empty() {
                            t.h_stock_received.to_owned()
                        } else {
                            format!("{} — {note}", t.h_stock_received)
                        };
                        push(what, Some((i64::from(*quantity), *on_hand)))
                    }
                    StockEvent::StockAdjusted {
                        delta,
                        reason,
                        on_hand,
                        ..
                    } => push(
                        format!("{} — {}", t.h_stock_adjusted, stock_reason(t, reason)),
                        Some((*delta, *on_hand)),
                    ),
                    StockEvent::StockReserved {
                        order_id, on_hand, ..
                    } => push(
                        fill(t.h_stock_reserved, &[("order", &order(order_id))]),
                        Some((0, *on_hand)),
                    ),
                    StockEvent::ReservationReleased {
                        order_id,
                        reason,
                        on_hand,
                        ..
                    } => {
                        let why = match reason {
                            ReleaseReason::Cancelled => t.h_release_cancelled,
                            ReleaseReason::Expired => t.h_release_expired,
                            ReleaseReason::PaymentFailed => t.h_release_payment_failed,
                            ReleaseReason::PlacementFailed => t.h_release_placement_failed,
                        };
                        push(
                            fill(
                                t.h_reservation_released,
                                &[("order", &order(order_id)), ("reason", why)],
                            ),
                            Some((0, *on_hand)),
                        )
                    }
                    StockEvent::ReservationCommitted {
                        order_id,
                        quantity,
                        on_hand,
                        ..
                    } => push(
                        fill(t.h_reservation_committed, &[("order", &order(order_id))]),
                        Some((-i64::from(*quantity), *on_hand)),
                    ),
                    StockEvent::StockReturned {
                        order_id,
                        quantity,
                        on_hand,
                        ..
                    } => push(
                        fill(t.h_stock_returned, &[("order", &order(order_id))]),
                        Some((i64::from(*quantity), *on_hand)),
                    ),
                }
            }
            _ => {}
        }
    }
    entries.reverse();
    entries.truncate(limit);
    Ok(entries)
}

/// The latest `newest` events of one stream (all when `None`), oldest first.
async fn read_stream(
    state: &AppState,
    aggregate_type: &str,
    id: &str,
    newest: Option<i64>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as::<_, StoredEvent>(
        "select * from (
             select position, transaction_id::text::bigint as tx, aggregate_type,
                    aggregate_id, sequence, event_type, event_version,
                    payload::text as payload, metadata::text as metadata, recorded_at
               from events where aggregate_type = $1 and aggregate_id = $2
              order by sequence desc limit $3
         ) latest order by position",
    )
    .bind(aggregate_type)
    .bind(id)
    .bind(newest.unwrap_or(i64::MAX))
    .fetch_all(&state.pool)
    .await
}

/// An order's timeline, oldest first: every event of its stream, with who and when.
pub async fn of_order(
    state: &AppState,
    lang: Lang,
    order_id: Uuid,
) -> Result<Vec<Entry>, AdminError> {
    let t = lang.texts();
    let french = lang == Lang::Fr;
    let money = |m: &aggregates::Money| format!("{} €", amount(m.amount(), french));
    let events: Vec<Envelope> = read_stream(state, "Order", &order_id.to_string(), None)
        .await?
        .into_iter()
        .filter_map(|e| Envelope::decode(e).ok())
        .collect();
    let names = Names::load(state, &events).await?;
    let mut entries = Vec::with_capacity(events.len());
    for envelope in &events {
        let DomainEvent::Order(event) = &envelope.event else {
            continue;
        };
        let what = match event {
            OrderEvent::OrderPlaced {
                lines,
                totals,
                payment_method,
                ..
            } => fill(
                t.h_order_placed,
                &[
                    ("lines", &lines.len().to_string()),
                    ("total", &money(&totals.total_ttc)),
                    ("method", payment_method.as_str()),
                ],
            ),
            OrderEvent::PaymentSessionOpened { provider, .. } => {
                fill(t.h_payment_session, &[("provider", provider)])
            }
            OrderEvent::PaymentConfirmed {
                provider,
                reference,
                amount,
                ..
            } => fill(
                t.h_payment_confirmed,
                &[
                    ("amount", &money(amount)),
                    ("provider", provider),
                    ("reference", reference),
                ],
            ),
            OrderEvent::PaymentFailed {
                provider, reason, ..
            } => fill(
                t.h_payment_failed,
                &[("provider", provider), ("reason", reason)],
            ),
            OrderEvent::OrderConfirmed => t.h_order_confirmed.to_owned(),
            OrderEvent::OrderReadyForPickup => t.h_order_ready.to_owned(),
            OrderEvent::OrderCompleted => t.h_order_completed.to_owned(),
            OrderEvent::OrderCancelled { reason, .. } => {
                fill(t.h_order_cancelled, &[("reason", reason)])
            }
            OrderEvent::InvoiceIssued { invoice_number } => {
                fill(t.h_invoice_issued, &[("number", invoice_number)])
            }
            OrderEvent::CreditNoteIssued {
                credit_note_number,
                invoice_number,
                reason,
            } => fill(
                t.h_credit_note_issued,
                &[
                    ("number", credit_note_number),
                    ("invoice", invoice_number),
                    ("reason", reason),
                ],
            ),
        };
        entries.push(Entry {
            at: envelope.raw.recorded_at,
            actor: names.actor(t, &envelope.metadata.actor),
            what,
            movement: None,
        });
    }
    Ok(entries)
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

/// The names a history shows instead of ids.
struct Names {
    staff: HashMap<Uuid, String>,
    keys: HashMap<Uuid, String>,
    orders: HashMap<Uuid, String>,
    categories: HashMap<Uuid, String>,
}

impl Names {
    async fn load(state: &AppState, events: &[Envelope]) -> Result<Names, AdminError> {
        let mut staff = HashSet::new();
        let mut keys = HashSet::new();
        let mut orders = HashSet::new();
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
            if let DomainEvent::Stock(
                StockEvent::StockReserved { order_id, .. }
                | StockEvent::ReservationReleased { order_id, .. }
                | StockEvent::ReservationCommitted { order_id, .. }
                | StockEvent::StockReturned { order_id, .. },
            ) = &e.event
            {
                orders.insert(*order_id);
            }
        }
        let ids = |set: HashSet<Uuid>| set.into_iter().collect::<Vec<_>>();
        let pairs = |sql: &'static str, ids: Vec<Uuid>| async move {
            sqlx::query_as::<_, (Uuid, String)>(sql)
                .bind(ids)
                .fetch_all(&state.pool)
                .await
                .map(|rows| rows.into_iter().collect::<HashMap<_, _>>())
        };
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
            categories: sqlx::query_as::<_, (Uuid, String)>(
                "select category_id, name from category_list",
            )
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .collect(),
        })
    }

    fn actor(&self, t: &Texts, actor: &Actor) -> String {
        match actor {
            Actor::Staff(id) => self
                .staff
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
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

    fn order(&self, id: Uuid) -> String {
        self.orders
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn category(&self, id: Uuid) -> String {
        self.categories
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
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
