//! Invoice and credit-note PDFs rendered in-process with Typst, as PDF/A-3b.
//!
//! The layout is `templates/invoice.typ`, compiled into the binary. A document reaches it
//! as data: [`Renderer::render`] formats every value the French way (amounts `1 234,50 €`,
//! negative on a credit note; dates `14/03/2026`; rates `5,5 %`) into a JSON file that
//! the template reads with `json()`. Nothing the shop or a customer typed is ever spliced
//! into Typst markup, so a designation containing `#`, `*` or `]` prints as written.
//!
//! PDF/A-3 (ISO 19005-3) is the archival profile the French e-invoicing formats build on
//! (Factur-X embeds its XML in a PDF/A-3): every font is embedded, the colours are
//! device-independent and the metadata is XMP. Level B asks for a faithful rendering.
//!
//! Rendering is deterministic: the PDF's creation date is the issue time and its document
//! id is derived from the number, so the same document always gives the same bytes (the
//! issue asks that every download return the bytes whose SHA-256 was recorded).

use std::fmt::Write as _;

use aggregates::values::{Currency, Money, VatRate};
use chrono::{Datelike, NaiveDate, Timelike};
use serde::Serialize;
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic, Warned};
use typst::ecow::EcoString;
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{
    DiagSpan, DiagSpanKind, FileId, RootedPath, Source, Spanned, VirtualPath, VirtualRoot,
};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use super::document::{french_date, DocumentKind, InvoiceDocument};

/// The template, as shipped.
const TEMPLATE: &str = include_str!("../../templates/invoice.typ");
/// Where the template lives in the compiler's virtual file system.
const TEMPLATE_PATH: &str = "/invoice.typ";
/// Where the template finds the document (`json("/invoice.json")`).
const DATA_PATH: &str = "/invoice.json";

/// Typst memoises layout work across compilations in a process-wide cache. Entries unused
/// for this many renders are dropped after each render: enough to keep what every invoice
/// shares (the parsed template, the fonts' shaping) warm, while a server rendering
/// thousands of invoices does not keep every one of them in memory.
const CACHE_MAX_AGE: usize = 8;

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The renderer could not be set up (the template does not parse, the PDF standard
    /// was refused).
    #[error("the invoice renderer could not start: {0}")]
    Setup(String),
    /// The document could not be turned into the template's data.
    #[error("the invoice could not be prepared for its template: {0}")]
    Data(#[from] serde_json::Error),
    /// Typst refused the template or the data, with its diagnostics in words.
    #[error("the invoice template failed: {}", .diagnostics.join("; "))]
    Template {
        /// One entry per diagnostic: where, what, and Typst's hints.
        diagnostics: Vec<String>,
    },
    /// The PDF could not be written (a PDF/A rule the layout breaks, for instance).
    #[error("the invoice PDF could not be written: {}", .diagnostics.join("; "))]
    Export {
        /// One entry per diagnostic.
        diagnostics: Vec<String>,
    },
}

/// Renders invoices and credit notes. Building one loads the fonts and the standard
/// library once; it is `Send + Sync`, meant to be built at startup and shared (in an
/// `Arc`) by every request and worker.
///
/// [`Renderer::render`] is CPU-bound (tens of milliseconds): call it from
/// `tokio::task::spawn_blocking` in async code.
pub struct Renderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    template_id: FileId,
    data_id: FileId,
    standards: PdfStandards,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("fonts", &self.fonts.len())
            .field("template", &TEMPLATE_PATH)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Loads the fonts shipped with Typst (typst-assets: Libertinus Serif, New Computer
    /// Modern, DejaVu Sans Mono) and checks that the template parses.
    pub fn new() -> Result<Self, PdfError> {
        Self::with_template(TEMPLATE)
    }

    /// A renderer laying documents out with `template` (Typst markup).
    fn with_template(template: &str) -> Result<Self, PdfError> {
        let path = |p: &str| {
            VirtualPath::new(p)
                .map(|vpath| RootedPath::new(VirtualRoot::Project, vpath).intern())
                .map_err(|e| PdfError::Setup(format!("{p}: {e}")))
        };
        let template_id = path(TEMPLATE_PATH)?;
        let data_id = path(DATA_PATH)?;
        let template = Source::new(template_id, template.to_owned());
        // A template that does not parse is a build mistake: say so at startup rather
        // than at the first invoice.
        let (errors, _) = template.root().errors_and_warnings();
        if !errors.is_empty() {
            let diagnostics: Vec<String> = errors
                .iter()
                .map(|e| describe(&template, e.span, "", &e.message, &e.hints))
                .collect();
            return Err(PdfError::Setup(diagnostics.join("; ")));
        }
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let standards = PdfStandards::new(&[PdfStandard::A_3b])
            .map_err(|e| PdfError::Setup(e.message().to_string()))?;
        Ok(Renderer {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            template,
            template_id,
            data_id,
            standards,
        })
    }

    /// The PDF/A-3b bytes of `doc`. The same document always renders to the same bytes.
    pub fn render(&self, doc: &InvoiceDocument) -> Result<Vec<u8>, PdfError> {
        let data = serde_json::to_vec(&Printed::of(doc))?;
        let world = InvoiceWorld {
            renderer: self,
            data: Bytes::new(data),
        };
        let Warned { output, warnings } = typst::compile::<PagedDocument>(&world);
        for warning in &warnings {
            tracing::warn!(
                invoice = %doc.number,
                warning = %world.describe(warning),
                "invoice template warning"
            );
        }
        let document = output.map_err(|errors| PdfError::Template {
            diagnostics: errors.iter().map(|e| world.describe(e)).collect(),
        })?;
        let options = PdfOptions {
            ident: Smart::Custom(doc.number.clone()),
            timestamp: timestamp(doc),
            standards: self.standards.clone(),
            ..PdfOptions::default()
        };
        let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| PdfError::Export {
            diagnostics: errors.iter().map(|e| world.describe(e)).collect(),
        });
        typst::comemo::evict(CACHE_MAX_AGE);
        pdf
    }
}

/// The PDF's creation date: the issue time, in UTC.
fn timestamp(doc: &InvoiceDocument) -> Option<Timestamp> {
    let at = doc.issued_at;
    let small = |n: u32| u8::try_from(n).ok();
    Datetime::from_ymd_hms(
        at.year(),
        small(at.month())?,
        small(at.day())?,
        small(at.hour())?,
        small(at.minute())?,
        small(at.second())?,
    )
    .map(Timestamp::new_utc)
}

/// What the compiler sees of the outside world while rendering one document: the
/// template, the document's data, the bundled fonts. No other file, no clock, no network.
struct InvoiceWorld<'a> {
    renderer: &'a Renderer,
    data: Bytes,
}

impl InvoiceWorld<'_> {
    /// A compiler diagnostic in words.
    fn describe(&self, diagnostic: &SourceDiagnostic) -> String {
        let severity = match diagnostic.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        describe(
            &self.renderer.template,
            diagnostic.span,
            severity,
            &diagnostic.message,
            &diagnostic.hints,
        )
    }
}

/// A diagnostic in words: where (the template's line and column, or the byte range in
/// the data), what, and Typst's hints.
fn describe(
    template: &Source,
    span: DiagSpan,
    severity: &str,
    message: &str,
    hints: &[Spanned<EcoString, DiagSpan>],
) -> String {
    let place = match span.get() {
        DiagSpanKind::Detached => None,
        DiagSpanKind::Number { id, num, sub_range } if id == template.id() => {
            let line_column = template
                .range(num, sub_range)
                .and_then(|range| template.lines().byte_to_line_column(range.start));
            Some(match line_column {
                Some((line, column)) => format!("{TEMPLATE_PATH}:{}:{}", line + 1, column + 1),
                None => TEMPLATE_PATH.to_owned(),
            })
        }
        DiagSpanKind::Number { id, .. } => Some(id.vpath().get_with_slash().to_owned()),
        DiagSpanKind::Range { id, range } => Some(format!(
            "{} (bytes {}..{})",
            id.vpath().get_with_slash(),
            range.start,
            range.end
        )),
    };
    let mut text = String::from(severity);
    if let Some(place) = place {
        let _ = write!(text, "{place}: ");
    }
    text.push_str(message);
    for hint in hints {
        let _ = write!(text, " (hint: {})", hint.v);
    }
    text
}

impl World for InvoiceWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.renderer.template_id
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.renderer.template_id {
            Ok(self.renderer.template.clone())
        } else if id == self.renderer.data_id {
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.renderer.data_id {
            Ok(self.data.clone())
        } else if id == self.renderer.template_id {
            Ok(Bytes::from_string(self.renderer.template.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    /// No clock: a document shows its own dates, never the day it was rendered on.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// The document as the template reads it: every value already in words.
#[derive(Serialize)]
struct Printed<'a> {
    title: &'static str,
    number: &'a str,
    issue_date: String,
    sale_date: String,
    order_number: &'a str,
    seller: PrintedSeller<'a>,
    customer: PrintedCustomer<'a>,
    corrects: Option<PrintedCorrection<'a>>,
    lines: Vec<PrintedLine<'a>>,
    vat: Vec<PrintedVat>,
    total_ht: String,
    total_vat: String,
    total_ttc: String,
    payment: Option<PrintedPayment<'a>>,
    pickup_location: &'a str,
    terms: Option<PrintedTerms<'a>>,
}

#[derive(Serialize)]
struct PrintedSeller<'a> {
    name: &'a str,
    /// `SARL au capital de 15 000,00 €`, or the form alone.
    legal_form_and_capital: String,
    /// Street lines, postal code and city, country.
    address_lines: Vec<String>,
    /// The address on one line, for the footer.
    address_line: String,
    siren: &'a str,
    siret: &'a str,
    /// `RCS Lyon`.
    rcs: Option<String>,
    vat_number: Option<&'a str>,
    email: &'a str,
    phone: Option<&'a str>,
}

#[derive(Serialize)]
struct PrintedCustomer<'a> {
    name: &'a str,
    company: Option<&'a str>,
    address_lines: Option<Vec<&'a str>>,
    vat_number: Option<&'a str>,
    /// Absent rather than printed empty, when the order did not record it.
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

#[derive(Serialize)]
struct PrintedCorrection<'a> {
    number: &'a str,
    date: String,
    reason: &'a str,
}

#[derive(Serialize)]
struct PrintedLine<'a> {
    reference: &'a str,
    designation: &'a str,
    quantity: String,
    unit_price_ht: String,
    vat_rate: String,
    total_ht: String,
}

#[derive(Serialize)]
struct PrintedVat {
    rate: String,
    base_ht: String,
    vat: String,
}

#[derive(Serialize)]
struct PrintedPayment<'a> {
    method: &'a str,
    date: String,
}

#[derive(Serialize)]
struct PrintedTerms<'a> {
    payment_terms: &'a str,
    late_penalty_rate: &'a str,
    recovery_indemnity: String,
}

impl<'a> Printed<'a> {
    fn of(doc: &'a InvoiceDocument) -> Self {
        let symbol = Currency::new(&doc.currency)
            .map(|c| c.symbol().to_owned())
            .unwrap_or_else(|_| doc.currency.clone());
        let negative = doc.is_credit_note();
        let amount = |m: Money| french_amount(m, negative, &symbol);
        let seller = &doc.seller;
        let address = &seller.address;
        let mut address_lines: Vec<String> = address
            .street
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        address_lines.push(format!("{} {}", address.postal_code, address.city));
        address_lines.push(address.country.clone());
        let customer = &doc.customer;
        Printed {
            title: if negative { "Avoir" } else { "Facture" },
            number: &doc.number,
            issue_date: french_day(doc.issue_date()),
            sale_date: french_day(doc.sale_date),
            order_number: &doc.order_number,
            seller: PrintedSeller {
                name: &seller.company_name,
                legal_form_and_capital: match seller.share_capital {
                    Some(capital) => format!(
                        "{} au capital de {}",
                        seller.legal_form,
                        french_amount(capital, false, &symbol)
                    ),
                    None => seller.legal_form.clone(),
                },
                address_line: address_lines.join(", "),
                address_lines,
                siren: &seller.siren,
                siret: &seller.siret,
                rcs: seller.rcs_city.as_ref().map(|city| format!("RCS {city}")),
                vat_number: seller.vat_number.as_deref(),
                email: &seller.email,
                phone: seller.phone.as_deref(),
            },
            customer: PrintedCustomer {
                name: &customer.name,
                company: filled(customer.company.as_deref()),
                address_lines: filled(customer.address.as_deref())
                    .map(|a| a.lines().map(str::trim).filter(|l| !l.is_empty()).collect()),
                vat_number: filled(customer.vat_number.as_deref()),
                email: filled(Some(&customer.email)),
                phone: filled(Some(&customer.phone)),
            },
            corrects: match &doc.kind {
                DocumentKind::Invoice => None,
                DocumentKind::CreditNote {
                    corrects,
                    corrects_issued_at,
                    reason,
                } => Some(PrintedCorrection {
                    number: corrects,
                    date: french_day(*corrects_issued_at),
                    reason,
                }),
            },
            lines: doc
                .lines
                .iter()
                .map(|line| PrintedLine {
                    reference: &line.reference,
                    designation: &line.designation,
                    quantity: line.quantity.to_string(),
                    unit_price_ht: amount(line.unit_price_ht),
                    vat_rate: french_rate(line.vat_rate),
                    total_ht: amount(line.total_ht),
                })
                .collect(),
            vat: doc
                .vat_breakdown
                .iter()
                .map(|v| PrintedVat {
                    rate: french_rate(v.rate),
                    base_ht: amount(v.base_ht),
                    vat: amount(v.vat),
                })
                .collect(),
            total_ht: amount(doc.total_ht),
            total_vat: amount(doc.total_vat),
            total_ttc: amount(doc.total_ttc),
            payment: doc.payment.as_ref().map(|p| PrintedPayment {
                method: &p.method,
                date: french_day(french_date(p.paid_at)),
            }),
            pickup_location: &doc.pickup_location,
            terms: doc.business_terms.as_ref().map(|t| PrintedTerms {
                payment_terms: &t.payment_terms,
                late_penalty_rate: &t.late_penalty_rate,
                recovery_indemnity: french_amount(t.recovery_indemnity, false, &symbol),
            }),
        }
    }
}

/// `text` unless it is blank: an empty field is left out, not printed as an empty line.
fn filled(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.trim().is_empty())
}

/// `1 234,50 €`: a narrow no-break space between thousands, a decimal comma, a no-break
/// space before the currency sign; `−1 234,50 €` (with a minus sign) when `negative`.
pub fn french_amount(amount: Money, negative: bool, symbol: &str) -> String {
    let digits = format!("{:.2}", amount.amount());
    let (units, cents) = digits.split_once('.').unwrap_or((&digits, "00"));
    let mut grouped = String::with_capacity(digits.len() + 8);
    if negative && !amount.is_zero() {
        grouped.push('\u{2212}');
    }
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    format!("{grouped},{cents}\u{a0}{symbol}")
}

/// `20 %`, `5,5 %`.
pub fn french_rate(rate: VatRate) -> String {
    format!("{}\u{a0}%", rate.to_string().replace('.', ","))
}

/// `14/03/2026`.
pub fn french_day(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn money(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_are_written_the_french_way() {
        assert_eq!(french_amount(money("0"), false, "€"), "0,00\u{a0}€");
        assert_eq!(french_amount(money("12.5"), false, "€"), "12,50\u{a0}€");
        assert_eq!(
            french_amount(money("1234.5"), false, "€"),
            "1\u{202f}234,50\u{a0}€"
        );
        assert_eq!(
            french_amount(money("1234567.89"), false, "€"),
            "1\u{202f}234\u{202f}567,89\u{a0}€"
        );
        assert_eq!(
            french_amount(money("123456"), false, "CHF"),
            "123\u{202f}456,00\u{a0}CHF"
        );
    }

    #[test]
    fn credit_note_amounts_carry_a_minus_sign_except_zero() {
        assert_eq!(
            french_amount(money("12.5"), true, "€"),
            "\u{2212}12,50\u{a0}€"
        );
        assert_eq!(french_amount(money("0"), true, "€"), "0,00\u{a0}€");
    }

    #[test]
    fn rates_and_days_are_written_the_french_way() {
        assert_eq!(french_rate("5.5".parse().unwrap()), "5,5\u{a0}%");
        assert_eq!(french_rate("20".parse().unwrap()), "20\u{a0}%");
        assert_eq!(
            french_day(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()),
            "04/03/2026"
        );
    }

    #[test]
    fn a_template_that_does_not_parse_is_refused_at_startup() {
        let error =
            Renderer::with_template("#let doc = json(\"/invoice.json\"\n#doc.title").unwrap_err();
        let PdfError::Setup(message) = error else {
            panic!("not a setup error: {error:?}");
        };
        assert!(message.starts_with("/invoice.typ:"), "{message}");
        assert!(message.contains("unclosed delimiter"), "{message}");
    }

    #[test]
    fn typst_errors_are_reported_in_words_with_their_place() {
        let renderer =
            Renderer::with_template("#let doc = json(\"/invoice.json\")\n\n#doc.no_such_key")
                .unwrap();
        let error = renderer.render(&InvoiceDocument::sample()).unwrap_err();
        let PdfError::Template { diagnostics } = &error else {
            panic!("not a template error: {error:?}");
        };
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert!(
            diagnostics[0].starts_with("/invoice.typ:3:"),
            "{}",
            diagnostics[0]
        );
        assert!(diagnostics[0].contains("no_such_key"), "{}", diagnostics[0]);
        assert!(error
            .to_string()
            .starts_with("the invoice template failed: /invoice.typ:3:"));
    }

    #[test]
    fn the_template_reads_nothing_but_its_data() {
        let renderer = Renderer::with_template("#read(\"/etc/passwd\")").unwrap();
        let error = renderer.render(&InvoiceDocument::sample()).unwrap_err();
        assert!(matches!(error, PdfError::Template { .. }), "{error:?}");
    }

    #[test]
    fn blank_customer_fields_are_left_out() {
        let mut doc = InvoiceDocument::sample();
        doc.customer.phone = String::new();
        doc.customer.company = Some(" ".to_owned());
        let printed = Printed::of(&doc);
        assert_eq!(printed.customer.phone, None);
        assert_eq!(printed.customer.company, None);
        assert_eq!(printed.customer.email, Some("camille.rousseau@example.fr"));
    }

    #[test]
    fn the_seller_address_lists_street_city_and_country() {
        let doc = InvoiceDocument::sample();
        let printed = Printed::of(&doc);
        assert_eq!(
            printed.seller.address_lines,
            vec!["12 rue des Artisans", "69007 Lyon", "France"]
        );
    }
}
