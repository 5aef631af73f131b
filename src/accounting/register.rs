//! The sales exports' rows, read from the invoice register as a stream (sqlx's `fetch`):
//! an export of any period holds one document at a time.

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use rust_decimal::Decimal;
use sqlx::types::Json;
use sqlx::PgPool;

use aggregates::{VatLine, VatRate};
use projections::views::invoices::payment_means;

use super::{customer_account, EntryKind, Payment, PaymentMeans, RateAmounts, SalesEntry};

type RegisterRow = (
    String,
    String,
    DateTime<Utc>,
    String,
    String,
    String,
    Json<Vec<VatLine>>,
    Decimal,
    Decimal,
    Decimal,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn entry(row: RegisterRow) -> SalesEntry {
    let (
        kind,
        number,
        issued_at,
        order_number,
        customer_name,
        customer_email,
        breakdown,
        total_ht,
        total_vat,
        total_ttc,
        provider,
        reference,
        paid_at,
        corrects,
    ) = row;
    let (kind, sign) = if kind == "credit_note" {
        (EntryKind::CreditNote, Decimal::NEGATIVE_ONE)
    } else {
        (EntryKind::Invoice, Decimal::ONE)
    };
    let payment = paid_at.map(|paid_at| Payment {
        means: PaymentMeans::from(
            payment_means(provider.as_deref(), reference.as_deref()).as_str(),
        ),
        // A credit note's money goes back when it is issued.
        paid_at: if kind == EntryKind::CreditNote {
            issued_at
        } else {
            paid_at
        },
        reference: reference.clone().unwrap_or_default(),
    });
    SalesEntry {
        kind,
        number,
        issued_at,
        order_number,
        customer_account: customer_account(&customer_email),
        customer_name,
        customer_email,
        per_rate: breakdown
            .0
            .iter()
            .map(|l| RateAmounts {
                rate: l.rate,
                ht: sign * l.base_ht.amount(),
                vat: sign * l.vat.amount(),
            })
            .collect(),
        total_ht: sign * total_ht,
        total_vat: sign * total_vat,
        total_ttc: sign * total_ttc,
        payment,
        corrects,
    }
}

/// Invoices and credit notes issued in `[from, until)`, in the order they were issued.
pub fn sales_entries(
    pool: &PgPool,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> impl Stream<Item = Result<SalesEntry, sqlx::Error>> + '_ {
    sqlx::query_as::<_, RegisterRow>(
        "select kind, number, issued_at, order_number, customer_name, customer_email,
                vat_breakdown, total_ht, total_vat, total_ttc, payment_provider,
                payment_reference, paid_at, corrects
         from invoice_register where issued_at >= $1 and issued_at < $2
         order by issued_at, position",
    )
    .bind(from)
    .bind(until)
    .fetch(pool)
    .map(|row| row.map(entry))
}

/// How many documents `[from, until)` holds, and their VAT rates (the sales CSV's columns).
pub async fn period_outline(
    pool: &PgPool,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, Vec<VatRate>), sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from invoice_register where issued_at >= $1 and issued_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_one(pool)
    .await?;
    let rates: Vec<String> = sqlx::query_scalar(
        "select distinct v ->> 'rate' from invoice_register, jsonb_array_elements(vat_breakdown) v
         where issued_at >= $1 and issued_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?;
    let mut rates: Vec<VatRate> = rates.iter().filter_map(|r| r.parse().ok()).collect();
    rates.sort();
    Ok((count, rates))
}
