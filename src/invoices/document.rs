//! The invoice or credit note as printed: every mention the law asks for, as plain data.
//!
//! French law lists what an invoice states (CGI ann. II art. 242 nonies A; C. com.
//! L441-9): who sells (name, legal form, share capital, address, SIREN, SIRET, RCS city,
//! VAT number), who buys (name and address, or email and phone for an individual), the
//! number and dates, each line, the totals per VAT rate, how and when it was paid, and
//! for business customers the payment terms, the late-penalty rate and the fixed
//! recovery indemnity. An [`InvoiceDocument`] carries exactly that, already decided:
//! amounts are the ones recorded in the events (never recomputed here), texts are what
//! gets printed. [`super::pdf::Renderer`] lays it out.
//!
//! Every amount is a positive [`Money`]; a credit note prints them negative.

use aggregates::shop_settings::{LegalIdentity, PostalAddress};
use aggregates::values::{compute_totals, Money, VatRate};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// An invoice or a credit note, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceDocument {
    /// Invoice or credit note (and then which invoice it corrects).
    pub kind: DocumentKind,
    /// Its number in its series (`FA-2026-000042`, `AV-2026-000003`).
    pub number: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The date of the sale (delivery of the goods), when it differs from the issue date
    /// it is still the one the law asks for.
    pub sale_date: NaiveDate,
    /// Who sells.
    pub seller: Seller,
    /// Who buys.
    pub customer: Customer,
    /// The order it bills.
    pub order_number: String,
    /// What was sold (or, on a credit note, what is credited).
    pub lines: Vec<DocumentLine>,
    /// One entry per VAT rate, sorted by rate.
    pub vat_breakdown: Vec<VatBreakdownLine>,
    /// Sum of the line totals, excl. VAT.
    pub total_ht: Money,
    /// Sum of the VAT per rate.
    pub total_vat: Money,
    /// `total_ht + total_vat`.
    pub total_ttc: Money,
    /// How and when it was paid (refunded, on a credit note), when it was.
    pub payment: Option<PaymentInfo>,
    /// Where the customer collects the goods.
    pub pickup_location: String,
    /// Payment terms, printed for business customers (C. com. L441-9).
    pub business_terms: Option<BusinessTerms>,
    /// ISO 4217 code of every amount (`EUR`).
    pub currency: String,
}

/// What the document is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DocumentKind {
    /// An invoice (facture).
    Invoice,
    /// A credit note (avoir), cancelling all or part of an invoice.
    CreditNote {
        /// The number of the invoice it corrects.
        corrects: String,
        /// The issue date of that invoice.
        corrects_issued_at: NaiveDate,
        /// Why (cancellation, return, refund…), in words.
        reason: String,
    },
}

/// The seller as printed: the shop's [`LegalIdentity`] in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seller {
    /// Registered name (dénomination sociale).
    pub company_name: String,
    /// Legal form: SARL, SAS, EI, …
    pub legal_form: String,
    /// Share capital; absent for a sole trader.
    pub share_capital: Option<Money>,
    /// Registered office.
    pub address: PostalAddress,
    /// SIREN number, 9 digits.
    pub siren: String,
    /// SIRET number of the selling establishment, 14 digits.
    pub siret: String,
    /// City of the trade register (RCS), when registered there.
    pub rcs_city: Option<String>,
    /// Intra-community VAT number; absent under the small-business exemption (CGI art.
    /// 293 B), which the document then states.
    pub vat_number: Option<String>,
    /// Contact email.
    pub email: String,
    /// Contact phone.
    pub phone: Option<String>,
}

impl From<&LegalIdentity> for Seller {
    fn from(identity: &LegalIdentity) -> Self {
        Seller {
            company_name: identity.company_name.clone(),
            legal_form: identity.legal_form.clone(),
            share_capital: identity.share_capital,
            address: identity.address.clone(),
            siren: identity.siren.to_string(),
            siret: identity.siret.to_string(),
            rcs_city: identity.rcs_city.clone(),
            vat_number: identity.vat_number.as_ref().map(ToString::to_string),
            email: identity.email.as_str().to_owned(),
            phone: identity.phone.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// The customer as printed. An individual is named and reached by email and phone; a
/// business also has its company name, its address and its VAT number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    /// The person's name (the contact, for a business).
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// Postal address, one line per line.
    pub address: Option<String>,
    /// Company name, for a business customer.
    pub company: Option<String>,
    /// Intra-community VAT number, for a business customer.
    pub vat_number: Option<String>,
}

impl Customer {
    /// Whether this is a business (a company name or a VAT number), whose invoice must
    /// state the payment terms.
    pub fn is_business(&self) -> bool {
        self.company.is_some() || self.vat_number.is_some()
    }
}

/// One line: a product sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentLine {
    /// The product's reference.
    pub reference: String,
    /// The product's name when sold.
    pub designation: String,
    /// Units.
    pub quantity: u32,
    /// Unit price excl. VAT.
    pub unit_price_ht: Money,
    /// VAT rate.
    pub vat_rate: VatRate,
    /// `unit_price_ht × quantity`, rounded to the cent.
    pub total_ht: Money,
}

/// The totals of one VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatBreakdownLine {
    /// The rate.
    pub rate: VatRate,
    /// Sum of the line totals at this rate, excl. VAT.
    pub base_ht: Money,
    /// VAT on `base_ht`.
    pub vat: Money,
}

impl From<&aggregates::values::VatLine> for VatBreakdownLine {
    fn from(line: &aggregates::values::VatLine) -> Self {
        VatBreakdownLine {
            rate: line.rate,
            base_ht: line.base_ht,
            vat: line.vat,
        }
    }
}

/// How the document was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentInfo {
    /// The means, in words: "Carte bancaire (Stripe)", "Espèces", …
    pub method: String,
    /// When the money was received (refunded, on a credit note).
    pub paid_at: DateTime<Utc>,
}

/// Terms a business customer's invoice states (C. com. L441-9 and L441-10, D441-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessTerms {
    /// When payment is due, and the discount for early payment (or that there is none).
    pub payment_terms: String,
    /// The rate of late-payment penalties.
    pub late_penalty_rate: String,
    /// The fixed indemnity for recovery costs owed on any late payment.
    pub recovery_indemnity: Money,
}

impl BusinessTerms {
    /// What the law applies when nothing else was agreed: payment due on receipt, no
    /// early-payment discount, penalties at the ECB's refinancing rate plus 10 points
    /// (C. com. L441-10, II), and the 40 € recovery indemnity (D441-5). Comptoir issues
    /// an invoice once the order is paid, so the terms say so.
    pub fn legal_defaults() -> Self {
        BusinessTerms {
            payment_terms: "Paiement comptant à la commande (facture acquittée) ; \
                            aucun escompte pour paiement anticipé."
                .to_owned(),
            late_penalty_rate: "Taux d'intérêt appliqué par la Banque centrale européenne \
                                à son opération de refinancement la plus récente, majoré \
                                de 10 points de pourcentage (C. com. art. L441-10)."
                .to_owned(),
            recovery_indemnity: Money::from_cents(4_000).unwrap_or_default(),
        }
    }
}

impl Default for BusinessTerms {
    /// [`BusinessTerms::legal_defaults`].
    fn default() -> Self {
        Self::legal_defaults()
    }
}

/// The calendar date of `at` in France (Europe/Paris: UTC+1, UTC+2 in summer by the EU
/// rule, from the last Sunday of March to the last Sunday of October, 01:00 UTC both).
/// An invoice issued at 23:30 UTC on 31 December is dated 1 January.
pub fn french_date(at: DateTime<Utc>) -> NaiveDate {
    aggregates::calendar::paris_day(at)
}

impl InvoiceDocument {
    /// The issue date as printed: [`Self::issued_at`] in France.
    pub fn issue_date(&self) -> NaiveDate {
        french_date(self.issued_at)
    }

    /// Whether this is a credit note.
    pub fn is_credit_note(&self) -> bool {
        matches!(self.kind, DocumentKind::CreditNote { .. })
    }

    /// Test and benchmark data: an invoice to an individual for motorcycle parts, at the
    /// normal rate (20 %) and, for a repair manual (a book), the reduced rate (5.5 %),
    /// paid by card. Not for production use.
    pub fn sample() -> Self {
        let lines = vec![
            line(
                "MICH-RD5-120-70",
                "Pneu avant Michelin Road 5 120/70 ZR17 58W",
                1,
                "131.58",
                "20",
            ),
            line(
                "MICH-RD5-180-55",
                "Pneu arrière Michelin Road 5 180/55 ZR17 73W",
                1,
                "159.92",
                "20",
            ),
            line(
                "YUA-YTZ10S",
                "Batterie Yuasa YTZ10S 12 V 8,6 Ah, prête à l'emploi",
                1,
                "99.08",
                "20",
            ),
            line(
                "MOT-7100-10W40-4L",
                "Huile moteur Motul 7100 10W-40, bidon de 4 L",
                2,
                "45.75",
                "20",
            ),
            line(
                "RMT-YAM-MT07",
                "Revue Moto Technique Yamaha MT-07 (2014-2020)",
                1,
                "36.02",
                "5.5",
            ),
        ];
        Self::with_lines(
            DocumentKind::Invoice,
            "FA-2026-000042",
            utc(2026, 3, 14, 9, 41, 7),
            lines,
            sample_individual(),
            Some(PaymentInfo {
                method: "Carte bancaire (Stripe)".to_owned(),
                paid_at: utc(2026, 3, 14, 9, 40, 52),
            }),
            None,
        )
    }

    /// Test and benchmark data: an invoice to a business (a garage), with its address and
    /// VAT number, a total above a thousand euros, and the business payment terms. Not for
    /// production use.
    pub fn sample_business() -> Self {
        let lines = vec![
            line(
                "MICH-RD5-120-70",
                "Pneu avant Michelin Road 5 120/70 ZR17 58W",
                4,
                "131.58",
                "20",
            ),
            line(
                "MICH-RD5-180-55",
                "Pneu arrière Michelin Road 5 180/55 ZR17 73W",
                4,
                "159.92",
                "20",
            ),
            line(
                "NGK-CR9EIX",
                "Bougie d'allumage NGK Iridium IX CR9EIX",
                12,
                "10.75",
                "20",
            ),
            line(
                "DID-525VX3-118",
                "Chaîne de transmission DID 525 VX3 X-Ring, 118 maillons",
                2,
                "104.08",
                "20",
            ),
            line(
                "RMT-KAW-Z900",
                "Revue Moto Technique Kawasaki Z900 (2017-2023)",
                2,
                "36.02",
                "5.5",
            ),
        ];
        Self::with_lines(
            DocumentKind::Invoice,
            "FA-2026-000043",
            utc(2026, 3, 16, 14, 5, 30),
            lines,
            Customer {
                name: "Julien Marchal".to_owned(),
                email: "atelier@garage-des-pentes.fr".to_owned(),
                phone: "0478123456".to_owned(),
                address: Some("8 chemin de la Sarra\n69005 Lyon\nFrance".to_owned()),
                company: Some("Garage des Pentes SARL".to_owned()),
                vat_number: Some("FR33481352904".to_owned()),
            },
            Some(PaymentInfo {
                method: "Virement bancaire".to_owned(),
                paid_at: utc(2026, 3, 16, 13, 58, 11),
            }),
            Some(BusinessTerms::legal_defaults()),
        )
    }

    /// Test and benchmark data: a credit note on [`Self::sample`]'s invoice, for the
    /// battery and the manual sent back (one line at each rate), refunded by card. Not for
    /// production use.
    pub fn sample_credit_note() -> Self {
        let lines = vec![
            line(
                "YUA-YTZ10S",
                "Batterie Yuasa YTZ10S 12 V 8,6 Ah, prête à l'emploi",
                1,
                "99.08",
                "20",
            ),
            line(
                "RMT-YAM-MT07",
                "Revue Moto Technique Yamaha MT-07 (2014-2020)",
                1,
                "36.02",
                "5.5",
            ),
        ];
        Self::with_lines(
            DocumentKind::CreditNote {
                corrects: "FA-2026-000042".to_owned(),
                corrects_issued_at: NaiveDate::from_ymd_opt(2026, 3, 14).unwrap_or_default(),
                reason: "Retour de la batterie et du manuel, non utilisés".to_owned(),
            },
            "AV-2026-000003",
            utc(2026, 3, 21, 16, 12, 0),
            lines,
            sample_individual(),
            Some(PaymentInfo {
                method: "Carte bancaire (Stripe)".to_owned(),
                paid_at: utc(2026, 3, 21, 16, 11, 43),
            }),
            None,
        )
    }

    /// A sample document whose totals are computed the way the order aggregate computes
    /// them.
    fn with_lines(
        kind: DocumentKind,
        number: &str,
        issued_at: DateTime<Utc>,
        lines: Vec<DocumentLine>,
        customer: Customer,
        payment: Option<PaymentInfo>,
        business_terms: Option<BusinessTerms>,
    ) -> Self {
        let inputs: Vec<(u32, Money, VatRate)> = lines
            .iter()
            .map(|l| (l.quantity, l.unit_price_ht, l.vat_rate))
            .collect();
        let totals = compute_totals(&inputs);
        InvoiceDocument {
            kind,
            number: number.to_owned(),
            issued_at,
            sale_date: french_date(issued_at),
            seller: sample_seller(),
            customer,
            order_number: "CMD-2026-0187".to_owned(),
            lines,
            vat_breakdown: totals.vat_breakdown.iter().map(Into::into).collect(),
            total_ht: totals.total_ht,
            total_vat: totals.total_vat,
            total_ttc: totals.total_ttc,
            payment,
            pickup_location: "Atelier Lyon 7e, 12 rue des Artisans, 69007 Lyon".to_owned(),
            business_terms,
            currency: "EUR".to_owned(),
        }
    }
}

fn sample_seller() -> Seller {
    Seller {
        company_name: "Moto Pièces Lyon".to_owned(),
        legal_form: "SARL".to_owned(),
        share_capital: Money::from_cents(1_500_000).ok(),
        address: PostalAddress {
            street: "12 rue des Artisans".to_owned(),
            postal_code: "69007".to_owned(),
            city: "Lyon".to_owned(),
            country: "France".to_owned(),
        },
        siren: "732829320".to_owned(),
        siret: "73282932000074".to_owned(),
        rcs_city: Some("Lyon".to_owned()),
        vat_number: Some("FR44732829320".to_owned()),
        email: "contact@moto-pieces-lyon.fr".to_owned(),
        phone: Some("0472000000".to_owned()),
    }
}

fn sample_individual() -> Customer {
    Customer {
        name: "Camille Rousseau".to_owned(),
        email: "camille.rousseau@example.fr".to_owned(),
        phone: "0612345678".to_owned(),
        address: None,
        company: None,
        vat_number: None,
    }
}

/// A sample line; the literals are valid by construction.
fn line(
    reference: &str,
    designation: &str,
    quantity: u32,
    unit_price_ht: &str,
    vat_rate: &str,
) -> DocumentLine {
    let unit_price_ht: Money = unit_price_ht.parse().unwrap_or_default();
    DocumentLine {
        reference: reference.to_owned(),
        designation: designation.to_owned(),
        quantity,
        unit_price_ht,
        vat_rate: vat_rate.parse().unwrap_or_default(),
        total_ht: unit_price_ht.times(quantity),
    }
}

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
        .single()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn french_dates_follow_paris_time() {
        // Winter: UTC+1, so late evening UTC on New Year's Eve is already January.
        let new_year = Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(
            french_date(new_year),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        // Summer: UTC+2 from 29 March 2026 01:00 UTC.
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 22, 30, 0).unwrap();
        assert_eq!(
            french_date(summer),
            NaiveDate::from_ymd_opt(2026, 7, 2).unwrap()
        );
        let before_change = Utc.with_ymd_and_hms(2026, 3, 28, 22, 30, 0).unwrap();
        assert_eq!(
            french_date(before_change),
            NaiveDate::from_ymd_opt(2026, 3, 28).unwrap()
        );
        // Back to winter time from 25 October 2026 01:00 UTC.
        let after_change = Utc.with_ymd_and_hms(2026, 10, 25, 22, 30, 0).unwrap();
        assert_eq!(
            french_date(after_change),
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()
        );
    }

    #[test]
    fn samples_add_up_and_cover_two_rates() {
        for doc in [
            InvoiceDocument::sample(),
            InvoiceDocument::sample_business(),
            InvoiceDocument::sample_credit_note(),
        ] {
            let lines: Money = doc.lines.iter().map(|l| l.total_ht).sum();
            assert_eq!(lines, doc.total_ht);
            assert_eq!(doc.total_ht + doc.total_vat, doc.total_ttc);
            assert_eq!(doc.vat_breakdown.len(), 2);
            assert!(doc.lines.iter().all(|l| !l.unit_price_ht.is_zero()));
        }
        assert!(InvoiceDocument::sample_business().customer.is_business());
        assert!(!InvoiceDocument::sample().customer.is_business());
        assert!(InvoiceDocument::sample_credit_note().is_credit_note());
        assert!(InvoiceDocument::sample_business().total_ttc > "1000".parse().unwrap());
    }

    #[test]
    fn the_legal_indemnity_is_forty_euros() {
        assert_eq!(
            BusinessTerms::default().recovery_indemnity,
            "40".parse().unwrap()
        );
    }

    #[test]
    fn a_seller_copies_the_legal_identity() {
        use aggregates::values::{Email, Siren, Siret, VatNumber};
        let identity = LegalIdentity {
            company_name: "Moto Pièces Lyon".to_owned(),
            legal_form: "SARL".to_owned(),
            share_capital: Some("15000".parse().unwrap()),
            address: sample_seller().address,
            siren: Siren::new("732 829 320").unwrap(),
            siret: Siret::new("732 829 320 00074").unwrap(),
            rcs_city: Some("Lyon".to_owned()),
            vat_number: Some(VatNumber::new("FR 44 732 829 320").unwrap()),
            email: Email::new("contact@moto-pieces-lyon.fr").unwrap(),
            phone: None,
        };
        let seller = Seller::from(&identity);
        assert_eq!(
            seller,
            Seller {
                phone: None,
                ..sample_seller()
            }
        );
    }

    #[test]
    fn kinds_serialise_with_a_type_tag() {
        let json = serde_json::to_value(InvoiceDocument::sample_credit_note().kind).unwrap();
        assert_eq!(json["type"], "credit_note");
        assert_eq!(json["corrects"], "FA-2026-000042");
        assert_eq!(json["corrects_issued_at"], "2026-03-14");
        let json = serde_json::to_value(DocumentKind::Invoice).unwrap();
        assert_eq!(json["type"], "invoice");
    }
}
