//! Accounting exports: the sales CSV (two dialects), the FEC and the audit trail.
//!
//! Every encoder is push-based: the caller asks for the [`Encoder::header`], then pushes
//! one row at a time through [`Encoder::row`] and sends the bytes it gets back wherever it
//! likes (an HTTP body, a file), and ends with [`Encoder::finish`]. An encoder keeps only
//! what the format needs across rows (FEC entry counters), never the rows themselves, so an
//! export of any size runs in constant memory as long as its rows are streamed too
//! ([`audit::audit_rows`] reads the event store that way). [`write_all`] drives an encoder
//! over an iterator into any [`std::io::Write`], for the command line.
//!
//! The sales exports read [`SalesEntry`] values: one invoice or credit note as the invoice
//! register knows it, amounts signed (a credit note's are negative). The FEC books them
//! with an [`AccountPlan`] whose defaults follow the French chart of accounts (PCG).
//! Documents are dated by the French calendar ([`aggregates::calendar::paris_day`]): an
//! invoice issued at 23:30 UTC on 31 December belongs to the next year's books.

pub mod audit;
pub mod csv;
pub mod fec;
pub mod register;
pub mod run;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use aggregates::VatRate;

pub use self::audit::{
    audit_rows, AuditCsv, AuditJsonl, AuditRow, AuditRows, AUDIT_VERIFY_INSTRUCTIONS,
};
pub use self::csv::{Dialect, SalesCsv};
pub use self::fec::{fec_file_name, Fec, FecSeparator, FEC_COLUMNS};

/// Whether a register entry is an invoice or a credit note (avoir).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An invoice (facture): positive amounts.
    Invoice,
    /// A credit note (avoir) correcting an invoice: negative amounts.
    CreditNote,
}

/// How an order was paid (or a credit note refunded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMeans {
    /// A bank card at the counter.
    Card,
    /// Online, through Stripe Checkout.
    Stripe,
    /// Cash at the counter.
    Cash,
    /// A cheque at the counter.
    Cheque,
    /// Anything else (`oney`, a bank transfer), by its name.
    Other(String),
}

impl PaymentMeans {
    /// The means as stored on orders: `card`, `stripe`, `cash`, `cheque`, or the other name.
    pub fn as_str(&self) -> &str {
        match self {
            PaymentMeans::Card => "card",
            PaymentMeans::Stripe => "stripe",
            PaymentMeans::Cash => "cash",
            PaymentMeans::Cheque => "cheque",
            PaymentMeans::Other(name) => name,
        }
    }

    /// The means as a French accountant reads it (`carte`, `espèces`, `chèque`…).
    pub fn french(&self) -> &str {
        match self {
            PaymentMeans::Card => "carte",
            PaymentMeans::Stripe => "Stripe",
            PaymentMeans::Cash => "espèces",
            PaymentMeans::Cheque => "chèque",
            PaymentMeans::Other(name) => name,
        }
    }
}

impl From<&str> for PaymentMeans {
    /// Reads the names orders store (`card`, `stripe`, `cash`, `cheque`); any other name is
    /// kept as [`PaymentMeans::Other`].
    fn from(value: &str) -> Self {
        match value {
            "card" => PaymentMeans::Card,
            "stripe" => PaymentMeans::Stripe,
            "cash" => PaymentMeans::Cash,
            "cheque" => PaymentMeans::Cheque,
            other => PaymentMeans::Other(other.to_owned()),
        }
    }
}

/// The payment that settled an invoice, or the refund of a credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// How it was paid.
    pub means: PaymentMeans,
    /// When the payment was confirmed.
    pub paid_at: DateTime<Utc>,
    /// The provider's or the counter's reference (a Stripe payment intent, a cheque number);
    /// may be empty.
    pub reference: String,
}

/// HT and VAT of one VAT rate on an invoice or credit note, signed like the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateAmounts {
    /// The VAT rate.
    pub rate: VatRate,
    /// Total excluding VAT at this rate.
    pub ht: Decimal,
    /// VAT at this rate.
    pub vat: Decimal,
}

/// One invoice or credit note as the invoice register knows it.
///
/// Amounts are signed: an invoice's are positive, a credit note's negative, so sums over
/// a period are the period's net sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesEntry {
    /// Invoice or credit note.
    pub kind: EntryKind,
    /// Its number (`FA-2026-000001`, `AV-2026-000001`).
    pub number: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The order it belongs to.
    pub order_number: String,
    /// The customer's name as on the document.
    pub customer_name: String,
    /// The customer's email address.
    pub customer_email: String,
    /// The customer's auxiliary account (FEC `CompAuxNum`); see [`customer_account`].
    pub customer_account: String,
    /// HT and VAT per rate, one element per rate.
    pub per_rate: Vec<RateAmounts>,
    /// Total excluding VAT.
    pub total_ht: Decimal,
    /// Total VAT.
    pub total_vat: Decimal,
    /// Total including VAT.
    pub total_ttc: Decimal,
    /// The payment (of an invoice) or refund (of a credit note), when there is one.
    pub payment: Option<Payment>,
    /// For a credit note, the number of the invoice it corrects.
    pub corrects: Option<String>,
}

/// A stable auxiliary account id for the customer with this email address, for the FEC's
/// `CompAuxNum`: `C` followed by the first 12 hex digits (upper case) of the SHA-256 of
/// the address trimmed and lower-cased, e.g. `C1F0A39B6C2D4`.
///
/// The same address always gives the same account, whatever its case, in every export and
/// every year; the id is 13 characters of `[0-9A-Z]`, so no FEC reader trips on it; and it
/// does not spell the address out (the name is in `CompAuxLib`). 48 bits keep the chance
/// that two of a shop's customers share an id below one in a million up to 20,000
/// customers.
pub fn customer_account(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let mut account = String::with_capacity(13);
    account.push('C');
    account.push_str(&hex::encode_upper(&digest[..6]));
    account
}

/// An account of the chart: its number and its name (FEC `CompteNum`, `CompteLib`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account number (`411`, `707200`).
    pub number: String,
    /// Its name (`Clients`).
    pub label: String,
}

impl Account {
    /// An account from its number and name.
    pub fn new(number: &str, label: &str) -> Self {
        Account {
            number: number.to_owned(),
            label: label.to_owned(),
        }
    }
}

/// A journal: its code and its name (FEC `JournalCode`, `JournalLib`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The journal code (`VE`).
    pub code: String,
    /// Its name (`Ventes`).
    pub label: String,
}

impl Journal {
    /// A journal from its code and name.
    pub fn new(code: &str, label: &str) -> Self {
        Journal {
            code: code.to_owned(),
            label: label.to_owned(),
        }
    }
}

/// The accounts and journals the FEC books sales and payments on.
///
/// The defaults follow the French chart of accounts (PCG) for a shop selling goods:
///
/// | what | account | journal |
/// |---|---|---|
/// | customers (collective, one auxiliary account per customer) | 411 Clients | |
/// | sales, excluding VAT | 707 Ventes de marchandises | VE Ventes |
/// | VAT collected | 44571 TVA collectée | VE Ventes |
/// | card, Stripe and other payments | 512 Banque | BQ Banque |
/// | cash | 530 Caisse | CA Caisse |
/// | cheques | 5112 Chèques à encaisser | BQ Banque |
///
/// Cheques go to 5112 rather than straight to 512: a cheque taken at the counter is money
/// on its way, not yet on the bank statement. Moving it to 512 when the deposit shows on
/// the statement is the bank reconciliation's entry, made in the accounting software. A
/// shop that books cheques directly to the bank sets `cheques` to the bank account.
///
/// Sales and VAT may be split per VAT rate: [`AccountPlan::with_accounts_per_rate`] fills
/// `sales_by_rate` and `vat_by_rate` the common way (707200 and 44571200 for 20 %); a rate
/// without its own account is booked on `sales` / `vat_collected`.
///
/// Every field has its default, so a configuration names only what it changes, e.g. in
/// JSON `{"bank": {"number": "5121", "label": "Crédit Agricole"}}`; rate maps are keyed by
/// the rate as text (`{"20": {...}, "5.5": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountPlan {
    /// The customers' collective account.
    pub customers: Account,
    /// Sales excluding VAT, for rates without their own account.
    pub sales: Account,
    /// Sales excluding VAT, per rate.
    pub sales_by_rate: BTreeMap<VatRate, Account>,
    /// VAT collected, for rates without their own account.
    pub vat_collected: Account,
    /// VAT collected, per rate.
    pub vat_by_rate: BTreeMap<VatRate, Account>,
    /// The bank: card, Stripe and other payments.
    pub bank: Account,
    /// The till: cash payments.
    pub cash: Account,
    /// Cheques received, until deposited.
    pub cheques: Account,
    /// The sales journal.
    pub sales_journal: Journal,
    /// The bank journal (card, Stripe, cheques, others).
    pub bank_journal: Journal,
    /// The cash journal.
    pub cash_journal: Journal,
}

impl Default for AccountPlan {
    fn default() -> Self {
        AccountPlan {
            customers: Account::new("411", "Clients"),
            sales: Account::new("707", "Ventes de marchandises"),
            sales_by_rate: BTreeMap::new(),
            vat_collected: Account::new("44571", "TVA collectée"),
            vat_by_rate: BTreeMap::new(),
            bank: Account::new("512", "Banque"),
            cash: Account::new("530", "Caisse"),
            cheques: Account::new("5112", "Chèques à encaisser"),
            sales_journal: Journal::new("VE", "Ventes"),
            bank_journal: Journal::new("BQ", "Banque"),
            cash_journal: Journal::new("CA", "Caisse"),
        }
    }
}

impl AccountPlan {
    /// The same plan with a sales and a VAT account for each of `rates`, numbered the
    /// common way: the base account followed by the rate in tenths of a percent on three
    /// digits (`707200` and `44571200` for 20 %, `707055` and `44571055` for 5,5 %,
    /// `707021` for 2,1 %), or in hundredths on four digits when tenths are not enough
    /// (`7070825` for 8,25 %).
    pub fn with_accounts_per_rate(mut self, rates: impl IntoIterator<Item = VatRate>) -> Self {
        for rate in rates {
            let suffix = rate_suffix(rate);
            let shown = french_rate(rate);
            let sales = Account::new(
                &format!("{}{suffix}", self.sales.number),
                &format!("{} {shown} %", self.sales.label),
            );
            let vat = Account::new(
                &format!("{}{suffix}", self.vat_collected.number),
                &format!("{} {shown} %", self.vat_collected.label),
            );
            self.sales_by_rate.insert(rate, sales);
            self.vat_by_rate.insert(rate, vat);
        }
        self
    }

    /// The sales account for `rate`.
    pub fn sales_account(&self, rate: VatRate) -> &Account {
        self.sales_by_rate.get(&rate).unwrap_or(&self.sales)
    }

    /// The VAT account for `rate`.
    pub fn vat_account(&self, rate: VatRate) -> &Account {
        self.vat_by_rate.get(&rate).unwrap_or(&self.vat_collected)
    }

    /// The journal and account a payment by `means` is booked on.
    pub fn payment_account(&self, means: &PaymentMeans) -> (&Journal, &Account) {
        match means {
            PaymentMeans::Cash => (&self.cash_journal, &self.cash),
            PaymentMeans::Cheque => (&self.bank_journal, &self.cheques),
            PaymentMeans::Card | PaymentMeans::Stripe | PaymentMeans::Other(_) => {
                (&self.bank_journal, &self.bank)
            }
        }
    }
}

fn rate_suffix(rate: VatRate) -> String {
    let tenths = rate.percent() * Decimal::TEN;
    if tenths.fract().is_zero() {
        format!("{:03}", tenths.trunc())
    } else {
        format!("{:04}", (rate.percent() * Decimal::ONE_HUNDRED).trunc())
    }
}

/// A rate as French writes it: `5,5`, `20`.
pub(crate) fn french_rate(rate: VatRate) -> String {
    rate.to_string().replace('.', ",")
}

/// An amount rounded half-up to the cent, with exactly two decimals and no negative zero.
pub(crate) fn cents(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded
}

/// One CSV record, line end included, written by `builder` (which fixes the dialect).
///
/// A writer per record, because `csv::Writer` cannot hand back what it wrote without
/// being consumed; writing into memory cannot fail but on a bug of the csv crate.
pub(crate) fn csv_record<I, T>(
    builder: &::csv::WriterBuilder,
    fields: I,
) -> Result<Vec<u8>, ExportError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut bytes = Vec::with_capacity(256);
    let mut writer = builder.from_writer(&mut bytes);
    writer.write_record(fields)?;
    writer.flush()?;
    drop(writer);
    Ok(bytes)
}

/// Why a row could not be exported, or an export not written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A sales CSV row has a VAT rate that has no column.
    #[error(
        "{number} has VAT at {rate} %, which is not one of the export's rate columns ({columns})"
    )]
    UnknownRate {
        /// The invoice or credit note.
        number: String,
        /// The rate without a column.
        rate: VatRate,
        /// The export's rate columns, e.g. `20, 5.5`.
        columns: String,
    },
    /// A FEC entry whose debits and credits differ: the entry's amounts do not add up
    /// (per-rate amounts against the totals).
    #[error("the {journal} entry of {number} does not balance: debit {debit}, credit {credit}")]
    Unbalanced {
        /// The invoice or credit note.
        number: String,
        /// The journal code of the entry.
        journal: String,
        /// Sum of the entry's debits.
        debit: Decimal,
        /// Sum of the entry's credits.
        credit: Decimal,
    },
    /// The CSV writer failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// A JSON value could not be written.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The output refused the bytes.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A push-based export format: a header, then one chunk of bytes per row, then an ending.
pub trait Encoder {
    /// What one row of the export is made from.
    type Row;

    /// The bytes that open the export (a byte order mark, a header line).
    fn header(&self) -> Vec<u8>;

    /// The bytes for one row (a FEC entry spans several lines). On error nothing of the
    /// row has been produced and the encoder's state is unchanged, so the caller may skip
    /// the row or stop.
    fn row(&mut self, row: &Self::Row) -> Result<Vec<u8>, ExportError>;

    /// The bytes that close the export, possibly none.
    fn finish(self) -> Vec<u8>;
}

/// Writes a whole export: `encoder`'s header, every row of `rows`, its ending. Returns the
/// number of rows written. Stops at the first row the encoder refuses.
pub fn write_all<E, R, W>(
    mut encoder: E,
    rows: impl IntoIterator<Item = R>,
    out: &mut W,
) -> Result<u64, ExportError>
where
    E: Encoder,
    R: std::borrow::Borrow<E::Row>,
    W: Write + ?Sized,
{
    out.write_all(&encoder.header())?;
    let mut written = 0u64;
    for row in rows {
        out.write_all(&encoder.row(row.borrow())?)?;
        written += 1;
    }
    out.write_all(&encoder.finish())?;
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rate(text: &str) -> VatRate {
        text.parse().unwrap()
    }

    #[test]
    fn customer_accounts_ignore_case_and_spaces() {
        let account = customer_account("Jean.Dupont@Example.fr ");
        assert_eq!(account, customer_account("jean.dupont@example.fr"));
        assert_eq!(account.len(), 13);
        assert!(account.starts_with('C'));
        assert!(account
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(account, customer_account("jean.dupond@example.fr"));
    }

    #[test]
    fn rate_accounts_follow_the_tenths_convention() {
        let plan =
            AccountPlan::default().with_accounts_per_rate([rate("20"), rate("5.5"), rate("8.25")]);
        assert_eq!(plan.sales_account(rate("20")).number, "707200");
        assert_eq!(plan.sales_account(rate("5.5")).number, "707055");
        assert_eq!(plan.sales_account(rate("8.25")).number, "7070825");
        assert_eq!(plan.vat_account(rate("5.5")).number, "44571055");
        assert_eq!(plan.vat_account(rate("5.5")).label, "TVA collectée 5,5 %");
        assert_eq!(plan.sales_account(rate("10")).number, "707");
    }

    #[test]
    fn plans_read_from_partial_settings() {
        let plan: AccountPlan = serde_json::from_str(
            r#"{"bank": {"number": "5121", "label": "Crédit Agricole"},
                "sales_by_rate": {"5.5": {"number": "707055", "label": "Ventes 5,5 %"}}}"#,
        )
        .unwrap();
        assert_eq!(plan.bank.number, "5121");
        assert_eq!(plan.customers.number, "411");
        assert_eq!(plan.sales_account(rate("5.50")).number, "707055");
        let (journal, account) = plan.payment_account(&PaymentMeans::Cheque);
        assert_eq!(
            (journal.code.as_str(), account.number.as_str()),
            ("BQ", "5112")
        );
    }

    #[test]
    fn amounts_round_half_up_to_cents_without_negative_zero() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(cents(d("1.005")).to_string(), "1.01");
        assert_eq!(cents(d("-1.005")).to_string(), "-1.01");
        assert_eq!(cents(d("-0.001")).to_string(), "0.00");
        assert_eq!(cents(d("12")).to_string(), "12.00");
    }

    #[test]
    fn payment_means_read_the_names_orders_store() {
        for means in ["card", "stripe", "cash", "cheque", "oney"] {
            assert_eq!(PaymentMeans::from(means).as_str(), means);
        }
        assert_eq!(
            PaymentMeans::from("oney"),
            PaymentMeans::Other("oney".into())
        );
    }
}
