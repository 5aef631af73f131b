//! `ApiJson`: the API's JSON body extractor, with the API's errors: a body that is not
//! JSON is 415, over the limit 413, malformed 400; a wrong type, a missing field or text
//! PostgreSQL cannot store is 422 naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected};
use serde_json::Value;

use crate::api::error::{from_query_rejection, ApiError, FieldError};

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
        let RawJson(value, _) = RawJson::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// A JSON body, parsed, with the bytes it was parsed from (for a handler that also hashes
/// the request, as `POST /api/orders` does for its Idempotency-Key).
#[derive(Debug)]
pub struct RawJson<T>(pub T, pub Bytes);

impl<S, T> FromRequest<S> for RawJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        // Checked before the body is read, as axum's own `Json` does.
        if !is_json(&headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let ApiBytes(body) = ApiBytes::from_request(request, state).await?;
        let value = parse_json(&headers, &body)?;
        Ok(RawJson(value, body))
    }
}

/// The raw body, within the API's limit: over it is 413 as a problem document (axum's own
/// `Bytes` rejection answers in plain text).
#[derive(Debug)]
pub struct ApiBytes(pub Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(ApiBytes)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })
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
        // serde_path_to_error's path of the document itself: a missing or unknown field at
        // the top, named below from the message.
        Some((".", message)) => (String::new(), message.to_owned()),
        Some((path, message)) if !path.contains(' ') => (path.to_owned(), message.to_owned()),
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

/// A query string, parsed: a parameter of the wrong shape, given twice or holding a NUL
/// character is 422 naming it (axum's own `Query` would answer 400 in plain text).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::try_from_uri(&parts.uri)
            .map_err(|rejection| from_query_rejection(rejection.body_text()))?;
        if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            if let Some((name, _)) = pairs.iter().find(|(_, value)| value.contains('\0')) {
                return Err(ApiError::field(name.as_str(), NUL_REFUSED));
            }
        }
        Ok(ApiQuery(value))
    }
}

/// A whole number as JSON Schema's `integer` means it, the type the description gives
/// quantities and ratings: `2` and `2.0` alike (a JSON encoder may write either); `2.5`,
/// text or a number past 2^53 is refused, and the error names the field.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct WholeNumber;

    impl de::Visitor<'_> for WholeNumber {
        type Value = i64;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a whole number")
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
            // Below 2^53 every whole f64 is exact, so the cast loses nothing.
            if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
                Ok(value as i64)
            } else {
                Err(E::invalid_value(Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_any(WholeNumber)
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// Parses a JSON body already read as bytes, with the same errors as [`ApiJson`].
pub fn parse_json<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let syntax = |inner: serde_json::Error| {
        ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
    };
    // Every body the API takes is an object; serde would also fill a struct from an array,
    // field by field in declaration order, which no client means.
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first.is_some_and(|b| *b != b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(syntax)?;
        return Err(ApiError::Unprocessable(
            "the body must be a JSON object".into(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            syntax(inner)
        } else {
            data_error(&format!("target type: {path}: {inner}"))
        }
    })?;
    // One JSON document, nothing after it (`{...}x` is not JSON).
    deserializer.end().map_err(syntax)?;
    // PostgreSQL stores no NUL character in text or jsonb: refused here, by name, rather
    // than failing as the event is written.
    if let Ok(document) = serde_json::from_slice::<Value>(body) {
        if let Some(field) = text_with_nul(&document, String::new()) {
            return Err(ApiError::field(field, NUL_REFUSED));
        }
    }
    Ok(value)
}

/// What a field holding a NUL character is told.
pub const NUL_REFUSED: &str = "must not contain the NUL character (U+0000)";

/// The path (`items[0].productId`, as serde names fields) of the first string holding a
/// NUL character.
fn text_with_nul(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => {
            Some(if path.is_empty() { ".".into() } else { path })
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| text_with_nul(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let inner = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            text_with_nul(item, inner)
        }),
        _ => None,
    }
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
        // As parse_json words it (serde_path_to_error names the document `.`).
        let e = data_error("target type: .: missing field `paymentMethod`");
        assert!(
            matches!(e, ApiError::Invalid(ref f) if f[0].field == "paymentMethod" && f[0].message == "missing field `paymentMethod`"),
            "{e:?}"
        );
    }

    #[test]
    fn whole_numbers_may_be_written_as_integers_or_whole_floats() {
        #[derive(Debug, serde::Deserialize)]
        struct Line {
            #[serde(deserialize_with = "whole_number")]
            quantity: i64,
        }
        let parse = |text: &str| serde_json::from_str::<Line>(text).map(|l| l.quantity);
        assert_eq!(parse(r#"{"quantity": 2}"#).unwrap(), 2);
        assert_eq!(parse(r#"{"quantity": 2.0}"#).unwrap(), 2);
        assert_eq!(parse(r#"{"quantity": -3}"#).unwrap(), -3);
        assert!(parse(r#"{"quantity": 2.5}"#).is_err());
        assert!(parse(r#"{"quantity": 1e300}"#).is_err());
        assert!(parse(r#"{"quantity": 18446744073709551615}"#).is_err());
        assert!(parse(r#"{"quantity": "2"}"#).is_err());
    }

    #[test]
    fn nul_characters_are_found_where_serde_would_name_them() {
        let body =
            serde_json::json!({ "items": [{ "productId": "a" }, { "productId": "b\u{0}" }] });
        assert_eq!(
            text_with_nul(&body, String::new()).as_deref(),
            Some("items[1].productId")
        );
        let body = serde_json::json!({ "billing": { "company": "\u{0}" }, "name": "ok" });
        assert_eq!(
            text_with_nul(&body, String::new()).as_deref(),
            Some("billing.company")
        );
        assert_eq!(
            text_with_nul(&serde_json::json!({ "a": [1, "b"] }), String::new()),
            None
        );
    }
}
