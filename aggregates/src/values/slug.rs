use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest slug accepted, in characters.
const MAX_LEN: usize = 120;

/// Why a string is not a [`Slug`], or a name cannot give one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Empty string.
    #[error("a slug cannot be empty")]
    Empty,
    /// Longer than 120 characters.
    #[error("a slug is at most 120 characters")]
    TooLong,
    /// A character other than a-z, 0-9 and hyphen.
    #[error("a slug may only contain lowercase letters a-z, digits and hyphens, not {0:?}")]
    InvalidCharacter(char),
    /// Starts or ends with a hyphen, or has two in a row.
    #[error("a slug cannot start or end with a hyphen or contain two hyphens in a row")]
    MisplacedHyphen,
    /// The name has nothing a slug can be made of.
    #[error("the name has no letter or digit that can be used in a slug")]
    NoLettersOrDigits,
}

/// A URL path segment: lowercase `a-z`, `0-9` and single inner hyphens, 1 to 120 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Checks that `value` is already a slug (no transliteration: see [`Slug::from_name`]).
    pub fn new(value: &str) -> Result<Self, SlugError> {
        if value.is_empty() {
            return Err(SlugError::Empty);
        }
        if value.chars().count() > MAX_LEN {
            return Err(SlugError::TooLong);
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(SlugError::InvalidCharacter(bad));
        }
        if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
            return Err(SlugError::MisplacedHyphen);
        }
        Ok(Self(value.to_owned()))
    }

    /// Derives a slug from a human name: French accents and ligatures are transliterated
    /// (`œ` → `oe`), everything else that is not a letter or digit becomes a single hyphen.
    ///
    /// `"Pneus & Chambres à air"` → `"pneus-chambres-a-air"`.
    pub fn from_name(name: &str) -> Result<Self, SlugError> {
        let mut out = String::with_capacity(name.len());
        let mut pending_hyphen = false;
        for c in name.chars().flat_map(char::to_lowercase) {
            if is_combining_mark(c) {
                // Decomposed accents ("e" + U+0301) vanish instead of splitting the word.
                continue;
            }
            let mut buf = [0u8; 4];
            let ascii = if c.is_ascii_alphanumeric() {
                Some(&*c.encode_utf8(&mut buf))
            } else {
                transliterate(c)
            };
            match ascii {
                Some(ascii) => {
                    if pending_hyphen && !out.is_empty() {
                        out.push('-');
                    }
                    pending_hyphen = false;
                    out.push_str(ascii);
                }
                None => pending_hyphen = true,
            }
            if out.len() >= MAX_LEN {
                break;
            }
        }
        if out.is_empty() {
            return Err(SlugError::NoLettersOrDigits);
        }
        // Everything pushed is ASCII, so byte and char lengths agree.
        out.truncate(MAX_LEN);
        let trimmed = out.trim_end_matches('-');
        Self::new(trimmed)
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// The ASCII spelling of a lowercase accented letter or ligature, `None` for anything else
/// (a separator). ASCII letters and digits are handled by the caller.
fn transliterate(c: char) -> Option<&'static str> {
    let mapped = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => "a",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'œ' => "oe",
        'æ' => "ae",
        'ß' => "ss",
        _ => return None,
    };
    Some(mapped)
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Slug {
    type Err = SlugError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Slug {
    type Error = SlugError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Slug> for String {
    fn from(value: Slug) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_become_slugs() {
        for (name, slug) in [
            ("Pneus & Chambres à air", "pneus-chambres-a-air"),
            ("Batteries", "batteries"),
            ("L'Œuvre d'art", "l-oeuvre-d-art"),
            ("ÉTÉ — Ça glisse !", "ete-ca-glisse"),
            ("Straße 12", "strasse-12"),
            ("  Ex\u{e6}quo  ", "exaequo"),
            ("Cafe\u{301}", "cafe"),
            ("Ÿ Ñ Ü", "y-n-u"),
            ("Pneu 120/70-17", "pneu-120-70-17"),
        ] {
            assert_eq!(Slug::from_name(name).unwrap().as_str(), slug, "{name}");
        }
    }

    #[test]
    fn names_without_letters_are_refused() {
        assert_eq!(Slug::from_name(" & — !"), Err(SlugError::NoLettersOrDigits));
        assert_eq!(Slug::from_name(""), Err(SlugError::NoLettersOrDigits));
    }

    #[test]
    fn long_names_are_cut_to_120_characters() {
        let slug = Slug::from_name(&"ab ".repeat(100)).unwrap();
        assert!(slug.as_str().len() <= 120);
        assert!(!slug.as_str().ends_with('-'));
    }

    #[test]
    fn malformed_slugs_are_refused() {
        assert_eq!(Slug::new(""), Err(SlugError::Empty));
        assert_eq!(Slug::new("-a"), Err(SlugError::MisplacedHyphen));
        assert_eq!(Slug::new("a--b"), Err(SlugError::MisplacedHyphen));
        assert_eq!(Slug::new("a-"), Err(SlugError::MisplacedHyphen));
        assert_eq!(Slug::new("Abc"), Err(SlugError::InvalidCharacter('A')));
        assert_eq!(Slug::new(&"a".repeat(121)), Err(SlugError::TooLong));
        assert!(Slug::new(&"a".repeat(120)).is_ok());
        assert!(serde_json::from_str::<Slug>("\"Not A Slug\"").is_err());
    }

    proptest! {
        #[test]
        fn any_name_gives_a_valid_slug_or_says_why(name in any::<String>()) {
            match Slug::from_name(&name) {
                Ok(slug) => prop_assert_eq!(Slug::new(slug.as_str()), Ok(slug.clone())),
                Err(err) => {
                    prop_assert_eq!(err, SlugError::NoLettersOrDigits);
                    prop_assert!(!name.chars().flat_map(char::to_lowercase).any(|c| c.is_ascii_alphanumeric() || transliterate(c).is_some()));
                }
            }
        }

        #[test]
        fn slugs_are_their_own_slug(name in "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,5}") {
            let slug = Slug::from_name(&name).unwrap();
            prop_assert_eq!(slug.as_str(), name.as_str());
        }
    }
}
