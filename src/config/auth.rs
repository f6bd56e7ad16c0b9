//! `[auth]`: the OAuth 2.1 resource-server settings (MCP 2025-06-18 / 2025-11-25
//! `basic/authorization.mdx`), their seed environment names (`DISABLE_AUTH`, `AUTH_TOKEN_MODE`,
//! `OAUTH_SERVER_URL`, `OAUTH_INTROSPECT_URL`, `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET`,
//! `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_JWKS_URL`, `MCP_SCOPE`, plus `MCP_TOOL_SCOPES`) and their
//! validation. The auth layer (`crate::auth`) turns these into verifiers; nothing here fetches.

use super::env::named;
use super::{ConfigError, invalid};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How bearer tokens are validated (`AUTH_TOKEN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    /// RFC 7662 token introspection at the authorization server (opaque or any tokens).
    Introspection,
    /// Local validation of JWT access tokens (RFC 9068) against the issuer's JWKS.
    Jwt,
}

/// How the server authenticates to the introspection endpoint (RFC 7662 §2.1, RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// `client_secret_basic` when a client secret is configured, `none` otherwise.
    Auto,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` form parameters.
    ClientSecretPost,
    /// No client authentication (only for authorization servers that allow it).
    None,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Switch authentication off (`DISABLE_AUTH=true`); never on by accident.
    pub disabled: bool,
    /// Token validation mode.
    pub mode: TokenMode,
    /// The authorization server (`OAUTH_SERVER_URL`), listed in the protected resource metadata.
    pub server_url: String,
    /// Scope every request needs (`MCP_SCOPE`); empty = none.
    pub required_scope: String,
    /// `scopes_supported` of the protected resource metadata; empty = `[required_scope]`.
    pub scopes_supported: Vec<String>,
    /// `resource_name` of the protected resource metadata.
    pub resource_name: String,
    /// Accepted token audiences (`JWT_AUDIENCE`, comma-separated); empty = the canonical
    /// resource URI (`PUBLIC_URL` + MCP path).
    pub audiences: Vec<String>,
    /// Reject introspection responses without `aud` (JWTs always need one).
    pub require_audience: bool,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
    /// Time limit of one call to the authorization server (introspection, JWKS, metadata).
    pub http_timeout_ms: u64,
    /// Longest time a validated token is trusted without asking again (also bounded by `exp`).
    pub cache_max_secs: u64,
    /// How long a rejected token stays rejected without asking again.
    pub negative_cache_secs: u64,
    /// Tokens remembered per replica.
    pub cache_max_entries: u64,
    /// Longest accepted bearer token.
    pub max_token_bytes: usize,
    /// How long the authorization server's metadata is cached for the
    /// `/.well-known/oauth-authorization-server` pass-through.
    pub metadata_cache_secs: u64,
    /// `OAUTH_METADATA_URL`: where the authorization server metadata pass-through is fetched
    /// from when `server_url` (what clients use) is not reachable from this server; empty =
    /// discovered from `server_url`.
    #[serde(default)]
    pub metadata_url: String,
    /// `/readyz` also requires the JWKS or introspection endpoint to answer.
    #[serde(default = "yes")]
    pub ready_requires_server: bool,
    /// Extra scopes per tool, checked at `tools/call` (`MCP_TOOL_SCOPES`).
    pub tool_scopes: BTreeMap<String, Vec<String>>,
    /// Introspection mode.
    pub introspection: IntrospectionSettings,
    /// JWT mode.
    pub jwt: JwtSettings,
}

/// `[auth.introspection]`.
#[derive(Debug, Clone, Deserialize)]
pub struct IntrospectionSettings {
    /// `OAUTH_INTROSPECT_URL`; empty = `OAUTH_SERVER_URL` + `/introspect`.
    pub url: String,
    /// `OAUTH_CLIENT_ID`.
    pub client_id: String,
    /// `OAUTH_CLIENT_SECRET`.
    pub client_secret: String,
    /// Client authentication method.
    pub client_auth: ClientAuthMethod,
}

/// `[auth.jwt]`.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    /// `JWT_ISSUER`; empty = `OAUTH_SERVER_URL`.
    pub issuer: String,
    /// `JWT_JWKS_URL`; empty = `jwks_uri` of the issuer's metadata, else
    /// `<issuer>/.well-known/jwks.json`.
    pub jwks_url: String,
    /// Accepted signature algorithms (asymmetric only).
    pub algorithms: Vec<String>,
    /// The key set is refetched when older than this.
    pub jwks_max_age_secs: u64,
    /// Minimum interval between refetches caused by unknown key ids.
    pub jwks_min_refetch_secs: u64,
}

/// The environment variable holding per-tool scopes: `tool=scope scope;tool2=scope`.
pub(super) const TOOL_SCOPES_ENV: &str = "MCP_TOOL_SCOPES";

/// Algorithms a JWT may be signed with unless configured otherwise.
pub const DEFAULT_JWT_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Parses `MCP_TOOL_SCOPES`: `tool=scope1 scope2;other=scope3`.
pub(super) fn parse_tool_scopes(raw: &str) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let setting = format!("{TOOL_SCOPES_ENV} (auth.tool_scopes)");
    let mut map = BTreeMap::new();
    for entry in raw.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((tool, scopes)) = entry.split_once('=') else {
            return Err(invalid(
                &setting,
                format!("{entry:?} is not tool=scope [scope...]"),
            ));
        };
        let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
        if tool.trim().is_empty() || scopes.is_empty() {
            return Err(invalid(
                &setting,
                format!("{entry:?} needs a tool name and at least one scope"),
            ));
        }
        map.insert(tool.trim().to_owned(), scopes);
    }
    Ok(map)
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fn is_http_url(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() > "https://".len()
        && !u.contains(['#', ' '])
}

impl AuthSettings {
    /// Checks the settings of the active mode (nothing is checked when auth is disabled).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.disabled {
            return Ok(());
        }
        if !is_http_url(&self.server_url) || self.server_url.contains('?') {
            return Err(invalid(
                &named("auth.server_url"),
                format!(
                    "{:?} must be the authorization server's http(s) URL (its issuer)",
                    self.server_url
                ),
            ));
        }
        let scope = &self.required_scope;
        if !scope.is_empty() && !is_scope_token(scope) {
            return Err(invalid(
                &named("auth.required_scope"),
                format!("{scope:?} is not one OAuth scope token (no spaces or quotes)"),
            ));
        }
        for s in &self.scopes_supported {
            if !is_scope_token(s) {
                return Err(invalid(
                    &named("auth.scopes_supported"),
                    format!("{s:?} is not an OAuth scope token"),
                ));
            }
        }
        for (tool, scopes) in &self.tool_scopes {
            if let Some(bad) = scopes.iter().find(|s| !is_scope_token(s)) {
                return Err(invalid(
                    &format!("auth.tool_scopes.{tool} ({TOOL_SCOPES_ENV})"),
                    format!("{bad:?} is not an OAuth scope token"),
                ));
            }
        }
        if self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(invalid(
                &named("auth.audiences"),
                "audiences must not be empty strings",
            ));
        }
        for (key, value) in [
            ("auth.http_timeout_ms", self.http_timeout_ms),
            ("auth.cache_max_entries", self.cache_max_entries),
            ("auth.max_token_bytes", self.max_token_bytes as u64),
        ] {
            if value == 0 {
                return Err(invalid(&named(key), "must be greater than 0"));
            }
        }
        match self.mode {
            TokenMode::Introspection => self.validate_introspection(),
            TokenMode::Jwt => self.validate_jwt(),
        }
    }

    fn validate_introspection(&self) -> Result<(), ConfigError> {
        let i = &self.introspection;
        if !i.url.is_empty() && !is_http_url(&i.url) {
            return Err(invalid(
                &named("auth.introspection.url"),
                format!("{:?} must be an http(s) URL", i.url),
            ));
        }
        let needs_secret = matches!(
            i.client_auth,
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
        );
        if needs_secret && (i.client_id.is_empty() || i.client_secret.is_empty()) {
            return Err(invalid(
                &named("auth.introspection.client_auth"),
                "client_secret_basic and client_secret_post need OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET",
            ));
        }
        if i.client_auth == ClientAuthMethod::Auto
            && !i.client_secret.is_empty()
            && i.client_id.is_empty()
        {
            return Err(invalid(
                &named("auth.introspection.client_id"),
                "OAUTH_CLIENT_SECRET is set but OAUTH_CLIENT_ID is empty",
            ));
        }
        Ok(())
    }

    fn validate_jwt(&self) -> Result<(), ConfigError> {
        let j = &self.jwt;
        if !j.issuer.is_empty() && !is_http_url(&j.issuer) {
            return Err(invalid(
                &named("auth.jwt.issuer"),
                format!("{:?} must be an http(s) URL", j.issuer),
            ));
        }
        if !j.jwks_url.is_empty() && !is_http_url(&j.jwks_url) {
            return Err(invalid(
                &named("auth.jwt.jwks_url"),
                format!("{:?} must be an http(s) URL", j.jwks_url),
            ));
        }
        if j.algorithms.is_empty() {
            return Err(invalid(
                &named("auth.jwt.algorithms"),
                "at least one algorithm is needed",
            ));
        }
        for alg in &j.algorithms {
            if !DEFAULT_JWT_ALGORITHMS.contains(&alg.as_str()) {
                return Err(invalid(
                    &named("auth.jwt.algorithms"),
                    format!(
                        "{alg:?} is not allowed: only asymmetric algorithms ({}) verify tokens; \
                         `none` and HMAC (HS*) never do",
                        DEFAULT_JWT_ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        if j.jwks_max_age_secs == 0 {
            return Err(invalid(
                &named("auth.jwt.jwks_max_age_secs"),
                "must be greater than 0",
            ));
        }
        Ok(())
    }

    /// The expected token issuer: `JWT_ISSUER`, or the authorization server URL.
    pub fn issuer(&self) -> &str {
        if self.jwt.issuer.is_empty() {
            &self.server_url
        } else {
            &self.jwt.issuer
        }
    }

    /// The introspection endpoint: `OAUTH_INTROSPECT_URL`, or `OAUTH_SERVER_URL/introspect`.
    pub fn introspection_url(&self) -> String {
        if self.introspection.url.is_empty() {
            format!("{}/introspect", self.server_url.trim_end_matches('/'))
        } else {
            self.introspection.url.clone()
        }
    }

    /// `scopes_supported` for the protected resource metadata.
    pub fn advertised_scopes(&self) -> Vec<String> {
        if !self.scopes_supported.is_empty() {
            self.scopes_supported.clone()
        } else if self.required_scope.is_empty() {
            Vec::new()
        } else {
            vec![self.required_scope.clone()]
        }
    }
}

/// Serde default of settings that are on unless switched off.
fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_scopes_parse() {
        let m = parse_tool_scopes("greet=mcp:greet; count = mcp:count mcp:tools ;").unwrap();
        assert_eq!(m["greet"], vec!["mcp:greet"]);
        assert_eq!(m["count"], vec!["mcp:count", "mcp:tools"]);
        assert!(parse_tool_scopes("greet").is_err());
        assert!(parse_tool_scopes("greet=").is_err());
    }

    #[test]
    fn scope_tokens() {
        assert!(is_scope_token("mcp:tools"));
        assert!(!is_scope_token("a b"));
        assert!(!is_scope_token("a\"b"));
        assert!(!is_scope_token(""));
    }
}
