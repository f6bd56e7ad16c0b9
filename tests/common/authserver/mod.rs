//! Black-box helpers for the demo authorization server: start the real binary as
//! `mcp-hive auth` (or `mcp-hive dev`) on `127.0.0.1:0` with a cleared environment, an optional
//! TOML config file and extra variables; then talk OAuth to it over HTTP with a client that never
//! follows redirects: dynamic registration, `/authorize` with PKCE S256, `/token`,
//! `/introspect`, `/revoke`, and a few JWT and redirect-parsing utilities.
//!
//! - [`process`]: [`AuthProcess`] (start, requests), [`http`], [`DEMO_USER`] and
//!   [`config_with_clients`].
//! - [`code_flow`]: [`Pkce`], [`AuthRequest`], [`Redirect`] and [`callback`].
//! - [`issued_tokens`]: [`jwt_parts`] and [`verify_with_jwks`].
//!
//! [`Reply`], the answer every request returns, stays here: [`process`] builds it with its
//! private constructor.

mod code_flow;
mod issued_tokens;
mod process;

pub use code_flow::{AuthRequest, Pkce, Redirect, callback};
pub use issued_tokens::{jwt_parts, verify_with_jwks};
pub use process::{AuthProcess, DEMO_USER, config_with_clients, http};

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// An HTTP answer: status, headers and the body as JSON (`Null` if it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn of(res: Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` code of an OAuth error response.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// Asserts an OAuth error response (`status`, `error`, `no-store`) that issues nothing.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, error: &str, ctx: &str) {
        assert_eq!(self.status, status, "{ctx}: {}", self.body);
        assert_eq!(self.error(), Some(error), "{ctx}: {}", self.body);
        assert!(
            self.body["error_description"].is_string(),
            "{ctx}: {}",
            self.body
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{ctx}");
        assert_nothing_issued(&self.body, ctx);
    }

    /// A successful token response's access token (asserts 200, Bearer, `no-store`).
    #[track_caller]
    pub fn access_token(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "token: {}", self.body);
        assert_eq!(self.body["token_type"], "Bearer", "{}", self.body);
        assert_eq!(self.header("cache-control"), Some("no-store"));
        self.body["access_token"].as_str().expect("access_token")
    }

    /// The refresh token of a successful token response.
    #[track_caller]
    pub fn refresh_token(&self) -> &str {
        self.body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.body))
    }
}

/// Asserts that a response body carries no credential.
#[track_caller]
pub fn assert_nothing_issued(body: &Value, ctx: &str) {
    for key in [
        "access_token",
        "refresh_token",
        "code",
        "id_token",
        "client_id",
    ] {
        assert!(body.get(key).is_none(), "{ctx}: {key} issued in {body}");
    }
}
