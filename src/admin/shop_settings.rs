//! The shop's settings page (owner only): the seller's legal identity printed on invoices,
//! the pickup locations, the VAT rates offered, the currency and the storefront origins.
//! Every change is a command on the `ShopSettings` aggregate, so it is an event with its
//! actor in the audit trail; the running server takes it at once (`ShopProfile::reload`).
//! Each section is its own form: a mistake in one never loses what was typed in another.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use aggregates::staff::Permission;
use aggregates::{
    Currency, Email, LegalIdentity, Money, Phone, PostalAddress, ShopSettings, ShopSettingsCommand,
    ShopSettingsError, Siren, Siret, VatNumber, VatRate, WebOrigin, SHOP_SETTINGS_ID,
};

use crate::admin::chart::amount;
use crate::admin::error::AdminError;
use crate::admin::i18n::{fill, Lang, Texts};
use crate::admin::layout::Admin;
use crate::admin::{field, settle, FieldErrors};
use crate::commands::CommandError;
use crate::context::RequestContext;
use crate::http::AppState;
use crate::services::PgSalesLookup;
use aggregates::services::SalesLookup;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/settings", get(page))
        .route("/admin/settings/identity", post(save_identity))
        .route("/admin/settings/pickup-locations", post(add_location))
        .route(
            "/admin/settings/pickup-locations/{id}",
            get(edit_location).post(change_location),
        )
        .route(
            "/admin/settings/pickup-locations/{id}/remove",
            get(confirm_remove).post(remove_location),
        )
        .route("/admin/settings/vat", post(save_vat))
        .route("/admin/settings/currency", post(save_currency))
        .route("/admin/settings/origins", post(save_origins))
}

/// The rates French law sets, always offered as choices on the form.
const FRENCH_RATES: &[&str] = &["20", "10", "5.5", "2.1"];

/// The settings tabs: the shop's own, and the storefront's API keys.
pub fn tabs(t: &Texts, current: &str) -> Markup {
    html! {
        nav.tabs aria-label=(t.set_title) {
            @for (href, label) in [("/admin/settings", t.set_tab_shop), ("/admin/settings/api-keys", t.api_keys_title)] {
                a.tab href=(href) aria-current=[(href == current).then_some("page")] { (label) }
            }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct IdentityForm {
    company_name: String,
    legal_form: String,
    share_capital: String,
    street: String,
    postal_code: String,
    city: String,
    country: String,
    siren: String,
    siret: String,
    rcs_city: String,
    vat_number: String,
    email: String,
    phone: String,
}

impl IdentityForm {
    fn of(identity: Option<&LegalIdentity>, french: bool) -> Self {
        let Some(i) = identity else {
            return IdentityForm {
                country: "France".into(),
                ..IdentityForm::default()
            };
        };
        IdentityForm {
            company_name: i.company_name.clone(),
            legal_form: i.legal_form.clone(),
            share_capital: i
                .share_capital
                .map(|m| amount(m.amount(), french))
                .unwrap_or_default(),
            street: i.address.street.clone(),
            postal_code: i.address.postal_code.clone(),
            city: i.address.city.clone(),
            country: i.address.country.clone(),
            siren: i.siren.to_string(),
            siret: i.siret.to_string(),
            rcs_city: i.rcs_city.clone().unwrap_or_default(),
            vat_number: i
                .vat_number
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            email: i.email.to_string(),
            phone: i
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    /// The identity, or the fields that are wrong. What one field alone can tell is
    /// checked here (a SIREN's key); what needs several, by the aggregate.
    fn parse(&self, t: &Texts) -> Result<LegalIdentity, FieldErrors> {
        let mut errors = FieldErrors::new();
        let share_capital = match self.share_capital.trim() {
            "" => None,
            raw => match parse_decimal(raw).and_then(|d| Money::new(d).ok()) {
                Some(money) => Some(money),
                None => {
                    errors.insert("share_capital", t.set_err_amount.into());
                    None
                }
            },
        };
        let siren = Siren::new(&self.siren)
            .map_err(|_| errors.insert("siren", t.set_err_siren.into()))
            .ok();
        let siret = Siret::new(&self.siret)
            .map_err(|_| errors.insert("siret", t.set_err_siret.into()))
            .ok();
        let vat_number = match self.vat_number.trim() {
            "" => None,
            raw => VatNumber::new(raw)
                .map_err(|_| errors.insert("vat_number", t.set_err_vat_number.into()))
                .ok(),
        };
        let email = Email::new(&self.email)
            .map_err(|_| errors.insert("email", t.invalid_email.into()))
            .ok();
        let phone = match self.phone.trim() {
            "" => None,
            raw => Phone::new(raw)
                .map_err(|_| errors.insert("phone", t.set_err_phone.into()))
                .ok(),
        };
        match (siren, siret, email, errors.is_empty()) {
            (Some(siren), Some(siret), Some(email), true) => Ok(LegalIdentity {
                company_name: self.company_name.clone(),
                legal_form: self.legal_form.clone(),
                share_capital,
                address: PostalAddress {
                    street: self.street.clone(),
                    postal_code: self.postal_code.clone(),
                    city: self.city.clone(),
                    country: self.country.clone(),
                },
                siren,
                siret,
                rcs_city: Some(self.rcs_city.clone()),
                vat_number,
                email,
                phone,
            }),
            _ => Err(errors),
        }
    }
}

/// `"7 500,50"` or `"7500.50"` as a decimal.
fn parse_decimal(raw: &str) -> Option<Decimal> {
    raw.trim()
        .replace(['\u{202f}', '\u{a0}', ' '], "")
        .replace(',', ".")
        .parse()
        .ok()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct LocationForm {
    pickup_name: String,
    pickup_address: String,
    pickup_hours: String,
}

#[derive(Debug, Clone, Default)]
struct VatForm {
    offered: Vec<String>,
    other: String,
    default_rate: String,
}

impl VatForm {
    /// Checkboxes repeat their name, which a struct cannot receive: read the pairs.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = VatForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "offered" => form.offered.push(value),
                "other" => form.other = value,
                "default_rate" => form.default_rate = value,
                _ => {}
            }
        }
        form
    }

    fn rates(&self, t: &Texts) -> Result<(Vec<VatRate>, VatRate), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut offered = Vec::new();
        let typed = self
            .other
            .split([';', '\n', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty());
        for raw in self.offered.iter().map(String::as_str).chain(typed) {
            match parse_decimal(raw.trim_end_matches('%')).and_then(|d| VatRate::new(d).ok()) {
                Some(rate) => offered.push(rate),
                None => {
                    errors.insert("other", fill(t.set_err_vat_rate, &[("value", raw)]));
                }
            }
        }
        let default_rate = parse_decimal(&self.default_rate).and_then(|d| VatRate::new(d).ok());
        match (default_rate, errors.is_empty()) {
            (Some(default_rate), true) => Ok((offered, default_rate)),
            (None, _) => {
                errors.insert("default_rate", t.set_err_default_vat.into());
                Err(errors)
            }
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct CurrencyForm {
    currency: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct OriginsForm {
    origins: String,
}

impl OriginsForm {
    fn of(settings: &ShopSettings) -> Self {
        OriginsForm {
            origins: settings
                .cors_origins()
                .iter()
                .map(WebOrigin::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn parse(&self, t: &Texts) -> Result<Vec<WebOrigin>, FieldErrors> {
        let mut origins = Vec::new();
        for (i, line) in self.origins.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match WebOrigin::new(line) {
                Ok(origin) => origins.push(origin),
                Err(_) => {
                    let line_number = (i + 1).to_string();
                    let message = fill(
                        t.set_err_origin,
                        &[("line", &line_number), ("value", line.trim())],
                    );
                    return Err(FieldErrors::from([("origins", message)]));
                }
            }
        }
        Ok(origins)
    }
}

/// The form shown again with its errors, the other sections as saved.
#[derive(Debug, Default)]
enum Invalid {
    #[default]
    None,
    Identity(Box<IdentityForm>, FieldErrors),
    Location(LocationForm, FieldErrors),
    Vat(VatForm, FieldErrors),
    Currency(FieldErrors),
    Origins(OriginsForm, FieldErrors),
}

async fn page(State(state): State<AppState>, admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    render(&state, &admin, Invalid::None).await
}

/// A percentage as staff write it (`5,5` in French).
fn percent(rate: &VatRate, french: bool) -> String {
    let text = rate.percent().normalize().to_string();
    if french {
        text.replace('.', ",")
    } else {
        text
    }
}

async fn render(state: &AppState, admin: &Admin, invalid: Invalid) -> Result<Response, AdminError> {
    let t = admin.t;
    let french = admin.lang == Lang::Fr;
    let settings = state
        .shop
        .reload(&state.bus)
        .await
        .map_err(|e| AdminError::internal("loading the shop settings", e))?;
    // The same count the aggregate asks before changing the currency.
    let orders = PgSalesLookup::new(state.pool.clone())
        .orders_placed()
        .await
        .map_err(|e| AdminError::internal("counting orders", e))?;
    let none = FieldErrors::new();
    let status = if matches!(invalid, Invalid::None) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (identity, identity_errors) = match &invalid {
        Invalid::Identity(form, errors) => ((**form).clone(), errors),
        _ => (IdentityForm::of(settings.identity(), french), &none),
    };
    let (location, location_errors) = match &invalid {
        Invalid::Location(form, errors) => (form.clone(), errors),
        _ => (LocationForm::default(), &none),
    };
    let (vat, vat_errors) = match &invalid {
        Invalid::Vat(form, errors) => (Some(form), errors),
        _ => (None, &none),
    };
    let currency_errors = match &invalid {
        Invalid::Currency(errors) => errors,
        _ => &none,
    };
    let (origins, origins_errors) = match &invalid {
        Invalid::Origins(form, errors) => (form.clone(), errors),
        _ => (OriginsForm::of(&settings), &none),
    };
    // Every rate the form offers: the law's, and any the shop added.
    let mut choices: Vec<VatRate> = FRENCH_RATES.iter().filter_map(|r| r.parse().ok()).collect();
    for rate in settings.vat_rates() {
        if !choices.contains(rate) {
            choices.push(*rate);
        }
    }
    choices.sort_by(|a, b| b.cmp(a));
    let offered = |rate: &VatRate| match vat {
        Some(form) => form
            .offered
            .iter()
            .any(|v| v.parse::<VatRate>().ok() == Some(*rate)),
        None => settings.vat_rates().contains(rate),
    };
    let default_rate = vat
        .and_then(|form| form.default_rate.parse::<VatRate>().ok())
        .unwrap_or(settings.default_vat_rate());
    let text = |id: &'static str, label: &str, value: &str, errors: &FieldErrors| {
        field(
            id,
            label,
            None,
            errors,
            html! {
                input #(id) name=(id) value=(value) aria-invalid=[errors.contains_key(id).then_some("true")];
            },
        )
    };
    let env_origins = &state.limits.cors_origins;
    let content = html! {
        div.page-header { h1 { (t.set_title) } }
        (tabs(t, "/admin/settings"))
        section.card #identity {
            h2 { (t.set_identity) }
            p.hint { (t.set_identity_hint) }
            @if settings.identity().is_none() { p.alert.alert-warning role="status" { (t.set_identity_missing) } }
            form.form-grid method="post" action="/admin/settings/identity" novalidate {
                (admin.csrf_field())
                (text("company_name", t.set_company_name, &identity.company_name, identity_errors))
                (field("legal_form", t.set_legal_form, Some(t.set_legal_form_hint), identity_errors, html! {
                    input #legal_form name="legal_form" value=(identity.legal_form) list="legal-forms" aria-describedby="legal_form-hint"
                        aria-invalid=[identity_errors.contains_key("legal_form").then_some("true")];
                    datalist #legal-forms { @for form in ["SARL", "EURL", "SAS", "SASU", "SA", "SNC", "EI"] { option value=(form) {} } }
                }))
                (field("share_capital", t.set_share_capital, Some(t.set_share_capital_hint), identity_errors, html! {
                    input #share_capital name="share_capital" value=(identity.share_capital) inputmode="decimal" aria-describedby="share_capital-hint"
                        aria-invalid=[identity_errors.contains_key("share_capital").then_some("true")];
                }))
                (field("street", t.set_street, None, identity_errors, html! {
                    textarea #street name="street" rows="2" aria-invalid=[identity_errors.contains_key("street").then_some("true")] { (identity.street) }
                }))
                (text("postal_code", t.set_postal_code, &identity.postal_code, identity_errors))
                (text("city", t.set_city, &identity.city, identity_errors))
                (text("country", t.set_country, &identity.country, identity_errors))
                (text("siren", t.set_siren, &identity.siren, identity_errors))
                (text("siret", t.set_siret, &identity.siret, identity_errors))
                (field("rcs_city", t.set_rcs_city, Some(t.set_rcs_city_hint), identity_errors, html! {
                    input #rcs_city name="rcs_city" value=(identity.rcs_city) aria-describedby="rcs_city-hint"
                        aria-invalid=[identity_errors.contains_key("rcs_city").then_some("true")];
                }))
                (field("vat_number", t.set_vat_number, Some(t.set_vat_number_hint), identity_errors, html! {
                    input #vat_number name="vat_number" value=(identity.vat_number) aria-describedby="vat_number-hint"
                        aria-invalid=[identity_errors.contains_key("vat_number").then_some("true")];
                }))
                (field("email", t.set_contact_email, None, identity_errors, html! {
                    input #email name="email" type="email" value=(identity.email) autocomplete="off"
                        aria-invalid=[identity_errors.contains_key("email").then_some("true")];
                }))
                (field("phone", t.phone, None, identity_errors, html! {
                    input #phone name="phone" type="tel" value=(identity.phone)
                        aria-invalid=[identity_errors.contains_key("phone").then_some("true")];
                }))
                div.form-actions { button.btn.btn-primary type="submit" { (t.save) span.spinner aria-hidden="true" {} } }
            }
        }
        section.card #pickup {
            h2 { (t.set_pickup) }
            p.hint { (t.set_pickup_hint) }
            @if settings.pickup_locations().is_empty() {
                p.empty { (t.set_pickup_none) }
            } @else {
                div.table-wrap tabindex="0" { table.data {
                    thead { tr {
                        th scope="col" { (t.set_pickup_name) } th scope="col" { (t.set_pickup_address) }
                        th scope="col" { (t.set_pickup_hours) } th scope="col" { (t.actions) }
                    } }
                    tbody { @for l in settings.pickup_locations() { tr {
                        td { strong { (l.name) } }
                        td { (l.address) }
                        td { (l.opening_hours) }
                        td.actions {
                            a.btn.btn-small href={"/admin/settings/pickup-locations/" (l.location_id)} aria-label={(t.set_pickup_change) " " (l.name)} { (t.set_pickup_change) }
                            " "
                            a.btn.btn-danger.btn-small href={"/admin/settings/pickup-locations/" (l.location_id) "/remove"}
                                hx-get={"/admin/settings/pickup-locations/" (l.location_id) "/remove"} hx-target="#modal" hx-boost="false" aria-label={(t.set_pickup_remove) " " (l.name)} { (t.set_pickup_remove) }
                        }
                    } } }
                } }
            }
            h3 { (t.set_pickup_add) }
            (location_form(admin, "/admin/settings/pickup-locations", &location, location_errors, t.set_pickup_add))
        }
        section.card #vat {
            h2 { (t.set_vat) }
            p.hint { (t.set_vat_hint) }
            form method="post" action="/admin/settings/vat" novalidate {
                (admin.csrf_field())
                fieldset.choices.invalid[vat_errors.contains_key("offered")] {
                    legend { (t.set_vat_offered) }
                    @for rate in &choices {
                        label.check {
                            input type="checkbox" name="offered" value=(rate) checked[offered(rate)];
                            " " (percent(rate, french)) " %"
                        }
                    }
                    p.error #err-offered role="alert" { @if let Some(e) = vat_errors.get("offered") { (e) } }
                }
                (field("other", t.set_vat_other, Some(t.set_vat_other_hint), vat_errors, html! {
                    input #other name="other" value=(vat.map(|f| f.other.as_str()).unwrap_or("")) inputmode="decimal" aria-describedby="other-hint"
                        aria-invalid=[vat_errors.contains_key("other").then_some("true")];
                }))
                (field("default_rate", t.set_vat_default, None, vat_errors, html! {
                    select #default_rate name="default_rate" aria-invalid=[vat_errors.contains_key("default_rate").then_some("true")] {
                        @for rate in &choices {
                            option value=(rate) selected[*rate == default_rate] { (percent(rate, french)) " %" }
                        }
                    }
                }))
                div.form-actions { button.btn.btn-primary type="submit" { (t.save) span.spinner aria-hidden="true" {} } }
            }
        }
        section.card #currency {
            h2 { (t.set_currency) }
            p.hint { (t.set_currency_hint) }
            form method="post" action="/admin/settings/currency" novalidate {
                (admin.csrf_field())
                (field("currency", t.set_currency, None, currency_errors, html! {
                    select #currency name="currency" disabled[orders > 0] aria-invalid=[currency_errors.contains_key("currency").then_some("true")] {
                        @for code in Currency::SUPPORTED {
                            option value=(code) selected[*code == settings.currency().as_str()] { (code) }
                        }
                    }
                }))
                @if orders > 0 {
                    p.hint { (fill(t.set_currency_locked, &[("count", &orders.to_string())])) }
                } @else {
                    div.form-actions { button.btn.btn-primary type="submit" { (t.save) span.spinner aria-hidden="true" {} } }
                }
            }
        }
        section.card #origins {
            h2 { (t.set_origins) }
            p.hint { (t.set_origins_hint) }
            form method="post" action="/admin/settings/origins" novalidate {
                (admin.csrf_field())
                (field("origins", t.set_origins, None, origins_errors, html! {
                    textarea #origins name="origins" rows="4" spellcheck="false" placeholder="https://boutique.example.fr"
                        aria-invalid=[origins_errors.contains_key("origins").then_some("true")] { (origins.origins) }
                }))
                @if !env_origins.is_empty() {
                    p.hint { (fill(t.set_origins_env, &[("origins", &env_origins.join(", "))])) }
                }
                div.form-actions { button.btn.btn-primary type="submit" { (t.save) span.spinner aria-hidden="true" {} } }
            }
        }
    };
    Ok(admin.page_with_status(t.set_title, content, status).await)
}

fn location_form(
    admin: &Admin,
    action: &str,
    values: &LocationForm,
    errors: &FieldErrors,
    button: &str,
) -> Markup {
    let t = admin.t;
    let invalid = |id: &str| errors.contains_key(id).then_some("true");
    html! {
        form method="post" action=(action) novalidate {
            (admin.csrf_field())
            (field("pickup_name", t.set_pickup_name, None, errors, html! {
                input #pickup_name name="pickup_name" value=(values.pickup_name) maxlength="100" aria-invalid=[invalid("pickup_name")];
            }))
            (field("pickup_address", t.set_pickup_address, None, errors, html! {
                input #pickup_address name="pickup_address" value=(values.pickup_address) maxlength="300" aria-invalid=[invalid("pickup_address")];
            }))
            (field("pickup_hours", t.set_pickup_hours, Some(t.set_pickup_hours_hint), errors, html! {
                input #pickup_hours name="pickup_hours" value=(values.pickup_hours) maxlength="300" aria-describedby="pickup_hours-hint" aria-invalid=[invalid("pickup_hours")];
            }))
            div.form-actions { button.btn.btn-primary type="submit" { (button) span.spinner aria-hidden="true" {} } }
        }
    }
}

/// The form field an aggregate refusal is about (pickup fields carry a prefix on the page,
/// so one page can hold several forms) and the message in the staff's language.
fn refusal(t: &Texts, error: &ShopSettingsError) -> (&'static str, String) {
    let field = match error.field() {
        Some("name") => "pickup_name",
        Some("address") => "pickup_address",
        Some("opening_hours") => "pickup_hours",
        Some(field) => field,
        None => "",
    };
    let message = match error {
        ShopSettingsError::Required(_) => t.set_err_required.to_owned(),
        ShopSettingsError::TooLong { max, .. } => {
            fill(t.set_err_too_long, &[("max", &max.to_string())])
        }
        ShopSettingsError::ShareCapitalRequired(form) => {
            fill(t.set_err_capital_required, &[("form", form)])
        }
        ShopSettingsError::SiretNotOfSiren(siren) => {
            fill(t.set_err_siret_siren, &[("siren", siren)])
        }
        ShopSettingsError::VatNumberNotOfSiren(siren) => {
            fill(t.set_err_vat_siren, &[("siren", siren)])
        }
        ShopSettingsError::PickupNameTaken(_) => t.set_err_pickup_taken.to_owned(),
        ShopSettingsError::TooManyPickupLocations(max)
        | ShopSettingsError::TooManyVatRates(max)
        | ShopSettingsError::TooManyOrigins(max) => {
            fill(t.set_err_too_many, &[("max", &max.to_string())])
        }
        ShopSettingsError::NoVatRate => t.set_err_no_vat.to_owned(),
        ShopSettingsError::DefaultVatNotOffered => t.set_err_default_vat.to_owned(),
        ShopSettingsError::CurrencyLocked(count) => {
            fill(t.set_currency_locked, &[("count", &count.to_string())])
        }
        ShopSettingsError::PickupNotFound
        | ShopSettingsError::PickupExists
        | ShopSettingsError::Service(_) => t.refused_generic.to_owned(),
    };
    (field, message)
}

/// Runs `command`. On success the server takes the new settings at once and the owner is
/// sent back to `section` with a toast; a refusal comes back as the field it is about and
/// the message, for the caller to show beside the field.
async fn run(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    command: ShopSettingsCommand,
    section: &str,
) -> Result<Result<Response, (&'static str, String)>, AdminError> {
    let metadata = context.metadata(aggregates::Actor::Staff(admin.user.id));
    match state
        .bus
        .settings
        .execute(SHOP_SETTINGS_ID, command, &metadata)
        .await
    {
        Ok(()) => {
            state
                .shop
                .reload(&state.bus)
                .await
                .map_err(|e| AdminError::internal("reloading the shop settings", e))?;
            settle(state, "ShopSettings", SHOP_SETTINGS_ID).await;
            admin.flash("success", admin.t.set_saved).await;
            Ok(Ok(
                Redirect::to(&format!("/admin/settings#{section}")).into_response()
            ))
        }
        Err(CommandError::Refused(ShopSettingsError::PickupNotFound)) => Err(AdminError::NotFound),
        Err(CommandError::Refused(error)) => Ok(Err(refusal(admin.t, &error))),
        Err(error) => Err(AdminError::internal("changing the shop settings", error)),
    }
}

/// [`run`] for a section of the settings page: a refusal shows the page again with the
/// section's form as typed (`invalid`) and the message beside its field.
async fn run_section(
    state: &AppState,
    admin: &Admin,
    context: &RequestContext,
    command: ShopSettingsCommand,
    section: &str,
    invalid: impl FnOnce(FieldErrors) -> Invalid,
) -> Result<Response, AdminError> {
    match run(state, admin, context, command, section).await? {
        Ok(response) => Ok(response),
        Err(("", message)) => {
            admin.flash("error", message).await;
            Ok(Redirect::to(&format!("/admin/settings#{section}")).into_response())
        }
        Err((field, message)) => {
            render(state, admin, invalid(FieldErrors::from([(field, message)]))).await
        }
    }
}

async fn save_identity(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(form): Form<IdentityForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let identity = match form.parse(admin.t) {
        Ok(identity) => identity,
        Err(errors) => {
            return render(&state, &admin, Invalid::Identity(Box::new(form), errors)).await
        }
    };
    let command = ShopSettingsCommand::ChangeLegalIdentity {
        identity: Box::new(identity),
    };
    run_section(&state, &admin, &context, command, "identity", |errors| {
        Invalid::Identity(Box::new(form), errors)
    })
    .await
}

async fn add_location(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(form): Form<LocationForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let command = ShopSettingsCommand::AddPickupLocation {
        location_id: Uuid::now_v7(),
        name: form.pickup_name.clone(),
        address: form.pickup_address.clone(),
        opening_hours: form.pickup_hours.clone(),
    };
    run_section(&state, &admin, &context, command, "pickup", |errors| {
        Invalid::Location(form, errors)
    })
    .await
}

async fn edit_location(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let settings = state.shop.get();
    let location = settings
        .pickup_locations()
        .iter()
        .find(|l| l.location_id == id)
        .ok_or(AdminError::NotFound)?;
    let form = LocationForm {
        pickup_name: location.name.clone(),
        pickup_address: location.address.clone(),
        pickup_hours: location.opening_hours.clone(),
    };
    location_page(&admin, id, &form, &FieldErrors::new(), StatusCode::OK).await
}

async fn location_page(
    admin: &Admin,
    id: Uuid,
    form: &LocationForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let t = admin.t;
    let action = format!("/admin/settings/pickup-locations/{id}");
    let content = html! {
        div.page-header {
            h1 { (t.set_pickup_edit) " : " (form.pickup_name) }
            a.btn.btn-ghost href="/admin/settings#pickup" { (t.back) }
        }
        section.card { (location_form(admin, &action, form, errors, t.save)) }
    };
    Ok(admin
        .page_with_status(t.set_pickup_edit, content, status)
        .await)
}

async fn change_location(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<LocationForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let command = ShopSettingsCommand::ChangePickupLocation {
        location_id: id,
        name: form.pickup_name.clone(),
        address: form.pickup_address.clone(),
        opening_hours: form.pickup_hours.clone(),
    };
    match run(&state, &admin, &context, command, "pickup").await? {
        Ok(response) => Ok(response),
        Err((field, message)) => {
            let field = if field.is_empty() {
                "pickup_name"
            } else {
                field
            };
            let errors = FieldErrors::from([(field, message)]);
            location_page(&admin, id, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn confirm_remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let t = admin.t;
    let settings = state.shop.get();
    let location = settings
        .pickup_locations()
        .iter()
        .find(|l| l.location_id == id)
        .ok_or(AdminError::NotFound)?;
    let question = fill(t.set_pickup_remove_confirm, &[("name", &location.name)]);
    let action = format!("/admin/settings/pickup-locations/{id}/remove");
    let body = admin.confirm_dialog(
        &question,
        &action,
        t.set_pickup_remove,
        "/admin/settings#pickup",
        html! {},
    );
    Ok(admin.confirmation(&question, body).await)
}

async fn remove_location(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let command = ShopSettingsCommand::RemovePickupLocation { location_id: id };
    run_section(&state, &admin, &context, command, "pickup", |errors| {
        Invalid::Location(LocationForm::default(), errors)
    })
    .await
}

async fn save_vat(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let form = VatForm::from_pairs(pairs);
    let (offered, default_rate) = match form.rates(admin.t) {
        Ok(rates) => rates,
        Err(errors) => return render(&state, &admin, Invalid::Vat(form, errors)).await,
    };
    let command = ShopSettingsCommand::ChangeVatRates {
        offered,
        default_rate,
    };
    run_section(&state, &admin, &context, command, "vat", |errors| {
        Invalid::Vat(form, errors)
    })
    .await
}

async fn save_currency(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(form): Form<CurrencyForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let currency = match Currency::new(&form.currency) {
        Ok(currency) => currency,
        Err(_) => {
            let errors = FieldErrors::from([("currency", admin.t.set_err_currency.to_owned())]);
            return render(&state, &admin, Invalid::Currency(errors)).await;
        }
    };
    let command = ShopSettingsCommand::ChangeCurrency { currency };
    run_section(
        &state,
        &admin,
        &context,
        command,
        "currency",
        Invalid::Currency,
    )
    .await
}

async fn save_origins(
    State(state): State<AppState>,
    admin: Admin,
    context: RequestContext,
    Form(form): Form<OriginsForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageSettings)?;
    let origins = match form.parse(admin.t) {
        Ok(origins) => origins,
        Err(errors) => return render(&state, &admin, Invalid::Origins(form, errors)).await,
    };
    let command = ShopSettingsCommand::ChangeCorsOrigins { origins };
    run_section(&state, &admin, &context, command, "origins", |errors| {
        Invalid::Origins(form, errors)
    })
    .await
}
