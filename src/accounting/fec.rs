//! The FEC, fichier des écritures comptables (LPF art. L47 A and A47 A-1; format notes in
//! BOI-CF-IOR-60-40-20): the sales and payments of a period as journal entries, in the
//! flat-file form the tax administration reads.
//!
//! - The 18 columns of A47 A-1 in their order ([`FEC_COLUMNS`]), named on a first line.
//! - Fields separated by `|` or a tab ([`FecSeparator`]); a separator, tab, line break or
//!   other control character inside a text is replaced by a space, so the separator stays
//!   "unique and unambiguous" as A47 A-1 I 4° demands.
//! - ISO-8859-15 (one of the three character sets A47 A-1 III 1° allows, and the one that
//!   has `€`, `œ` and every French letter). A character it cannot encode is transliterated
//!   (`ł` → `l`, `—` → `-`, `“` → `"`, `…` → `...`) or, failing that, replaced by `?`,
//!   always the same way for the same character.
//! - Amounts with a decimal comma, two decimals, no thousands separator, never negative
//!   (the side says the sign); dates `AAAAMMJJ`, the shop's days in Paris ([`paris_day`]).
//! - Lines end with CRLF. A47 A-1 I 1° separates records by "retour chariot et/ou fin de
//!   ligne": CR LF is both, so it holds whichever way the phrase is read; it is the line
//!   end of Windows, where these files are read (the DGFiP's checker, Test Compta Demat,
//!   is a Windows program; it accepts CR, LF and CRLF alike), and Unix tools read it.
//!
//! Each [`SalesEntry`] gives one entry in the sales journal (debit 411 the TTC on the
//! customer's auxiliary account, credit 707 the HT, per rate when the plan has accounts
//! per rate, credit 44571 the VAT; a credit note the other way round) and, when it was
//! paid or refunded, one entry in the bank or cash journal (debit 512, 5112 or 530, credit
//! 411; a refund the other way round). The two 411 lines are lettered together (the
//! document number as `EcritureLet`, the payment day as `DateLet`). Lines of zero are left
//! out. Every entry is checked to balance before anything of it is written. `EcritureNum`
//! counts the entries of each journal from 1, in the order they are written; `ValidDate`
//! is the entry's date; `PieceRef` and `PieceDate` are the invoice or credit note's
//! number and day. Entries come in the order of the rows given, each payment right after
//! its document: give rows in issue order for a chronological file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use encoding_rs::{EncoderResult, ISO_8859_15};
use rust_decimal::Decimal;

use aggregates::calendar::paris_day;

use super::{
    cents, customer_account, Account, AccountPlan, Encoder, EntryKind, ExportError, Journal,
    SalesEntry,
};

/// The 18 columns of LPF art. A47 A-1, in their order.
pub const FEC_COLUMNS: [&str; 18] = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
];

/// The FEC's field separator: A47 A-1 names the vertical bar and the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FecSeparator {
    /// `|`
    #[default]
    Pipe,
    /// A tab.
    Tab,
}

impl FecSeparator {
    /// The separator character.
    pub fn as_char(self) -> char {
        match self {
            FecSeparator::Pipe => '|',
            FecSeparator::Tab => '\t',
        }
    }
}

/// A separator name that is neither `pipe` nor `tab`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a FEC separator (expected pipe or tab)")]
pub struct UnknownSeparator(pub String);

impl FromStr for FecSeparator {
    type Err = UnknownSeparator;

    /// `pipe` or `|`, `tab` or a tab character.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "|" => return Ok(FecSeparator::Pipe),
            "\t" => return Ok(FecSeparator::Tab),
            _ => {}
        }
        match s.trim().to_ascii_lowercase().as_str() {
            "pipe" => Ok(FecSeparator::Pipe),
            "tab" => Ok(FecSeparator::Tab),
            _ => Err(UnknownSeparator(s.to_owned())),
        }
    }
}

impl fmt::Display for FecSeparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FecSeparator::Pipe => "pipe",
            FecSeparator::Tab => "tab",
        })
    }
}

/// The file name A47 A-1 IV prescribes: `<SIREN>FEC<AAAAMMJJ>.txt`, the date being the
/// closing day of the fiscal year (spaces in the SIREN are dropped).
pub fn fec_file_name(siren: &str, closing_date: NaiveDate) -> String {
    let siren: String = siren.chars().filter(|c| !c.is_whitespace()).collect();
    format!("{siren}FEC{}.txt", closing_date.format("%Y%m%d"))
}

/// One line of an entry before it is numbered.
#[derive(Debug)]
struct Line<'a> {
    account: &'a Account,
    /// Auxiliary account number and name (customer lines only).
    auxiliary: Option<(&'a str, &'a str)>,
    debit: Decimal,
    credit: Decimal,
    lettered: bool,
}

/// One entry before it is numbered.
#[derive(Debug)]
struct Entry<'a> {
    journal: &'a Journal,
    date: NaiveDate,
    label: String,
    lines: Vec<Line<'a>>,
}

/// The FEC encoder: keeps the last entry number of each journal, nothing else.
#[derive(Debug)]
pub struct Fec {
    plan: AccountPlan,
    separator: FecSeparator,
    numbers: BTreeMap<String, u64>,
}

impl Fec {
    /// An encoder booking on `plan`'s accounts, fields separated by `separator`.
    pub fn new(plan: AccountPlan, separator: FecSeparator) -> Self {
        Fec {
            plan,
            separator,
            numbers: BTreeMap::new(),
        }
    }

    /// The account plan entries are booked on.
    pub fn plan(&self) -> &AccountPlan {
        &self.plan
    }

    /// Builds (and checks) the entries of one register row.
    fn entries<'a>(
        plan: &'a AccountPlan,
        row: &'a SalesEntry,
        auxiliary: &'a str,
    ) -> Result<Vec<Entry<'a>>, ExportError> {
        let customer = Some((auxiliary, row.customer_name.as_str()));
        let lettered = row.payment.is_some();
        // Sales: the customer owes the TTC (debit), sales and VAT are earned (credit); a
        // negative amount (a credit note) lands on the other side.
        let mut lines = vec![Line::debit_side(
            &plan.customers,
            customer,
            row.total_ttc,
            lettered,
        )];
        let mut sales: Vec<(&Account, Decimal)> = Vec::new();
        let mut vat: Vec<(&Account, Decimal)> = Vec::new();
        for amounts in &row.per_rate {
            add_to(&mut sales, plan.sales_account(amounts.rate), amounts.ht);
            add_to(&mut vat, plan.vat_account(amounts.rate), amounts.vat);
        }
        for (account, amount) in sales.into_iter().chain(vat) {
            lines.push(Line::credit_side(account, None, amount, false));
        }
        let document = match row.kind {
            EntryKind::Invoice => "Facture",
            EntryKind::CreditNote => "Avoir",
        };
        let mut label = format!("{document} {} - {}", row.number, row.customer_name);
        if let Some(corrected) = &row.corrects {
            label.push_str(&format!(", corrige {corrected}"));
        }
        let mut entries = vec![Entry {
            journal: &plan.sales_journal,
            date: paris_day(row.issued_at),
            label,
            lines,
        }];
        if let Some(payment) = &row.payment {
            let (journal, treasury) = plan.payment_account(&payment.means);
            let action = if row.total_ttc.is_sign_negative() {
                "Remboursement"
            } else {
                "Règlement"
            };
            let mut how = payment.means.french().to_owned();
            if !payment.reference.is_empty() {
                how.push(' ');
                how.push_str(&payment.reference);
            }
            entries.push(Entry {
                journal,
                date: paris_day(payment.paid_at),
                label: format!("{action} {} - {} ({how})", row.number, row.customer_name),
                lines: vec![
                    Line::debit_side(treasury, None, row.total_ttc, false),
                    Line::credit_side(&plan.customers, customer, row.total_ttc, true),
                ],
            });
        }
        for entry in &mut entries {
            entry
                .lines
                .retain(|line| !(line.debit + line.credit).is_zero());
            let debit: Decimal = entry.lines.iter().map(|l| l.debit).sum();
            let credit: Decimal = entry.lines.iter().map(|l| l.credit).sum();
            if debit != credit {
                return Err(ExportError::Unbalanced {
                    number: row.number.clone(),
                    journal: entry.journal.code.clone(),
                    debit,
                    credit,
                });
            }
        }
        entries.retain(|entry| !entry.lines.is_empty());
        Ok(entries)
    }
}

/// Adds `amount` to `account`'s running sum, keeping accounts in first-seen order.
fn add_to<'a>(sums: &mut Vec<(&'a Account, Decimal)>, account: &'a Account, amount: Decimal) {
    match sums.iter_mut().find(|(a, _)| a.number == account.number) {
        Some((_, sum)) => *sum += amount,
        None => sums.push((account, amount)),
    }
}

impl<'a> Line<'a> {
    /// A line that debits `amount` when positive, credits its opposite when negative.
    fn debit_side(
        account: &'a Account,
        auxiliary: Option<(&'a str, &'a str)>,
        amount: Decimal,
        lettered: bool,
    ) -> Self {
        let amount = cents(amount);
        let (debit, credit) = if amount.is_sign_negative() {
            (Decimal::ZERO, -amount)
        } else {
            (amount, Decimal::ZERO)
        };
        Line {
            account,
            auxiliary,
            debit,
            credit,
            lettered,
        }
    }

    /// A line that credits `amount` when positive, debits its opposite when negative.
    fn credit_side(
        account: &'a Account,
        auxiliary: Option<(&'a str, &'a str)>,
        amount: Decimal,
        lettered: bool,
    ) -> Self {
        let Line { debit, credit, .. } = Line::debit_side(account, auxiliary, amount, lettered);
        Line {
            account,
            auxiliary,
            debit: credit,
            credit: debit,
            lettered,
        }
    }
}

/// An amount as the FEC writes it: `1234,50`.
fn amount(value: Decimal) -> String {
    cents(value).to_string().replace('.', ",")
}

fn day(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

impl Encoder for Fec {
    type Row = SalesEntry;

    fn header(&self) -> Vec<u8> {
        let separator = self.separator.as_char().to_string();
        let mut bytes = FEC_COLUMNS.join(&separator).into_bytes();
        bytes.extend_from_slice(b"\r\n");
        bytes
    }

    fn row(&mut self, row: &SalesEntry) -> Result<Vec<u8>, ExportError> {
        let derived;
        let auxiliary = if row.customer_account.trim().is_empty() {
            derived = customer_account(&row.customer_email);
            derived.as_str()
        } else {
            row.customer_account.as_str()
        };
        let entries = Fec::entries(&self.plan, row, auxiliary)?;
        let separator = self.separator.as_char();
        let piece_date = day(paris_day(row.issued_at));
        let lettering_date = row
            .payment
            .as_ref()
            .map(|p| day(paris_day(p.paid_at)))
            .unwrap_or_default();
        let mut bytes = Vec::with_capacity(entries.len() * 4 * 160);
        let mut text = String::with_capacity(256);
        for entry in &entries {
            let number = self.numbers.entry(entry.journal.code.clone()).or_insert(0);
            *number += 1;
            let number = number.to_string();
            let date = day(entry.date);
            for line in &entry.lines {
                let (aux_number, aux_label) = line.auxiliary.unwrap_or(("", ""));
                let (lettering, lettered_on) = if line.lettered {
                    (row.number.as_str(), lettering_date.as_str())
                } else {
                    ("", "")
                };
                let fields: [&str; 18] = [
                    &entry.journal.code,
                    &entry.journal.label,
                    &number,
                    &date,
                    &line.account.number,
                    &line.account.label,
                    aux_number,
                    aux_label,
                    &row.number,
                    &piece_date,
                    &entry.label,
                    &amount(line.debit),
                    &amount(line.credit),
                    lettering,
                    lettered_on,
                    &date,
                    "",
                    "",
                ];
                text.clear();
                for (index, field) in fields.iter().enumerate() {
                    if index > 0 {
                        text.push(separator);
                    }
                    push_field(&mut text, field, separator);
                }
                text.push_str("\r\n");
                push_latin9(&mut bytes, &text);
            }
        }
        Ok(bytes)
    }

    fn finish(self) -> Vec<u8> {
        Vec::new()
    }
}

/// Appends `field` with the separator and every control character (tab, CR, LF…) turned
/// into a space: a field can neither split a record nor add a column.
fn push_field(out: &mut String, field: &str, separator: char) {
    out.extend(field.chars().map(|c| {
        if c == separator || c.is_control() {
            ' '
        } else {
            c
        }
    }));
}

/// Appends `text` encoded in ISO-8859-15, each character it lacks transliterated or `?`.
fn push_latin9(out: &mut Vec<u8>, text: &str) {
    let mut encoder = ISO_8859_15.new_encoder();
    let mut rest = text;
    loop {
        // A single-byte encoding needs at most one byte per input byte.
        let start = out.len();
        out.resize(start + rest.len(), 0);
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
        out.truncate(start + written);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return,
            EncoderResult::Unmappable(c) => out.extend_from_slice(transliterate(c).as_bytes()),
            // Cannot happen with room for every input byte; go round again if it does.
            EncoderResult::OutputFull => {}
        }
    }
}

/// Latin Extended-A (U+0100 to U+017F) without its accents, as names from across Europe
/// carry them (`Łukasz`, `Dvořák`, `Şahin`).
const LATIN_EXTENDED_A: [&str; 128] = [
    "A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c", "C", "c", "D", "d", //
    "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G", "g", //
    "G", "g", "G", "g", "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i", //
    "I", "i", "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L", //
    "l", "L", "l", "N", "n", "N", "n", "N", "n", "'n", "N", "n", "O", "o", "O", "o", //
    "O", "o", "OE", "oe", "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s", //
    "S", "s", "T", "t", "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u", //
    "U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z", "z", "s", //
];

/// An ASCII stand-in for a character ISO-8859-15 lacks; `?` when there is none. Never a
/// separator or a control character.
fn transliterate(c: char) -> &'static str {
    match c {
        '\u{100}'..='\u{17F}' => LATIN_EXTENDED_A[c as usize - 0x100],
        // Romanian's comma-below letters (Latin Extended-B).
        'Ș' => "S",
        'ș' => "s",
        'Ț' => "T",
        'ț' => "t",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        '‘' | '’' | '‚' | '‛' | '′' | '´' => "'",
        '“' | '”' | '„' | '‟' | '″' | '¨' => "\"",
        '‹' => "<",
        '›' => ">",
        '…' => "...",
        '•' => "*",
        '¼' => "1/4",
        '½' => "1/2",
        '¾' => "3/4",
        '¸' => ",",
        '™' => "TM",
        '№' => "No",
        '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => "",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn latin9(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        push_latin9(&mut out, text);
        out
    }

    #[test]
    fn latin9_keeps_its_own_letters_and_stands_in_for_the_rest() {
        assert_eq!(latin9("é€œŸ"), vec![0xE9, 0xA4, 0xBD, 0xBE]);
        assert_eq!(latin9("Łukasz Dvořák"), b"Lukasz Dvor\xE1k");
        assert_eq!(
            latin9("« Pièce » — “neuve”…"),
            b"\xAB Pi\xE8ce \xBB - \"neuve\"..."
        );
        assert_eq!(latin9("雪"), b"?");
        assert_eq!(latin9("a\u{200B}b"), b"ab");
    }

    #[test]
    fn transliterations_never_make_a_separator() {
        for code in 0x80..0x3100u32 {
            if let Some(c) = char::from_u32(code) {
                let stand_in = transliterate(c);
                assert!(stand_in.is_ascii(), "{c:?}");
                assert!(!stand_in.contains(['|', '\t', '\r', '\n']), "{c:?}");
            }
        }
    }

    #[test]
    fn fields_cannot_split_records() {
        let mut out = String::new();
        push_field(&mut out, "a|b\tc\r\nd", '|');
        assert_eq!(out, "a b c  d");
    }

    #[test]
    fn separators_parse_by_name_or_character() {
        assert_eq!("pipe".parse::<FecSeparator>().unwrap(), FecSeparator::Pipe);
        assert_eq!("|".parse::<FecSeparator>().unwrap(), FecSeparator::Pipe);
        assert_eq!("TAB".parse::<FecSeparator>().unwrap(), FecSeparator::Tab);
        assert_eq!("\t".parse::<FecSeparator>().unwrap(), FecSeparator::Tab);
        assert!(";".parse::<FecSeparator>().is_err());
    }
}
