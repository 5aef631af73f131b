//! The business an order is invoiced to. A customer buying for a company gives its name,
//! its address and, when it has one, its VAT number; the invoice is then made out to the
//! company and states the terms owed to a business (C. com. L441-9).

use serde::{Deserialize, Serialize};

use crate::shop_settings::PostalAddress;
use crate::values::VatNumber;

/// Longest company name, postal code, city or country, in characters.
pub const MAX_BILLING_TEXT: usize = 200;
/// Longest street, in characters (it may hold several lines).
pub const MAX_BILLING_STREET: usize = 500;

/// A business customer's invoicing details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    /// Registered name of the company.
    pub company: String,
    /// Its invoicing address.
    pub address: PostalAddress,
    /// Its intra-community VAT number, when it has one.
    pub vat_number: Option<VatNumber>,
}

/// Why invoicing details were refused; [`BillingError::field`] names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// A required text left blank.
    #[error("{0} is required for a business customer")]
    Required(&'static str),
    /// A text too long.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A control character (a line break outside the street, a tab, …).
    #[error("{0} contains a control character")]
    ControlCharacter(&'static str),
}

impl BillingError {
    /// The field at fault: `company`, `street`, `postal_code`, `city` or `country`.
    pub fn field(&self) -> &'static str {
        match self {
            BillingError::Required(field)
            | BillingError::TooLong { field, .. }
            | BillingError::ControlCharacter(field) => field,
        }
    }
}

impl Billing {
    /// Trims every text and checks it: all required, within their lengths, no control
    /// characters but the street's line breaks (which are kept as `\n`).
    pub fn checked(mut self) -> Result<Self, BillingError> {
        fn text(
            field: &'static str,
            value: &mut String,
            max: usize,
            multiline: bool,
        ) -> Result<(), BillingError> {
            let lines: Vec<&str> = value
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let joined = lines.join("\n");
            if joined.is_empty() {
                return Err(BillingError::Required(field));
            }
            if !multiline && lines.len() > 1 {
                return Err(BillingError::ControlCharacter(field));
            }
            if joined.chars().any(|c| c.is_control() && c != '\n') {
                return Err(BillingError::ControlCharacter(field));
            }
            if joined.chars().count() > max {
                return Err(BillingError::TooLong { field, max });
            }
            *value = joined;
            Ok(())
        }
        text("company", &mut self.company, MAX_BILLING_TEXT, false)?;
        let address = &mut self.address;
        text("street", &mut address.street, MAX_BILLING_STREET, true)?;
        text(
            "postal_code",
            &mut address.postal_code,
            MAX_BILLING_TEXT,
            false,
        )?;
        text("city", &mut address.city, MAX_BILLING_TEXT, false)?;
        text("country", &mut address.country, MAX_BILLING_TEXT, false)?;
        Ok(self)
    }

    /// The address as printed, one line per line: the street's lines, then
    /// `postal code city`, then the country.
    pub fn address_lines(&self) -> Vec<String> {
        let a = &self.address;
        let mut lines: Vec<String> = a.street.lines().map(str::to_owned).collect();
        lines.push(format!("{} {}", a.postal_code, a.city));
        lines.push(a.country.clone());
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garage() -> Billing {
        Billing {
            company: "  Garage du Rhône SARL ".into(),
            address: PostalAddress {
                street: " 4 quai Perrache \r\n\n Bâtiment B ".into(),
                postal_code: "69002".into(),
                city: "Lyon".into(),
                country: "France".into(),
            },
            vat_number: Some(VatNumber::new("FR11123456782").unwrap()),
        }
    }

    #[test]
    fn texts_are_trimmed_and_the_street_keeps_its_lines() {
        let billing = garage().checked().unwrap();
        assert_eq!(billing.company, "Garage du Rhône SARL");
        assert_eq!(billing.address.street, "4 quai Perrache\nBâtiment B");
        assert_eq!(
            billing.address_lines(),
            ["4 quai Perrache", "Bâtiment B", "69002 Lyon", "France"]
        );
    }

    #[test]
    fn every_refusal_names_its_field() {
        type Change = fn(&mut Billing);
        let cases: [(Change, &str); 6] = [
            (|b| b.company = "   ".into(), "company"),
            (|b| b.company = "Garage\nRhône".into(), "company"),
            (|b| b.address.street = String::new(), "street"),
            (|b| b.address.postal_code = "69\t002".into(), "postal_code"),
            (|b| b.address.city = "x".repeat(201), "city"),
            (|b| b.address.country = "\n".into(), "country"),
        ];
        for (change, field) in cases {
            let mut billing = garage();
            change(&mut billing);
            let error = billing.checked().unwrap_err();
            assert_eq!(error.field(), field, "{error}");
        }
    }
}
