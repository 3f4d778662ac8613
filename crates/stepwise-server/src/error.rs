//! One error type for the HTTP layer. Every error is a JSON body `{error, field, allowed}`;
//! internal failures are logged and answered with a generic text, never echoed.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stepwise_engine::InvalidField;
use stepwise_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field is missing, malformed or out of range.
    #[error("{message}")]
    Invalid {
        /// Path of the offending field, e.g. `pain_before` or `steps[3].minute`.
        field: String,
        /// What is wrong.
        message: String,
        /// What the field accepts.
        allowed: Option<String>,
    },
    /// The body is not JSON, or not the JSON this endpoint takes.
    #[error("{0}")]
    BadRequest(String),
    /// No valid login or token.
    #[error("log in first")]
    Unauthorized,
    /// A band's upload token that was valid once: revoked or expired (the reason says which
    /// and what to do).
    #[error("{0}")]
    TokenRefused(String),
    /// Logged in, but this is not yours to see or change.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Nothing here (or nothing you may know of).
    #[error("not found")]
    NotFound,
    /// No endpoint has this method and path.
    #[error("no such endpoint: the API is described at /api/docs")]
    NoRoute,
    /// Conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A code or token that was used or has expired.
    #[error("{0}")]
    Gone(&'static str),
    /// The body is larger than this endpoint accepts.
    #[error("the request body is larger than this endpoint accepts ({0} bytes at most)")]
    TooLarge(usize),
    /// The body is not declared as JSON.
    #[error("send the body as JSON with Content-Type: application/json")]
    NotJson,
    /// This server is not set up for what was asked (e.g. e-mail without `--smtp-url`).
    #[error("{0}")]
    Unavailable(&'static str),
    /// Too many attempts; try again after the given seconds.
    #[error("too many attempts; try again in {0} s")]
    TooManyRequests(u64),
    /// Something failed inside; the detail goes to the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A field error with its allowed values.
    pub fn invalid(
        field: impl Into<String>,
        message: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
            allowed: Some(allowed.into()),
        }
    }

    /// The HTTP status for this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// What went wrong, in words a person can act on.
    pub error: String,
    /// The request field at fault, e.g. `pain_before` or `steps[3].minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    /// What the field accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let (field, allowed) = match &self {
            ApiError::Invalid { field, allowed, .. } => (Some(field.as_str()), allowed.as_deref()),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: self.to_string(),
            field,
            allowed,
        };
        let mut response = (self.status_code(), Json(body)).into_response();
        if let ApiError::TooManyRequests(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Gone => ApiError::Gone("this code was already used or has expired"),
            err @ StoreError::Other { .. } => ApiError::Internal(err.to_string()),
            // Cannot happen once the store is open (it is refused at start); logged if it does.
            err @ StoreError::NewerDatabase { .. } => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<InvalidField> for ApiError {
    fn from(err: InvalidField) -> Self {
        ApiError::Invalid {
            message: err.to_string(),
            allowed: Some(err.allowed_text()),
            field: err.field,
        }
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

/// The error answers an operation documents, in groups (`responses(...)` of a handler's
/// `#[utoipa::path]`): each is an [`ErrorBody`] with the status of an [`ApiError`].
pub mod answers {
    use std::collections::BTreeMap;

    use utoipa::IntoResponses;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::response::Response;

    use super::ErrorBody;

    /// A request made with a login about something the caller may not see, with parameters
    /// or a body to check: [`LoggedIn`], [`Missing`] and [`Invalid`] together.
    pub struct Common;

    impl IntoResponses for Common {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            let mut all = LoggedIn::responses();
            all.extend(Missing::responses());
            all.extend(Invalid::responses());
            all
        }
    }

    /// A request made with a login.
    #[derive(utoipa::IntoResponses)]
    pub enum LoggedIn {
        /// Not logged in, or the login has expired
        #[response(status = 401)]
        Unauthorized(ErrorBody<'static>),
        /// Not allowed for this user, or a write without the CSRF token
        #[response(status = 403)]
        Forbidden(ErrorBody<'static>),
    }

    /// A request naming something that may not exist or not be the caller's.
    #[derive(utoipa::IntoResponses)]
    pub enum Missing {
        /// Not found, or not the caller's to see
        #[response(status = 404)]
        NotFound(ErrorBody<'static>),
    }

    /// A request with fields, parameters or a body to check.
    #[derive(utoipa::IntoResponses)]
    pub enum Invalid {
        /// The request is malformed
        #[response(status = 400)]
        BadRequest(ErrorBody<'static>),
        /// A field is missing, malformed or out of range (the error names it)
        #[response(status = 422)]
        Unprocessable(ErrorBody<'static>),
    }

    /// A request with a JSON body.
    #[derive(utoipa::IntoResponses)]
    pub enum Body {
        /// The body is larger than this endpoint accepts
        #[response(status = 413)]
        TooLarge(ErrorBody<'static>),
        /// The body is not sent as application/json
        #[response(status = 415)]
        NotJson(ErrorBody<'static>),
    }
}
