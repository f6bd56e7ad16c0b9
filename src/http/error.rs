//! [`HttpError`]: every way an HTTP request to the MCP endpoint can fail, with its status code
//! and a JSON-RPC error body without a request id (`"id": null`), which MCP allows on 4xx
//! responses (2025-11-25 `basic/transports.mdx`) and clients read to decide what to do.

use crate::protocol::jsonrpc::{ErrorObject, codes, error_value};
use crate::session::SessionError;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

/// Seconds clients are asked to wait when the store is unavailable.
pub const RETRY_AFTER_SECS: u64 = 2;

/// A failed request to the MCP endpoint.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 400 with the given JSON-RPC error (-32700 parse, -32600 invalid request, -32000 other).
    #[error("{}", .0.message)]
    BadRequest(ErrorObject),
    /// 404: unknown, expired, deleted or foreign session.
    #[error("Session not found")]
    SessionNotFound,
    /// 403: the `Origin` header is present and not allowed.
    #[error("Forbidden: origin {0:?} is not allowed")]
    ForbiddenOrigin(String),
    /// 406: the `Accept` header does not list what the transport requires.
    #[error("Not Acceptable: {0}")]
    NotAcceptable(&'static str),
    /// 415: the body is not `application/json`.
    #[error("Unsupported Media Type: {0}")]
    UnsupportedMediaType(&'static str),
    /// 413: the body exceeds the configured limit.
    #[error("Payload Too Large: the request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// 503 with `Retry-After`: a dependency (the store) is unavailable, or the server is full.
    #[error("Service Unavailable: {0}")]
    Unavailable(String),
    /// 401/403/400/503 from the auth layer, with its `WWW-Authenticate` challenge.
    #[error(transparent)]
    Auth(#[from] crate::auth::Rejection),
    /// 500: a bug or an unexpected failure (details are logged, not sent).
    #[error("Internal Server Error")]
    Internal(String),
}

impl HttpError {
    /// 400 with -32000 and a message (missing headers and similar transport errors).
    pub fn bad_request(message: impl Into<String>) -> Self {
        HttpError::BadRequest(ErrorObject::new(codes::SERVER_ERROR, message))
    }

    fn error_object(&self) -> ErrorObject {
        match self {
            HttpError::BadRequest(e) => e.clone(),
            HttpError::SessionNotFound => {
                ErrorObject::new(codes::SESSION_NOT_FOUND, "Session not found")
            }
            HttpError::Internal(_) => ErrorObject::new(codes::INTERNAL_ERROR, "Internal error"),
            other => ErrorObject::new(codes::SERVER_ERROR, other.to_string()),
        }
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::SessionNotFound => StatusCode::NOT_FOUND,
            HttpError::ForbiddenOrigin(_) => StatusCode::FORBIDDEN,
            HttpError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            HttpError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Auth(r) => r.status_code(),
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let HttpError::Auth(r) = self {
            return r.error_response();
        }
        if let HttpError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, HttpError::Unavailable(_)) {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS)));
        }
        res.json(error_value(None, &self.error_object()))
    }
}

impl From<SessionError> for HttpError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotFound => HttpError::SessionNotFound,
            SessionError::Gone => {
                HttpError::Internal("session actor stopped twice in a row".into())
            }
            SessionError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HttpError::SessionNotFound,
            StoreError::Unavailable(_) => {
                HttpError::Unavailable("the session store is unavailable".into())
            }
            StoreError::Full(limit) => HttpError::Unavailable(format!(
                "the server has reached its limit of {limit} live sessions; retry later"
            )),
            other => HttpError::Internal(other.to_string()),
        }
    }
}
