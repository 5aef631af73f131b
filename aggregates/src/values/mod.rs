//! Value types: raw strings become these at the edge, so the domain never sees unchecked
//! input. Each one validates in its constructor and again when deserialised
//! (`#[serde(try_from = "String")]`), so an event store row cannot smuggle in a bad value.

mod company;
mod email;
mod language;
mod money;
mod phone;
mod reference;
mod slug;
mod vat;

pub use company::{
    Currency, CurrencyError, Siren, SirenError, Siret, SiretError, VatNumber, VatNumberError,
    WebOrigin, WebOriginError,
};
pub use email::{Email, EmailError};
pub use language::Language;
pub use money::{compute_totals, Money, MoneyError, Totals, VatLine};
pub use phone::{Phone, PhoneError};
pub use reference::{Reference, ReferenceError};
pub use slug::{Slug, SlugError};
pub use vat::{VatRate, VatRateError};
