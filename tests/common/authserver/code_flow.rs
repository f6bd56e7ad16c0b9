//! The pieces of the authorization-code flow: a PKCE S256 pair, the authorization request and
//! its query, the `302` the authorization endpoint answers with, and loopback callback URIs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};

/// A PKCE S256 pair (RFC 7636): a fresh 64-character verifier and its challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// An authorization request of the code flow.
#[derive(Debug, Clone)]
pub struct AuthRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    pub state: &'a str,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    /// A request with `state=xyz`, no scope, and `resource` if given.
    pub fn new(
        client_id: &'a str,
        redirect_uri: &'a str,
        pkce: &'a Pkce,
        resource: Option<&'a str>,
    ) -> Self {
        Self {
            client_id,
            redirect_uri,
            challenge: &pkce.challenge,
            state: "xyz",
            scope: None,
            resource,
        }
    }

    /// The query parameters.
    pub fn query(&self) -> Vec<(&'a str, &'a str)> {
        let mut q = vec![
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("state", self.state),
            ("code_challenge", self.challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = self.scope {
            q.push(("scope", s));
        }
        if let Some(r) = self.resource {
            q.push(("resource", r));
        }
        q
    }

    /// The query with `changes` applied: each key replaced, or removed when the value is "".
    pub fn query_with(&self, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut q = self.query();
        for (k, v) in changes {
            q.retain(|(qk, _)| qk != k);
            if !v.is_empty() {
                q.push((k, v));
            }
        }
        q
    }
}

/// A `302` from the authorization endpoint: the target without its query, and the query.
#[derive(Debug)]
pub struct Redirect {
    pub base: String,
    pub params: Vec<(String, String)>,
}

impl Redirect {
    /// `Some` for a 302 with a `Location`.
    pub fn of(res: &Response) -> Option<Self> {
        if res.status() != StatusCode::FOUND {
            return None;
        }
        let loc = res.headers().get("location")?.to_str().ok()?;
        let (base, query) = loc.split_once('?').unwrap_or((loc, ""));
        Some(Self {
            base: base.to_owned(),
            params: serde_urlencoded::from_str(query).expect("redirect query"),
        })
    }

    /// A query parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback redirect URI nobody listens on (the tests read `Location` instead).
pub fn callback(tag: &str) -> String {
    format!("http://127.0.0.1:9/{tag}/callback")
}
