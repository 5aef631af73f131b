use std::collections::BTreeMap;
use std::fmt;
use std::iter::Sum;
use std::ops::Add;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::VatRate;

/// Largest amount accepted, 10^12 (`Decimal::new` is not const): far beyond any order of a small shop, and low
/// enough that `times(u32::MAX)` and sums of many lines stay inside `Decimal`'s range.
const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Why a string or decimal is not a [`Money`] amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number at all.
    #[error(
        "\"{0}\" is not an amount (expected digits with an optional decimal point, e.g. 89.00)"
    )]
    NotANumber(String),
    /// Below zero.
    #[error("an amount cannot be negative")]
    Negative,
    /// More than two decimal places once trailing zeros are dropped.
    #[error("an amount has at most 2 decimal places")]
    TooPrecise,
    /// Above [`MAX_AMOUNT`].
    #[error("an amount cannot exceed 1000000000000")]
    TooLarge,
}

/// A non-negative amount of euros, always carried with exactly two decimal places.
///
/// Serialised as a decimal string (`"89.00"`), never as a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money(Decimal);

impl Default for Money {
    /// Zero, shown `0.00` (a derived default would carry no decimals and show `0`).
    fn default() -> Self {
        Self::zero()
    }
}

impl Money {
    /// Checks and rescales `amount` to cents: refuses negatives and sub-cent precision.
    pub fn new(amount: Decimal) -> Result<Self, MoneyError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        if amount.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        if amount > MAX_AMOUNT {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self::rescaled(amount))
    }

    /// Zero euros.
    pub fn zero() -> Self {
        Self(Decimal::new(0, 2))
    }

    /// Builds an amount from a whole number of cents.
    pub fn from_cents(cents: u64) -> Result<Self, MoneyError> {
        let cents = i64::try_from(cents).map_err(|_| MoneyError::TooLarge)?;
        Self::new(Decimal::new(cents, 2))
    }

    /// The amount as a decimal with two decimal places.
    pub fn amount(&self) -> Decimal {
        self.0
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// `self × quantity`, rounded half-up (away from zero) to the cent.
    pub fn times(self, quantity: u32) -> Self {
        Self::round_to_cent(self.0 * Decimal::from(quantity))
    }

    /// This amount excl. VAT plus its VAT at `rate` (a price incl. VAT, TTC).
    pub fn with_vat(self, rate: VatRate) -> Self {
        self + rate.vat_on(self)
    }

    /// Rounds a non-negative decimal half-up to the cent. Callers guarantee the sign.
    pub(crate) fn round_to_cent(value: Decimal) -> Self {
        Self::rescaled(value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }

    fn rescaled(value: Decimal) -> Self {
        let mut value = value;
        // "-0" parses as a negative zero; keep a single zero so equality and display agree.
        value.set_sign_positive(true);
        value.rescale(2);
        Self(value)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let is_plain = !trimmed.is_empty()
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
        if !is_plain {
            return Err(MoneyError::NotANumber(s.to_owned()));
        }
        let value = Decimal::from_str(trimmed).map_err(|_| MoneyError::NotANumber(s.to_owned()))?;
        Self::new(value)
    }
}

impl TryFrom<&str> for Money {
    type Error = MoneyError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<String> for Money {
    type Error = MoneyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Money> for String {
    fn from(value: Money) -> Self {
        value.to_string()
    }
}

impl Add for Money {
    type Output = Money;

    fn add(self, rhs: Money) -> Money {
        Self::rescaled(self.0 + rhs.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Self {
        iter.fold(Money::zero(), Add::add)
    }
}

/// One rate of a VAT breakdown: the sum of line nets at that rate and the VAT on that sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatLine {
    /// The VAT rate.
    pub rate: VatRate,
    /// Sum of the line nets (HT) taxed at `rate`.
    pub base_ht: Money,
    /// VAT on `base_ht`, rounded half-up to the cent.
    pub vat: Money,
}

/// The totals of an order or invoice, computed once and stored in events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of the line nets, excl. VAT.
    pub total_ht: Money,
    /// One entry per distinct rate, sorted by rate ascending.
    pub vat_breakdown: Vec<VatLine>,
    /// Sum of the breakdown's VAT amounts.
    pub total_vat: Money,
    /// `total_ht + total_vat`.
    pub total_ttc: Money,
}

/// Computes the totals of `(quantity, unit price HT, VAT rate)` lines.
///
/// Each line net is `unit × quantity` rounded half-up to the cent; VAT is then computed
/// once per rate on the sum of the line nets at that rate (EN 16931 BR-S-08 / BR-CO-17),
/// not line by line, so rounding differences cannot pile up.
pub fn compute_totals(lines: &[(u32, Money, VatRate)]) -> Totals {
    let mut bases: BTreeMap<VatRate, Money> = BTreeMap::new();
    for &(quantity, unit_price_ht, rate) in lines {
        let net = unit_price_ht.times(quantity);
        let base = bases.entry(rate).or_insert_with(Money::zero);
        *base = *base + net;
    }
    let vat_breakdown: Vec<VatLine> = bases
        .into_iter()
        .map(|(rate, base_ht)| VatLine {
            rate,
            base_ht,
            vat: rate.vat_on(base_ht),
        })
        .collect();
    let total_ht: Money = vat_breakdown.iter().map(|line| line.base_ht).sum();
    let total_vat: Money = vat_breakdown.iter().map(|line| line.vat).sum();
    Totals {
        total_ht,
        vat_breakdown,
        total_vat,
        total_ttc: total_ht + total_vat,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn money(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn rate(s: &str) -> VatRate {
        s.parse().unwrap()
    }

    #[test]
    fn whole_amounts_are_carried_with_two_decimals() {
        assert_eq!(money("89").to_string(), "89.00");
        assert_eq!(money("5.5").to_string(), "5.50");
        assert_eq!(money("0").to_string(), "0.00");
        assert_eq!(money("-0").to_string(), "0.00");
        assert_eq!(money(" 12.30 ").to_string(), "12.30");
        assert_eq!(Money::default().to_string(), "0.00");
    }

    #[test]
    fn sub_cent_amounts_are_refused() {
        assert_eq!("1.234".parse::<Money>(), Err(MoneyError::TooPrecise));
        assert_eq!(money("1.2300").to_string(), "1.23");
    }

    #[test]
    fn negative_and_garbage_amounts_are_refused() {
        assert_eq!("-1".parse::<Money>(), Err(MoneyError::Negative));
        assert!(matches!(
            "abc".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            "".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            "1e3".parse::<Money>(),
            Err(MoneyError::NotANumber(_))
        ));
        assert_eq!(
            "1000000000000.01".parse::<Money>(),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn money_serialises_as_a_decimal_string() {
        let json = serde_json::to_string(&money("89")).unwrap();
        assert_eq!(json, "\"89.00\"");
        let back: Money = serde_json::from_str("\"12.5\"").unwrap();
        assert_eq!(back, money("12.50"));
        assert!(serde_json::from_str::<Money>("\"1.001\"").is_err());
    }

    #[test]
    fn vat_is_computed_on_the_sum_per_rate_not_per_line() {
        // Three lines at 0.05 HT and 20 %: per line VAT would be 3 × 0.01 = 0.03,
        // on the sum it is 0.15 × 20 % = 0.03 too; at 5.5 % per-line gives 3 × 0.00 while
        // the sum gives 0.01.
        let lines = [
            (1, money("0.05"), rate("5.5")),
            (1, money("0.05"), rate("5.5")),
            (1, money("0.05"), rate("5.5")),
            (2, money("10.00"), rate("20")),
        ];
        let totals = compute_totals(&lines);
        assert_eq!(totals.total_ht, money("20.15"));
        assert_eq!(totals.vat_breakdown.len(), 2);
        assert_eq!(totals.vat_breakdown[0].rate, rate("5.5"));
        assert_eq!(totals.vat_breakdown[0].base_ht, money("0.15"));
        assert_eq!(totals.vat_breakdown[0].vat, money("0.01"));
        assert_eq!(totals.vat_breakdown[1].vat, money("4.00"));
        assert_eq!(totals.total_vat, money("4.01"));
        assert_eq!(totals.total_ttc, money("24.16"));
    }

    #[test]
    fn no_lines_give_zero_totals() {
        let totals = compute_totals(&[]);
        assert_eq!(totals.total_ttc, Money::zero());
        assert!(totals.vat_breakdown.is_empty());
    }

    #[test]
    fn a_price_with_vat_adds_the_rounded_vat() {
        assert_eq!(money("89.00").with_vat(rate("20")), money("106.80"));
        assert_eq!(money("0.10").with_vat(rate("5.5")), money("0.11"));
    }

    fn any_money() -> impl Strategy<Value = Money> {
        (0u64..10_000_000).prop_map(|c| Money::from_cents(c).unwrap())
    }

    fn any_rate() -> impl Strategy<Value = VatRate> {
        prop::sample::select(vec!["0", "2.1", "5.5", "10", "20", "8.5", "99.99"])
            .prop_map(|s| s.parse().unwrap())
    }

    proptest! {
        #[test]
        fn money_display_parses_back_to_the_same_amount(cents in 0u64..=100_000_000_000_000) {
            let m = Money::from_cents(cents).unwrap();
            let shown = m.to_string();
            prop_assert_eq!(shown.split('.').nth(1).map(str::len), Some(2));
            prop_assert_eq!(shown.parse::<Money>().unwrap(), m);
        }

        #[test]
        fn amounts_with_at_most_two_decimals_are_rescaled(units in 0u64..1_000_000, dp in 0u32..=2) {
            let d = Decimal::new(i64::try_from(units).unwrap(), dp);
            let m = Money::new(d).unwrap();
            prop_assert_eq!(m.amount(), d);
            prop_assert_eq!(m.amount().scale(), 2);
        }

        #[test]
        fn amounts_with_a_third_significant_decimal_are_refused(units in 0i64..1_000_000, last in 1i64..10) {
            let d = Decimal::new(units * 10 + last, 3);
            prop_assert_eq!(Money::new(d), Err(MoneyError::TooPrecise));
        }

        #[test]
        fn vat_rounding_is_half_up(cents in 0u64..10_000_000, r in any_rate()) {
            let base = Money::from_cents(cents).unwrap();
            let exact = base.amount() * r.percent() / Decimal::ONE_HUNDRED;
            let vat = r.vat_on(base).amount();
            let diff = vat - exact;
            // Half-up: never more than half a cent away, and exactly half rounds up.
            prop_assert!(diff <= Decimal::new(5, 3));
            prop_assert!(diff > Decimal::new(-5, 3));
        }

        #[test]
        fn line_nets_are_exact_products(cents in 0u64..10_000_000, qty in 0u32..1000) {
            let unit = Money::from_cents(cents).unwrap();
            prop_assert_eq!(unit.times(qty).amount(), unit.amount() * Decimal::from(qty));
        }

        #[test]
        fn totals_add_up(lines in prop::collection::vec((1u32..1000, any_money(), any_rate()), 0..12)) {
            let totals = compute_totals(&lines);
            prop_assert_eq!(totals.total_ttc, totals.total_ht + totals.total_vat);
            let bases: Money = totals.vat_breakdown.iter().map(|l| l.base_ht).sum();
            prop_assert_eq!(bases, totals.total_ht);
            let vats: Money = totals.vat_breakdown.iter().map(|l| l.vat).sum();
            prop_assert_eq!(vats, totals.total_vat);
            let nets: Money = lines.iter().map(|(q, p, _)| p.times(*q)).sum();
            prop_assert_eq!(nets, totals.total_ht);
            for pair in totals.vat_breakdown.windows(2) {
                prop_assert!(pair[0].rate < pair[1].rate);
            }
        }

        #[test]
        fn vat_per_rate_is_computed_on_the_sum_of_line_nets(lines in prop::collection::vec((1u32..1000, any_money(), any_rate()), 1..12)) {
            let totals = compute_totals(&lines);
            for vat_line in &totals.vat_breakdown {
                let base: Money = lines
                    .iter()
                    .filter(|(_, _, r)| *r == vat_line.rate)
                    .map(|(q, p, _)| p.times(*q))
                    .sum();
                prop_assert_eq!(vat_line.base_ht, base);
                prop_assert_eq!(vat_line.vat, vat_line.rate.vat_on(base));
            }
        }
    }
}
