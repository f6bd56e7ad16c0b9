//! [`AuthError`] (why a request was not authorized) and [`Rejection`], its HTTP form: the status
//! of MCP 2025-11-25 `basic/authorization.mdx` "Error Handling" (401 missing or invalid token,
//! 403 insufficient scope, 400 malformed request), the `WWW-Authenticate: Bearer` challenge of
//! RFC 6750 §3 with the `resource_metadata` parameter of RFC 9728 §5.1 and the `scope` the
//! operation needs (step-up, 2025-11-25 "Scope Challenge Handling"), and a JSON-RPC error body
//! with `id: null` whose `data` repeats the OAuth error code.

use crate::protocol::jsonrpc::{ErrorObject, codes, error_value};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::Value;
use serde_json::json;
use std::sync::Arc;

/// Seconds a client is asked to wait when the authorization server cannot be reached.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Why a request was not authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token (RFC 6750 §3.1: the challenge carries no error code).
    #[error("Unauthorized: this endpoint needs an OAuth bearer token")]
    MissingToken,
    /// A malformed request: a token in the query string, several `Authorization` headers
    /// (RFC 6750 §3.1 `invalid_request`, HTTP 400).
    #[error("Bad Request: {0}")]
    InvalidRequest(&'static str),
    /// The token is malformed, expired, revoked, for another audience or issuer, or badly signed
    /// (RFC 6750 §3.1 `invalid_token`, HTTP 401).
    #[error("Unauthorized: invalid token ({0})")]
    InvalidToken(String),
    /// The token lacks scopes the operation needs: all of them are listed (RFC 6750 §3.1
    /// `insufficient_scope`, HTTP 403).
    #[error("Forbidden: insufficient scope (needs {})", .0.join(" "))]
    InsufficientScope(Vec<String>),
    /// The authorization server could not be asked (down, slow, misbehaving, or refusing this
    /// server's credentials): HTTP 503, never 401, so clients do not discard good tokens.
    #[error("Service Unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    fn oauth_code(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken | AuthError::Unavailable(_) => None,
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::InsufficientScope(_) => Some("insufficient_scope"),
        }
    }

    fn description(&self) -> Option<String> {
        match self {
            AuthError::InvalidRequest(d) => Some((*d).to_owned()),
            AuthError::InvalidToken(d) => Some(d.clone()),
            AuthError::InsufficientScope(s) => Some(format!("requires scope {}", s.join(" "))),
            _ => None,
        }
    }
}

/// An [`AuthError`] with what the challenge needs: the metadata URL and the endpoint's scopes.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// What went wrong.
    pub error: AuthError,
    /// The protected resource metadata URL (RFC 9728 §3).
    pub resource_metadata: Arc<str>,
    /// Scopes to put in a 401 challenge (the endpoint's required scopes).
    pub scope: Arc<str>,
    /// The JSON-RPC id of the request, when known; otherwise the body says `"id": null`, or
    /// has no `id` for 2026-07-28 requests (whose schema forbids `null`).
    pub request_id: Option<Value>,
    /// The request is of the stateless revision (its version header is not a session-era one).
    pub modern: bool,
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match self.error {
            AuthError::MissingToken | AuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if let AuthError::Unavailable(reason) = &self.error {
            tracing::warn!(%reason, "token validation unavailable");
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS)));
        } else if let Ok(value) = HeaderValue::from_str(&self.challenge()) {
            res.insert_header((header::WWW_AUTHENTICATE, value));
        }
        let mut error = ErrorObject::new(codes::SERVER_ERROR, self.error.to_string());
        if let Some(code) = self.error.oauth_code() {
            error.data = Some(json!({
                "error": code,
                "error_description": self.error.description(),
            }));
        }
        let mut body = error_value(None, &error);
        match (&self.request_id, body.as_object_mut()) {
            (Some(id), Some(b)) => {
                b.insert("id".into(), id.clone());
            }
            (None, Some(b)) if self.modern => {
                b.remove("id");
            }
            _ => {}
        }
        res.json(body)
    }
}

impl Rejection {
    /// The same rejection, answering the JSON-RPC request `id` of a request of the given era.
    pub fn for_request(mut self, id: Option<Value>, modern: bool) -> Self {
        self.request_id = id;
        self.modern = modern;
        self
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3, RFC 9728 §5.1).
    pub fn challenge(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(code) = self.error.oauth_code() {
            params.push(("error", code.to_owned()));
        }
        if let Some(d) = self.error.description() {
            params.push(("error_description", d));
        }
        if !matches!(self.error, AuthError::InvalidRequest(_)) {
            params.push(("resource_metadata", self.resource_metadata.to_string()));
        }
        let scope = match &self.error {
            AuthError::InsufficientScope(s) => s.join(" "),
            AuthError::InvalidRequest(_) => String::new(),
            _ => self.scope.to_string(),
        };
        if !scope.is_empty() {
            params.push(("scope", scope));
        }
        let rendered: Vec<String> = params
            .into_iter()
            .map(|(k, v)| format!("{k}=\"{}\"", quoted_safe(&v)))
            .collect();
        if rendered.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", rendered.join(", "))
        }
    }
}

/// Keeps a parameter value within the characters RFC 6750 §3 allows in `error_description` and
/// `scope` (`%x20-21 / %x23-5B / %x5D-7E`): quotes, backslashes and non-ASCII become `?`.
fn quoted_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(error: AuthError) -> Rejection {
        Rejection {
            error,
            resource_metadata: Arc::from(
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp",
            ),
            scope: Arc::from("mcp:tools"),
            request_id: None,
            modern: false,
        }
    }

    async fn body_of(r: Rejection) -> serde_json::Value {
        let res = r.error_response();
        let bytes = actix_web::body::to_bytes(res.into_body())
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[actix_web::test]
    async fn the_body_names_the_request_id_as_the_era_allows() {
        let legacy = body_of(reject(AuthError::MissingToken)).await;
        assert!(legacy["id"].is_null() && legacy.get("id").is_some());
        let modern = body_of(reject(AuthError::MissingToken).for_request(None, true)).await;
        assert!(modern.get("id").is_none(), "{modern}");
        let known = reject(AuthError::InsufficientScope(vec!["a".into()]));
        let known = body_of(known.for_request(Some(serde_json::json!(7)), true)).await;
        assert_eq!(known["id"], 7);
    }

    #[test]
    fn challenges() {
        assert_eq!(
            reject(AuthError::MissingToken).challenge(),
            "Bearer resource_metadata=\"http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""
        );
        let c = reject(AuthError::InvalidToken("bad \"sig\" é".into())).challenge();
        assert!(c.starts_with("Bearer error=\"invalid_token\", error_description=\"bad ?sig? ?\""));
        let c = reject(AuthError::InsufficientScope(vec![
            "mcp:tools".into(),
            "x".into(),
        ]))
        .challenge();
        assert!(c.contains("error=\"insufficient_scope\""), "{c}");
        assert!(c.ends_with("scope=\"mcp:tools x\""), "{c}");
        let c = reject(AuthError::InvalidRequest("token in query")).challenge();
        assert_eq!(
            c,
            "Bearer error=\"invalid_request\", error_description=\"token in query\""
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(reject(AuthError::MissingToken).status_code(), 401);
        assert_eq!(
            reject(AuthError::InvalidToken(String::new())).status_code(),
            401
        );
        assert_eq!(
            reject(AuthError::InsufficientScope(vec![])).status_code(),
            403
        );
        assert_eq!(reject(AuthError::InvalidRequest("x")).status_code(), 400);
        assert_eq!(
            reject(AuthError::Unavailable("x".into())).status_code(),
            503
        );
    }
}
