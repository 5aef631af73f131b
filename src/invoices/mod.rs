//! Invoices as customers fetch them: `GET /invoices/{number}?expires=…&signature=…`, the
//! signed link of the "payment confirmed" email (see [`crate::links`]). No account: the
//! signature is the permission, bound to the invoice number and an expiry.
//!
//! The PDF is the one stored when the document was issued ([`publish`]), checked against
//! its recorded SHA-256 on every download. A good link to a document not issued yet
//! answers 404, a bad or expired one 403.

pub mod document;
pub mod pdf;
pub mod publish;

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

/// The most a stored invoice PDF may weigh when read back.
const MAX_PDF_BYTES: u64 = 20 * 1024 * 1024;

/// Why a stored PDF cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PdfReadError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("media store: {0}")]
    Store(String),
    #[error("the stored PDF of {0} is missing from the media store")]
    Missing(String),
    #[error("the stored PDF of {number} does not match its recorded SHA-256 (expected {expected}, found {found})")]
    Altered {
        number: String,
        expected: String,
        found: String,
    },
}

/// The PDF of invoice or credit note `number` as stored when it was issued, checked
/// against the SHA-256 its `DocumentStored` event recorded; `None` while it is not issued
/// (or not yet rendered).
pub async fn stored_pdf(
    pool: &sqlx::PgPool,
    media: &crate::media::Media,
    invoice_number: &str,
) -> Result<Option<Vec<u8>>, PdfReadError> {
    let stored: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("select pdf_key, pdf_sha256 from invoice_register where number = $1")
            .bind(invoice_number)
            .fetch_optional(pool)
            .await?;
    let Some((Some(key), Some(expected))) = stored else {
        return Ok(None);
    };
    let bytes = media
        .store()
        .get(&key, MAX_PDF_BYTES)
        .await
        .map_err(|e| PdfReadError::Store(e.to_string()))?
        .ok_or_else(|| PdfReadError::Missing(invoice_number.to_owned()))?;
    let found = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    if found != expected {
        return Err(PdfReadError::Altered {
            number: invoice_number.to_owned(),
            expected,
            found,
        });
    }
    Ok(Some(bytes))
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
    match stored_pdf(&state.pool, &state.media, &invoice_number).await {
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
