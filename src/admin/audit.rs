//! The audit trail: every event, newest first, filtered by actor, aggregate type and id and
//! dates, each as a sentence with who did it; an event's raw payload, metadata and seal one
//! click away; the security events (sign-ins, failures, throttling, logouts, refused
//! forms); and the seal chain's state, verifiable on demand.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use aggregates::staff::{Permission, StaffRole};
use projections::stream::Envelope;

use crate::admin::dashboard::SHOP_TIME_ZONE;
use crate::admin::error::AdminError;
use crate::admin::history;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{local_time, role_label, Admin};
use crate::http::AppState;

const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(events))
        .route("/admin/audit/events/{position}", get(event))
        .route("/admin/audit/security", get(security))
        .route("/admin/audit/chain", get(chain))
        .route("/admin/audit/chain/verify", post(verify))
}

fn tabs(t: &Texts, current: &str) -> Markup {
    html! {
        nav.tabs aria-label=(t.audit_title) {
            @for (href, label) in [("/admin/audit", t.audit_events), ("/admin/audit/security", t.audit_security), ("/admin/audit/chain", t.audit_chain)] {
                a href=(href) aria-current=[(href == current).then_some("page")] { (label) }
            }
        }
    }
}

fn date(value: &Option<String>) -> Option<NaiveDate> {
    value
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
}

/// Dates are the shop's days (Paris), both ends included.
fn push_dates(
    sql: &mut QueryBuilder<'_, Postgres>,
    column: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) {
    if let Some(from) = from {
        sql.push(format!(" and {column} >= ("))
            .push_bind(from)
            .push("::timestamp at time zone ")
            .push_bind(SHOP_TIME_ZONE)
            .push(")");
    }
    if let Some(to) = to {
        sql.push(format!(" and {column} < (("))
            .push_bind(to)
            .push("::date + 1)::timestamp at time zone ")
            .push_bind(SHOP_TIME_ZONE)
            .push(")");
    }
}

#[derive(Debug, Default, Deserialize)]
struct EventQuery {
    actor: Option<String>,
    kind: Option<String>,
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Events before this position (the next page).
    before: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    position: i64,
    aggregate_type: String,
    aggregate_id: String,
    event_type: String,
    actor_kind: String,
    actor_id: String,
    actor_name: Option<String>,
    actor_role: Option<String>,
    /// The API key's name, for an `api_key` actor.
    key_name: Option<String>,
    client_ip: Option<String>,
    summary: String,
    recorded_at: DateTime<Utc>,
}

/// "Marie (Gérant)", "Système", "Automate (stock-keeper)".
fn actor_of(t: &Texts, row: &EventRow) -> String {
    match (
        &row.actor_name,
        row.actor_role
            .as_deref()
            .and_then(|r| r.parse::<StaffRole>().ok()),
    ) {
        (Some(name), Some(role)) => format!("{name} ({})", role_label(t, role)),
        (Some(name), None) => name.clone(),
        _ => {
            let id = row.key_name.as_deref().unwrap_or(&row.actor_id);
            let named = |text: &str| fill(text, &[("id", id)]);
            match row.actor_kind.as_str() {
                "system" => t.actor_system.to_owned(),
                "process" => named(t.actor_process),
                "customer" => named(t.actor_customer),
                "payment_provider" => named(t.actor_payment),
                "api_key" => named(t.actor_api_key),
                _ => format!("{} {}", row.actor_kind, row.actor_id),
            }
        }
    }
}

async fn events(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<EventQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewAudit)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select a.position, a.aggregate_type, a.aggregate_id, a.event_type, a.actor_kind,
                a.actor_id, s.display_name as actor_name, s.role as actor_role,
                k.name as key_name, a.client_ip, a.summary, a.recorded_at
           from audit_trail a
           left join staff_accounts s on a.actor_kind = 'staff' and s.staff_id::text = a.actor_id
           left join api_keys k on a.actor_kind = 'api_key' and k.key_id::text = a.actor_id
          where true",
    );
    let actor = query.actor.as_deref().filter(|a| !a.is_empty());
    match actor {
        Some(kind @ ("system" | "process" | "customer" | "api_key" | "payment_provider")) => {
            sql.push(" and a.actor_kind = ").push_bind(kind.to_owned());
        }
        Some(staff) => {
            sql.push(" and a.actor_kind = 'staff' and a.actor_id = ")
                .push_bind(staff.to_owned());
        }
        None => {}
    }
    if let Some(kind) = query.kind.as_deref().filter(|k| !k.is_empty()) {
        sql.push(" and a.aggregate_type = ")
            .push_bind(kind.to_owned());
    }
    if let Some(id) = query.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        sql.push(" and a.aggregate_id = ").push_bind(id.to_owned());
    }
    push_dates(
        &mut sql,
        "a.recorded_at",
        date(&query.from),
        date(&query.to),
    );
    if let Some(before) = query.before {
        sql.push(" and a.position < ").push_bind(before);
    }
    sql.push(" order by a.position desc limit ")
        .push_bind(PAGE_SIZE + 1);
    let mut rows: Vec<EventRow> = sql.build_query_as().fetch_all(&state.pool).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    // Each event told in the reader's language from the event itself; the projection's
    // stored (English) summary when it cannot be (not decodable, a type not told yet).
    let positions: Vec<i64> = rows.iter().map(|r| r.position).collect();
    let events: Vec<Envelope> = history::at_positions(&state, &positions)
        .await?
        .into_iter()
        .filter_map(history::decoded)
        .collect();
    let told = history::describe(&state, admin.lang, &events).await?;
    let what = |row: &EventRow| -> String {
        told.get(&row.position)
            .cloned()
            .unwrap_or_else(|| row.summary.clone())
    };
    let staff: Vec<(Uuid, String)> = sqlx::query_as(
        "select staff_id, display_name from staff_accounts order by lower(display_name)",
    )
    .fetch_all(&state.pool)
    .await?;
    let kinds = [
        "Category",
        "Product",
        "Stock",
        "Order",
        "Review",
        "InvoiceSeries",
        "StaffAccount",
        "ShopSettings",
    ];
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let next = rows.last().filter(|_| more).map(|last| {
        let pairs: Vec<(&str, String)> = [
            ("actor", text(&query.actor)),
            ("kind", text(&query.kind)),
            ("id", text(&query.id)),
            ("from", text(&query.from)),
            ("to", text(&query.to)),
            ("before", last.position.to_string()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        format!(
            "/admin/audit?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    });
    let content = html! {
        div.page-header { h1 { (t.audit_title) } }
        (tabs(t, "/admin/audit"))
        form.filters method="get" action="/admin/audit" role="search" {
            label for="f-actor" { (t.actor) }
            select #f-actor name="actor" {
                option value="" { (t.all_actors) }
                @for (id, name) in &staff {
                    option value=(id) selected[actor == Some(id.to_string().as_str())] { (name) }
                }
                @for kind in ["system", "process", "customer", "api_key", "payment_provider"] {
                    option value=(kind) selected[actor == Some(kind)] { (kind) }
                }
            }
            label for="f-kind" { (t.aggregate_type) }
            select #f-kind name="kind" {
                option value="" { (t.all_types) }
                @for kind in kinds {
                    option value=(kind) selected[query.kind.as_deref() == Some(kind)] { (kind) }
                }
            }
            label for="f-id" { (t.aggregate_id) }
            input #f-id name="id" value=(text(&query.id));
            label for="f-from" { (t.date_from) }
            input #f-from type="date" name="from" value=(text(&query.from));
            label for="f-to" { (t.date_to) }
            input #f-to type="date" name="to" value=(text(&query.to));
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/audit" { (t.reset) }
        }
        @if rows.is_empty() { p.empty { (t.no_events_match) } } @else {
            section.card { div.table-wrap tabindex="0" { table.data.audit {
                thead { tr {
                    th scope="col" { (t.when) } th scope="col" { (t.what) }
                    th scope="col" { (t.aggregate_type) } th scope="col" { (t.client_address) }
                    th scope="col" { (t.event_details) }
                } }
                tbody { @for row in &rows { tr {
                    td { time datetime=(row.recorded_at.to_rfc3339()) { (local_time(&row.recorded_at, french)) } }
                    td { strong.actor { (actor_of(t, row)) } " " span.summary { (what(row)) } }
                    td { a href={"/admin/audit?kind=" (row.aggregate_type) "&id=" (crate::admin::error::urlencode(&row.aggregate_id))} {
                        (row.aggregate_type) } br; span.muted { (row.event_type) } }
                    td { (row.client_ip.as_deref().unwrap_or(t.none)) }
                    td { a href={"/admin/audit/events/" (row.position)} hx-get={"/admin/audit/events/" (row.position)}
                        hx-target="#modal" hx-boost="false" { "#" (row.position) } }
                } } }
            } } }
        }
        @if let Some(next) = next {
            nav.pagination aria-label="pagination" {
                @if query.before.is_some() { a href="/admin/audit" { (t.newer) } }
                a href=(next) rel="next" { (t.older) }
            }
        }
    };
    Ok(admin.page(t.audit_title, content).await)
}

#[derive(Debug, sqlx::FromRow)]
struct RawEvent {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
    recorded_at: DateTime<Utc>,
    seal: Option<Vec<u8>>,
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| json.to_owned())
}

/// One event as stored: payload, metadata and seal (a dialog for htmx, a page otherwise).
async fn event(
    State(state): State<AppState>,
    admin: Admin,
    Path(position): Path<i64>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewAudit)?;
    let t = admin.t;
    let raw: RawEvent = sqlx::query_as(
        "select e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
                e.payload::text as payload, e.metadata::text as metadata, e.recorded_at, s.seal
           from events e left join seals s using (position) where e.position = $1",
    )
    .bind(position)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)?;
    let title = format!("#{position} · {} {}", raw.aggregate_type, raw.event_type);
    let body = html! {
        div.event-detail {
            h2 { (title) }
            p.muted {
                (raw.aggregate_id) " · sequence " (raw.sequence) " · v" (raw.event_version) " · "
                (local_time(&raw.recorded_at, admin.lang == Lang::Fr))
            }
            h3 { (t.payload) } pre { code { (pretty(&raw.payload)) } }
            h3 { (t.metadata) } pre { code { (pretty(&raw.metadata)) } }
            h3 { (t.seal_hash) }
            p { code { @match &raw.seal { Some(seal) => (hex::encode(seal)), None => (t.not_sealed) } } }
            div.dialog-actions { a.btn.btn-ghost href="/admin/audit" data-close-dialog { (t.close) } }
        }
    };
    Ok(admin.confirmation(&title, body).await)
}

#[derive(Debug, Default, Deserialize)]
struct SecurityQuery {
    kind: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct SecurityRow {
    id: i64,
    kind: String,
    email: Option<String>,
    staff_name: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
    at: DateTime<Utc>,
}

const SECURITY_KINDS: &[&str] = &[
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "logout",
    "csrf_refused",
    "api_key_created",
    "api_key_revoked",
    "password_changed",
    "webhook_refused",
    "export_downloaded",
];

async fn security(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<SecurityQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewAudit)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select e.id, e.kind, e.email, s.display_name as staff_name, e.client_ip, e.user_agent, e.detail, e.at
           from security_events e left join staff_accounts s using (staff_id) where true",
    );
    let kind = query.kind.as_deref().filter(|k| SECURITY_KINDS.contains(k));
    if let Some(kind) = kind {
        sql.push(" and e.kind = ").push_bind(kind.to_owned());
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        sql.push(" and (lower(e.email) = lower(")
            .push_bind(q.to_owned())
            .push(") or e.client_ip = ")
            .push_bind(q.to_owned())
            .push(")");
    }
    push_dates(&mut sql, "e.at", date(&query.from), date(&query.to));
    if let Some(before) = query.before {
        sql.push(" and e.id < ").push_bind(before);
    }
    sql.push(" order by e.id desc limit ")
        .push_bind(PAGE_SIZE + 1);
    let mut rows: Vec<SecurityRow> = sql.build_query_as().fetch_all(&state.pool).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let content = html! {
        div.page-header { h1 { (t.audit_title) } }
        (tabs(t, "/admin/audit/security"))
        form.filters method="get" action="/admin/audit/security" role="search" {
            label for="f-kind" { (t.security_kind) }
            select #f-kind name="kind" {
                option value="" { (t.all) }
                @for k in SECURITY_KINDS { option value=(k) selected[kind == Some(k)] { (k) } }
            }
            label for="f-q" { (t.staff_email) " / " (t.client_address) }
            input #f-q name="q" value=(text(&query.q));
            label for="f-from" { (t.date_from) }
            input #f-from type="date" name="from" value=(text(&query.from));
            label for="f-to" { (t.date_to) }
            input #f-to type="date" name="to" value=(text(&query.to));
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/audit/security" { (t.reset) }
        }
        p.muted { a href="/admin/audit?kind=StaffAccount" { (t.nav_staff) " : " (t.audit_events) } }
        @if rows.is_empty() { p.empty { (t.no_events_match) } } @else {
            section.card { div.table-wrap tabindex="0" { table.data {
                thead { tr {
                    th scope="col" { (t.when) } th scope="col" { (t.security_kind) }
                    th scope="col" { (t.staff_email) } th scope="col" { (t.client_address) }
                    th scope="col" { (t.user_agent) }
                } }
                tbody { @for row in &rows { tr {
                    td { (local_time(&row.at, french)) }
                    td {
                        span class={"badge " (if matches!(row.kind.as_str(), "login_succeeded" | "logout" | "api_key_created" | "password_changed" | "export_downloaded") { "badge-ok" } else { "badge-danger" })} { (row.kind) }
                        @if let Some(detail) = &row.detail { " " span.muted { (detail) } }
                    }
                    td { (row.email.as_deref().or(row.staff_name.as_deref()).unwrap_or(t.none)) }
                    td { (row.client_ip.as_deref().unwrap_or(t.none)) }
                    td { span.muted { (crate::admin::dashboard::excerpt(row.user_agent.as_deref().unwrap_or(""), 60)) } }
                } } }
            } } }
        }
        @if let (true, Some(last)) = (more, rows.last()) {
            nav.pagination aria-label="pagination" {
                a href={"/admin/audit/security?before=" (last.id) @if let Some(k) = kind { "&kind=" (k) }} rel="next" { (t.older) }
            }
        }
    };
    Ok(admin.page(t.audit_title, content).await)
}

#[derive(Debug, sqlx::FromRow)]
struct Check {
    verified: i64,
    broken_at: Option<i64>,
    reason: Option<String>,
    staff_name: Option<String>,
    checked_at: DateTime<Utc>,
}

async fn chain(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ViewAudit)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let (events, sealed, last): (i64, i64, Option<(i64, Vec<u8>)>) = {
        let events: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&state.pool)
            .await?;
        let sealed: i64 = sqlx::query_scalar("select count(*) from seals")
            .fetch_one(&state.pool)
            .await?;
        let last: Option<(i64, Vec<u8>)> =
            sqlx::query_as("select position, seal from seals order by position desc limit 1")
                .fetch_optional(&state.pool)
                .await?;
        (events, sealed, last)
    };
    let check: Option<Check> = sqlx::query_as(
        "select c.verified, c.broken_at, c.reason, s.display_name as staff_name, c.checked_at
           from chain_verifications c left join staff_accounts s using (staff_id)
          order by c.id desc limit 1",
    )
    .fetch_optional(&state.pool)
    .await?;
    let content = html! {
        div.page-header { h1 { (t.audit_title) } }
        (tabs(t, "/admin/audit/chain"))
        section.stats {
            div.stat { div.stat-label { (t.chain_events) } div.stat-value { (events) } }
            div.stat { div.stat-label { (t.chain_sealed) } div.stat-value { (sealed) } }
        }
        section.card {
            @if let Some((position, seal)) = &last {
                p { (t.chain_last_seal) " : #" (position) " " code { (hex::encode(seal)) } }
            }
            @match &check {
                None => p.muted #chain-state { (t.chain_never_verified) }
                Some(check) => {
                    @match check.broken_at {
                        None => p.alert.alert-info #chain-state { (fill(t.chain_ok, &[("verified", &check.verified.to_string())])) }
                        Some(position) => p.alert.alert-error #chain-state role="alert" {
                            (fill(t.chain_broken, &[("position", &position.to_string()), ("reason", check.reason.as_deref().unwrap_or(""))]))
                        }
                    }
                    p.muted { (fill(t.chain_last_verified, &[
                        ("when", &local_time(&check.checked_at, french)),
                        ("who", check.staff_name.as_deref().unwrap_or(t.actor_system)),
                    ])) }
                }
            }
            form method="post" action="/admin/audit/chain/verify" {
                (admin.csrf_field())
                button.btn.btn-primary type="submit" { (t.chain_verify) span.spinner aria-hidden="true" {} }
            }
        }
    };
    Ok(admin.page(t.audit_chain, content).await)
}

/// Recomputes every seal now (what `replay verify` does for the chain) and records the
/// outcome.
async fn verify(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ViewAudit)?;
    let t = admin.t;
    let report = projections::seal::verify_chain(&state.pool, &|_| {})
        .await
        .map_err(|e| AdminError::internal("verifying the seal chain", e))?;
    let (broken_at, reason) = match &report.broken_at {
        Some((position, reason)) => (Some(*position), Some(reason.clone())),
        None => (None, None),
    };
    sqlx::query(
        "insert into chain_verifications (verified, broken_at, reason, last_seal, staff_id)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(i64::try_from(report.verified).unwrap_or(i64::MAX))
    .bind(broken_at)
    .bind(&reason)
    .bind(&report.last_seal)
    .bind(admin.user.id)
    .execute(&state.pool)
    .await?;
    let message = match broken_at {
        None => fill(t.chain_ok, &[("verified", &report.verified.to_string())]),
        Some(position) => fill(
            t.chain_broken,
            &[
                ("position", &position.to_string()),
                ("reason", reason.as_deref().unwrap_or("")),
            ],
        ),
    };
    admin
        .flash(
            if broken_at.is_none() {
                "success"
            } else {
                "error"
            },
            message,
        )
        .await;
    Ok(Redirect::to("/admin/audit/chain").into_response())
}
