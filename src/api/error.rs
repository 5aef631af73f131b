//! One error format for the whole public API: RFC 9457 problem details
//! (`application/problem+json`), with the request id and, for validation errors, the
//! fields at fault. Database and unexpected errors are logged and answered as an opaque 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A field that was refused, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field (`items[1].quantity`).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("the body is larger than the API accepts (64 KiB)")]
    PayloadTooLarge,
    #[error("send JSON, with `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A single invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(
            error,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
        ) {
            return ApiError::Unavailable("the database is unavailable; try again shortly".into());
        }
        ApiError::Internal(error.to_string())
    }
}

/// The problem document.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    r#type: &'static str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                None
            }
            ApiError::Unauthorized | ApiError::NotFound | ApiError::Invalid(_) => None,
            ApiError::TooManyRequests { retry_after } => {
                Some(format!("too many requests; retry in {retry_after} s"))
            }
            other => Some(other.to_string()),
        };
        let errors = match &self {
            ApiError::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let problem = Problem {
            r#type: "about:blank",
            title: status.canonical_reason().unwrap_or("error"),
            status: status.as_u16(),
            detail,
            errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyRequests { retry_after } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A query-string rejection, naming the parameter when serde says which one.
pub fn from_query_rejection(text: String) -> ApiError {
    let detail = text
        .split_once("query string: ")
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(text);
    // serde_urlencoded: "duplicate field `status`".
    if let Some(name) = detail
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return ApiError::field(name, "given more than once");
    }
    match detail.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => ApiError::field(field, message),
        _ => ApiError::BadRequest(detail),
    }
}
