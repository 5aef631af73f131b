//! The email outbox (owner and manager): every email the shop sent or will send, filtered
//! by status or searched by recipient or order, with the last error of those that failed,
//! and a resend behind a confirmation for the sent and failed ones. Reads and changes the
//! `email_outbox` table the email worker empties.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use aggregates::staff::Permission;

use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{list_link, local_time, pagination, Admin};
use crate::admin::safe_back;
use crate::email::EmailKind;
use crate::http::AppState;

const PAGE_SIZE: i64 = 50;

/// The statuses a row can have, in the filter's order.
const STATUSES: [&str; 4] = ["pending", "sending", "sent", "failed"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(list))
        .route("/admin/outbox/{id}", get(detail))
        .route(
            "/admin/outbox/{id}/resend",
            get(confirm_resend).post(resend),
        )
}

fn status_label(t: &Texts, status: &str) -> &'static str {
    match status {
        "sending" => t.outbox_status_sending,
        "sent" => t.outbox_status_sent,
        "failed" => t.outbox_status_failed,
        _ => t.outbox_status_pending,
    }
}

fn status_badge(t: &Texts, status: &str) -> Markup {
    let class = match status {
        "sent" => "ok",
        "failed" => "danger",
        _ => "pending",
    };
    html! { span class={"badge badge-" (class)} { (status_label(t, status)) } }
}

fn kind_label(t: &Texts, kind: &str) -> &'static str {
    match EmailKind::parse(kind) {
        Some(EmailKind::OrderReceived) => t.outbox_kind_order_received,
        Some(EmailKind::PaymentConfirmed) => t.outbox_kind_payment_confirmed,
        Some(EmailKind::ReadyForPickup) => t.outbox_kind_ready_for_pickup,
        Some(EmailKind::Cancelled) => t.outbox_kind_cancelled,
        Some(EmailKind::StaffNewOrder) => t.outbox_kind_staff_new_order,
        None => t.none,
    }
}

fn resendable(status: &str) -> bool {
    matches!(status, "sent" | "failed")
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct EmailRow {
    email_id: Uuid,
    kind: String,
    order_number: Option<String>,
    language: String,
    recipient: String,
    recipient_name: Option<String>,
    subject: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    resends: i32,
    created_at: DateTime<Utc>,
}

const COLUMNS: &str = "email_id, kind, order_number, language, recipient, recipient_name,
    subject, status, attempts, next_attempt_at, last_attempt_at, last_error, sent_at, resends,
    created_at";

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    email: EmailRow,
    total: i64,
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageEmails)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let status = query
        .status
        .clone()
        .filter(|s| STATUSES.contains(&s.as_str()));
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(200).collect::<String>());
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "select {COLUMNS}, count(*) over () as total from email_outbox where true"
    ));
    if let Some(status) = &status {
        sql.push(" and status = ").push_bind(status.clone());
    }
    if let Some(search) = &search {
        let pattern = crate::admin::contains_pattern(search);
        sql.push(" and (recipient ilike ")
            .push_bind(pattern.clone())
            .push(" or order_number ilike ")
            .push_bind(pattern.clone())
            .push(" or subject ilike ")
            .push_bind(pattern)
            .push(")");
    }
    // What needs attention first: failures, then what waits, newest first within each.
    sql.push(
        " order by case status when 'failed' then 0 when 'sending' then 1 when 'pending' then 2 else 3 end,
                   created_at desc
          limit ",
    )
    .push_bind(PAGE_SIZE)
    .push(" offset ")
    .push_bind((page - 1) * PAGE_SIZE);
    let rows: Vec<Counted> = sql.build_query_as().fetch_all(&state.pool).await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let counts: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from email_outbox group by status")
            .fetch_all(&state.pool)
            .await?;
    let count = |s: &str| {
        counts
            .iter()
            .find(|(status, _)| status == s)
            .map_or(0, |(_, n)| *n)
    };
    let current = [("status", &status), ("q", &search)];
    let page_link = |p: i64| {
        let p = p.to_string();
        list_link("/admin/outbox", &current, &[("page", Some(&p))])
    };
    let back = admin.uri.clone();
    let content = html! {
        div.page-header { h1 { (t.outbox_title) } }
        p.muted { (t.outbox_intro) }
        nav.tabs aria-label=(t.status) {
            a.tab href=(list_link("/admin/outbox", &current, &[("status", None), ("page", None)]))
                aria-current=[status.is_none().then_some("page")] { (t.all) }
            @for value in STATUSES {
                a.tab href=(list_link("/admin/outbox", &current, &[("status", Some(value)), ("page", None)]))
                    aria-current=[(status.as_deref() == Some(value)).then_some("page")] {
                    (status_label(t, value)) " (" (count(value)) ")"
                }
            }
        }
        form.filters method="get" action="/admin/outbox" {
            label for="f-status" { (t.status) }
            select #f-status name="status" {
                option value="" { (t.all) }
                @for value in STATUSES {
                    option value=(value) selected[status.as_deref() == Some(value)] { (status_label(t, value)) }
                }
            }
            label for="f-q" { (t.search) }
            input #f-q type="search" name="q" value=(search.as_deref().unwrap_or("")) placeholder=(t.outbox_search_hint);
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
            a.btn.btn-ghost href="/admin/outbox" { (t.reset) }
        }
        @if rows.is_empty() { p.empty { (t.outbox_empty) } } @else {
            div.table-wrap tabindex="0" { table.data #outbox {
                thead { tr {
                    th scope="col" { (t.outbox_queued_at) }
                    th scope="col" { (t.outbox_recipient) }
                    th scope="col" { (t.outbox_subject) }
                    th scope="col" { (t.outbox_kind) }
                    th scope="col" { (t.order_number) }
                    th scope="col" { (t.status) }
                    th scope="col" { (t.outbox_when) }
                    th scope="col" { (t.actions) }
                } }
                tbody { @for row in &rows { @let email = &row.email; tr {
                    td { (local_time(&email.created_at, french)) }
                    td {
                        @if let Some(name) = &email.recipient_name { (name) br; }
                        span.muted { (email.recipient) }
                    }
                    td { a href={"/admin/outbox/" (email.email_id)} { (email.subject) } }
                    td { (kind_label(t, &email.kind)) " " span.muted { "(" (email.language) ")" } }
                    td {
                        @if let Some(number) = &email.order_number {
                            a href={"/admin/orders/" (crate::links::path_segment(number))} { (number) }
                        } @else { (t.none) }
                    }
                    td {
                        (status_badge(t, &email.status))
                        @if email.attempts > 0 {
                            br; span.muted { (fill(t.outbox_attempts_count, &[("count", &email.attempts.to_string())])) }
                        }
                        @if let Some(error) = &email.last_error {
                            br; small title=(t.outbox_last_error) { (crate::admin::dashboard::excerpt(error, 120)) }
                        }
                    }
                    td { (when(t, email, french)) }
                    td {
                        @if resendable(&email.status) {
                            a.btn.btn-small href={"/admin/outbox/" (email.email_id) "/resend?back=" (crate::admin::error::urlencode(&back))}
                                hx-get={"/admin/outbox/" (email.email_id) "/resend?back=" (crate::admin::error::urlencode(&back))}
                                hx-target="#modal" hx-boost="false" { (t.outbox_resend) }
                        }
                    }
                } } }
            } }
        }
        (pagination(t, page, pages, page_link))
    };
    Ok(admin.page(t.outbox_title, content).await)
}

/// When it went, or when it will be tried.
fn when(t: &Texts, email: &EmailRow, french: bool) -> String {
    match email.status.as_str() {
        "sent" => fill(
            t.outbox_sent_on,
            &[(
                "when",
                &email
                    .sent_at
                    .map(|at| local_time(&at, french))
                    .unwrap_or_default(),
            )],
        ),
        "failed" => fill(
            t.outbox_failed_on,
            &[(
                "when",
                &email
                    .last_attempt_at
                    .map(|at| local_time(&at, french))
                    .unwrap_or_default(),
            )],
        ),
        _ => fill(
            t.outbox_next_try,
            &[("when", &local_time(&email.next_attempt_at, french))],
        ),
    }
}

async fn load(state: &AppState, id: Uuid) -> Result<(EmailRow, String), AdminError> {
    #[derive(sqlx::FromRow)]
    struct WithBody {
        #[sqlx(flatten)]
        email: EmailRow,
        text_body: String,
    }
    let row: WithBody = sqlx::query_as(&format!(
        "select {COLUMNS}, text_body from email_outbox where email_id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AdminError::NotFound)?;
    Ok((row.email, row.text_body))
}

async fn detail(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageEmails)?;
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let (email, text) = load(&state, id).await?;
    let back = format!("/admin/outbox/{id}");
    let content = html! {
        div.page-header {
            div {
                h1 { (email.subject) }
                p.muted { (status_badge(t, &email.status)) " · " (kind_label(t, &email.kind)) " · " (when(t, &email, french)) }
            }
            div.page-actions {
                a.btn.btn-ghost href="/admin/outbox" { (t.back) }
                @if resendable(&email.status) {
                    a.btn href={"/admin/outbox/" (id) "/resend?back=" (crate::admin::error::urlencode(&back))}
                        hx-get={"/admin/outbox/" (id) "/resend?back=" (crate::admin::error::urlencode(&back))}
                        hx-target="#modal" hx-boost="false" { (t.outbox_resend) }
                }
            }
        }
        section.card {
            dl {
                dt { (t.outbox_recipient) }
                dd { @if let Some(name) = &email.recipient_name { (name) " " } "<" (email.recipient) ">" }
                dt { (t.order_number) }
                dd {
                    @if let Some(number) = &email.order_number {
                        a href={"/admin/orders/" (crate::links::path_segment(number))} { (number) }
                    } @else { (t.none) }
                }
                dt { (t.language) } dd { (email.language) }
                dt { (t.outbox_queued_at) } dd { (local_time(&email.created_at, french)) }
                dt { (t.outbox_attempts) } dd { (email.attempts) }
                @if email.resends > 0 {
                    dt { (t.outbox_resends) } dd { (email.resends) }
                }
                @if let Some(error) = &email.last_error {
                    dt { (t.outbox_last_error) } dd { (error) }
                }
            }
        }
        section.card {
            h2 { (t.outbox_text_part) }
            pre.email-text { (text) }
        }
    };
    Ok(admin.page(&email.subject, content).await)
}

#[derive(Debug, Default, Deserialize)]
struct BackQuery {
    back: Option<String>,
}

async fn confirm_resend(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
    Query(query): Query<BackQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageEmails)?;
    let t = admin.t;
    let (email, _) = load(&state, id).await?;
    let back = safe_back(query.back.as_deref().or(Some("/admin/outbox")));
    if !resendable(&email.status) {
        admin.flash("error", t.outbox_resend_refused).await;
        return Ok(Redirect::to(&back).into_response());
    }
    let question = fill(
        t.outbox_resend_confirm,
        &[("subject", &email.subject), ("recipient", &email.recipient)],
    );
    let body = admin.confirm_dialog(
        &question,
        &format!("/admin/outbox/{id}/resend"),
        t.outbox_resend,
        &back,
        html! { input type="hidden" name="back" value=(back); },
    );
    Ok(admin.confirmation(t.outbox_resend, body).await)
}

#[derive(Debug, Default, Deserialize)]
struct ResendForm {
    back: Option<String>,
}

async fn resend(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
    Form(form): Form<ResendForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageEmails)?;
    let t = admin.t;
    let back = safe_back(form.back.as_deref().or(Some("/admin/outbox")));
    if crate::email::resend(&state.pool, id, Some(admin.user.id)).await? {
        tracing::info!(email_id = %id, staff_id = %admin.user.id, "email queued again by staff");
        admin.flash("success", t.outbox_resent).await;
    } else {
        // Unknown, or pending/sending already: nothing to do.
        sqlx::query_scalar::<_, Uuid>("select email_id from email_outbox where email_id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(AdminError::NotFound)?;
        admin.flash("error", t.outbox_resend_refused).await;
    }
    Ok(Redirect::to(&back).into_response())
}
