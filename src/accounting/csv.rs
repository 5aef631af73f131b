//! The sales CSV: one row per invoice or credit note, with HT and VAT per rate.
//!
//! Two dialects: [`Dialect::French`] for a French spreadsheet opened by double-click
//! (semicolon, decimal comma, UTF-8 with a byte order mark so Excel does not read it as
//! Windows-1252, dates `dd/mm/yyyy`, French headings), and [`Dialect::Rfc4180`] for tools
//! (comma, decimal point, ISO dates, snake_case headings). Both end lines with CRLF, as
//! RFC 4180 asks and every spreadsheet accepts, and quote a field only when it needs it.
//!
//! Dates are the shop's days (Paris, see [`paris_day`]). Amounts are signed like
//! the register: a credit note's are negative and stay numbers. Text cells that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return: OWASP's "CSV injection") get a leading `'`, so a customer called
//! `=HYPERLINK(…)` is shown, not evaluated.

use std::fmt;
use std::str::FromStr;

use ::csv::{Terminator, WriterBuilder};
use rust_decimal::Decimal;

use aggregates::calendar::paris_day;
use aggregates::VatRate;

use super::{cents, csv_record, french_rate, Encoder, EntryKind, ExportError, SalesEntry};

/// The two spellings of the sales CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// For French spreadsheets: `;`, `1234,56`, UTF-8 with BOM, `31/12/2026`.
    French,
    /// RFC 4180: `,`, `1234.56`, UTF-8 without BOM, `2026-12-31`.
    Rfc4180,
}

/// A dialect name that is neither `fr` nor `rfc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a CSV dialect (expected fr or rfc)")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// `fr` (or `french`) and `rfc` (or `rfc4180`), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "french" => Ok(Dialect::French),
            "rfc" | "rfc4180" => Ok(Dialect::Rfc4180),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::French => "fr",
            Dialect::Rfc4180 => "rfc",
        })
    }
}

impl Dialect {
    /// CSV writers with this dialect's delimiter, CRLF line ends and quotes only where
    /// needed.
    fn builder(self) -> WriterBuilder {
        let delimiter = match self {
            Dialect::French => b';',
            Dialect::Rfc4180 => b',',
        };
        let mut builder = WriterBuilder::new();
        builder
            .delimiter(delimiter)
            .terminator(Terminator::CRLF)
            .buffer_capacity(1024);
        builder
    }

    fn amount(self, amount: Decimal) -> String {
        let text = cents(amount).to_string();
        match self {
            Dialect::French => text.replace('.', ","),
            Dialect::Rfc4180 => text,
        }
    }

    fn date(self, at: chrono::DateTime<chrono::Utc>) -> String {
        let day = paris_day(at);
        match self {
            Dialect::French => day.format("%d/%m/%Y").to_string(),
            Dialect::Rfc4180 => day.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The UTF-8 byte order mark that tells Excel the file is UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A text cell as a spreadsheet will show it: one starting like a formula gets a `'`.
fn text_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// The sales CSV encoder. The VAT rate columns are fixed when it is made (a streamed
/// export cannot look ahead): the caller passes the shop's configured rates, or the
/// distinct rates of the period; a row with any other rate is refused, naming it.
#[derive(Debug)]
pub struct SalesCsv {
    dialect: Dialect,
    rates: Vec<VatRate>,
    builder: WriterBuilder,
}

impl SalesCsv {
    /// An encoder in `dialect` with one HT and one VAT column for each of `rates`, in that
    /// order (a rate given twice has one pair of columns).
    pub fn new(dialect: Dialect, rates: impl IntoIterator<Item = VatRate>) -> Self {
        let mut columns: Vec<VatRate> = Vec::new();
        for rate in rates {
            if !columns.contains(&rate) {
                columns.push(rate);
            }
        }
        SalesCsv {
            builder: dialect.builder(),
            dialect,
            rates: columns,
        }
    }

    /// The rate columns, in order.
    pub fn rates(&self) -> &[VatRate] {
        &self.rates
    }

    /// The column headings.
    pub fn columns(&self) -> Vec<String> {
        let french = self.dialect == Dialect::French;
        let mut columns: Vec<String> = if french {
            ["Date", "Numéro", "Type", "Commande", "Client", "E-mail"]
        } else {
            ["date", "number", "kind", "order", "customer", "email"]
        }
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for rate in &self.rates {
            if french {
                let shown = french_rate(*rate);
                columns.push(format!("HT {shown} %"));
                columns.push(format!("TVA {shown} %"));
            } else {
                columns.push(format!("ht_{rate}"));
                columns.push(format!("vat_{rate}"));
            }
        }
        let tail: [&str; 7] = if french {
            [
                "Total HT",
                "Total TVA",
                "Total TTC",
                "Règlement",
                "Date de règlement",
                "Référence du règlement",
                "Facture corrigée",
            ]
        } else {
            [
                "total_ht",
                "total_vat",
                "total_ttc",
                "payment_means",
                "paid_on",
                "payment_reference",
                "corrects",
            ]
        };
        columns.extend(tail.iter().map(|s| (*s).to_owned()));
        columns
    }
}

impl Encoder for SalesCsv {
    type Row = SalesEntry;

    fn header(&self) -> Vec<u8> {
        let mut bytes = match self.dialect {
            Dialect::French => BOM.to_vec(),
            Dialect::Rfc4180 => Vec::new(),
        };
        bytes.extend(csv_record(&self.builder, self.columns()).unwrap_or_default());
        bytes
    }

    fn row(&mut self, entry: &SalesEntry) -> Result<Vec<u8>, ExportError> {
        let dialect = self.dialect;
        let mut per_column: Vec<Option<(Decimal, Decimal)>> = vec![None; self.rates.len()];
        for amounts in &entry.per_rate {
            let Some(index) = self.rates.iter().position(|r| *r == amounts.rate) else {
                return Err(ExportError::UnknownRate {
                    number: entry.number.clone(),
                    rate: amounts.rate,
                    columns: self
                        .rates
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            let (ht, vat) = per_column[index].get_or_insert((Decimal::ZERO, Decimal::ZERO));
            *ht += amounts.ht;
            *vat += amounts.vat;
        }
        let kind = match (entry.kind, dialect) {
            (EntryKind::Invoice, Dialect::French) => "Facture",
            (EntryKind::CreditNote, Dialect::French) => "Avoir",
            (EntryKind::Invoice, Dialect::Rfc4180) => "invoice",
            (EntryKind::CreditNote, Dialect::Rfc4180) => "credit_note",
        };
        let mut fields: Vec<String> = Vec::with_capacity(13 + 2 * self.rates.len());
        fields.push(dialect.date(entry.issued_at));
        fields.push(text_cell(&entry.number));
        fields.push(kind.to_owned());
        fields.push(text_cell(&entry.order_number));
        fields.push(text_cell(&entry.customer_name));
        fields.push(text_cell(&entry.customer_email));
        for column in &per_column {
            match column {
                Some((ht, vat)) => {
                    fields.push(dialect.amount(*ht));
                    fields.push(dialect.amount(*vat));
                }
                None => {
                    fields.push(String::new());
                    fields.push(String::new());
                }
            }
        }
        fields.push(dialect.amount(entry.total_ht));
        fields.push(dialect.amount(entry.total_vat));
        fields.push(dialect.amount(entry.total_ttc));
        match &entry.payment {
            Some(payment) => {
                let means = match dialect {
                    Dialect::French => payment.means.french(),
                    Dialect::Rfc4180 => payment.means.as_str(),
                };
                fields.push(text_cell(means));
                fields.push(dialect.date(payment.paid_at));
                fields.push(text_cell(&payment.reference));
            }
            None => fields.extend([String::new(), String::new(), String::new()]),
        }
        fields.push(text_cell(entry.corrects.as_deref().unwrap_or_default()));
        csv_record(&self.builder, &fields)
    }

    fn finish(self) -> Vec<u8> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        for text in ["=1+1", "+33", "-x", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text_cell(text), format!("'{text}"));
        }
        assert_eq!(text_cell("Dupont"), "Dupont");
        assert_eq!(text_cell(""), "");
    }
}
