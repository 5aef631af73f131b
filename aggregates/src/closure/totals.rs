use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::VatRate;

/// Totals at one VAT rate; signed (credit notes count negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    /// The rate.
    pub rate: VatRate,
    /// Excl. VAT.
    pub ht: Decimal,
    /// VAT.
    pub vat: Decimal,
    /// Incl. VAT.
    pub ttc: Decimal,
}

/// Total incl. VAT by a payment means (`card`, `cash`, `cheque`, `stripe`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeansTotal {
    /// The means.
    pub means: String,
    /// Incl. VAT, signed.
    pub ttc: Decimal,
}

/// What a period's invoices and credit notes add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureTotals {
    /// Invoices issued.
    pub invoices: u64,
    /// Credit notes issued.
    pub credit_notes: u64,
    /// Excl. VAT, signed.
    pub ht: Decimal,
    /// VAT, signed.
    pub vat: Decimal,
    /// Incl. VAT, signed.
    pub ttc: Decimal,
    /// By rate, ascending.
    pub by_rate: Vec<RateTotal>,
    /// By payment means, by name.
    pub by_means: Vec<MeansTotal>,
}

impl ClosureTotals {
    /// Whether the totals hold together: the sums by rate and by means are the totals,
    /// HT + VAT = TTC, rates and means listed once each in order.
    pub fn is_consistent(&self) -> bool {
        let ht: Decimal = self.by_rate.iter().map(|r| r.ht).sum();
        let vat: Decimal = self.by_rate.iter().map(|r| r.vat).sum();
        let ttc: Decimal = self.by_rate.iter().map(|r| r.ttc).sum();
        let by_means: Decimal = self.by_means.iter().map(|m| m.ttc).sum();
        let rates_sorted = self.by_rate.windows(2).all(|w| w[0].rate < w[1].rate);
        let means_sorted = self.by_means.windows(2).all(|w| w[0].means < w[1].means);
        ht == self.ht
            && vat == self.vat
            && ttc == self.ttc
            && self.ht + self.vat == self.ttc
            && self.by_rate.iter().all(|r| r.ht + r.vat == r.ttc)
            && (self.by_means.is_empty() && self.ttc.is_zero() || by_means == self.ttc)
            && rates_sorted
            && means_sorted
    }

    /// `self + other`.
    pub fn plus(&self, other: &ClosureTotals) -> ClosureTotals {
        let mut rates: BTreeMap<VatRate, RateTotal> = BTreeMap::new();
        for r in self.by_rate.iter().chain(&other.by_rate) {
            let entry = rates.entry(r.rate).or_insert_with(|| RateTotal {
                rate: r.rate,
                ht: Decimal::ZERO,
                vat: Decimal::ZERO,
                ttc: Decimal::ZERO,
            });
            entry.ht += r.ht;
            entry.vat += r.vat;
            entry.ttc += r.ttc;
        }
        let mut means: BTreeMap<String, Decimal> = BTreeMap::new();
        for m in self.by_means.iter().chain(&other.by_means) {
            *means.entry(m.means.clone()).or_default() += m.ttc;
        }
        ClosureTotals {
            invoices: self.invoices + other.invoices,
            credit_notes: self.credit_notes + other.credit_notes,
            ht: self.ht + other.ht,
            vat: self.vat + other.vat,
            ttc: self.ttc + other.ttc,
            by_rate: rates.into_values().collect(),
            by_means: means
                .into_iter()
                .map(|(means, ttc)| MeansTotal { means, ttc })
                .collect(),
        }
    }
}
