//! Accounting exports: the sales CSV in both dialects, the FEC (columns, encoding,
//! balance, numbering, file name) and the audit trail (formats, and the seal chain checked
//! from an exported file the way its instructions say), with property tests over
//! generated registers. One test reads the audit trail from a private PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use aggregates::VatRate;
use comptoir::accounting::{
    audit_rows, customer_account, fec_file_name, write_all, AccountPlan, AuditCsv, AuditJsonl,
    AuditRow, Dialect, Encoder, EntryKind, ExportError, Fec, FecSeparator, Payment, PaymentMeans,
    RateAmounts, SalesCsv, SalesEntry, AUDIT_VERIFY_INSTRUCTIONS, FEC_COLUMNS,
};

fn rate(text: &str) -> VatRate {
    text.parse().unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A register entry with totals summed from `rates` (rate, HT, VAT), signed as given.
fn entry(
    kind: EntryKind,
    number: &str,
    issued_at: &str,
    customer: &str,
    rates: &[(&str, &str, &str)],
    payment: Option<(PaymentMeans, &str)>,
) -> SalesEntry {
    let per_rate: Vec<RateAmounts> = rates
        .iter()
        .map(|(r, ht, vat)| RateAmounts {
            rate: rate(r),
            ht: dec(ht),
            vat: dec(vat),
        })
        .collect();
    let total_ht: Decimal = per_rate.iter().map(|r| r.ht).sum();
    let total_vat: Decimal = per_rate.iter().map(|r| r.vat).sum();
    let email = "helene@example.fr".to_owned();
    SalesEntry {
        kind,
        number: number.to_owned(),
        issued_at: at(issued_at),
        order_number: "CMD-1042".to_owned(),
        customer_name: customer.to_owned(),
        customer_account: customer_account(&email),
        customer_email: email,
        per_rate,
        total_ht,
        total_vat,
        total_ttc: total_ht + total_vat,
        payment: payment.map(|(means, paid_at)| Payment {
            means,
            paid_at: at(paid_at),
            reference: String::new(),
        }),
        corrects: None,
    }
}

/// The invoice most tests start from: two rates, paid by card.
fn invoice() -> SalesEntry {
    entry(
        EntryKind::Invoice,
        "FA-2026-000001",
        "2026-03-12T10:15:00Z",
        "Hélène Dupont",
        &[("20", "100.00", "20.00"), ("5.5", "10.00", "0.55")],
        Some((PaymentMeans::Card, "2026-03-12T10:14:00Z")),
    )
}

/// The credit note that cancels [`invoice`], refunded by card.
fn credit_note() -> SalesEntry {
    let mut note = entry(
        EntryKind::CreditNote,
        "AV-2026-000001",
        "2026-03-20T16:00:00Z",
        "Hélène Dupont",
        &[("20", "-100.00", "-20.00"), ("5.5", "-10.00", "-0.55")],
        Some((PaymentMeans::Card, "2026-03-20T16:00:00Z")),
    );
    note.corrects = Some("FA-2026-000001".into());
    note
}

fn export<E: Encoder>(encoder: E, rows: &[E::Row]) -> Vec<u8> {
    let mut out = Vec::new();
    write_all(encoder, rows, &mut out).unwrap();
    out
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

fn both_rates() -> Vec<VatRate> {
    vec![rate("20"), rate("5.5")]
}

// ---------------------------------------------------------------------------------------
// Sales CSV

#[test]
fn the_french_dialect_has_a_bom_semicolons_decimal_commas_and_french_dates() {
    let bytes = export(SalesCsv::new(Dialect::French, both_rates()), &[invoice()]);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no byte order mark");
    let text = utf8(&bytes[3..]);
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "Date;Numéro;Type;Commande;Client;E-mail;HT 20 %;TVA 20 %;HT 5,5 %;TVA 5,5 %;\
         Total HT;Total TVA;Total TTC;Règlement;Date de règlement;Référence du règlement;\
         Facture corrigée"
    );
    assert_eq!(
        lines[1],
        "12/03/2026;FA-2026-000001;Facture;CMD-1042;Hélène Dupont;helene@example.fr;\
         100,00;20,00;10,00;0,55;110,00;20,55;130,55;carte;12/03/2026;;"
    );
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with("\r\n"));
}

#[test]
fn the_rfc_dialect_has_commas_points_crlf_and_iso_dates() {
    let bytes = export(
        SalesCsv::new(Dialect::Rfc4180, both_rates()),
        &[invoice(), credit_note()],
    );
    let text = utf8(&bytes);
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(!text.replace("\r\n", "").contains('\n'), "a bare LF");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "date,number,kind,order,customer,email,ht_20,vat_20,ht_5.5,vat_5.5,total_ht,total_vat,\
         total_ttc,payment_means,paid_on,payment_reference,corrects"
    );
    assert_eq!(
        lines[1],
        "2026-03-12,FA-2026-000001,invoice,CMD-1042,Hélène Dupont,helene@example.fr,\
         100.00,20.00,10.00,0.55,110.00,20.55,130.55,card,2026-03-12,,"
    );
    // A credit note's amounts are negative numbers, not neutralised text.
    assert_eq!(
        lines[2],
        "2026-03-20,AV-2026-000001,credit_note,CMD-1042,Hélène Dupont,helene@example.fr,\
         -100.00,-20.00,-10.00,-0.55,-110.00,-20.55,-130.55,card,2026-03-20,,FA-2026-000001"
    );
}

#[test]
fn names_with_separators_and_quotes_are_quoted_and_read_back_whole() {
    let mut sale = invoice();
    sale.customer_name = "Garage \"Le Piston\"; Dupont & fils".into();
    for (dialect, delimiter) in [(Dialect::French, b';'), (Dialect::Rfc4180, b',')] {
        let bytes = export(
            SalesCsv::new(dialect, both_rates()),
            std::slice::from_ref(&sale),
        );
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        assert!(utf8(body).contains("\"Garage \"\"Le Piston\"\"; Dupont & fils\""));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(body);
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[4], sale.customer_name);
        assert_eq!(record.len(), 17);
    }
}

#[test]
fn formula_like_text_is_neutralised_but_negative_amounts_stay_numbers() {
    let mut note = credit_note();
    note.customer_name = "=HYPERLINK(\"http://evil.example\",\"clic\")".into();
    note.order_number = "+33612345678".into();
    note.customer_email = "@home".into();
    note.payment.as_mut().unwrap().reference = "-2+3".into();
    let bytes = export(SalesCsv::new(Dialect::French, both_rates()), &[note]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[3..]);
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(&record[3], "'+33612345678");
    assert_eq!(&record[4], "'=HYPERLINK(\"http://evil.example\",\"clic\")");
    assert_eq!(&record[5], "'@home");
    assert_eq!(&record[15], "'-2+3");
    assert_eq!(&record[6], "-100,00");
    assert_eq!(&record[12], "-130,55");
}

#[test]
fn a_rate_without_a_column_is_refused_by_name() {
    let mut csv = SalesCsv::new(Dialect::French, [rate("20")]);
    match csv.row(&invoice()) {
        Err(error @ ExportError::UnknownRate { .. }) => {
            let message = error.to_string();
            assert!(message.contains("FA-2026-000001"), "{message}");
            assert!(message.contains("5.5 %"), "{message}");
        }
        other => panic!("expected an unknown rate, got {other:?}"),
    }
    // The encoder carries on with the next row.
    let mut only_twenty = invoice();
    only_twenty.per_rate.truncate(1);
    assert!(csv.row(&only_twenty).is_ok());
}

#[test]
fn rates_a_row_lacks_are_empty_cells() {
    let mut sale = invoice();
    sale.per_rate.retain(|r| r.rate == rate("5.5"));
    let bytes = export(
        SalesCsv::new(Dialect::Rfc4180, [rate("20"), rate("5.5"), rate("10")]),
        &[sale],
    );
    let line = utf8(&bytes).lines().nth(1).unwrap().to_owned();
    assert!(line.contains("example.fr,,,10.00,0.55,,,"), "{line}");
}

#[test]
fn documents_are_dated_by_the_paris_calendar() {
    let late = entry(
        EntryKind::Invoice,
        "FA-2026-000001",
        "2025-12-31T23:30:00Z",
        "Noël",
        &[("20", "10.00", "2.00")],
        None,
    );
    let bytes = export(
        SalesCsv::new(Dialect::French, both_rates()),
        std::slice::from_ref(&late),
    );
    assert!(utf8(&bytes[3..]).contains("\r\n01/01/2026;FA-2026-000001;"));
    let fec = fec_text(&export(
        Fec::new(AccountPlan::default(), FecSeparator::Pipe),
        &[late],
    ));
    assert!(fec.contains("|1|20260101|411|"));
}

#[test]
fn write_all_counts_the_rows_it_wrote() {
    let mut out = Vec::new();
    let rows = [invoice(), credit_note()];
    let written = write_all(
        SalesCsv::new(Dialect::Rfc4180, both_rates()),
        rows.iter(),
        &mut out,
    )
    .unwrap();
    assert_eq!(written, 2);
    assert_eq!(utf8(&out).matches("\r\n").count(), 3);
}

// ---------------------------------------------------------------------------------------
// FEC

/// The FEC decoded from ISO-8859-15.
fn fec_text(bytes: &[u8]) -> String {
    let (text, had_errors) = encoding_rs::ISO_8859_15.decode_without_bom_handling(bytes);
    assert!(!had_errors);
    text.into_owned()
}

/// The FEC's data lines split into fields, checking on the way that every line ends with
/// CRLF and has exactly 18 fields.
fn fec_lines(bytes: &[u8], separator: char) -> Vec<Vec<String>> {
    let text = fec_text(bytes);
    assert!(text.ends_with("\r\n"));
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert!(
        lines.iter().all(|l| !l.contains(['\r', '\n'])),
        "a bare CR or LF"
    );
    assert_eq!(lines[0], FEC_COLUMNS.join(&separator.to_string()));
    lines[1..]
        .iter()
        .map(|line| {
            let fields: Vec<String> = line.split(separator).map(str::to_owned).collect();
            assert_eq!(fields.len(), 18, "{line}");
            fields
        })
        .collect()
}

fn amount(field: &str) -> Decimal {
    assert!(
        field.len() >= 4
            && field.as_bytes()[field.len() - 3] == b','
            && field
                .chars()
                .filter(|c| *c != ',')
                .all(|c| c.is_ascii_digit()),
        "not a FEC amount: {field:?}"
    );
    field.replace(',', ".").parse().unwrap()
}

/// Every entry (journal, number) balances, the file balances, and each journal's entry
/// numbers run 1, 2, 3… in the file's order. Returns the total debit.
fn check_entries(lines: &[Vec<String>]) -> Decimal {
    let mut sums: BTreeMap<(String, u64), (Decimal, Decimal)> = BTreeMap::new();
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for fields in lines {
        let journal = fields[0].clone();
        let number: u64 = fields[2].parse().unwrap();
        let previous = last.get(&journal).copied().unwrap_or(0);
        assert!(
            number == previous || number == previous + 1,
            "{journal} jumps from {previous} to {number}"
        );
        last.insert(journal.clone(), number);
        for date in [&fields[3], &fields[9], &fields[15]] {
            assert!(NaiveDate::parse_from_str(date, "%Y%m%d").is_ok(), "{date}");
            assert_eq!(date.len(), 8);
        }
        assert_eq!(fields[3], fields[15], "ValidDate is the entry's date");
        let (debit, credit) = (amount(&fields[11]), amount(&fields[12]));
        assert!(debit.is_zero() != credit.is_zero(), "one side per line");
        let sum = sums.entry((journal, number)).or_default();
        sum.0 += debit;
        sum.1 += credit;
    }
    for ((journal, number), (debit, credit)) in &sums {
        assert_eq!(debit, credit, "{journal} {number} does not balance");
    }
    let debit: Decimal = sums.values().map(|s| s.0).sum();
    let credit: Decimal = sums.values().map(|s| s.1).sum();
    assert_eq!(debit, credit);
    debit
}

#[test]
fn the_fec_header_names_the_eighteen_columns_in_order() {
    let fec = Fec::new(AccountPlan::default(), FecSeparator::Pipe);
    assert_eq!(
        fec.header(),
        b"JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|\
          CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|\
          ValidDate|Montantdevise|Idevise\r\n"
    );
    let tab = Fec::new(AccountPlan::default(), FecSeparator::Tab);
    assert_eq!(
        tab.header(),
        format!("{}\r\n", FEC_COLUMNS.join("\t")).into_bytes()
    );
}

#[test]
fn an_invoice_and_its_payment_are_booked_as_the_plan_says() {
    let sale = invoice();
    let aux = sale.customer_account.clone();
    let bytes = export(
        Fec::new(AccountPlan::default(), FecSeparator::Pipe),
        &[sale],
    );
    let text = fec_text(&bytes);
    let label = "Facture FA-2026-000001 - Hélène Dupont";
    let paid = "Règlement FA-2026-000001 - Hélène Dupont (carte)";
    let expected = [
        format!("VE|Ventes|1|20260312|411|Clients|{aux}|Hélène Dupont|FA-2026-000001|20260312|{label}|130,55|0,00|FA-2026-000001|20260312|20260312||"),
        format!("VE|Ventes|1|20260312|707|Ventes de marchandises|||FA-2026-000001|20260312|{label}|0,00|110,00|||20260312||"),
        format!("VE|Ventes|1|20260312|44571|TVA collectée|||FA-2026-000001|20260312|{label}|0,00|20,55|||20260312||"),
        format!("BQ|Banque|1|20260312|512|Banque|||FA-2026-000001|20260312|{paid}|130,55|0,00|||20260312||"),
        format!("BQ|Banque|1|20260312|411|Clients|{aux}|Hélène Dupont|FA-2026-000001|20260312|{paid}|0,00|130,55|FA-2026-000001|20260312|20260312||"),
    ];
    let lines: Vec<&str> = text.split_terminator("\r\n").skip(1).collect();
    assert_eq!(lines, expected);
}

#[test]
fn the_fec_is_iso_8859_15() {
    let mut sale = invoice();
    sale.customer_name = "Café € Moto — Łódź".into();
    let bytes = export(
        Fec::new(AccountPlan::default(), FecSeparator::Pipe),
        &[sale],
    );
    assert!(bytes.contains(&0xA4), "€ is 0xA4");
    assert!(bytes.contains(&0xE9), "é is 0xE9");
    assert!(!bytes.windows(2).any(|w| w == [0xC3, 0xA9]), "UTF-8 é");
    assert!(std::str::from_utf8(&bytes).is_err());
    // What Latin-9 lacks is transliterated, the same way every time.
    assert!(fec_text(&bytes).contains("|Café € Moto - Lódz|"));
}

#[test]
fn separators_and_line_breaks_inside_texts_are_replaced() {
    let mut sale = invoice();
    sale.customer_name = "Dupont|Durand\tet\r\nfils".into();
    for separator in [FecSeparator::Pipe, FecSeparator::Tab] {
        let bytes = export(
            Fec::new(AccountPlan::default(), separator),
            std::slice::from_ref(&sale),
        );
        let lines = fec_lines(&bytes, separator.as_char());
        assert_eq!(lines.len(), 5);
        // Only the file's own separator is taken out of texts; line breaks always are.
        let expected = match separator {
            FecSeparator::Pipe => "Dupont Durand et  fils",
            FecSeparator::Tab => "Dupont|Durand et  fils",
        };
        assert_eq!(lines[0][7], expected);
    }
}

#[test]
fn credit_notes_and_refunds_take_the_other_sides() {
    let bytes = export(
        Fec::new(AccountPlan::default(), FecSeparator::Pipe),
        &[credit_note()],
    );
    let lines = fec_lines(&bytes, '|');
    let sides: Vec<(&str, &str, &str, &str)> = lines
        .iter()
        .map(|f| (f[0].as_str(), f[4].as_str(), f[11].as_str(), f[12].as_str()))
        .collect();
    assert_eq!(
        sides,
        [
            ("VE", "411", "0,00", "130,55"),
            ("VE", "707", "110,00", "0,00"),
            ("VE", "44571", "20,55", "0,00"),
            ("BQ", "512", "0,00", "130,55"),
            ("BQ", "411", "130,55", "0,00"),
        ]
    );
    assert_eq!(
        lines[0][10],
        "Avoir AV-2026-000001 - Hélène Dupont, corrige FA-2026-000001"
    );
    assert!(lines[3][10].starts_with("Remboursement AV-2026-000001"));
    check_entries(&lines);
}

#[test]
fn payments_go_to_the_journal_and_account_of_their_means() {
    let means = [
        (PaymentMeans::Card, "BQ", "512"),
        (PaymentMeans::Stripe, "BQ", "512"),
        (PaymentMeans::Cash, "CA", "530"),
        (PaymentMeans::Cheque, "BQ", "5112"),
        (PaymentMeans::Other("oney".into()), "BQ", "512"),
    ];
    let rows: Vec<SalesEntry> = means
        .iter()
        .enumerate()
        .map(|(i, (m, _, _))| {
            let mut sale = invoice();
            sale.number = format!("FA-2026-{:06}", i + 1);
            sale.payment.as_mut().unwrap().means = m.clone();
            sale
        })
        .collect();
    let bytes = export(Fec::new(AccountPlan::default(), FecSeparator::Pipe), &rows);
    let lines = fec_lines(&bytes, '|');
    let treasury: Vec<(String, String, String)> = lines
        .iter()
        .filter(|f| f[0] != "VE" && f[4] != "411")
        .map(|f| (f[0].clone(), f[4].clone(), f[2].clone()))
        .collect();
    assert_eq!(
        treasury,
        [
            ("BQ".into(), "512".into(), "1".into()),
            ("BQ".into(), "512".into(), "2".into()),
            ("CA".into(), "530".into(), "1".into()),
            ("BQ".into(), "5112".into(), "3".into()),
            ("BQ".into(), "512".into(), "4".into()),
        ]
    );
    check_entries(&lines);
}

#[test]
fn sales_and_vat_split_per_rate_when_the_plan_has_accounts_per_rate() {
    let plan = AccountPlan::default().with_accounts_per_rate(both_rates());
    let bytes = export(Fec::new(plan, FecSeparator::Pipe), &[invoice()]);
    let lines = fec_lines(&bytes, '|');
    let credits: Vec<(&str, &str, &str)> = lines
        .iter()
        .filter(|f| f[0] == "VE" && f[4] != "411")
        .map(|f| (f[4].as_str(), f[5].as_str(), f[12].as_str()))
        .collect();
    assert_eq!(
        credits,
        [
            ("707200", "Ventes de marchandises 20 %", "100,00"),
            ("707055", "Ventes de marchandises 5,5 %", "10,00"),
            ("44571200", "TVA collectée 20 %", "20,00"),
            ("44571055", "TVA collectée 5,5 %", "0,55"),
        ]
    );
    check_entries(&lines);
}

#[test]
fn an_entry_that_does_not_balance_is_refused_and_numbers_nothing() {
    let mut wrong = invoice();
    wrong.total_ttc += dec("0.01");
    let mut fec = Fec::new(AccountPlan::default(), FecSeparator::Pipe);
    match fec.row(&wrong) {
        Err(ExportError::Unbalanced {
            number,
            journal,
            debit,
            credit,
        }) => {
            assert_eq!(
                (number.as_str(), journal.as_str()),
                ("FA-2026-000001", "VE")
            );
            assert_eq!((debit, credit), (dec("130.56"), dec("130.55")));
        }
        other => panic!("expected an unbalanced entry, got {other:?}"),
    }
    let bytes = fec.row(&invoice()).unwrap();
    assert!(fec_text(&bytes).starts_with("VE|Ventes|1|"));
}

#[test]
fn unpaid_documents_have_no_payment_entry_and_zero_lines_are_left_out() {
    let unpaid = entry(
        EntryKind::Invoice,
        "FA-2026-000007",
        "2026-03-12T10:15:00Z",
        "Zoé",
        &[("0", "50.00", "0.00")],
        None,
    );
    let bytes = export(
        Fec::new(AccountPlan::default(), FecSeparator::Pipe),
        &[unpaid],
    );
    let lines = fec_lines(&bytes, '|');
    let accounts: Vec<&str> = lines.iter().map(|f| f[4].as_str()).collect();
    assert_eq!(accounts, ["411", "707"]);
    assert_eq!(lines[0][13], "", "nothing to letter");
}

#[test]
fn entry_numbers_run_on_per_journal_across_rows() {
    let rows: Vec<SalesEntry> = (1..=4)
        .map(|i| {
            let mut sale = invoice();
            sale.number = format!("FA-2026-{i:06}");
            if i % 2 == 0 {
                sale.payment.as_mut().unwrap().means = PaymentMeans::Cash;
            }
            sale
        })
        .collect();
    let bytes = export(Fec::new(AccountPlan::default(), FecSeparator::Pipe), &rows);
    let lines = fec_lines(&bytes, '|');
    let numbers = |journal: &str| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for f in lines.iter().filter(|f| f[0] == journal) {
            if seen.last() != Some(&f[2]) {
                seen.push(f[2].clone());
            }
        }
        seen
    };
    assert_eq!(numbers("VE"), ["1", "2", "3", "4"]);
    assert_eq!(numbers("BQ"), ["1", "2"]);
    assert_eq!(numbers("CA"), ["1", "2"]);
    check_entries(&lines);
}

#[test]
fn fec_files_are_named_siren_fec_closing_date() {
    let closing = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    assert_eq!(
        fec_file_name("732 829 320", closing),
        "732829320FEC20261231.txt"
    );
}

// ---------------------------------------------------------------------------------------
// Property tests

fn arb_means() -> impl Strategy<Value = PaymentMeans> {
    prop_oneof![
        Just(PaymentMeans::Card),
        Just(PaymentMeans::Stripe),
        Just(PaymentMeans::Cash),
        Just(PaymentMeans::Cheque),
        "[a-z]{1,8}".prop_map(PaymentMeans::Other),
    ]
}

const RATES: [&str; 5] = ["20", "10", "5.5", "2.1", "0"];

/// A register entry whose totals add up, as the register guarantees: per rate, HT in
/// cents and VAT at the rate rounded half-up; a credit note negative.
fn arb_entry() -> impl Strategy<Value = SalesEntry> {
    (
        any::<bool>(),
        prop::collection::btree_map(0..RATES.len(), 0i64..5_000_000, 1..=RATES.len()),
        0i64..400 * 86_400,
        prop::option::of((arb_means(), 0i64..86_400)),
        "\\PC{0,24}",
        1u32..1_000_000,
    )
        .prop_map(|(credit, lines, issued, payment, name, number)| {
            let sign = if credit { -Decimal::ONE } else { Decimal::ONE };
            let per_rate: Vec<RateAmounts> = lines
                .into_iter()
                .map(|(index, cents)| {
                    let rate = rate(RATES[index]);
                    let ht = Decimal::new(cents, 2);
                    let vat = (ht * rate.percent() / Decimal::ONE_HUNDRED).round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    );
                    RateAmounts {
                        rate,
                        ht: sign * ht,
                        vat: sign * vat,
                    }
                })
                .collect();
            let total_ht: Decimal = per_rate.iter().map(|r| r.ht).sum();
            let total_vat: Decimal = per_rate.iter().map(|r| r.vat).sum();
            let issued_at = at("2026-01-01T00:00:00Z") + chrono::Duration::seconds(issued);
            let email = format!("client{number}@example.fr");
            SalesEntry {
                kind: if credit {
                    EntryKind::CreditNote
                } else {
                    EntryKind::Invoice
                },
                number: format!("{}-2026-{number:06}", if credit { "AV" } else { "FA" }),
                issued_at,
                order_number: format!("CMD-{number}"),
                customer_name: name,
                customer_account: customer_account(&email),
                customer_email: email,
                per_rate,
                total_ht,
                total_vat,
                total_ttc: total_ht + total_vat,
                payment: payment.map(|(means, delay)| Payment {
                    means,
                    paid_at: issued_at + chrono::Duration::seconds(delay),
                    reference: format!("ref-{number}"),
                }),
                corrects: credit.then(|| format!("FA-2026-{number:06}")),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_register_gives_balanced_fec_entries(
        entries in prop::collection::vec(arb_entry(), 1..30),
        per_rate_accounts in any::<bool>(),
        tab in any::<bool>(),
    ) {
        let mut plan = AccountPlan::default();
        if per_rate_accounts {
            plan = plan.with_accounts_per_rate(RATES.iter().map(|r| rate(r)));
        }
        let separator = if tab { FecSeparator::Tab } else { FecSeparator::Pipe };
        let bytes = export(Fec::new(plan, separator), &entries);
        let lines = fec_lines(&bytes, separator.as_char());
        let debit = check_entries(&lines);
        // Everything sold was booked: the customers' sales-journal balance is the TTC.
        let customers: Decimal = lines
            .iter()
            .filter(|f| f[0] == "VE" && f[4] == "411")
            .map(|f| amount(&f[11]) - amount(&f[12]))
            .sum();
        let ttc: Decimal = entries.iter().map(|e| e.total_ttc).sum();
        prop_assert_eq!(customers, ttc);
        let sold: Decimal = entries.iter().map(|e| e.total_ttc.abs()).sum();
        let paid: Decimal = entries
            .iter()
            .filter(|e| e.payment.is_some())
            .map(|e| e.total_ttc.abs())
            .sum();
        prop_assert_eq!(debit, sold + paid);
    }

    #[test]
    fn any_customer_name_reads_back_from_the_csv(name in "\\PC{0,40}|[;,\"=+@\\- \t\r\n]{0,12}") {
        let mut sale = invoice();
        sale.customer_name = name.clone();
        for (dialect, delimiter) in [(Dialect::French, b';'), (Dialect::Rfc4180, b',')] {
            let bytes = export(SalesCsv::new(dialect, both_rates()), std::slice::from_ref(&sale));
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(body);
            let records: Vec<csv::StringRecord> =
                reader.records().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(records.len(), 1);
            let expected = if name.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{name}")
            } else {
                name.clone()
            };
            prop_assert_eq!(&records[0][4], expected.as_str());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Audit trail

/// An event sealed after `previous` the way the sealer does it.
fn sealed_row(previous: &str, position: i64, payload: &str) -> AuditRow {
    let event = projections::stream::StoredEvent {
        position,
        tx: 0,
        aggregate_type: "order".into(),
        aggregate_id: "0195f1c2-7a7e-7000-8000-000000000001".into(),
        sequence: position,
        event_type: "OrderPlaced".into(),
        event_version: "1.0".into(),
        payload: payload.into(),
        metadata: r#"{"actor_kind":"staff","actor_id":"0195f1c2-7a7e-7000-8000-00000000000a"}"#
            .into(),
        recorded_at: at("2026-03-01T09:30:00.123456Z") + chrono::Duration::seconds(position),
    };
    let seal = projections::seal::seal(&hex::decode(previous).unwrap(), &event);
    AuditRow {
        position,
        recorded_at: event.recorded_at,
        actor: "staff:0195f1c2-7a7e-7000-8000-00000000000a".into(),
        aggregate_type: event.aggregate_type,
        aggregate_id: event.aggregate_id,
        sequence: event.sequence,
        event_type: event.event_type,
        event_version: event.event_version,
        payload: event.payload,
        metadata: event.metadata,
        previous_seal: previous.into(),
        seal_hash: hex::encode(seal),
    }
}

/// Three sealed events; the payloads have the characters CSV and JSON must escape, and
/// spacing and key order a re-serialisation would lose.
fn sealed_rows() -> Vec<AuditRow> {
    let genesis = "0".repeat(64);
    let first = sealed_row(
        &genesis,
        1,
        r#"{"z":1, "name":"Garage \"Le Piston\", Lyon"}"#,
    );
    let second = sealed_row(&first.seal_hash, 2, r#"{"a":"ligne 1\nligne 2","€":1.50}"#);
    let third = sealed_row(&second.seal_hash, 3, "{}");
    vec![first, second, third]
}

/// Checks rows the way AUDIT_VERIFY_INSTRUCTIONS tells a reader to, from text fields only
/// (`fields` gives the 12 columns of a row as read from the file), with nothing of
/// Comptoir's but SHA-256.
fn verify_as_instructed(rows: &[Vec<String>]) -> Result<(), String> {
    let mut before: Option<&str> = None;
    for row in rows {
        let [position, recorded_at, _actor, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, previous_seal, seal_hash] =
            row.as_slice()
        else {
            return Err(format!("{} fields", row.len()));
        };
        let mut hasher = Sha256::new();
        hasher.update(hex::decode(previous_seal).map_err(|e| e.to_string())?);
        for field in [
            position,
            aggregate_type,
            aggregate_id,
            sequence,
            event_type,
            event_version,
            payload,
            metadata,
            recorded_at,
        ] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        if hex::encode(hasher.finalize()) != *seal_hash {
            return Err(format!("position {position}: seal does not match"));
        }
        if let Some(before) = before {
            if before != previous_seal.as_str() {
                return Err(format!("position {position}: chain broken before it"));
            }
        }
        before = Some(seal_hash.as_str());
    }
    Ok(())
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, AUDIT_COLUMNS);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

const AUDIT_COLUMNS: [&str; 12] = [
    "position",
    "recorded_at",
    "actor",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "payload",
    "metadata",
    "previous_seal",
    "seal_hash",
];

/// JSON Lines rows as the 12 columns, strings decoded, numbers as written.
fn jsonl_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    utf8(bytes)
        .split_terminator('\n')
        .map(|line| {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            assert_eq!(object.len(), AUDIT_COLUMNS.len());
            AUDIT_COLUMNS
                .iter()
                .map(|column| match &object[*column] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_audit_csv_is_rfc_4180_with_the_stored_json_verbatim() {
    let rows = sealed_rows();
    let bytes = export(AuditCsv::new(), &rows);
    let text = utf8(&bytes);
    assert!(text.starts_with("position,recorded_at,actor,aggregate_type,"));
    assert!(text.contains(
        "\r\n1,2026-03-01T09:30:01.123456Z,staff:0195f1c2-7a7e-7000-8000-00000000000a,order,"
    ));
    assert!(text.contains(r#","{""z"":1, ""name"":""Garage \""Le Piston\"", Lyon""}","#));
    let read = csv_rows(&bytes);
    assert_eq!(read.len(), 3);
    assert_eq!(read[1][8], rows[1].payload);
    assert_eq!(read[0][9], rows[0].metadata);
}

#[test]
fn the_audit_jsonl_has_one_object_per_line_in_column_order() {
    let rows = sealed_rows();
    let bytes = export(AuditJsonl::new(), &rows);
    let text = utf8(&bytes);
    assert_eq!(text.matches('\n').count(), 3);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["position"], 1);
    assert_eq!(first["sequence"], 1);
    assert_eq!(first["recorded_at"], "2026-03-01T09:30:01.123456Z");
    assert_eq!(first["payload"], rows[0].payload.as_str());
    let payload: serde_json::Value =
        serde_json::from_str(first["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["name"], "Garage \"Le Piston\", Lyon");
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("{\"position\":1,\"recorded_at\":\"2026-03-01T09:30:01.123456Z\",\"actor\":"));
}

#[test]
fn an_exported_trail_verifies_as_its_instructions_say_and_tampering_shows() {
    let rows = sealed_rows();
    let csv = csv_rows(&export(AuditCsv::new(), &rows));
    verify_as_instructed(&csv).unwrap();
    verify_as_instructed(&jsonl_rows(&export(AuditJsonl::new(), &rows))).unwrap();

    // The same JSON with a space less is another event.
    let mut respaced = csv.clone();
    respaced[0][8] = respaced[0][8].replace(", ", ",");
    assert_eq!(
        verify_as_instructed(&respaced),
        Err("position 1: seal does not match".into())
    );
    // An event left out breaks the chain at the next one.
    let gap = vec![csv[0].clone(), csv[2].clone()];
    assert_eq!(
        verify_as_instructed(&gap),
        Err("position 3: chain broken before it".into())
    );
    for needle in ["SHA-256", "big-endian", "recorded_at", "previous_seal"] {
        assert!(AUDIT_VERIFY_INSTRUCTIONS.contains(needle), "{needle}");
    }
}

/// The trail read back from the event store: every event of the period in chain order,
/// the actor from the metadata, the seal chain intact across the period's start, and
/// events the sealer has not reached yet shown without a seal.
#[tokio::test]
async fn the_audit_trail_streams_from_the_event_store_with_its_seals() {
    common::init_logs();
    let db = common::TestDb::new().await;
    let bus = db.bus();
    let product = common::published_product(&bus, "PN-1001", "89.00", 5).await;
    common::place(&bus, &[(product, 2)]).await.unwrap();
    let staff = uuid::Uuid::now_v7();
    let category_id = uuid::Uuid::now_v7();
    let create = aggregates::CategoryCommand::CreateCategory {
        category_id,
        name: "Batteries".into(),
        slug: None,
        description: String::new(),
    };
    let by_staff = aggregates::EventMetadata::new(aggregates::Actor::Staff(staff));
    bus.categories
        .execute(&category_id.to_string(), create, &by_staff)
        .await
        .unwrap();
    projections::runtime::catch_up(&db.pool, &projections::seal::SealChain)
        .await
        .unwrap();

    let everything = (at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"));
    let rows = collect(audit_rows(&db.pool, everything.0, everything.1)).await;
    let stored: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(rows.len() >= 6, "{} events", rows.len());
    assert_eq!(rows.len() as i64, stored);
    assert_eq!(rows[0].previous_seal, "0".repeat(64));
    let actors: Vec<&str> = rows.iter().map(|r| r.actor.as_str()).collect();
    let (last, earlier) = actors.split_last().unwrap();
    assert_eq!(*last, format!("staff:{staff}"));
    assert!(earlier.iter().all(|a| *a == "system"), "{actors:?}");
    assert!(rows.iter().any(|r| r.event_type == "OrderPlaced"));
    let csv = csv_rows(&export(AuditCsv::new(), &rows));
    verify_as_instructed(&csv).unwrap();
    verify_as_instructed(&jsonl_rows(&export(AuditJsonl::new(), &rows))).unwrap();
    let last_seal: Vec<u8> =
        sqlx::query_scalar("select seal from seals order by position desc limit 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.last().unwrap().seal_hash, hex::encode(last_seal));

    // A period starting mid-history links to the seal of the event before it.
    let from = rows[3].recorded_at;
    let later = collect(audit_rows(&db.pool, from, everything.1)).await;
    let first = later.first().unwrap();
    let before = rows
        .iter()
        .position(|r| r.position == first.position)
        .unwrap();
    assert!(before > 0);
    assert_eq!(first.previous_seal, rows[before - 1].seal_hash);
    verify_as_instructed(&csv_rows(&export(AuditCsv::new(), &later))).unwrap();
    let until = collect(audit_rows(&db.pool, everything.0, from)).await;
    assert_eq!(until.len(), before);

    // Events not sealed yet are exported without a seal.
    common::published_product(&bus, "PN-1002", "12.50", 0).await;
    let now = collect(audit_rows(&db.pool, everything.0, everything.1)).await;
    let fresh = &now[rows.len()..];
    assert!(!fresh.is_empty());
    assert!(fresh.iter().all(|r| r.seal_hash.is_empty()));
    assert_eq!(fresh[0].previous_seal, rows.last().unwrap().seal_hash);
    assert!(fresh[1..].iter().all(|r| r.previous_seal.is_empty()));
}

async fn collect(mut rows: comptoir::accounting::AuditRows<'_>) -> Vec<AuditRow> {
    let mut all = Vec::new();
    while let Some(row) = rows.next().await {
        all.push(row.unwrap());
    }
    all
}
