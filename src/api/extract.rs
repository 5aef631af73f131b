//! `ApiJson`: axum's JSON extractor with the API's errors: malformed JSON is 400, a wrong
//! type or missing field is 422 naming the field, a body over the limit is 413.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::api::error::{ApiError, FieldError};

/// A JSON body, parsed.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => data_error(&text),
        JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest(format!(
            "the body is not valid JSON: {}",
            after_prefix(&text)
        )),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        _ => ApiError::BadRequest(text),
    }
}

fn after_prefix(text: &str) -> &str {
    text.split_once("target type: ")
        .map(|(_, rest)| rest)
        .unwrap_or(text)
}

/// serde_path_to_error says `items[0].quantity: invalid type: ...`, or for a missing
/// field `missing field `customerEmail``.
fn data_error(text: &str) -> ApiError {
    let detail = after_prefix(text);
    let (path, message) = match detail.split_once(": ") {
        Some((path, message)) if !path.contains(' ') && path != "." => {
            (path.to_owned(), message.to_owned())
        }
        _ => (String::new(), detail.to_owned()),
    };
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    let field = match (path.is_empty(), message.find('`')) {
        (true, Some(start))
            if message.starts_with("missing field") || message.starts_with("unknown field") =>
        {
            let name = message[start + 1..].split('`').next().unwrap_or_default();
            name.to_owned()
        }
        (false, _) => path,
        _ => String::new(),
    };
    if field.is_empty() {
        ApiError::Unprocessable(message)
    } else {
        ApiError::Invalid(vec![FieldError { field, message }])
    }
}

/// Parses a JSON body already read as bytes (handlers that also need the raw bytes),
/// with the same errors as [`ApiJson`].
pub fn parse_json<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        } else {
            data_error(&format!("target type: {path}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_paths_become_field_names() {
        let e = data_error("Failed to deserialize the JSON body into the target type: items[1].quantity: invalid type: string \"2\", expected u32 at line 1 column 40");
        assert!(
            matches!(e, ApiError::Invalid(ref f) if f[0].field == "items[1].quantity" && f[0].message.starts_with("invalid type")),
            "{e:?}"
        );
        let e = data_error("Failed to deserialize the JSON body into the target type: missing field `customerEmail` at line 1 column 2");
        assert!(
            matches!(e, ApiError::Invalid(ref f) if f[0].field == "customerEmail"),
            "{e:?}"
        );
    }
}
