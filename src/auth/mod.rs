//! The OAuth 2.1 resource server (MCP 2025-06-18 / 2025-11-25 `basic/authorization.mdx`): the
//! only part of mcp-hive that sees bearer tokens. It turns a request's `Authorization: Bearer`
//! header into a [`Caller`] (the [`Principal`](crate::principal::Principal) and the token's
//! expiry) or a [`Rejection`] (401/403/400/503 with a `WWW-Authenticate` challenge); tokens are
//! never logged, stored or forwarded.
//!
//! - [`bearer`]: where the token may be (header only) and its syntax;
//! - [`introspection`] (RFC 7662) and [`jwt`] (RFC 9068 with [`jwks`] and [`discovery`]): the two
//!   [`Verify`] implementations, chosen by `AUTH_TOKEN_MODE`;
//! - [`cache`]: cached, single-flight verification in front of either;
//! - [`claims`]: audience, scope and principal from claims; [`scope`]: endpoint and tool scopes;
//! - [`challenge`]: errors and their HTTP form; [`metadata`]: RFC 9728 and RFC 8414 documents;
//! - [`extract`]: the actix extractor handlers take; [`readiness`]: whether the authorization
//!   server endpoint token checks depend on answers (`/readyz`).

pub mod bearer;
pub mod cache;
pub mod challenge;
pub mod claims;
pub mod discovery;
pub mod extract;
pub mod fetch;
pub mod introspection;
pub mod jwks;
pub mod jwt;
pub mod metadata;
pub mod observe;
pub mod readiness;
pub mod scope;

pub use challenge::{AuthError, Rejection};
pub use extract::Caller;

use crate::config::{AuthSettings, TokenMode};
use actix_web::HttpRequest;
use claims::Audiences;
use jsonwebtoken::Algorithm;
use jwks::{KeySet, KeySource};
use serde_json::Value;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Why a verifier did not accept a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// The token is not valid for this resource (401 `invalid_token`), with a short reason that
    /// is safe to show the client.
    Invalid(String),
    /// The token could not be checked (503).
    Unavailable(String),
}

/// A token check: introspection or JWT validation.
#[async_trait::async_trait]
pub trait Verify: Send + Sync {
    /// The verified token, or why not.
    async fn verify(&self, token: &str) -> Result<claims::Verified, Rejected>;

    /// Whether the authorization server endpoint this verifier depends on answers (readiness);
    /// the reason when not.
    async fn reachable(&self) -> Result<(), String>;
}

struct Enabled {
    verifier: Arc<dyn Verify>,
    readiness: readiness::ReadinessCache,
    cache: cache::TokenCache,
    keys: Option<Arc<KeySet>>,
    max_token_bytes: usize,
}

/// Authentication and scope checks for the MCP endpoint; one per replica, shared by workers.
pub struct Authenticator {
    enabled: Option<Enabled>,
    policy: scope::ScopePolicy,
    resource: String,
    resource_metadata_url: Arc<str>,
    endpoint_scope: Arc<str>,
    protected_resource: Value,
    as_metadata: Option<metadata::AuthorizationServerMetadata>,
}

/// The protected resource metadata URL of an MCP endpoint (RFC 9728 §3.1: the well-known
/// segment inserted before the resource's path).
pub fn resource_metadata_url(public_base: &str, mcp_path: &str) -> String {
    let path = if mcp_path == "/" { "" } else { mcp_path };
    format!("{public_base}/.well-known/oauth-protected-resource{path}")
}

impl Authenticator {
    /// Builds the authenticator for the canonical resource URI `resource` (`PUBLIC_URL` + MCP
    /// path) and the public base URL. Nothing is fetched until [`Authenticator::prefetch`] or
    /// the first token.
    pub fn new(settings: &AuthSettings, public_base: &str, mcp_path: &str) -> Self {
        let resource = format!("{public_base}{mcp_path}");
        let resource_metadata_url: Arc<str> =
            Arc::from(resource_metadata_url(public_base, mcp_path));
        let policy = scope::ScopePolicy::new(&settings.required_scope, &settings.tool_scopes);
        let endpoint_scope = Arc::from(policy.endpoint_scope());
        if settings.disabled {
            return Self {
                enabled: None,
                policy,
                resource,
                resource_metadata_url,
                endpoint_scope,
                protected_resource: Value::Null,
                as_metadata: None,
            };
        }
        let http = fetch::client(Duration::from_millis(settings.http_timeout_ms));
        let accepted = if settings.audiences.is_empty() {
            vec![resource.clone()]
        } else {
            settings.audiences.clone()
        };
        let audiences = Audiences::new(&accepted);
        let (verifier, keys): (Arc<dyn Verify>, Option<Arc<KeySet>>) = match settings.mode {
            TokenMode::Introspection => (
                Arc::new(introspection::Introspector::new(
                    http.clone(),
                    settings.introspection_url(),
                    introspection::ClientAuth::from_settings(
                        settings.introspection.client_auth,
                        &settings.introspection.client_id,
                        &settings.introspection.client_secret,
                    ),
                    settings.issuer().trim_end_matches('/').to_owned(),
                    audiences,
                    settings.require_audience,
                    settings.leeway_secs,
                )),
                None,
            ),
            TokenMode::Jwt => {
                let j = &settings.jwt;
                let source = if j.jwks_url.is_empty() {
                    KeySource::Issuer(settings.issuer().to_owned())
                } else {
                    KeySource::Url(j.jwks_url.clone())
                };
                let keys = Arc::new(KeySet::new(
                    http.clone(),
                    source,
                    Duration::from_secs(j.jwks_max_age_secs),
                    Duration::from_secs(j.jwks_min_refetch_secs),
                ));
                let algorithms = j
                    .algorithms
                    .iter()
                    .filter_map(|a| Algorithm::from_str(a).ok())
                    .collect();
                let verifier = jwt::JwtVerifier::new(
                    Arc::clone(&keys),
                    settings.issuer().to_owned(),
                    audiences,
                    algorithms,
                    settings.leeway_secs,
                );
                (Arc::new(verifier), Some(keys))
            }
        };
        Self {
            enabled: Some(Enabled {
                readiness: readiness::ReadinessCache::new(
                    Arc::clone(&verifier),
                    settings.ready_requires_server,
                ),
                verifier,
                cache: cache::TokenCache::new(
                    settings.cache_max_entries,
                    Duration::from_secs(settings.cache_max_secs),
                    Duration::from_secs(settings.negative_cache_secs),
                ),
                keys,
                max_token_bytes: settings.max_token_bytes,
            }),
            policy,
            protected_resource: metadata::protected_resource(settings, &resource),
            resource,
            resource_metadata_url,
            endpoint_scope,
            as_metadata: Some(metadata::AuthorizationServerMetadata::new(
                http,
                &settings.server_url,
                &settings.metadata_url,
                Duration::from_secs(settings.metadata_cache_secs),
            )),
        }
    }

    /// Whether requests must carry a token.
    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// The canonical resource URI.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The protected resource metadata URL.
    pub fn resource_metadata_url(&self) -> &str {
        &self.resource_metadata_url
    }

    /// The RFC 9728 document (`None` when auth is disabled).
    pub fn protected_resource_metadata(&self) -> Option<&Value> {
        self.enabled.as_ref().map(|_| &self.protected_resource)
    }

    /// The authorization server metadata pass-through (`None` when auth is disabled).
    pub fn authorization_server_metadata(&self) -> Option<&metadata::AuthorizationServerMetadata> {
        self.as_metadata.as_ref()
    }

    /// Readiness of token checks: `Ok` when auth is off, when the check is switched off
    /// (`auth.ready_requires_server = false`), or when the JWKS / introspection endpoint answered
    /// recently; the reason otherwise.
    pub async fn ready(&self) -> Result<(), String> {
        match &self.enabled {
            None => Ok(()),
            Some(e) => e.readiness.check().await,
        }
    }

    /// Warms the JWKS cache (JWT mode); failures are logged, not fatal.
    pub async fn prefetch(&self) {
        if let Some(keys) = self.enabled.as_ref().and_then(|e| e.keys.as_ref()) {
            keys.prefetch().await;
        }
    }

    /// Authenticates a request: its bearer token is verified (cached) and must carry the
    /// endpoint scope. With auth disabled every request is an anonymous [`Caller`].
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Caller, Rejection> {
        let Some(enabled) = &self.enabled else {
            return Ok(Caller::anonymous());
        };
        let token = bearer::token(req.headers(), req.query_string(), enabled.max_token_bytes)
            .map_err(|e| self.reject(e))?
            .ok_or_else(|| self.reject(AuthError::MissingToken))?;
        let verified = enabled
            .cache
            .verify(token, enabled.verifier.as_ref())
            .await
            .map_err(|r| {
                self.reject(match r {
                    Rejected::Invalid(reason) => AuthError::InvalidToken(reason),
                    Rejected::Unavailable(reason) => AuthError::Unavailable(reason),
                })
            })?;
        self.policy
            .check_endpoint(&verified.principal.scopes)
            .map_err(|needed| self.reject(AuthError::InsufficientScope(needed)))?;
        Ok(Caller::verified(&verified))
    }

    /// Checks the extra scopes of `tool` (`tools/call`): configured ones and those the tool
    /// `declared`; anonymous callers (auth disabled) always pass.
    pub fn authorize_tool(
        &self,
        caller: &Caller,
        tool: &str,
        declared: &[String],
    ) -> Result<(), Rejection> {
        match (&self.enabled, caller.principal()) {
            (Some(_), Some(p)) => self
                .policy
                .check_tool(tool, declared, &p.scopes)
                .map_err(|needed| self.reject(AuthError::InsufficientScope(needed))),
            (Some(_), None) => Err(self.reject(AuthError::MissingToken)),
            (None, _) => Ok(()),
        }
    }

    fn reject(&self, error: AuthError) -> Rejection {
        if let AuthError::InvalidToken(reason) = &error {
            tracing::debug!(%reason, "bearer token rejected");
        }
        Rejection {
            error,
            resource_metadata: Arc::clone(&self.resource_metadata_url),
            scope: Arc::clone(&self.endpoint_scope),
            request_id: None,
            modern: false,
        }
    }

    /// Reports token-check events (cache hits and misses, introspection calls, JWKS fetches)
    /// to `observer`; nothing is reported with auth disabled.
    pub fn observe(&self, observer: Arc<dyn observe::AuthObserver>) {
        if let Some(e) = &self.enabled {
            e.cache.observe(Arc::clone(&observer), e.keys.is_none());
            if let Some(keys) = &e.keys {
                keys.observe(observer);
            }
        }
    }

    /// Number of tokens in the cache (diagnostics).
    pub fn cached_tokens(&self) -> u64 {
        self.enabled.as_ref().map_or(0, |e| e.cache.len())
    }
}
