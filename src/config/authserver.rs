//! `[authserver]`: the demo OAuth 2.1 authorization server of `mcp-hive auth` and
//! `mcp-hive dev`, with the seed names `AUTH_HOST`, `AUTH_PORT`, `ISSUER_URL`,
//! `AUTH_TOKEN_FORMAT`, `ACCESS_TOKEN_TTL_SECS`, `AUTH_AUTO_APPROVE`, `AUTH_USERS` (and the shared
//! `REDIS_URL`). Nothing here is read by the MCP request path.

use super::env::named;
use super::{ConfigError, invalid};
use serde::Deserialize;

/// Access token format (`AUTH_TOKEN_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    /// Random reference tokens, checked by introspection.
    Opaque,
    /// Signed JWT access tokens (RFC 9068, `typ: at+jwt`).
    Jwt,
}

/// A demo user who can log in at `/authorize`.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoUser {
    /// Login name (also the token subject).
    pub username: String,
    /// Password (demo only: compared in constant time, never logged).
    pub password: String,
}

/// A client registered by configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct StaticClient {
    /// `client_id`.
    pub client_id: String,
    /// Secret; empty = public client (`token_endpoint_auth_method = none`).
    #[serde(default)]
    pub client_secret: String,
    /// Allowed redirect URIs (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    #[serde(default = "default_grants")]
    pub grant_types: Vec<String>,
    /// Allowed scopes (space-separated); empty = the server's scopes.
    #[serde(default)]
    pub scope: String,
    /// Human-readable name shown on the consent page.
    #[serde(default)]
    pub client_name: String,
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".into(), "refresh_token".into()]
}

/// `[authserver]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthServerSettings {
    /// Bind address (`AUTH_HOST`).
    pub host: String,
    /// Bind port (`AUTH_PORT`).
    pub port: u16,
    /// The issuer identifier and public base URL (`ISSUER_URL`); empty = `http://localhost:<port>`.
    pub issuer_url: String,
    /// Access token format (`AUTH_TOKEN_FORMAT`).
    pub token_format: TokenFormat,
    /// Access token lifetime (`ACCESS_TOKEN_TTL_SECS`).
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Authorization code lifetime.
    pub code_ttl_secs: u64,
    /// Scopes the server knows (`scopes_supported`).
    pub scopes_supported: Vec<String>,
    /// Scope granted when a request names none.
    pub default_scope: String,
    /// Skip the login and consent page: codes are issued at once for the first demo user
    /// (`AUTH_AUTO_APPROVE`; headless tests and the curl walkthrough only).
    pub auto_approve: bool,
    /// Accept unauthenticated introspection requests (the seed's quick token check); off by
    /// default, on in `mcp-hive dev`.
    pub public_introspection: bool,
    /// Demo users (`AUTH_USERS="alice:secret,bob:secret"`).
    pub users: Vec<DemoUser>,
    /// Clients registered by configuration.
    pub clients: Vec<StaticClient>,
    /// Allow dynamic client registration (RFC 7591).
    pub registration_enabled: bool,
    /// Largest registration request body.
    pub max_registration_bytes: usize,
    /// Accept Client ID Metadata Documents (an https URL as `client_id`).
    pub client_metadata_documents: bool,
    /// Let client metadata URLs resolve to loopback/private addresses (local tests only).
    pub cimd_allow_private: bool,
    /// Time limit and cache lifetime of client metadata document fetches.
    pub cimd_timeout_ms: u64,
    /// How long a fetched client metadata document is reused.
    pub cimd_cache_secs: u64,
    /// PEM file of the signing key (RSA or P-256, PKCS#8); empty = a P-256 key generated at
    /// start (shared through Redis when `REDIS_URL` is set).
    pub signing_key_file: String,
    /// Redis key prefix of the authorization server's state.
    pub key_prefix: String,
}

impl AuthServerSettings {
    /// The issuer: `ISSUER_URL`, or `http://localhost:<port>`.
    pub fn issuer(&self, bound_port: u16) -> String {
        if self.issuer_url.is_empty() {
            format!("http://localhost:{bound_port}")
        } else {
            self.issuer_url.trim_end_matches('/').to_owned()
        }
    }

    /// Range and format checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let u = &self.issuer_url;
        if !u.is_empty()
            && (!(u.starts_with("http://") || u.starts_with("https://")) || u.contains(['?', '#']))
        {
            return Err(invalid(
                &named("authserver.issuer_url"),
                format!("{u:?} must be an http(s) URL without query or fragment"),
            ));
        }
        for (key, value) in [
            (
                "authserver.access_token_ttl_secs",
                self.access_token_ttl_secs,
            ),
            (
                "authserver.refresh_token_ttl_secs",
                self.refresh_token_ttl_secs,
            ),
            ("authserver.code_ttl_secs", self.code_ttl_secs),
            ("authserver.cimd_timeout_ms", self.cimd_timeout_ms),
        ] {
            if value == 0 {
                return Err(invalid(&named(key), "must be greater than 0"));
            }
        }
        if self
            .users
            .iter()
            .any(|u| u.username.is_empty() || u.password.is_empty())
        {
            return Err(invalid(
                &named("authserver.users"),
                "every demo user needs a username and a password",
            ));
        }
        if self.auto_approve && self.users.is_empty() {
            return Err(invalid(
                &named("authserver.auto_approve"),
                "auto-approve issues codes for the first demo user; configure one (AUTH_USERS)",
            ));
        }
        if let Some(s) = self
            .scopes_supported
            .iter()
            .find(|s| !super::is_scope_token(s))
        {
            return Err(invalid(
                &named("authserver.scopes_supported"),
                format!("{s:?} is not an OAuth scope token"),
            ));
        }
        Ok(())
    }
}

/// Parses `AUTH_USERS`: `name:password,name2:password2`.
pub(super) fn parse_users(raw: &str) -> Result<Vec<DemoUser>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok(DemoUser {
                username: u.to_owned(),
                password: p.to_owned(),
            }),
            _ => Err(invalid(
                "AUTH_USERS (authserver.users)",
                "entries must be username:password, comma-separated",
            )),
        })
        .collect()
}
