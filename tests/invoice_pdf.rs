//! Invoice and credit-note PDFs, read back as a person (or an auditor's tool) would: the
//! text that `pdftotext -layout` extracts holds every mention French law asks for (CGI
//! ann. II art. 242 nonies A; C. com. L441-9), with the document's own values; the bytes
//! are the same on every rendering; the file is a PDF/A-3b; text typed by the shop or a
//! customer prints literally, whatever Typst syntax it contains.
//!
//! Needs Debian's poppler-utils (`pdftotext`, `pdfinfo`): `scripts/pdf-deps` installs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

use aggregates::values::Money;
use comptoir::invoices::document::{DocumentLine, InvoiceDocument};
use comptoir::invoices::pdf::{french_amount, french_rate, Renderer};

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new().expect("the invoice renderer starts"))
}

fn render(doc: &InvoiceDocument) -> Vec<u8> {
    renderer()
        .render(doc)
        .unwrap_or_else(|e| panic!("{} did not render: {e}", doc.number))
}

/// Runs a poppler tool on `pdf` (`args` before the file name, `after` behind it); fails,
/// saying how to install it, when it is missing.
fn poppler(tool: &str, args: &[&str], pdf: &[u8], after: &[&str]) -> String {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    file.write_all(pdf).unwrap();
    let output = Command::new(tool)
        .args(args)
        .arg(file.path())
        .args(after)
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} could not run ({e}): run scripts/pdf-deps to install poppler-utils")
        });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of the PDF as laid out, one line per printed line, with every run of spaces
/// (including the no-break spaces of French amounts) made one plain space.
fn text_of(pdf: &[u8]) -> String {
    poppler("pdftotext", &["-layout", "-enc", "UTF-8"], pdf, &["-"])
        .lines()
        .map(squeeze)
        .collect::<Vec<_>>()
        .join("\n")
}

fn squeeze(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text as one paragraph: for mentions long enough to wrap.
fn flat(text: &str) -> String {
    squeeze(text)
}

fn assert_mentions(text: &str, expected: &[String]) {
    let flat_text = flat(text);
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !flat_text.contains(&squeeze(e)))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from the PDF: {missing:?}\n--- extracted text ---\n{text}"
    );
}

/// The printed line (table row) that holds `reference`.
fn row<'t>(text: &'t str, reference: &str) -> &'t str {
    text.lines()
        .find(|l| l.contains(reference))
        .unwrap_or_else(|| panic!("no row for {reference} in:\n{text}"))
}

/// Asserts that one table row shows the line's values, left to right.
fn assert_row(text: &str, line: &DocumentLine, negative: bool) {
    let row = row(text, &line.reference);
    let cells = [
        line.reference.clone(),
        line.designation.clone(),
        line.quantity.to_string(),
        amount(line.unit_price_ht, negative),
        french_rate(line.vat_rate),
        amount(line.total_ht, negative),
    ];
    let mut rest = row;
    for cell in cells.iter().map(|c| squeeze(c)) {
        let at = rest
            .find(&cell)
            .unwrap_or_else(|| panic!("row {row:?} lacks {cell:?} (or has it out of order)"));
        rest = &rest[at + cell.len()..];
    }
}

fn amount(m: Money, negative: bool) -> String {
    squeeze(&french_amount(m, negative, "€"))
}

/// What every document states about the seller, the customer, the dates and the totals.
fn common_mentions(doc: &InvoiceDocument, negative: bool) -> Vec<String> {
    let seller = &doc.seller;
    let customer = &doc.customer;
    let mut expected = vec![
        seller.company_name.clone(),
        seller.legal_form.clone(),
        format!(
            "au capital de {}",
            amount(seller.share_capital.unwrap(), false)
        ),
        seller.address.street.clone(),
        format!("{} {}", seller.address.postal_code, seller.address.city),
        format!("SIREN {}", seller.siren),
        format!("SIRET {}", seller.siret),
        format!("RCS {}", seller.rcs_city.clone().unwrap()),
        format!(
            "N° TVA intracommunautaire : {}",
            seller.vat_number.clone().unwrap()
        ),
        seller.email.clone(),
        customer.name.clone(),
        customer.email.clone(),
        customer.phone.clone(),
        format!("N° : {}", doc.number),
        format!("Date d’émission : {}", doc.issue_date().format("%d/%m/%Y")),
        format!("Date de la vente : {}", doc.sale_date.format("%d/%m/%Y")),
        format!("Commande : {}", doc.order_number),
        format!("Lieu de retrait : {}", doc.pickup_location),
        format!("Total HT {}", amount(doc.total_ht, negative)),
        format!("Total TVA {}", amount(doc.total_vat, negative)),
        format!("Total TTC {}", amount(doc.total_ttc, negative)),
    ];
    for vat in &doc.vat_breakdown {
        // The VAT table's row for the rate, and the rate's line in the totals.
        expected.push(format!(
            "{} {} {}",
            french_rate(vat.rate),
            amount(vat.base_ht, negative),
            amount(vat.vat, negative)
        ));
        expected.push(format!(
            "TVA {} {}",
            french_rate(vat.rate),
            amount(vat.vat, negative)
        ));
    }
    let payment = doc.payment.as_ref().unwrap();
    let paid_on = comptoir::invoices::document::french_date(payment.paid_at)
        .format("%d/%m/%Y")
        .to_string();
    if negative {
        expected.push(format!("Mode de remboursement : {}", payment.method));
        expected.push(format!("Date du remboursement : {paid_on}"));
    } else {
        expected.push(format!("Mode de paiement : {}", payment.method));
        expected.push(format!("Date de paiement : {paid_on}"));
    }
    expected
}

#[test]
fn an_invoice_states_every_mention_the_law_asks_for() {
    let doc = InvoiceDocument::sample();
    let text = text_of(&render(&doc));
    let mut expected = common_mentions(&doc, false);
    expected.push("Facture".to_owned());
    assert_mentions(&text, &expected);
    for line in &doc.lines {
        assert_row(&text, line, false);
    }
    // The sample's figures, written out once by hand.
    assert_mentions(
        &text,
        &[
            "Total HT 518,10 €".to_owned(),
            "5,5 % 36,02 € 1,98 €".to_owned(),
            "20 % 482,08 € 96,42 €".to_owned(),
            "Total TVA 98,40 €".to_owned(),
            "Total TTC 616,50 €".to_owned(),
            "Date de paiement : 14/03/2026".to_owned(),
        ],
    );
    // An individual's invoice has no business terms, and never a negative amount.
    assert!(!text.contains("Pénalités de retard"), "{text}");
    assert!(!text.contains('\u{2212}'), "{text}");
}

#[test]
fn a_business_invoice_states_the_customer_company_and_the_payment_terms() {
    let doc = InvoiceDocument::sample_business();
    let text = text_of(&render(&doc));
    let customer = &doc.customer;
    let terms = doc.business_terms.as_ref().unwrap();
    let mut expected = common_mentions(&doc, false);
    expected.extend([
        customer.company.clone().unwrap(),
        format!("N° TVA : {}", customer.vat_number.clone().unwrap()),
        format!("Conditions de paiement : {}", terms.payment_terms),
        format!("Pénalités de retard : {}", terms.late_penalty_rate),
        format!(
            "Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : {}",
            amount(terms.recovery_indemnity, false)
        ),
        "40,00 €".to_owned(),
        // Above a thousand euros, thousands are grouped.
        "Total HT 1 575,20 €".to_owned(),
        "20 % 1 503,16 € 300,63 €".to_owned(),
        "Total TTC 1 879,79 €".to_owned(),
    ]);
    for address_line in customer.address.as_ref().unwrap().lines() {
        expected.push(address_line.to_owned());
    }
    assert_mentions(&text, &expected);
    for line in &doc.lines {
        assert_row(&text, line, false);
    }
}

#[test]
fn a_credit_note_shows_negative_amounts_and_the_invoice_it_corrects() {
    let doc = InvoiceDocument::sample_credit_note();
    let text = text_of(&render(&doc));
    let mut expected = common_mentions(&doc, true);
    expected.extend([
        "Avoir".to_owned(),
        "Avoir sur la facture FA-2026-000042 du 14/03/2026".to_owned(),
        "Motif : Retour de la batterie et du manuel, non utilisés".to_owned(),
        "Total TTC −156,90 €".to_owned(),
        "5,5 % −36,02 € −1,98 €".to_owned(),
        "20 % −99,08 € −19,82 €".to_owned(),
    ]);
    assert_mentions(&text, &expected);
    for line in &doc.lines {
        assert_row(&text, line, true);
    }
    assert!(!text.contains("Facture\n"), "{text}");
}

#[test]
fn a_document_renders_to_the_same_bytes_every_time() {
    for doc in [
        InvoiceDocument::sample(),
        InvoiceDocument::sample_business(),
        InvoiceDocument::sample_credit_note(),
    ] {
        let first = render(&doc);
        let again = render(&doc);
        assert!(first == again, "{} changed between renderings", doc.number);
        // Not only thanks to a cache: a renderer of its own gives the same bytes too.
        let fresh = Renderer::new().unwrap().render(&doc).unwrap();
        assert!(first == fresh, "{} differs with a new renderer", doc.number);
    }
    // And different documents are different files (the id comes from the number).
    let mut other = InvoiceDocument::sample();
    other.number = "FA-2026-000044".to_owned();
    assert!(render(&other) != render(&InvoiceDocument::sample()));
}

#[test]
fn the_file_is_a_pdf_a_3b() {
    let doc = InvoiceDocument::sample();
    let pdf = render(&doc);
    assert!(pdf.starts_with(b"%PDF-"));
    let metadata = poppler("pdfinfo", &["-meta"], &pdf, &[]);
    let summary = poppler("pdfinfo", &["-isodates"], &pdf, &[]);
    assert!(summary.contains("Pages:"), "{summary}");
    assert!(summary.contains("PDF version:"), "{summary}");
    assert!(
        summary.contains("Title:") && summary.contains("Facture FA-2026-000042"),
        "{summary}"
    );
    // The creation date is the issue time, not the time of rendering.
    assert!(
        summary.contains("2026-03-14T09:41:07"),
        "the creation date is not the issue time:\n{summary}"
    );
    // Declared in the XMP packet, as pdfinfo reads it and as it sits in the file (PDF/A
    // keeps the metadata stream uncompressed).
    for meta in [&metadata, &String::from_utf8_lossy(&pdf).into_owned()] {
        let flat = meta.replace(['"', '\''], "");
        let declares = |key: &str, value: &str| {
            flat.contains(&format!("<pdfaid:{key}>{value}</pdfaid:{key}>"))
                || flat.contains(&format!("pdfaid:{key}={value}"))
        };
        assert!(declares("part", "3"), "no PDF/A part 3 in:\n{meta}");
        assert!(declares("conformance", "B"), "no conformance B in:\n{meta}");
    }
}

#[test]
fn text_with_typst_syntax_prints_literally() {
    let mut doc = InvoiceDocument::sample();
    let tricky = r#"Kit #chaîne $x^2$ *gras* _fin_ ] [x] \ @ref <l> // #panic("non")"#;
    doc.lines[0].designation = tricky.to_owned();
    doc.customer.name = "#set page(width: 1cm) Léa ] \\".to_owned();
    doc.pickup_location = "Atelier `raw` = 1 #{ 2 }".to_owned();
    let text = text_of(&render(&doc));
    assert_mentions(
        &text,
        &[
            tricky.to_owned(),
            "#set page(width: 1cm) Léa ] \\".to_owned(),
            "Atelier `raw` = 1 #{ 2 }".to_owned(),
        ],
    );
    assert_row(&text, &doc.lines[0], false);
}

#[test]
fn a_long_order_runs_over_pages_with_every_line() {
    let mut doc = InvoiceDocument::sample();
    let template = doc.lines[0].clone();
    doc.lines = (1..=70)
        .map(|i| DocumentLine {
            reference: format!("REF-{i:03}"),
            ..template.clone()
        })
        .collect();
    let pdf = render(&doc);
    let text = text_of(&pdf);
    for line in &doc.lines {
        assert_row(&text, line, false);
    }
    let summary = poppler("pdfinfo", &[], &pdf, &[]);
    let pages: usize = summary
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {summary}"));
    assert!(pages >= 2, "70 lines on {pages} page(s)");
    for page in 1..=pages {
        assert!(text.contains(&format!("Page {page} / {pages}")), "{text}");
    }
    // The table's header comes back on the page the table continues on.
    assert!(
        text.matches("Référence Désignation Qté").count() >= 2,
        "{text}"
    );
}

#[test]
fn one_renderer_serves_several_threads() {
    let renderer = std::sync::Arc::new(Renderer::new().unwrap());
    let expected = render(&InvoiceDocument::sample_business());
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let renderer = std::sync::Arc::clone(&renderer);
            std::thread::spawn(move || {
                renderer
                    .render(&InvoiceDocument::sample_business())
                    .unwrap()
            })
        })
        .collect();
    for worker in workers {
        assert!(worker.join().unwrap() == expected);
    }
}

#[test]
fn a_sole_trader_exempt_from_vat_says_so() {
    let mut doc = InvoiceDocument::sample();
    doc.seller.legal_form = "EI".to_owned();
    doc.seller.share_capital = None;
    doc.seller.rcs_city = None;
    doc.seller.vat_number = None;
    doc.customer.phone = String::new();
    let text = text_of(&render(&doc));
    assert_mentions(
        &text,
        &[
            "TVA non applicable, art. 293 B du CGI".to_owned(),
            format!("SIREN {}", doc.seller.siren),
        ],
    );
    for absent in ["au capital", "RCS", "intracommunautaire"] {
        assert!(!text.contains(absent), "{absent:?} in:\n{text}");
    }
    // No phone recorded: no "Tél." left hanging without a number.
    assert!(!text.lines().any(|l| l.ends_with("Tél.")), "{text}");
}
