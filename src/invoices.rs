//! Invoices as customers fetch them: `GET /invoices/{number}?expires=…&signature=…`, the
//! signed link of the "payment confirmed" email (see [`crate::links`]). No account: the
//! signature is the permission, bound to the invoice number and an expiry.
//!
//! The PDF itself comes with the invoices issue: [`stored_pdf`] is where it plugs in.
//! Until then a good link answers 404 "not issued yet", a bad or expired one 403.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use crate::http::AppState;
use crate::links::{path_segment, LinkError, LinkSigner};

pub fn router() -> Router<AppState> {
    Router::new().route("/invoices/{invoice_number}", get(download))
}

#[derive(Debug, Deserialize)]
struct Signed {
    expires: Option<String>,
    signature: Option<String>,
}

/// The invoice's PDF, once rendered and stored. The invoices issue fills this in (look the
/// number up in the invoice register, read the stored PDF); until then no invoice is
/// available.
pub async fn stored_pdf(
    _state: &AppState,
    _invoice_number: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    Ok(None)
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    let mut response = (status, text).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The link itself is the key: never pass it on to another site.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn download(
    State(state): State<AppState>,
    Path(invoice_number): Path<String>,
    Query(signed): Query<Signed>,
) -> Response {
    let refused = || {
        answer(
            StatusCode::FORBIDDEN,
            "Ce lien n'est pas valide ou a expiré. / This link is not valid or has expired.\n",
        )
    };
    let (Some(expires), Some(signature)) = (
        signed.expires.and_then(|e| e.trim().parse::<i64>().ok()),
        signed.signature,
    ) else {
        return refused();
    };
    let signer = match LinkSigner::load(&state.pool).await {
        Ok(signer) => signer,
        Err(error) => {
            tracing::error!(%error, "link key unavailable");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal error\n");
        }
    };
    // Signed as it appears in the URL's path.
    let path = format!("/invoices/{}", path_segment(&invoice_number));
    match signer.verify(&path, expires, &signature, Utc::now()) {
        Ok(()) => {}
        Err(error @ (LinkError::BadSignature | LinkError::Expired)) => {
            tracing::info!(%invoice_number, %error, "invoice link refused");
            return refused();
        }
    }
    match stored_pdf(&state, &invoice_number).await {
        Ok(Some(pdf)) => {
            let mut response = pdf.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            if let Ok(value) = HeaderValue::from_str(&format!(
                "inline; filename=\"{}.pdf\"",
                path_segment(&invoice_number)
            )) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Ok(None) => answer(
            StatusCode::NOT_FOUND,
            "Cette facture n'est pas encore émise. / This invoice has not been issued yet.\n",
        ),
        Err(error) => {
            tracing::error!(%error, %invoice_number, "invoice unavailable");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal error\n")
        }
    }
}
