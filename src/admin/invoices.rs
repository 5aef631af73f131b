//! The invoice register: the invoices and credit notes of a period (Paris days) with their
//! totals per VAT rate, a check that every numbering series runs without a gap, the
//! closed days (and, for the owner, closing the finished ones now), and the accounting
//! exports of the period, streamed from the database through the command line's own code
//! path ([`crate::accounting::run`]).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures_util::StreamExt;
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;

use aggregates::calendar::paris_day;
use aggregates::staff::Permission;
use aggregates::ClosureTotals;
use projections::views::invoices::{
    payment_means, period_totals, recent_closed_days, series_checks, ClosedDay, SeriesCheck,
    MAX_GAPS,
};

use crate::accounting::register::period_outline;
use crate::accounting::run::{self, ExportFormat, ExportSpec};
use crate::accounting::{Dialect, FecSeparator};
use crate::admin::error::{urlencode, AdminError};
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::{local_time, pagination, Admin};
use crate::admin::{field, safe_back, FieldErrors};
use crate::http::AppState;

/// Documents per page: a period can hold ten thousand.
const PAGE_SIZE: i64 = 100;

/// Closed days listed.
const CLOSED_DAYS: i64 = 10;

/// The header a script sets when it fetches an export itself (to show its progress): a
/// refusal then comes back as a sentence, not as a page to go to.
pub const EXPORT_FETCH_HEADER: &str = "x-export-fetch";

/// The routes of the register and its exports.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/invoices", get(register))
        .route("/admin/invoices/close", post(close))
        .route("/admin/exports/{kind}", get(export))
}

/// A period as typed: `from` and `to` (`YYYY-MM-DD`), empty for the current month.
#[derive(Debug, Default, Clone, Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

/// The first and last day of the month `day` is in.
fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).unwrap_or(day);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    let last = next.and_then(|n| n.pred_opt()).unwrap_or(first);
    (first, last)
}

/// The period asked for, the current month (Paris) where an end is left empty; or the
/// errors of each field, in the reader's language.
fn parse_period(
    t: &Texts,
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
    let (month_first, month_last) = month_of(today);
    let mut errors = FieldErrors::new();
    let mut day = |name: &'static str, value: Option<&str>, default: NaiveDate| {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(default),
            Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                // Four-digit years only: `+275760-09-13` parses but is no accounting day.
                Ok(date) if (1900..=9999).contains(&date.year()) => Some(date),
                _ => {
                    errors.insert(name, t.inv_err_date.to_owned());
                    None
                }
            },
        }
    };
    let from = day("from", from, month_first);
    let to = day("to", to, month_last);
    match (from, to) {
        (Some(from), Some(to)) if from <= to => Ok((from, to)),
        (Some(_), Some(_)) => {
            errors.insert("to", t.inv_err_order.to_owned());
            Err(errors)
        }
        _ => Err(errors),
    }
}

/// A day as staff read it: `31/03/2026`, or `2026-03-31` in English.
fn day_text(day: NaiveDate, lang: Lang) -> String {
    if lang == Lang::Fr {
        day.format("%d/%m/%Y").to_string()
    } else {
        day.to_string()
    }
}

/// The register's address for a period (and a page).
fn register_link(from: &str, to: &str, page: Option<i64>) -> String {
    let mut link = format!(
        "/admin/invoices?from={}&to={}",
        urlencode(from),
        urlencode(to)
    );
    if let Some(page) = page {
        link.push_str(&format!("&page={page}"));
    }
    link
}

/// How a document was paid, in words.
fn means_label(t: &Texts, means: &str) -> String {
    match means {
        "stripe" => t.method_stripe,
        "oney" => t.method_oney,
        "pickup" => t.method_pickup,
        "cash" => t.pay_cash,
        "card" => t.pay_card,
        "cheque" => t.pay_cheque,
        "unpaid" => t.inv_unpaid,
        other => return other.to_owned(),
    }
    .to_owned()
}

/// A VAT rate as the reader writes it (`5,5` in French).
fn rate_text(rate: aggregates::VatRate, lang: Lang) -> String {
    let text = rate.percent().normalize().to_string();
    if lang == Lang::Fr {
        text.replace('.', ",")
    } else {
        text
    }
}

#[derive(Debug, sqlx::FromRow)]
struct DocumentRow {
    number: String,
    kind: String,
    issued_at: DateTime<Utc>,
    order_number: String,
    customer_name: String,
    customer_email: String,
    total_ht: Decimal,
    total_vat: Decimal,
    total_ttc: Decimal,
    payment_provider: Option<String>,
    payment_reference: Option<String>,
    corrects: Option<String>,
    stored: bool,
}

/// `GET /admin/invoices`: the register of a period.
async fn register(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ViewInvoices)?;
    let t = admin.t;
    let today = paris_day(Utc::now());
    let period = parse_period(t, query.from.as_deref(), query.to.as_deref(), today);
    let (from, to) = match period {
        Ok(period) => period,
        Err(errors) => {
            let content = html! {
                (header(&admin))
                (filter_form(&admin, query.from.as_deref().unwrap_or(""), query.to.as_deref().unwrap_or(""), &errors, today))
                p.alert.alert-error role="alert" { (t.inv_err_period) }
            };
            return Ok(admin
                .page_with_status(t.inv_title, content, StatusCode::UNPROCESSABLE_ENTITY)
                .await);
        }
    };
    let (start, until) = run::bounds(from, to).map_err(|e| AdminError::internal("period", e))?;
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);

    let mut conn = state.pool.acquire().await?;
    let totals = period_totals(&mut conn, start, until).await?;
    drop(conn);
    let documents: Vec<DocumentRow> = sqlx::query_as(
        "select number, kind, issued_at, order_number, customer_name, customer_email,
                total_ht, total_vat, total_ttc, payment_provider, payment_reference, corrects,
                pdf_key is not null as stored
         from invoice_register where issued_at >= $1 and issued_at < $2
         order by issued_at, position limit $3 offset $4",
    )
    .bind(start)
    .bind(until)
    .bind(PAGE_SIZE)
    .bind((page - 1) * PAGE_SIZE)
    .fetch_all(&state.pool)
    .await?;
    let count = i64::try_from(totals.invoices + totals.credit_notes).unwrap_or(i64::MAX);
    let pages = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let series = series_checks(&state.pool).await?;
    let closed = recent_closed_days(&state.pool, CLOSED_DAYS).await?;
    let exports = if admin.may(Permission::Export) {
        let events: i64 = sqlx::query_scalar(
            "select count(*) from events where recorded_at >= $1 and recorded_at < $2",
        )
        .bind(start)
        .bind(until)
        .fetch_one(&state.pool)
        .await?;
        let (documents, _) = period_outline(&state.pool, start, until).await?;
        let siren = run::shop_siren(&state.bus)
            .await
            .map_err(|e| AdminError::internal("the shop's settings", e))?;
        Some(exports_card(
            &admin,
            from,
            to,
            documents,
            events,
            siren.is_some(),
        ))
    } else {
        None
    };

    let from_text = from.to_string();
    let to_text = to.to_string();
    let content = html! {
        (header(&admin))
        (filter_form(&admin, &from_text, &to_text, &FieldErrors::new(), today))
        p.muted #register-period {
            (fill(t.inv_period_shown, &[("from", &day_text(from, admin.lang)), ("to", &day_text(to, admin.lang))]))
        }
        div.grid-2 {
            (totals_card(&admin, &totals))
            (gaps_card(&admin, &series))
        }
        section.card #register-documents aria-labelledby="documents-title" {
            h2 #documents-title { (t.inv_documents) }
            p.muted #register-count {
                (fill(t.inv_count, &[
                    ("count", &count.to_string()),
                    ("invoices", &totals.invoices.to_string()),
                    ("credit_notes", &totals.credit_notes.to_string()),
                ]))
            }
            @if documents.is_empty() { p.empty { (t.inv_none) } } @else {
                (documents_table(&admin, &documents))
            }
            (pagination(t, page, pages, |p| register_link(&from_text, &to_text, Some(p))))
        }
        div.grid-2 {
            (closures_card(&admin, &closed))
            @if let Some(exports) = exports { (exports) }
        }
    };
    Ok(admin.page(t.inv_title, content).await)
}

fn header(admin: &Admin) -> Markup {
    html! { div.page-header { h1 { (admin.t.inv_title) } } }
}

/// The period's form (plain GET, works without JavaScript) and the quick periods.
fn filter_form(
    admin: &Admin,
    from: &str,
    to: &str,
    errors: &FieldErrors,
    today: NaiveDate,
) -> Markup {
    let t = admin.t;
    let (month_first, month_last) = month_of(today);
    let (last_month_first, last_month_last) =
        month_of(month_first.pred_opt().unwrap_or(month_first));
    let year_first = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(month_first);
    let year_last = NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap_or(month_last);
    let quick = [
        (t.inv_this_month, month_first, month_last),
        (t.inv_last_month, last_month_first, last_month_last),
        (t.inv_this_year, year_first, year_last),
    ];
    html! {
        form.filters method="get" action="/admin/invoices" aria-label=(t.inv_period) novalidate {
            (field("from", t.date_from, None, errors, html! {
                input #from type="date" name="from" value=(from)
                    aria-invalid=[errors.contains_key("from").then_some("true")]
                    aria-describedby="err-from";
            }))
            (field("to", t.date_to, None, errors, html! {
                input #to type="date" name="to" value=(to)
                    aria-invalid=[errors.contains_key("to").then_some("true")]
                    aria-describedby="err-to";
            }))
            button.btn type="submit" { (t.filter) span.spinner aria-hidden="true" {} }
        }
        nav.tabs.quick-periods aria-label=(t.inv_period) {
            @for (label, first, last) in quick {
                @let current = from == first.to_string() && to == last.to_string();
                a href=(register_link(&first.to_string(), &last.to_string(), None))
                    aria-current=[current.then_some("page")] { (label) }
            }
        }
    }
}

fn totals_card(admin: &Admin, totals: &ClosureTotals) -> Markup {
    let t = admin.t;
    html! {
        section.card #register-totals aria-labelledby="totals-title" {
            h2 #totals-title { (t.inv_totals) }
            p.muted { (t.inv_totals_hint) }
            div.table-wrap tabindex="0" { table.data {
                thead { tr {
                    th scope="col" { (t.vat_rate) }
                    th.num scope="col" { (t.inv_base_ht) }
                    th.num scope="col" { (t.inv_vat) }
                    th.num scope="col" { (t.total_ttc) }
                } }
                tbody { @for rate in &totals.by_rate { tr {
                    th scope="row" { (rate_text(rate.rate, admin.lang)) " %" }
                    td.num { (admin.money(rate.ht)) }
                    td.num { (admin.money(rate.vat)) }
                    td.num { (admin.money(rate.ttc)) }
                } } }
                tfoot { tr {
                    th scope="row" { (t.inv_overall) }
                    td.num #total-ht { (admin.money(totals.ht)) }
                    td.num #total-vat { (admin.money(totals.vat)) }
                    td.num #total-ttc { strong { (admin.money(totals.ttc)) } }
                } }
            } }
            @if !totals.by_means.is_empty() {
                h3 { (t.inv_by_means) }
                dl.means {
                    @for means in &totals.by_means {
                        dt { (means_label(t, &means.means)) }
                        dd { (admin.money(means.ttc)) " " (t.ttc) }
                    }
                }
            }
        }
    }
}

/// The printed form of a missing sequence number, when a neighbour shows how: its
/// trailing digits are its own sequence, zero-padded (`FA-2026-000013` → `…000012`).
fn missing_number(neighbour: &str, neighbour_sequence: i64, missing: i64) -> Option<String> {
    let digits = neighbour
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .count();
    let (prefix, tail) = neighbour.split_at(neighbour.len() - digits);
    if digits == 0 || tail.parse::<i64>().ok()? != neighbour_sequence {
        return None;
    }
    Some(format!("{prefix}{missing:0digits$}"))
}

fn gaps_card(admin: &Admin, series: &[SeriesCheck]) -> Markup {
    let t = admin.t;
    html! {
        section.card #register-gaps aria-labelledby="gaps-title" {
            h2 #gaps-title { (t.inv_gaps) }
            p.muted { (t.inv_gaps_hint) }
            @if series.is_empty() { p.empty { (t.inv_no_series) } }
            @for check in series {
                div.series-check data-series=(check.series) {
                    h3 { (t.inv_series) " " (check.series) }
                    dl {
                        dt { (t.inv_first) } dd { code { (check.first.0) } }
                        dt { (t.inv_last) } dd { code { (check.last.0) } }
                        dt { (t.inv_numbers) } dd { (check.count) }
                    }
                    @if check.gaps.is_empty() {
                        p.alert.alert-success.gap-status role="status" { "✓ " (t.inv_no_gap) }
                    } @else {
                        div.alert.alert-error.gap-status role="alert" {
                            p { strong { (fill(t.inv_gap_found, &[("count", &check.missing.to_string())])) } }
                            ul.gaps {
                                @for gap in &check.gaps {
                                    li {
                                        @let first = missing_number(&gap.after, gap.to + 1, gap.from);
                                        @let last = missing_number(&gap.after, gap.to + 1, gap.to);
                                        @if gap.from == gap.to {
                                            "n° " (gap.from)
                                            @if let Some(first) = first { " (" code { (first) } ")" }
                                        } @else {
                                            "n° " (gap.from) " – " (gap.to)
                                            @if let (Some(first), Some(last)) = (first, last) {
                                                " (" code { (first) } " – " code { (last) } ")"
                                            }
                                        }
                                    }
                                }
                            }
                            @if check.gaps.len() as i64 >= MAX_GAPS {
                                p { (fill(t.inv_gap_more, &[("count", &MAX_GAPS.to_string())])) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn documents_table(admin: &Admin, documents: &[DocumentRow]) -> Markup {
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    html! {
        div.table-wrap tabindex="0" { table.data #documents {
            thead { tr {
                th scope="col" { (t.inv_number) }
                th scope="col" { (t.inv_kind) }
                th scope="col" { (t.inv_issued_at) }
                th scope="col" { (t.order_number) }
                th scope="col" { (t.customer) }
                th.num scope="col" { (t.ht) }
                th.num scope="col" { (t.inv_vat) }
                th.num scope="col" { (t.ttc) }
                th scope="col" { (t.payment_means) }
            } }
            tbody { @for d in documents {
                @let credit = d.kind == "credit_note";
                @let sign = if credit { Decimal::NEGATIVE_ONE } else { Decimal::ONE };
                tr {
                    td {
                        @if d.stored {
                            a href={"/admin/documents/" (urlencode(&d.number))} hx-boost="false" { (d.number) }
                        } @else { (d.number) }
                    }
                    td {
                        @if credit {
                            span.badge.badge-danger { (t.inv_kind_credit_note) }
                            @if let Some(corrected) = &d.corrects {
                                br; span.muted { (fill(t.inv_corrects, &[("number", corrected)])) }
                            }
                        } @else { span.badge.badge-ok { (t.inv_kind_invoice) } }
                    }
                    td { (local_time(&d.issued_at, french)) }
                    td { a href={"/admin/orders/" (urlencode(&d.order_number))} { (d.order_number) } }
                    td { (d.customer_name) br; span.muted { (d.customer_email) } }
                    td.num { (admin.money(sign * d.total_ht)) }
                    td.num { (admin.money(sign * d.total_vat)) }
                    td.num { (admin.money(sign * d.total_ttc)) }
                    td { (means_label(t, &payment_means(d.payment_provider.as_deref(), d.payment_reference.as_deref()))) }
                }
            } }
        } }
    }
}

/// The first hex digits of a seal, enough to compare by eye; the whole in the title.
fn short_seal(seal: &str) -> String {
    let short: String = seal.chars().take(12).collect();
    if short.len() < seal.len() {
        format!("{short}…")
    } else {
        short
    }
}

fn closures_card(admin: &Admin, closed: &[ClosedDay]) -> Markup {
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let day = |text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| day_text(d, admin.lang))
            .unwrap_or_else(|_| text.to_owned())
    };
    html! {
        section.card #register-closures aria-labelledby="closures-title" {
            h2 #closures-title { (t.inv_closures) }
            p.muted { (t.inv_closures_hint) }
            @match closed.first() {
                Some(last) => p #last-closed { strong { (fill(t.inv_last_closed, &[("day", &day(&last.day))])) } },
                None => p #last-closed { (t.inv_never_closed) },
            }
            @if !closed.is_empty() {
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        th scope="col" { (t.inv_day) }
                        th.num scope="col" { (t.total_ttc) }
                        th.num scope="col" { (t.inv_year_to_date) }
                        th scope="col" { (t.seal_hash) }
                        th scope="col" { (t.inv_closed_at) }
                    } }
                    tbody { @for c in closed { tr {
                        th scope="row" { (day(&c.day)) }
                        td.num { (admin.money(c.totals.ttc)) }
                        td.num { (admin.money(c.year_to_date.ttc)) }
                        td { code title=(c.last_seal) { (short_seal(&c.last_seal)) } }
                        td { (local_time(&c.closed_at, french)) }
                    } } }
                } }
            }
            @if admin.may(Permission::CloseBooks) {
                form method="post" action="/admin/invoices/close" {
                    (admin.csrf_field())
                    input type="hidden" name="back" value=(admin.uri);
                    button.btn.btn-primary type="submit" { (t.inv_close_now) span.spinner aria-hidden="true" {} }
                }
            }
        }
    }
}

/// The exports of the period: each a plain link (a download without JavaScript), marked
/// `data-export` for the script that shows its progress.
fn exports_card(
    admin: &Admin,
    from: NaiveDate,
    to: NaiveDate,
    documents: i64,
    events: i64,
    has_siren: bool,
) -> Markup {
    let t = admin.t;
    let link = |kind: &str, option: (&str, &str)| {
        format!(
            "/admin/exports/{kind}?from={from}&to={to}&{}={}",
            option.0, option.1
        )
    };
    let download = |href: String, label: &str, id: &str| {
        html! {
            a.btn.btn-small #(id) href=(href) download hx-boost="false" data-export {
                (t.inv_download) " · " (label)
            }
        }
    };
    html! {
        section.card #register-exports aria-labelledby="exports-title"
            data-loading-text=(t.loading) data-progress-text=(t.inv_export_progress)
            data-done-text=(t.inv_export_done)
            data-failed-text=(t.inv_export_failed) data-cut-text=(t.inv_export_cut) {
            h2 #exports-title { (t.inv_exports) }
            p.muted {
                (fill(t.inv_exports_hint, &[("from", &day_text(from, admin.lang)), ("to", &day_text(to, admin.lang))]))
            }
            h3 { (t.inv_sales_csv) }
            p #export-documents { (fill(t.inv_export_documents, &[("count", &documents.to_string())])) }
            p.export-links {
                (download(link("sales-csv", ("dialect", "fr")), t.inv_sales_csv_fr, "export-sales-fr"))
                " "
                (download(link("sales-csv", ("dialect", "rfc")), t.inv_sales_csv_rfc, "export-sales-rfc"))
            }
            h3 { (t.inv_fec) }
            @if has_siren {
                p.export-links {
                    (download(link("fec", ("separator", "pipe")), t.inv_fec_pipe, "export-fec-pipe"))
                    " "
                    (download(link("fec", ("separator", "tab")), t.inv_fec_tab, "export-fec-tab"))
                }
            } @else {
                p.alert.alert-info #fec-no-siren {
                    (t.inv_fec_no_siren)
                    @if admin.may(Permission::ManageSettings) {
                        " " a href="/admin/settings" { (t.nav_settings) }
                    }
                }
            }
            h3 { (t.inv_audit) }
            p #export-events { (fill(t.inv_export_events, &[("count", &events.to_string())])) }
            p.export-links {
                (download(link("audit", ("format", "csv")), t.inv_audit_csv, "export-audit-csv"))
                " "
                (download(link("audit", ("format", "jsonl")), t.inv_audit_jsonl, "export-audit-jsonl"))
            }
            div.export-progress hidden {
                progress max="1" value="0" {}
                p.export-status aria-live="polite" role="status" {}
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct CloseForm {
    back: Option<String>,
}

/// `POST /admin/invoices/close`: closes every finished day now (the owner), then back to
/// the register with the days closed, or none, in a toast.
async fn close(
    State(state): State<AppState>,
    admin: Admin,
    context: crate::context::RequestContext,
    Form(form): Form<CloseForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::CloseBooks)?;
    let t = admin.t;
    let back = match form.back.as_deref() {
        Some(back) if back.starts_with("/admin/invoices") => safe_back(Some(back)),
        _ => "/admin/invoices".to_owned(),
    };
    // Recorded as the owner's closures, not the automatic closer's.
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match crate::closures::close_due_as(&state.bus, Utc::now(), &metadata).await {
        Ok(days) if days.is_empty() => admin.flash("info", t.inv_nothing_due).await,
        Ok(days) => {
            tracing::info!(staff = %admin.user.id, ?days, "days closed from the admin");
            let list = if days.len() <= 7 {
                days.iter()
                    .map(|d| day_text(*d, admin.lang))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                format!(
                    "{} – {} ({})",
                    day_text(days[0], admin.lang),
                    day_text(days[days.len() - 1], admin.lang),
                    days.len()
                )
            };
            admin
                .flash("success", fill(t.inv_closed_days, &[("days", &list)]))
                .await;
        }
        Err(error) => {
            tracing::error!(%error, staff = %admin.user.id, "closing from the admin failed");
            admin.flash("error", t.inv_close_failed).await;
        }
    }
    Ok(Redirect::to(&back).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    dialect: Option<String>,
    separator: Option<String>,
    format: Option<String>,
}

/// Why an export is not served, told the way the request can show it: a sentence for the
/// page's script, the register page (with the period's errors, or a toast) otherwise.
async fn refuse(
    admin: &Admin,
    headers: &HeaderMap,
    query: &ExportQuery,
    message: &str,
    toast: bool,
) -> Response {
    if headers.contains_key(EXPORT_FETCH_HEADER) {
        let mut response = (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message.to_owned(),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    if toast {
        admin.flash("error", message).await;
    }
    Redirect::to(&register_link(
        query.from.as_deref().unwrap_or(""),
        query.to.as_deref().unwrap_or(""),
        None,
    ))
    .into_response()
}

/// `GET /admin/exports/{sales-csv|fec|audit}`: the period's file, streamed from the
/// database as it is encoded. `X-Export-Rows` says how many rows (lines after the header)
/// to expect and `X-Export-Header-Lines` how many lines come before them, for a progress
/// bar.
async fn export(
    State(state): State<AppState>,
    admin: Admin,
    context: crate::context::RequestContext,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AdminError> {
    admin.require(Permission::Export)?;
    let t = admin.t;
    let option = |value: &Option<String>, default: &str| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    let format = match kind.as_str() {
        "sales-csv" => ExportFormat::SalesCsv(
            option(&query.dialect, "fr")
                .parse::<Dialect>()
                .map_err(|_| AdminError::NotFound)?,
        ),
        "fec" => ExportFormat::Fec(
            option(&query.separator, "pipe")
                .parse::<FecSeparator>()
                .map_err(|_| AdminError::NotFound)?,
        ),
        "audit" => match option(&query.format, "csv").as_str() {
            "csv" => ExportFormat::Audit { jsonl: false },
            "jsonl" => ExportFormat::Audit { jsonl: true },
            _ => return Err(AdminError::NotFound),
        },
        _ => return Err(AdminError::NotFound),
    };
    let today = paris_day(Utc::now());
    let (from, to) = match parse_period(t, query.from.as_deref(), query.to.as_deref(), today) {
        Ok(period) => period,
        Err(errors) => {
            let message = errors.values().cloned().collect::<Vec<_>>().join(" ");
            return Ok(refuse(&admin, &headers, &query, &message, false).await);
        }
    };
    let spec = ExportSpec { format, from, to };
    let siren = match format {
        ExportFormat::Fec(_) => run::shop_siren(&state.bus)
            .await
            .map_err(|e| AdminError::internal("the shop's settings", e))?,
        _ => None,
    };
    let file_name = match spec.file_name(siren.as_deref()) {
        Ok(name) => name,
        Err(run::RunError::NoSiren) => {
            return Ok(refuse(&admin, &headers, &query, t.inv_fec_no_siren, true).await)
        }
        Err(error) => return Err(AdminError::internal("an export's name", error)),
    };
    let plan = match format {
        ExportFormat::Fec(_) => {
            run::account_plan().map_err(|e| AdminError::internal("the account plan", e))?
        }
        _ => crate::accounting::AccountPlan::default(),
    };
    let rows = run::expected_rows(&state.pool, &spec, &plan)
        .await
        .map_err(|e| AdminError::internal("counting an export's rows", e))?;
    // Who took the books out, and which: a security event, and the log.
    let attempt = crate::auth::Attempt {
        email: Some(&admin.user.email),
        staff_id: Some(admin.user.id),
        client_ip: context.client_ip.as_deref(),
        user_agent: context.user_agent.as_deref(),
    };
    let detail = format!("{kind} {from}..{to}, {rows} rows, {file_name}");
    crate::auth::record_detailed(
        &state.pool,
        crate::auth::SecurityEventKind::ExportDownloaded,
        &attempt,
        Some(&detail),
    )
    .await?;
    tracing::info!(
        staff = %admin.user.id,
        email = %admin.user.email,
        export = %kind,
        %from,
        %to,
        rows,
        file = %file_name,
        "export downloaded from the admin"
    );
    let body = run::chunks(state.pool.clone(), spec, plan).map(|chunk| {
        chunk.map(|c| c.bytes).map_err(|error| {
            // The response has begun: the error can only cut it short (the browser sees
            // an incomplete download) and be logged.
            tracing::error!(%error, "an export stopped half-way");
            error
        })
    });
    let mut response = Body::from_stream(body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(spec.content_type()),
    );
    // The names are ASCII by construction (dates, digits, a SIREN).
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    out.insert("x-export-rows", HeaderValue::from(rows));
    out.insert(
        "x-export-header-lines",
        HeaderValue::from(spec.header_lines()),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn an_empty_period_is_the_current_month() {
        let t = Lang::En.texts();
        assert_eq!(
            parse_period(t, None, Some(""), day("2026-02-14")).unwrap(),
            (day("2026-02-01"), day("2026-02-28"))
        );
        assert_eq!(
            month_of(day("2026-12-31")),
            (day("2026-12-01"), day("2026-12-31"))
        );
    }

    #[test]
    fn bad_periods_name_their_field_in_the_readers_language() {
        let today = day("2026-03-10");
        let errors = parse_period(Lang::Fr.texts(), Some("2026-13-01"), None, today).unwrap_err();
        assert_eq!(errors["from"], Lang::Fr.texts().inv_err_date);
        let errors = parse_period(
            Lang::En.texts(),
            Some("2026-03-10"),
            Some("2026-03-01"),
            today,
        )
        .unwrap_err();
        assert_eq!(errors["to"], Lang::En.texts().inv_err_order);
        assert!(parse_period(Lang::En.texts(), Some("+275760-09-13"), None, today).is_err());
    }

    #[test]
    fn missing_numbers_are_printed_like_their_neighbours() {
        assert_eq!(
            missing_number("FA-2026-000013", 13, 12).as_deref(),
            Some("FA-2026-000012")
        );
        assert_eq!(
            missing_number("AV-2026-000002", 2, 1).as_deref(),
            Some("AV-2026-000001")
        );
        assert_eq!(missing_number("FA-2026-X", 13, 12), None);
        assert_eq!(missing_number("FA-2026-000013", 7, 12), None);
    }
}
