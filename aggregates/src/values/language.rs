use serde::{Deserialize, Serialize};

/// The language a customer is written to in (emails, documents): French unless they asked
/// for English. Events written before orders carried one read as French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// French, the shop's own.
    #[default]
    Fr,
    /// English.
    En,
}

impl Language {
    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// From an ISO 639-1 code or a language tag (`en-GB`), any case.
    pub fn from_code(code: &str) -> Option<Language> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Language::Fr),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}
