use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{LegalIdentity, PickupLocation};
use crate::values::{Currency, VatRate, WebOrigin};

/// What changed in the shop's settings. Each event carries the value before, so the audit
/// trail tells "from … to …" without reading the stream again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShopSettingsEvent {
    /// The seller's legal identity was set or changed.
    LegalIdentityChanged {
        /// The new identity (boxed, like the previous one: they dwarf the other events).
        identity: Box<LegalIdentity>,
        /// The one before (none the first time).
        previous: Option<Box<LegalIdentity>>,
    },
    /// A pickup location was added.
    PickupLocationAdded {
        /// The location.
        location: PickupLocation,
    },
    /// A pickup location was changed.
    PickupLocationChanged {
        /// As it is now.
        location: PickupLocation,
        /// As it was.
        previous: PickupLocation,
    },
    /// A pickup location was removed.
    PickupLocationRemoved {
        /// Its id.
        location_id: Uuid,
        /// Its name when removed.
        name: String,
    },
    /// The VAT rates offered changed.
    VatRatesChanged {
        /// Rates offered now.
        offered: Vec<VatRate>,
        /// Rate preselected now.
        default_rate: VatRate,
        /// Rates offered before.
        previous_offered: Vec<VatRate>,
        /// Rate preselected before.
        previous_default: VatRate,
    },
    /// The currency changed.
    CurrencyChanged {
        /// Now.
        currency: Currency,
        /// Before.
        previous: Currency,
    },
    /// The storefront origins allowed by CORS changed.
    CorsOriginsChanged {
        /// Now.
        origins: Vec<WebOrigin>,
        /// Before.
        previous: Vec<WebOrigin>,
    },
}

impl DomainEvent for ShopSettingsEvent {
    fn event_type(&self) -> String {
        match self {
            ShopSettingsEvent::LegalIdentityChanged { .. } => "LegalIdentityChanged",
            ShopSettingsEvent::PickupLocationAdded { .. } => "PickupLocationAdded",
            ShopSettingsEvent::PickupLocationChanged { .. } => "PickupLocationChanged",
            ShopSettingsEvent::PickupLocationRemoved { .. } => "PickupLocationRemoved",
            ShopSettingsEvent::VatRatesChanged { .. } => "VatRatesChanged",
            ShopSettingsEvent::CurrencyChanged { .. } => "CurrencyChanged",
            ShopSettingsEvent::CorsOriginsChanged { .. } => "CorsOriginsChanged",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_owned()
    }
}
