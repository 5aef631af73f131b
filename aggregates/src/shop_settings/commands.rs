use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::LegalIdentity;
use crate::values::{Currency, VatRate, WebOrigin};

/// What the owner can change in the shop's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShopSettingsCommand {
    /// Replaces the seller's legal identity (every field at once, as the form shows it).
    ChangeLegalIdentity {
        /// The new identity (boxed: it is much larger than the other commands).
        identity: Box<LegalIdentity>,
    },
    /// Adds a place where customers collect their orders.
    AddPickupLocation {
        /// Its id.
        location_id: Uuid,
        /// Its name, unique among the shop's locations regardless of case.
        name: String,
        /// Its postal address.
        address: String,
        /// When it is open, as free text.
        opening_hours: String,
    },
    /// Changes a pickup location (orders already placed keep the name they were placed with).
    ChangePickupLocation {
        /// Which one.
        location_id: Uuid,
        /// New name.
        name: String,
        /// New address.
        address: String,
        /// New opening hours.
        opening_hours: String,
    },
    /// Removes a pickup location.
    RemovePickupLocation {
        /// Which one.
        location_id: Uuid,
    },
    /// Sets the VAT rates offered when pricing a product and the one preselected.
    ChangeVatRates {
        /// The rates offered (at least one).
        offered: Vec<VatRate>,
        /// The preselected rate, one of `offered`.
        default_rate: VatRate,
    },
    /// Changes the currency; refused once an order was placed (its amounts would change
    /// meaning).
    ChangeCurrency {
        /// The new currency.
        currency: Currency,
    },
    /// Sets the browser origins allowed to call the storefront API.
    ChangeCorsOrigins {
        /// The origins, without duplicates once normalised.
        origins: Vec<WebOrigin>,
    },
}
