//! Comptoir's pure domain: aggregates, their commands, events and errors, value types and
//! the service traits aggregates call. No IO lives here.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod category;
pub mod closure;
pub mod invoice_series;
pub mod metadata;
pub mod order;
pub mod product;
pub mod review;
pub mod services;
pub mod shop_settings;
pub mod staff;
pub mod stock;
pub mod values;

#[cfg(test)]
mod test_support;

pub use category::{Category, CategoryCommand, CategoryError, CategoryEvent};
pub use closure::{
    ClosureCommand, ClosureError, ClosureEvent, ClosureTotals, Closures, PeriodKind,
};
pub use invoice_series::{
    series_id, InvoiceSeries, InvoiceSeriesCommand, InvoiceSeriesError, InvoiceSeriesEvent,
};
pub use metadata::{Actor, EventMetadata};
pub use order::{
    Billing, Order, OrderCommand, OrderError, OrderEvent, OrderLine, OrderLineInput, OrderStatus,
    PaymentMethod, PaymentStatus,
};
pub use product::{
    Product, ProductCommand, ProductError, ProductEvent, ProductImage, ProductStatus,
};
pub use review::{Review, ReviewCommand, ReviewError, ReviewEvent, ReviewStatus};
pub use services::{
    CatalogLookup, CatalogServices, FailingServices, FixedCatalogLookup, FixedPurchases,
    FixedSales, InMemoryUniqueKeys, PurchaseLookup, ReviewServices, SalesLookup, ServiceError,
    ShopSettingsServices, StaffServices, UniqueKeys,
};
pub use shop_settings::{
    LegalIdentity, PickupLocation, PostalAddress, ShopSettings, ShopSettingsCommand,
    ShopSettingsError, ShopSettingsEvent, SHOP_SETTINGS_ID,
};
pub use staff::{
    PasswordHash, Permission, StaffAccount, StaffAccountCommand, StaffAccountError,
    StaffAccountEvent, StaffRole,
};
pub use stock::{
    ReleaseReason, Reservation, Stock, StockCommand, StockError, StockEvent, StockStatus,
};
pub use values::{
    compute_totals, Currency, CurrencyError, Email, EmailError, Language, Money, MoneyError, Phone,
    PhoneError, Reference, ReferenceError, Siren, SirenError, Siret, SiretError, Slug, SlugError,
    Totals, VatLine, VatNumber, VatNumberError, VatRate, VatRateError, WebOrigin, WebOriginError,
};

/// Version of every event type shipped so far; bumped per type with an upcaster.
pub const EVENT_VERSION: &str = "1.0";
