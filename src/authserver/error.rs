//! [`OAuthError`]: the error responses of the token, registration, introspection and revocation
//! endpoints: a JSON body `{"error": ..., "error_description": ...}` with the RFC's code and
//! status (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1, RFC 8707 §2), `Cache-Control:
//! no-store`. `invalid_client` after HTTP Basic gets 401 with a `WWW-Authenticate: Basic`
//! challenge. Authorization endpoint errors travel on the redirect instead (see
//! [`super::authorize`]).

use super::kv::KvError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An OAuth error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_request` (400).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `invalid_client` (401): unknown client, bad secret, wrong authentication method.
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// `invalid_grant` (400): bad, expired, used or foreign code; bad PKCE verifier; bad refresh token.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// `unauthorized_client` (400): the client may not use this grant type.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// `unsupported_grant_type` (400).
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// `invalid_scope` (400).
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// `invalid_target` (400, RFC 8707): a resource the server will not issue tokens for.
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// `invalid_redirect_uri` (400, RFC 7591).
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata` (400, RFC 7591).
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
    /// `unsupported_token_type` (400, RFC 7009).
    #[error("unsupported_token_type: {0}")]
    UnsupportedTokenType(String),
    /// `temporarily_unavailable` (503): the store is down.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
}

impl OAuthError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::UnsupportedTokenType(_) => "unsupported_token_type",
            OAuthError::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::InvalidRedirectUri(d)
            | OAuthError::InvalidClientMetadata(d)
            | OAuthError::UnsupportedTokenType(d)
            | OAuthError::Unavailable(d) => d,
        }
    }
}

impl From<KvError> for OAuthError {
    fn from(e: KvError) -> Self {
        tracing::error!(error = %e, "authorization server store error");
        OAuthError::Unavailable("the authorization server's store is unavailable".into())
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            OAuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if matches!(self, OAuthError::InvalidClient(_)) {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"mcp-hive-auth\""),
            ));
        }
        if matches!(self, OAuthError::Unavailable(_)) {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("2")));
        }
        res.json(json!({"error": self.code(), "error_description": self.description()}))
    }
}
