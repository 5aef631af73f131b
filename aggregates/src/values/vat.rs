use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Money;

/// Why a string or decimal is not a [`VatRate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatRateError {
    /// Not a decimal number.
    #[error("\"{0}\" is not a VAT rate (expected a percentage such as 20 or 5.5)")]
    NotANumber(String),
    /// Below 0 or at/above 100 %.
    #[error("a VAT rate is a percentage from 0 up to (not including) 100")]
    OutOfRange,
    /// More than two decimal places.
    #[error("a VAT rate has at most 2 decimal places")]
    TooPrecise,
}

/// A VAT rate in percent (`20` means 20 %), `0 <= rate < 100`, at most two decimals.
///
/// Kept normalised (`"5.5"`, never `"5.50"`) so equal rates compare, hash and sort equal;
/// serialised as a decimal string.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct VatRate(Decimal);

impl VatRate {
    /// Checks `percent` and normalises it.
    pub fn new(percent: Decimal) -> Result<Self, VatRateError> {
        if percent.is_sign_negative() && !percent.is_zero() {
            return Err(VatRateError::OutOfRange);
        }
        if percent >= Decimal::ONE_HUNDRED {
            return Err(VatRateError::OutOfRange);
        }
        let mut normalised = percent.normalize();
        if normalised.scale() > 2 {
            return Err(VatRateError::TooPrecise);
        }
        normalised.set_sign_positive(true);
        Ok(Self(normalised))
    }

    /// The rate in percent.
    pub fn percent(&self) -> Decimal {
        self.0
    }

    /// VAT due on `base`, rounded half-up to the cent.
    pub fn vat_on(&self, base: Money) -> Money {
        Money::round_to_cent(base.amount() * self.0 / Decimal::ONE_HUNDRED)
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for VatRate {
    type Err = VatRateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_end_matches('%').trim_end();
        let is_plain = !trimmed.is_empty()
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
        if !is_plain {
            return Err(VatRateError::NotANumber(s.to_owned()));
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| VatRateError::NotANumber(s.to_owned()))?;
        Self::new(value)
    }
}

impl TryFrom<&str> for VatRate {
    type Error = VatRateError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<String> for VatRate {
    type Error = VatRateError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<VatRate> for String {
    fn from(value: VatRate) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_display_normalised() {
        for (input, shown) in [
            ("20", "20"),
            ("20.00", "20"),
            ("5.50", "5.5"),
            ("2.1", "2.1"),
            ("0", "0"),
            ("-0", "0"),
            ("10%", "10"),
        ] {
            assert_eq!(input.parse::<VatRate>().unwrap().to_string(), shown);
        }
    }

    #[test]
    fn rates_out_of_range_or_too_precise_are_refused() {
        assert_eq!("100".parse::<VatRate>(), Err(VatRateError::OutOfRange));
        assert_eq!("-1".parse::<VatRate>(), Err(VatRateError::OutOfRange));
        assert_eq!("5.555".parse::<VatRate>(), Err(VatRateError::TooPrecise));
        assert!(matches!(
            "vingt".parse::<VatRate>(),
            Err(VatRateError::NotANumber(_))
        ));
    }

    #[test]
    fn rates_serialise_as_strings_and_validate_when_read() {
        let rate: VatRate = "5.5".parse().unwrap();
        assert_eq!(serde_json::to_string(&rate).unwrap(), "\"5.5\"");
        assert!(serde_json::from_str::<VatRate>("\"150\"").is_err());
    }

    #[test]
    fn equal_rates_are_one_key() {
        let a: VatRate = "5.5".parse().unwrap();
        let b: VatRate = "5.50".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
    }

    proptest! {
        #[test]
        fn rates_parse_within_bounds(hundredths in -100_000i64..20_000) {
            let d = Decimal::new(hundredths, 2);
            let parsed = d.to_string().parse::<VatRate>();
            if (0..10_000).contains(&hundredths) {
                let rate = parsed.unwrap();
                prop_assert_eq!(rate.percent(), d.normalize());
                prop_assert_eq!(rate.to_string().parse::<VatRate>().unwrap(), rate);
            } else {
                prop_assert_eq!(parsed, Err(VatRateError::OutOfRange));
            }
        }
    }
}
