//! The seller's identifiers and the shop's settings values: SIREN, SIRET, intra-community
//! VAT number, currency code and web origin. Each is checked the way the issuing registry
//! defines it (INSEE's Luhn key for SIREN/SIRET, the French VAT key computed from the
//! SIREN), so a typo is caught in the form, not by the accountant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Implements the string plumbing every value type here shares: `as_str`, `Display`,
/// `FromStr`, and serde through `String` (so a stored event is checked again when read).
macro_rules! string_value {
    ($name:ident, $error:ident) => {
        impl $name {
            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// The digits of `value` with spaces, dots and hyphens removed, or `None` when anything
/// else is in it.
fn digits_only(value: &str) -> Option<String> {
    let mut digits = String::with_capacity(value.len());
    for c in value.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '\u{a0}' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// The Luhn check INSEE uses for SIREN and SIRET numbers.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let double = d * 2;
                if double > 9 {
                    double - 9
                } else {
                    double
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Why a string is not a [`Siren`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SirenError {
    /// Not 9 digits.
    #[error("a SIREN number has 9 digits")]
    Length,
    /// The check digit does not match.
    #[error("this SIREN number is not valid (its check digit does not match: a typo?)")]
    CheckDigit,
}

/// A SIREN number: the 9 digits identifying a French company.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siren(String);

impl Siren {
    /// Checks `value` (spaces allowed: `"732 829 320"`).
    pub fn new(value: &str) -> Result<Self, SirenError> {
        let digits = digits_only(value).ok_or(SirenError::Length)?;
        if digits.len() != 9 {
            return Err(SirenError::Length);
        }
        if !luhn(&digits) {
            return Err(SirenError::CheckDigit);
        }
        Ok(Self(digits))
    }
}

string_value!(Siren, SirenError);

/// Why a string is not a [`Siret`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiretError {
    /// Not 14 digits.
    #[error("a SIRET number has 14 digits (the SIREN, then 5 for the establishment)")]
    Length,
    /// The check digit does not match.
    #[error("this SIRET number is not valid (its check digit does not match: a typo?)")]
    CheckDigit,
}

/// A SIRET number: SIREN plus the 5-digit establishment number (NIC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siret(String);

/// La Poste's SIREN: its establishments' SIRET numbers do not follow the Luhn key
/// (INSEE: the sum of the digits is a multiple of 5 instead).
const LA_POSTE_SIREN: &str = "356000000";

impl Siret {
    /// Checks `value` (spaces allowed).
    pub fn new(value: &str) -> Result<Self, SiretError> {
        let digits = digits_only(value).ok_or(SiretError::Length)?;
        if digits.len() != 14 {
            return Err(SiretError::Length);
        }
        let valid = if digits.starts_with(LA_POSTE_SIREN) {
            digits.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0
        } else {
            luhn(&digits)
        };
        if !valid {
            return Err(SiretError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// The SIREN part (the first 9 digits).
    pub fn siren(&self) -> &str {
        &self.0[..9]
    }
}

string_value!(Siret, SiretError);

/// Why a string is not a [`VatNumber`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatNumberError {
    /// Not a country code followed by 2 to 13 letters or digits.
    #[error("an intra-community VAT number is a country code and 2 to 13 letters or digits, such as FR40303265045")]
    Format,
    /// A French number whose key does not match its SIREN.
    #[error("this French VAT number is not valid: FR, a 2-digit key, then the 9-digit SIREN")]
    FrenchKey,
}

/// An intra-community VAT number (`FR40303265045`): upper case, no spaces. French numbers
/// are checked against their key: `(12 + 3 × (SIREN mod 97)) mod 97`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatNumber(String);

impl VatNumber {
    /// Checks `value` (spaces and dots allowed, any case).
    pub fn new(value: &str) -> Result<Self, VatNumberError> {
        let compact: String = value
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        // Every well-formed number is ASCII; refusing anything else first also keeps the
        // splits below on character boundaries (`J²D` would be cut inside the `²`).
        if !compact.is_ascii() {
            return Err(VatNumberError::Format);
        }
        let (country, rest) = compact.split_at(compact.len().min(2));
        let well_formed = country.len() == 2
            && country.chars().all(|c| c.is_ascii_uppercase())
            && (2..=13).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_alphanumeric());
        if !well_formed {
            return Err(VatNumberError::Format);
        }
        if country == "FR" {
            let (key, siren) = rest.split_at(rest.len().min(2));
            let siren_ok = siren.len() == 9 && siren.chars().all(|c| c.is_ascii_digit());
            let key: Option<u64> = key.parse().ok();
            let expected = siren
                .parse::<u64>()
                .ok()
                .map(|siren| (12 + 3 * (siren % 97)) % 97);
            if !siren_ok || key.is_none() || key != expected {
                return Err(VatNumberError::FrenchKey);
            }
        }
        Ok(Self(compact))
    }

    /// The SIREN inside a French number.
    pub fn french_siren(&self) -> Option<&str> {
        self.0.strip_prefix("FR").map(|rest| &rest[2..])
    }
}

string_value!(VatNumber, VatNumberError);

/// Why a string is not a [`Currency`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not one of the currencies Comptoir prices in.
    #[error("the currency is one of {}", Currency::SUPPORTED.join(", "))]
    Unsupported,
}

/// The shop's currency, an ISO 4217 code. Limited to currencies with two decimal places
/// (every amount in Comptoir is rounded to the cent, and Stripe takes them in cents).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// The codes accepted.
    pub const SUPPORTED: &'static [&'static str] = &["EUR", "CHF", "GBP", "USD", "CAD"];

    /// Checks `value` (any case).
    pub fn new(value: &str) -> Result<Self, CurrencyError> {
        let code = value.trim().to_ascii_uppercase();
        if Self::SUPPORTED.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(CurrencyError::Unsupported)
        }
    }

    /// The euro, the default.
    pub fn euro() -> Self {
        Self("EUR".to_owned())
    }

    /// The sign written after amounts (`€`), or the code itself.
    pub fn symbol(&self) -> &str {
        match self.0.as_str() {
            "EUR" => "€",
            "GBP" => "£",
            "USD" => "$",
            _ => &self.0,
        }
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self::euro()
    }
}

string_value!(Currency, CurrencyError);

/// Why a string is not a [`WebOrigin`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebOriginError {
    /// Not `http://` or `https://`.
    #[error("an origin starts with https:// (or http:// for a local test shop)")]
    Scheme,
    /// A path, query, user or wildcard after the host.
    #[error("an origin is a scheme, a host and an optional port only, such as https://shop.example.fr (no path, no *)")]
    Extra,
    /// The host is not a valid name or address, or the port not a number.
    #[error("the host or port of this origin is not valid")]
    Host,
}

/// A browser origin allowed to call the storefront API from a page (CORS): scheme, host
/// and port, lower-cased, without a trailing slash, as browsers send it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebOrigin(String);

impl WebOrigin {
    /// Checks `value`; one trailing slash is forgiven.
    pub fn new(value: &str) -> Result<Self, WebOriginError> {
        let lower = value.trim().to_ascii_lowercase();
        let lower = lower.strip_suffix('/').unwrap_or(&lower);
        let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            ("http", rest)
        } else {
            return Err(WebOriginError::Scheme);
        };
        if rest.contains(['/', '?', '#', '@', '*', '\\']) {
            return Err(WebOriginError::Extra);
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, _)) if !h.ends_with(']') && h.contains(':') => (rest, None),
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        if let Some(port) = port {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(WebOriginError::Host);
            }
        }
        let ipv6 = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
        let name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !(ipv6 || name) {
            return Err(WebOriginError::Host);
        }
        Ok(Self(match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }))
    }
}

string_value!(WebOrigin, WebOriginError);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn siren_and_siret_are_checked_by_their_luhn_key() {
        assert_eq!(Siren::new("732 829 320").unwrap().as_str(), "732829320");
        assert_eq!(Siren::new("732829321"), Err(SirenError::CheckDigit));
        assert_eq!(Siren::new("73282932"), Err(SirenError::Length));
        assert_eq!(Siren::new("73282932A"), Err(SirenError::Length));
        let siret = Siret::new("732 829 320 00074").unwrap();
        assert_eq!(siret.siren(), "732829320");
        assert_eq!(Siret::new("73282932000075"), Err(SiretError::CheckDigit));
        assert_eq!(Siret::new("7328293200007"), Err(SiretError::Length));
        // La Poste's establishments follow their own rule.
        assert!(Siret::new("35600000000001").is_ok());
    }

    #[test]
    fn french_vat_numbers_carry_the_key_of_their_siren() {
        let number = VatNumber::new("fr 44 732 829 320").unwrap();
        assert_eq!(number.as_str(), "FR44732829320");
        assert_eq!(number.french_siren(), Some("732829320"));
        assert_eq!(
            VatNumber::new("FR45732829320"),
            Err(VatNumberError::FrenchKey)
        );
        assert_eq!(VatNumber::new("FR"), Err(VatNumberError::Format));
        assert_eq!(VatNumber::new("DE123456789").unwrap().french_siren(), None);
        assert_eq!(VatNumber::new("12345"), Err(VatNumberError::Format));
        // Found by the API fuzzer: a multi-byte character among the first two.
        assert_eq!(VatNumber::new("J²D7Z"), Err(VatNumberError::Format));
        assert_eq!(VatNumber::new("FRé1234567890"), Err(VatNumberError::Format));
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            WebOrigin::new("HTTPS://Shop.Example.fr/").unwrap().as_str(),
            "https://shop.example.fr"
        );
        assert_eq!(
            WebOrigin::new("http://localhost:5173").unwrap().as_str(),
            "http://localhost:5173"
        );
        assert!(WebOrigin::new("http://[::1]:8080").is_ok());
        assert_eq!(
            WebOrigin::new("shop.example.fr"),
            Err(WebOriginError::Scheme)
        );
        assert_eq!(
            WebOrigin::new("ftp://shop.example.fr"),
            Err(WebOriginError::Scheme)
        );
        assert_eq!(
            WebOrigin::new("https://shop.example.fr/path"),
            Err(WebOriginError::Extra)
        );
        assert_eq!(
            WebOrigin::new("https://*.example.fr"),
            Err(WebOriginError::Extra)
        );
        assert_eq!(WebOrigin::new("https://a..b"), Err(WebOriginError::Host));
        assert_eq!(
            WebOrigin::new("https://shop.fr:0"),
            Err(WebOriginError::Host)
        );
        assert_eq!(
            WebOrigin::new("https://shop.fr:99999"),
            Err(WebOriginError::Host)
        );
    }

    #[test]
    fn currencies_are_the_supported_codes() {
        assert_eq!(Currency::new(" eur ").unwrap(), Currency::euro());
        assert_eq!(Currency::new("JPY"), Err(CurrencyError::Unsupported));
        assert_eq!(Currency::default().symbol(), "€");
    }

    proptest! {
        #[test]
        fn every_valid_siren_makes_a_valid_vat_number(n in 0u64..1_000_000_000) {
            let digits = format!("{n:09}");
            if let Ok(siren) = Siren::new(&digits) {
                let key = (12 + 3 * (n % 97)) % 97;
                let vat = VatNumber::new(&format!("FR{key:02}{siren}")).unwrap();
                prop_assert_eq!(vat.french_siren(), Some(siren.as_str()));
            }
        }

        #[test]
        fn any_text_is_a_vat_number_or_a_refusal_never_a_panic(value in "\\PC{0,20}") {
            if let Ok(number) = VatNumber::new(&value) {
                prop_assert_eq!(VatNumber::new(number.as_str()).unwrap(), number);
            }
        }

        #[test]
        fn origins_survive_their_own_text(value in "\\PC{0,40}") {
            if let Ok(origin) = WebOrigin::new(&value) {
                prop_assert_eq!(WebOrigin::new(origin.as_str()).unwrap(), origin);
            }
        }
    }
}
