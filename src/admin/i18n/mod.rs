//! The admin's words. Each language is one catalogue (`fr.rs`, `en.rs`) filling the same
//! `Texts` struct, so a string missing in one language is a compile error, and no page
//! writes a word of its own. Placeholders are `{name}`, filled by [`fill`].

mod en;
mod fr;

use axum::http::HeaderMap;

/// A language of the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// French, the default: the staff are French.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order the switcher lists them.
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The BCP 47 tag (`fr`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// Its name in itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
        }
    }

    /// A code from a cookie or a form.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The user's choice (the `lang` cookie) first, then the browser's `Accept-Language`
    /// in order of preference, then French.
    pub fn negotiate(headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookie(headers, "lang").and_then(|v| Lang::parse(&v)) {
            return lang;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut ranked: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?;
                Lang::parse(primary).map(|lang| (quality, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, lang)| *lang).unwrap_or_default()
    }

    /// This language's catalogue.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Fr => &fr::FR,
            Lang::En => &en::EN,
        }
    }
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// Replaces each `{key}` of `text` by its value.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

macro_rules! texts {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// Every string of the admin, in one language.
        #[derive(Debug)]
        pub struct Texts {
            $($(#[$doc])* pub $field: &'static str,)*
        }
    };
}

texts! {
    // layout
    skip_to_content, menu, nav_dashboard, nav_products, nav_categories, nav_orders, nav_reviews,
    nav_audit, nav_staff, nav_settings, nav_section_shop, nav_section_admin, language, theme,
    theme_system, theme_light, theme_dark, apply, logout, logout_everywhere, error_generic,
    close, cancel, confirm, save, saving, yes, no, back, search, filter, reset, previous, next,
    page_of, none, loading, actions, all,
    // roles
    role_owner, role_manager, role_operator, role_accountant, role_support,
    // login
    login_title, login_email, login_password, login_submit, login_failed, login_locked,
    login_ended, login_expired, login_logged_out, login_busy, csrf_failed, forbidden_title,
    forbidden_body, not_found_title, not_found_body, sessions_ended,
    // dashboard
    dashboard_title, revenue_today, revenue_7, revenue_30, ttc, ht, orders_pending,
    out_of_stock_count, reviews_pending, revenue_chart, revenue_chart_caption, latest_orders,
    reviews_awaiting, order_number, customer, total_ttc, status, placed_at, product, rating,
    comment, submitted_at, no_orders, no_reviews,
    // order statuses
    order_status_pending, order_status_confirmed, order_status_ready_for_pickup,
    order_status_completed, order_status_cancelled,
    // products
    products_title, product_new, product_edit, reference, name, category, price_ht, vat_rate,
    vat_custom, price_ttc, description, description_hint, preview, slug, slug_hint, slug_taken,
    slug_free, meta_description, meta_hint, product_status, status_draft, status_published,
    status_archived, stock, stock_status, stock_in, stock_low, stock_out, on_hand, reserved,
    available, publish, unpublish, archive, archive_confirm, bulk_publish, bulk_unpublish,
    bulk_none_selected, bulk_done, select_all, select_row, created, saved, published, unpublished,
    archived, no_products, products_count, sort_by, tab_details, tab_stock, tab_preview,
    tab_history, tab_images, images_none, history_none, who, when, what,
    stock_adjust, stock_quantity, stock_reason, reason_received, reason_inventory,
    reason_damaged, reason_correction, stock_note, stock_adjusted, stock_movements,
    stock_inventory_hint, refused_archived, refused_generic, stock_insufficient, reference_taken, field_required, field_too_long, invalid_number,
    invalid_price, invalid_vat, invalid_slug, invalid_reference, unknown_category,
    quantity_invalid, storefront_preview_note, in_stock_label, out_of_stock_label,
    // history
    h_product_created, h_name_changed, h_description_changed, h_category_changed,
    h_meta_changed, h_price_changed, h_vat_changed, h_slug_changed, h_published,
    h_unpublished, h_archived, h_image_added, h_image_removed, h_images_reordered,
    h_image_alt_changed, h_stock_received, h_stock_adjusted, h_stock_reserved,
    h_reservation_released, h_reservation_committed, h_stock_returned, h_on_hand_after,
    h_release_cancelled, h_release_expired, h_release_payment_failed,
    h_release_placement_failed, actor_system, actor_api_key, actor_customer, actor_process,
    actor_payment, movement, order_label, h_order_placed, h_payment_session,
    h_payment_confirmed, h_payment_failed, h_order_confirmed, h_order_ready,
    h_order_completed, h_order_cancelled, h_invoice_issued, h_credit_note_issued,
    h_credit_note_requested, h_document_stored,
    // reviews
    reviews_title, review_title, review_verified, review_status_pending, review_status_approved,
    review_status_rejected, approve, reject, review_feedback, review_feedback_hint,
    review_response, review_response_hint, respond, review_approved, review_rejected,
    review_responded, average_rating, no_reviews_match, all_products, review_feedback_shown,
    review_response_shown, feedback_required, response_required, review_by,
    // orders
    orders_title, order_title, payment_method, payment_status, pay_pending, pay_paid,
    pay_failed, pay_refunded, method_stripe, method_oney, method_pickup, date_from, date_to,
    search_orders, no_orders_match, orders_count, phone, pickup_location, lines, quantity,
    unit_price_ht, line_total_ht, total_ht, vat_at, invoice_number, credit_note_number,
    timeline, order_confirm, order_ready, order_complete, order_cancel, order_cancel_reason,
    order_move_confirm, order_moved, order_move_refused, cancel_reason_required,
    order_cancelled_because, paid_with, payment_reference, customer_label, record_payment,
    pay_cash, pay_card, pay_cheque, payment_recorded, payment_means,
    // customers
    nav_customers, customers_title, customer_search, customer_orders, customer_reviews,
    orders_total, last_order, no_customers, customer_not_found, orders_label,
    // audit
    audit_title, audit_events, audit_security, audit_chain, actor, aggregate_type,
    aggregate_id, event_details, payload, metadata, seal_hash, not_sealed, no_events_match,
    security_kind, client_address, user_agent, chain_events, chain_sealed, chain_last_seal,
    chain_verify, chain_ok, chain_broken, chain_never_verified, chain_last_verified, older,
    newer, all_actors, all_types,
    // API keys
    api_keys_title, api_key_name, api_key_name_hint, api_key_create, api_key_created,
    api_key_once, api_key_revoke, api_key_revoke_confirm, api_key_revoked, api_key_live,
    api_key_revoked_at, api_key_bad_name, api_key_name_taken, no_api_keys, created_at,
    // categories
    categories_title, category_new, category_edit, products_in_category, delete,
    delete_confirm, category_not_empty, category_deleted, category_created, name_taken,
    no_categories,
    // staff
    staff_title, staff_email, staff_role, staff_state, staff_active, staff_disabled,
    staff_disable, staff_enable, staff_end_sessions, staff_disable_confirm,
    staff_end_sessions_confirm, staff_done, staff_self_forbidden, staff_new, staff_name,
    staff_create, staff_created, staff_password_once, staff_reset_password,
    staff_reset_confirm, staff_password_reset, staff_change_role, staff_email_taken,
    invalid_email, staff_own_role,
    // history: a details edit without change or against unknown details
    h_details_edited, h_details_unchanged,
    // the audit trail's sentences (the actor's name goes in front)
    trail_category_created, trail_category_renamed, trail_category_slug_changed,
    trail_category_described, trail_category_deleted, trail_product_created,
    trail_product_edited, trail_price_changed, trail_vat_changed, trail_slug_changed,
    trail_published, trail_unpublished, trail_archived, trail_image_added,
    trail_image_removed, trail_images_reordered, trail_image_alt_changed,
    trail_stock_received, trail_stock_adjusted, trail_stock_reserved,
    trail_reservation_released, trail_reservation_committed, trail_stock_returned,
    trail_order_placed, trail_payment_session, trail_payment_confirmed, trail_payment_failed,
    trail_order_confirmed, trail_order_ready, trail_order_completed, trail_order_cancelled,
    trail_invoice_issued, trail_credit_note_issued, trail_credit_note_requested,
    trail_document_stored, trail_period_closed, period_day, period_month, period_year,
    trail_review_submitted,
    trail_review_approved, trail_review_rejected, trail_review_responded,
    trail_review_response_edited, trail_invoice_number_assigned, trail_staff_created,
    trail_staff_role_changed, trail_own_password_changed, trail_staff_password_changed,
    trail_staff_renamed, trail_staff_disabled, trail_staff_enabled, trail_own_sessions_ended,
    trail_staff_sessions_ended,
    provider_counter, dismiss, password_temporary, set_pickup_change,
    trail_identity_set, trail_identity_changed, trail_pickup_added, trail_pickup_changed,
    trail_pickup_removed, trail_vat_rates_changed, trail_currency_changed, trail_origins_changed,
    // one's own account
    account_title, password_change, password_current, password_new, password_confirm,
    password_hint, password_submit, password_wrong, password_too_short, password_too_long,
    password_mismatch, password_same, password_changed, password_locked,
    set_title, set_tab_shop, set_identity, set_identity_hint, set_identity_missing,
    set_company_name, set_legal_form, set_legal_form_hint, set_share_capital,
    set_share_capital_hint, set_street, set_postal_code, set_city, set_country, set_siren,
    set_siret, set_rcs_city, set_rcs_city_hint, set_vat_number, set_vat_number_hint,
    set_contact_email, set_saved, set_err_required, set_err_too_long, set_err_amount,
    set_err_siren, set_err_siret, set_err_siret_siren, set_err_vat_number, set_err_vat_siren,
    set_err_capital_required, set_err_phone, set_pickup, set_pickup_hint, set_pickup_none,
    set_pickup_name, set_pickup_address, set_pickup_hours, set_pickup_hours_hint,
    set_pickup_add, set_pickup_edit, set_pickup_remove, set_pickup_remove_confirm,
    set_err_pickup_taken, set_err_too_many, set_vat, set_vat_hint, set_vat_offered,
    set_vat_other, set_vat_other_hint, set_vat_default, set_err_vat_rate, set_err_no_vat,
    set_err_default_vat, set_currency, set_currency_hint, set_currency_locked, set_err_currency,
    set_origins, set_origins_hint, set_origins_env, set_err_origin,
    // the email outbox
    nav_outbox, outbox_title, outbox_intro, outbox_status_pending, outbox_status_sending,
    outbox_status_sent, outbox_status_failed, outbox_kind_order_received,
    outbox_kind_payment_confirmed, outbox_kind_ready_for_pickup, outbox_kind_cancelled,
    outbox_kind_staff_new_order, outbox_search_hint, outbox_empty, outbox_queued_at,
    outbox_recipient, outbox_subject, outbox_kind, outbox_attempts, outbox_last_error,
    outbox_when, outbox_sent_on, outbox_failed_on, outbox_next_try, outbox_resend,
    outbox_resend_confirm, outbox_resent, outbox_resend_refused, outbox_resends,
    outbox_attempts_count, outbox_text_part,
    // product images
    images_title, images_help, images_add, images_drop, images_choose, images_formats,
    images_alt_new, images_alt_new_hint, images_send, images_uploads, images_progress,
    images_waiting, images_uploading, images_processing, images_done, images_added,
    images_file_refused, images_position, images_main, images_move_up, images_move_down,
    images_move_up_label, images_move_down_label, images_moved, images_reordered, images_alt,
    images_alt_of, images_alt_saved, images_delete_label, images_delete_confirm, images_deleted,
    img_err_empty, img_err_too_large, img_err_pixels, img_err_format, img_err_heic,
    img_err_corrupt, img_err_no_file, img_err_one_file, img_err_archived, img_err_gone,
    img_err_order, img_err_alt_empty, img_err_conflict, img_err_server, img_err_network,
    img_err_bucket_unreachable, img_err_bucket_refused, img_err_upload_missing, img_err_reload,
    too_large_title, too_large_body,
    // the order page: billing details and refunds
    ord_billing, ord_billing_company, ord_billing_address, ord_billing_vat, ord_refund,
    ord_refund_hint, ord_refund_units, ord_refunded, ord_refund_reason, ord_refund_submit,
    ord_refund_nothing, ord_refund_too_many, ord_refund_done, ord_refund_reason_required,
    ord_refund_exceeds,
    // the invoice register, closures and exports
    nav_invoices, inv_title, inv_period, inv_this_month, inv_last_month, inv_this_year,
    inv_err_date, inv_err_order, inv_err_period, inv_period_shown, inv_documents, inv_count,
    inv_none, inv_number, inv_kind, inv_kind_invoice, inv_kind_credit_note, inv_issued_at,
    inv_vat, inv_unpaid, inv_corrects, inv_totals, inv_totals_hint, inv_base_ht, inv_overall,
    inv_by_means, inv_gaps, inv_gaps_hint, inv_series, inv_first, inv_last, inv_numbers,
    inv_check, inv_no_gap, inv_gap_found, inv_gap_more, inv_no_series, inv_closures,
    inv_closures_hint, inv_last_closed, inv_never_closed, inv_day, inv_year_to_date,
    inv_closed_at, inv_close_now, inv_closed_days, inv_nothing_due, inv_close_failed,
    inv_exports, inv_exports_hint, inv_export_documents, inv_export_events, inv_sales_csv,
    inv_sales_csv_fr, inv_sales_csv_rfc, inv_fec, inv_fec_pipe, inv_fec_tab, inv_fec_no_siren,
    inv_audit, inv_audit_csv, inv_audit_jsonl, inv_download, inv_export_progress,
    inv_export_done, inv_export_failed, inv_export_cut,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn french_is_the_default() {
        assert_eq!(Lang::negotiate(&HeaderMap::new()), Lang::Fr);
        assert_eq!(
            Lang::negotiate(&headers(&[("accept-language", "de-DE,de;q=0.9")])),
            Lang::Fr
        );
    }

    #[test]
    fn the_browser_preference_is_followed_by_quality() {
        let h = headers(&[("accept-language", "fr;q=0.5, en-GB;q=0.8")]);
        assert_eq!(Lang::negotiate(&h), Lang::En);
    }

    #[test]
    fn the_users_choice_beats_the_browser() {
        let h = headers(&[("accept-language", "en"), ("cookie", "a=b; lang=fr")]);
        assert_eq!(Lang::negotiate(&h), Lang::Fr);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("{n} sur {m}", &[("n", "1"), ("m", "2")]), "1 sur 2");
    }
}
