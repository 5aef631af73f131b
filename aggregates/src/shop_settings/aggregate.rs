use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    ShopSettingsCommand, ShopSettingsError, ShopSettingsEvent, MAX_CORS_ORIGINS, MAX_LONG_TEXT,
    MAX_PICKUP_LOCATIONS, MAX_SHORT_TEXT, MAX_VAT_RATES,
};
use crate::services::ShopSettingsServices;
use crate::values::{Currency, Email, Money, Phone, Siren, Siret, VatNumber, VatRate, WebOrigin};

/// A postal address as printed on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// Street and number, possibly on several lines.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
}

/// The seller's identity, with what French law requires on an invoice (CGI ann. II
/// art. 242 nonies A, C. com. L441-9 and R123-237).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalIdentity {
    /// Registered name (dénomination sociale).
    pub company_name: String,
    /// Legal form: SARL, SAS, EI, …
    pub legal_form: String,
    /// Share capital; required for companies, absent for a sole trader.
    pub share_capital: Option<Money>,
    /// Registered office.
    pub address: PostalAddress,
    /// SIREN number.
    pub siren: Siren,
    /// SIRET number of the establishment that sells.
    pub siret: Siret,
    /// City of the trade register (RCS); absent when not registered there (artisans
    /// registered at the RNE only, for instance).
    pub rcs_city: Option<String>,
    /// Intra-community VAT number; absent under the VAT exemption for small businesses.
    pub vat_number: Option<VatNumber>,
    /// Contact address shown on invoices and emails.
    pub email: Email,
    /// Contact phone.
    pub phone: Option<Phone>,
}

/// Legal forms of companies that have a share capital to state.
const FORMS_WITH_CAPITAL: &[&str] = &[
    "SARL", "EURL", "SAS", "SASU", "SA", "SCA", "SNC", "SELARL", "SELAS", "SCOP",
];

impl LegalIdentity {
    /// Trims every text and checks what one field alone cannot: lengths, required
    /// texts, the SIRET and VAT number against the SIREN, the share capital of companies.
    fn checked(mut self: Box<Self>) -> Result<Box<Self>, ShopSettingsError> {
        let short = |field: &'static str, value: &mut String, required: bool| {
            *value = value.trim().to_owned();
            text(field, value, MAX_SHORT_TEXT, required)
        };
        short("company_name", &mut self.company_name, true)?;
        short("legal_form", &mut self.legal_form, true)?;
        self.address.street = self.address.street.trim().to_owned();
        text("street", &self.address.street, MAX_LONG_TEXT, true)?;
        short("postal_code", &mut self.address.postal_code, true)?;
        short("city", &mut self.address.city, true)?;
        short("country", &mut self.address.country, true)?;
        if let Some(city) = &mut self.rcs_city {
            short("rcs_city", city, false)?;
        }
        self.rcs_city = self.rcs_city.filter(|c| !c.is_empty());
        let form = self.legal_form.to_uppercase();
        let form_key = form.split_whitespace().next().unwrap_or_default();
        if FORMS_WITH_CAPITAL.contains(&form_key) && self.share_capital.is_none() {
            return Err(ShopSettingsError::ShareCapitalRequired(
                self.legal_form.clone(),
            ));
        }
        if self.siret.siren() != self.siren.as_str() {
            return Err(ShopSettingsError::SiretNotOfSiren(self.siren.to_string()));
        }
        if let Some(siren) = self.vat_number.as_ref().and_then(VatNumber::french_siren) {
            if siren != self.siren.as_str() {
                return Err(ShopSettingsError::VatNumberNotOfSiren(siren.to_owned()));
            }
        }
        Ok(self)
    }
}

/// A place where customers collect their orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupLocation {
    /// Its id.
    pub location_id: Uuid,
    /// Its name, as the storefront offers it and orders record it.
    pub name: String,
    /// Its address.
    pub address: String,
    /// When it is open.
    pub opening_hours: String,
}

impl PickupLocation {
    fn checked(
        location_id: Uuid,
        name: &str,
        address: &str,
        opening_hours: &str,
    ) -> Result<Self, ShopSettingsError> {
        let location = PickupLocation {
            location_id,
            name: name.trim().to_owned(),
            address: address.trim().to_owned(),
            opening_hours: opening_hours.trim().to_owned(),
        };
        text("name", &location.name, MAX_SHORT_TEXT, true)?;
        text("address", &location.address, MAX_LONG_TEXT, true)?;
        text(
            "opening_hours",
            &location.opening_hours,
            MAX_LONG_TEXT,
            false,
        )?;
        Ok(location)
    }
}

fn text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<(), ShopSettingsError> {
    if required && value.is_empty() {
        return Err(ShopSettingsError::Required(field));
    }
    if value.chars().count() > max {
        return Err(ShopSettingsError::TooLong { field, max });
    }
    Ok(())
}

/// The rates French VAT law sets (CGI art. 278 to 281 nonies), offered until the owner
/// says otherwise: normal, intermediate, reduced, super-reduced.
fn french_rates() -> Vec<VatRate> {
    ["20", "10", "5.5", "2.1"]
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect()
}

/// The shop's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopSettings {
    identity: Option<Box<LegalIdentity>>,
    pickup_locations: Vec<PickupLocation>,
    vat_rates: Vec<VatRate>,
    default_vat_rate: VatRate,
    currency: Currency,
    cors_origins: Vec<WebOrigin>,
}

impl Default for ShopSettings {
    fn default() -> Self {
        let vat_rates = french_rates();
        ShopSettings {
            identity: None,
            pickup_locations: Vec::new(),
            default_vat_rate: vat_rates.first().copied().unwrap_or_default(),
            vat_rates,
            currency: Currency::euro(),
            cors_origins: Vec::new(),
        }
    }
}

impl ShopSettings {
    /// The seller's identity, once given.
    pub fn identity(&self) -> Option<&LegalIdentity> {
        self.identity.as_deref()
    }

    /// The pickup locations, in the order they were added.
    pub fn pickup_locations(&self) -> &[PickupLocation] {
        &self.pickup_locations
    }

    /// The VAT rates offered.
    pub fn vat_rates(&self) -> &[VatRate] {
        &self.vat_rates
    }

    /// The rate preselected for a new product.
    pub fn default_vat_rate(&self) -> VatRate {
        self.default_vat_rate
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The storefront origins allowed by CORS.
    pub fn cors_origins(&self) -> &[WebOrigin] {
        &self.cors_origins
    }

    fn location(&self, id: Uuid) -> Result<&PickupLocation, ShopSettingsError> {
        self.pickup_locations
            .iter()
            .find(|l| l.location_id == id)
            .ok_or(ShopSettingsError::PickupNotFound)
    }

    /// Refuses `name` when another location (not `except`) already uses it.
    fn name_free(&self, name: &str, except: Option<Uuid>) -> Result<(), ShopSettingsError> {
        let key = name.to_lowercase();
        let taken = self
            .pickup_locations
            .iter()
            .any(|l| Some(l.location_id) != except && l.name.to_lowercase() == key);
        if taken {
            return Err(ShopSettingsError::PickupNameTaken(name.to_owned()));
        }
        Ok(())
    }
}

/// `items` without repeats, first occurrence kept.
fn deduplicated<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

impl Aggregate for ShopSettings {
    const TYPE: &'static str = "ShopSettings";
    type Command = ShopSettingsCommand;
    type Event = ShopSettingsEvent;
    type Error = ShopSettingsError;
    type Services = ShopSettingsServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        // A command that changes nothing writes nothing: the audit trail only tells changes.
        let event = match command {
            ShopSettingsCommand::ChangeLegalIdentity { identity } => {
                let identity = identity.checked()?;
                if self.identity.as_ref() == Some(&identity) {
                    return Ok(());
                }
                ShopSettingsEvent::LegalIdentityChanged {
                    identity,
                    previous: self.identity.clone(),
                }
            }
            ShopSettingsCommand::AddPickupLocation {
                location_id,
                name,
                address,
                opening_hours,
            } => {
                if self.location(location_id).is_ok() {
                    return Err(ShopSettingsError::PickupExists);
                }
                if self.pickup_locations.len() >= MAX_PICKUP_LOCATIONS {
                    return Err(ShopSettingsError::TooManyPickupLocations(
                        MAX_PICKUP_LOCATIONS,
                    ));
                }
                let location =
                    PickupLocation::checked(location_id, &name, &address, &opening_hours)?;
                self.name_free(&location.name, None)?;
                ShopSettingsEvent::PickupLocationAdded { location }
            }
            ShopSettingsCommand::ChangePickupLocation {
                location_id,
                name,
                address,
                opening_hours,
            } => {
                let previous = self.location(location_id)?.clone();
                let location =
                    PickupLocation::checked(location_id, &name, &address, &opening_hours)?;
                self.name_free(&location.name, Some(location_id))?;
                if location == previous {
                    return Ok(());
                }
                ShopSettingsEvent::PickupLocationChanged { location, previous }
            }
            ShopSettingsCommand::RemovePickupLocation { location_id } => {
                let name = self.location(location_id)?.name.clone();
                ShopSettingsEvent::PickupLocationRemoved { location_id, name }
            }
            ShopSettingsCommand::ChangeVatRates {
                offered,
                default_rate,
            } => {
                let mut offered = deduplicated(offered);
                offered.sort_by(|a, b| b.cmp(a));
                if offered.is_empty() {
                    return Err(ShopSettingsError::NoVatRate);
                }
                if offered.len() > MAX_VAT_RATES {
                    return Err(ShopSettingsError::TooManyVatRates(MAX_VAT_RATES));
                }
                if !offered.contains(&default_rate) {
                    return Err(ShopSettingsError::DefaultVatNotOffered);
                }
                if offered == self.vat_rates && default_rate == self.default_vat_rate {
                    return Ok(());
                }
                ShopSettingsEvent::VatRatesChanged {
                    offered,
                    default_rate,
                    previous_offered: self.vat_rates.clone(),
                    previous_default: self.default_vat_rate,
                }
            }
            ShopSettingsCommand::ChangeCurrency { currency } => {
                if currency == self.currency {
                    return Ok(());
                }
                let orders = services.sales.orders_placed().await?;
                if orders > 0 {
                    return Err(ShopSettingsError::CurrencyLocked(orders));
                }
                ShopSettingsEvent::CurrencyChanged {
                    currency,
                    previous: self.currency.clone(),
                }
            }
            ShopSettingsCommand::ChangeCorsOrigins { origins } => {
                let origins = deduplicated(origins);
                if origins.len() > MAX_CORS_ORIGINS {
                    return Err(ShopSettingsError::TooManyOrigins(MAX_CORS_ORIGINS));
                }
                if origins == self.cors_origins {
                    return Ok(());
                }
                ShopSettingsEvent::CorsOriginsChanged {
                    origins,
                    previous: self.cors_origins.clone(),
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ShopSettingsEvent::LegalIdentityChanged { identity, .. } => {
                self.identity = Some(identity);
            }
            ShopSettingsEvent::PickupLocationAdded { location } => {
                self.pickup_locations.push(location);
            }
            ShopSettingsEvent::PickupLocationChanged { location, .. } => {
                if let Some(slot) = self
                    .pickup_locations
                    .iter_mut()
                    .find(|l| l.location_id == location.location_id)
                {
                    *slot = location;
                }
            }
            ShopSettingsEvent::PickupLocationRemoved { location_id, .. } => {
                self.pickup_locations
                    .retain(|l| l.location_id != location_id);
            }
            ShopSettingsEvent::VatRatesChanged {
                offered,
                default_rate,
                ..
            } => {
                self.vat_rates = offered;
                self.default_vat_rate = default_rate;
            }
            ShopSettingsEvent::CurrencyChanged { currency, .. } => self.currency = currency,
            ShopSettingsEvent::CorsOriginsChanged { origins, .. } => self.cors_origins = origins,
        }
    }
}
