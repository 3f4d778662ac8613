//! JSON bodies in and out. [`Body`] is the extractor every handler uses: it refuses bodies that
//! are not declared as JSON, larger than the route's limit, malformed, or of the wrong shape —
//! each with the same `{error, field, allowed}` answer as every other error.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Default body limit for API requests, bytes.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Body limit for a collector's sample upload, bytes (a week of minute samples fits).
pub const SAMPLES_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A JSON request body of type `T`.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::NotJson);
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(BODY_LIMIT, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|err| {
            if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(limit)
            } else {
                // Cut off (the body read timeout) or broken mid-way.
                ApiError::BadRequest("the body was not received in full in time".into())
            }
        })?;
        parse(&bytes).map(Body)
    }
}

/// Middleware for routes whose clients send large bodies (band uploads): reads the whole body
/// before anything answers, so a refusal that comes before the body is read (an unknown or
/// revoked upload token: 401) still reaches the client. Without it the server answers and
/// closes the connection while the client is still sending, and a reverse proxy in between
/// turns the refusal into "502 Bad Gateway", which a collector takes for "server unreachable,
/// try again" instead of "pair again". A body over the route's limit is read on and
/// discarded up to [`DRAIN_LIMIT_FACTOR`] times the limit, then refused with 413.
pub async fn read_whole_body(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;

    let limit = request
        .extensions()
        .get::<BodyLimit>()
        .map_or(BODY_LIMIT, |l| l.0);
    let (parts, body) = request.into_parts();
    let mut body = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = futures::StreamExt::next(&mut body).await {
        let Ok(chunk) = chunk else {
            return ApiError::BadRequest("the body could not be read".into()).into_response();
        };
        seen += chunk.len();
        if seen > limit.saturating_mul(DRAIN_LIMIT_FACTOR) {
            break;
        }
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return ApiError::TooLarge(limit).into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(kept)))
        .await
}

/// How far past its limit a large body is still read (and discarded) before the 413, so the
/// refusal reaches the client through a proxy.
pub const DRAIN_LIMIT_FACTOR: usize = 4;

/// The body limit in force for a route, recorded so that errors can state it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Parses JSON, naming the offending field on error. The common, valid case takes serde's
/// plain path; only a body that fails is parsed again with path tracking to name the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(plain) => Err(explain::<T>(bytes, plain)),
    }
}

fn explain<T: DeserializeOwned>(bytes: &[u8], plain: serde_json::Error) -> ApiError {
    // serde_json reports some wrong shapes as syntax (a number where an enum's name belongs:
    // "expected value"): only a body that is not JSON at all is refused without a field.
    let not_json = plain.is_eof()
        || (plain.is_syntax() && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err());
    if not_json {
        return ApiError::BadRequest(format!("the body is not valid JSON: {plain}"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Err(err) = serde_path_to_error::deserialize::<_, T>(&mut de) else {
        // Only trailing characters can fail the plain parse but not this one.
        return ApiError::BadRequest(format!("the body is not valid JSON: {plain}"));
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = if inner.is_syntax() {
        format!("{path} is not of the type or one of the values allowed")
    } else {
        inner.to_string()
    };
    let at_root = path == "." || path == "?";
    // serde reports a missing field at its parent; name the field itself.
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(name) if at_root => name.to_string(),
        Some(name) => format!("{path}.{name}"),
        None if at_root => ".".to_string(),
        None => path,
    };
    ApiError::Invalid {
        field,
        message,
        allowed: None,
    }
}

/// For a field that may be `null` but not left out (`#[serde(deserialize_with =
/// "crate::json::nullable")]`): a body that leaves it out is refused naming it, so that a
/// client which forgets a field does not clear what it holds.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer)
}

/// The parameters in a request's path (`/patients/{id}`), refused as every other error is —
/// `{error, field, allowed}` naming the parameter — when one is not of its type.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        let err = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => return Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => err,
            Err(other) => return Err(ApiError::BadRequest(other.body_text())),
        };
        let (value, expected_type) = match err.kind() {
            ErrorKind::ParseErrorAtKey {
                value,
                expected_type,
                ..
            }
            | ErrorKind::ParseErrorAtIndex {
                value,
                expected_type,
                ..
            }
            | ErrorKind::ParseError {
                value,
                expected_type,
            } => (value.clone(), *expected_type),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "the path is not valid: {other}"
                )));
            }
        };
        // The parameter's name, from the route: the one holding the value that failed.
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await;
        let field = raw
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(_, v)| *v == value)
                    .map(|(k, _)| k.to_string())
            })
            .unwrap_or_else(|| "path".to_string());
        Err(ApiError::Invalid {
            message: format!("{field} = {value:?} in the path is not {expected_type}"),
            field,
            allowed: Some(path_type_words(expected_type).to_string()),
        })
    }
}

/// What a path parameter of a Rust type allows, in words.
fn path_type_words(expected_type: &str) -> &'static str {
    if expected_type.starts_with('i') || expected_type.starts_with('u') {
        "a whole number"
    } else {
        "a value of the right type"
    }
}

/// The query string (`?from=…&to=…`), refused as every other error is — `{error, field,
/// allowed}` naming the parameter — when one is unknown or not of its type.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) => Ok(Query(value)),
            Err(err) => {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = match message
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    Some(name) => name.to_string(),
                    None if path == "." || path == "?" => "query".to_string(),
                    None => path,
                };
                Err(ApiError::Invalid {
                    field: field.clone(),
                    message: format!("query parameter {field}: {message}"),
                    allowed: None,
                })
            }
        }
    }
}
