use crate::services::ServiceError;

/// Why a settings command was refused. [`ShopSettingsError::field`] names the form field
/// at fault, so the admin can show the message beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopSettingsError {
    /// A required text is blank.
    #[error("this field is required")]
    Required(&'static str),
    /// A text is longer than allowed.
    #[error("at most {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A company form (SARL, SAS, …) must state its share capital.
    #[error("a company ({0}) must state its share capital on its invoices")]
    ShareCapitalRequired(String),
    /// The SIRET does not start with the SIREN.
    #[error("the SIRET must start with the SIREN ({0})")]
    SiretNotOfSiren(String),
    /// A French VAT number is not the SIREN's.
    #[error("this French VAT number belongs to SIREN {0}, not to the seller's")]
    VatNumberNotOfSiren(String),
    /// Another pickup location has this name.
    #[error("another pickup location is already called \"{0}\"")]
    PickupNameTaken(String),
    /// No pickup location has this id.
    #[error("this pickup location does not exist (removed meanwhile?)")]
    PickupNotFound,
    /// This id is already used.
    #[error("this pickup location already exists")]
    PickupExists,
    /// Too many pickup locations.
    #[error("a shop lists at most {0} pickup locations")]
    TooManyPickupLocations(usize),
    /// No VAT rate offered.
    #[error("offer at least one VAT rate")]
    NoVatRate,
    /// Too many VAT rates.
    #[error("at most {0} VAT rates")]
    TooManyVatRates(usize),
    /// The preselected rate is not offered.
    #[error("the default rate must be one of the rates offered")]
    DefaultVatNotOffered,
    /// The currency cannot change once orders exist.
    #[error("the currency cannot change once orders have been placed ({0} so far): their amounts would change meaning")]
    CurrencyLocked(u64),
    /// Too many origins.
    #[error("at most {0} origins")]
    TooManyOrigins(usize),
    /// A service could not answer.
    #[error("service unavailable: {0}")]
    Service(#[from] ServiceError),
}

impl ShopSettingsError {
    /// The form field the error is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ShopSettingsError::Required(field) | ShopSettingsError::TooLong { field, .. } => {
                Some(field)
            }
            ShopSettingsError::ShareCapitalRequired(_) => Some("share_capital"),
            ShopSettingsError::SiretNotOfSiren(_) => Some("siret"),
            ShopSettingsError::VatNumberNotOfSiren(_) => Some("vat_number"),
            ShopSettingsError::PickupNameTaken(_)
            | ShopSettingsError::TooManyPickupLocations(_) => Some("name"),
            ShopSettingsError::NoVatRate | ShopSettingsError::TooManyVatRates(_) => Some("offered"),
            ShopSettingsError::DefaultVatNotOffered => Some("default_rate"),
            ShopSettingsError::CurrencyLocked(_) => Some("currency"),
            ShopSettingsError::TooManyOrigins(_) => Some("origins"),
            ShopSettingsError::PickupNotFound
            | ShopSettingsError::PickupExists
            | ShopSettingsError::Service(_) => None,
        }
    }
}
