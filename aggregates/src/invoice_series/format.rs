//! How numbers are printed: a pattern such as `FA-{year}-{number:6}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A number pattern: literal text around `{year}` and `{number}` (or `{number:N}`, padded
/// with zeros to N digits). Both placeholders are required: numbers restart every year,
/// so the year is what keeps two years' numbers apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumberFormat {
    pattern: String,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberFormatError {
    /// A placeholder is missing.
    #[error("a number format needs {{year}} and {{number}} (or {{number:6}}), as in FA-{{year}}-{{number:6}}; \"{0}\" lacks one")]
    MissingPlaceholder(String),
    /// Something other than letters, digits, `-`, `_`, `/`, `.` outside the placeholders.
    #[error(
        "a number format holds letters, digits and - _ / . around its placeholders only: \"{0}\""
    )]
    InvalidCharacter(String),
    /// An unknown placeholder, or a padding outside 1..=12.
    #[error("unknown placeholder or padding in \"{0}\" (known: {{year}}, {{number}}, {{number:1}} to {{number:12}})")]
    InvalidPlaceholder(String),
    /// Longer than 40 characters.
    #[error("a number format is at most 40 characters")]
    TooLong,
}

enum Piece<'a> {
    Text(&'a str),
    Year,
    Number(usize),
}

fn pieces(pattern: &str) -> Result<Vec<Piece<'_>>, NumberFormatError> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest
                    .find('}')
                    .ok_or_else(|| NumberFormatError::InvalidPlaceholder(pattern.to_owned()))?;
                let name = &rest[1..end];
                let piece = match name {
                    "year" => Piece::Year,
                    "number" => Piece::Number(1),
                    _ => match name.strip_prefix("number:").map(str::parse::<usize>) {
                        Some(Ok(width)) if (1..=12).contains(&width) => Piece::Number(width),
                        _ => return Err(NumberFormatError::InvalidPlaceholder(pattern.to_owned())),
                    },
                };
                out.push(piece);
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let text = &rest[..end];
                let allowed = |c: char| c.is_ascii_alphanumeric() || "-_/.".contains(c);
                if !text.chars().all(allowed) {
                    return Err(NumberFormatError::InvalidCharacter(pattern.to_owned()));
                }
                out.push(Piece::Text(text));
                rest = &rest[end..];
            }
        }
    }
    Ok(out)
}

impl NumberFormat {
    /// The default invoice pattern: `FA-2026-000001`.
    pub const INVOICE_DEFAULT: &'static str = "FA-{year}-{number:6}";
    /// The default credit note pattern: `AV-2026-000001`.
    pub const CREDIT_NOTE_DEFAULT: &'static str = "AV-{year}-{number:6}";

    /// Checks `pattern`.
    pub fn parse(pattern: &str) -> Result<Self, NumberFormatError> {
        let pattern = pattern.trim();
        if pattern.chars().count() > 40 {
            return Err(NumberFormatError::TooLong);
        }
        let pieces = pieces(pattern)?;
        let years = pieces.iter().filter(|p| matches!(p, Piece::Year)).count();
        let numbers = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Number(_)))
            .count();
        if years != 1 || numbers != 1 {
            return Err(NumberFormatError::MissingPlaceholder(pattern.to_owned()));
        }
        Ok(NumberFormat {
            pattern: pattern.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The printed number `number` of `year`.
    pub fn render(&self, year: i32, number: u64) -> String {
        let mut out = String::new();
        // Checked when parsed.
        for piece in pieces(&self.pattern).unwrap_or_default() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Year => out.push_str(&year.to_string()),
                Piece::Number(width) => out.push_str(&format!("{number:0width$}")),
            }
        }
        out
    }
}

impl fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

impl TryFrom<String> for NumberFormat {
    type Error = NumberFormatError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        NumberFormat::parse(&value)
    }
}

impl From<NumberFormat> for String {
    fn from(value: NumberFormat) -> Self {
        value.pattern
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_the_default_patterns() {
        let invoice = NumberFormat::parse(NumberFormat::INVOICE_DEFAULT).unwrap();
        assert_eq!(invoice.render(2026, 1), "FA-2026-000001");
        let credit = NumberFormat::parse(NumberFormat::CREDIT_NOTE_DEFAULT).unwrap();
        assert_eq!(credit.render(2027, 1234567), "AV-2027-1234567");
        let plain = NumberFormat::parse("F{year}/{number}").unwrap();
        assert_eq!(plain.render(2026, 42), "F2026/42");
    }

    #[test]
    fn refuses_patterns_that_could_repeat_a_number() {
        for bad in ["FA-{number:6}", "FA-{year}", "{year}{year}{number}", ""] {
            assert!(matches!(
                NumberFormat::parse(bad),
                Err(NumberFormatError::MissingPlaceholder(_))
            ));
        }
        assert!(matches!(
            NumberFormat::parse("FA {year} {number}"),
            Err(NumberFormatError::InvalidCharacter(_))
        ));
        assert!(matches!(
            NumberFormat::parse("FA-{year}-{number:13}"),
            Err(NumberFormatError::InvalidPlaceholder(_))
        ));
        assert!(matches!(
            NumberFormat::parse("FA-{year}-{count}"),
            Err(NumberFormatError::InvalidPlaceholder(_))
        ));
    }
}
