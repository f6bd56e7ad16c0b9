//! The documents clients use to find out how to get a token:
//!
//! - the OAuth 2.0 Protected Resource Metadata of this server (RFC 9728 §2; MCP 2025-06-18+
//!   "servers MUST implement" it): `resource` is the canonical MCP URI (`PUBLIC_URL` + MCP path,
//!   RFC 8707 / MCP "Canonical Server URI"), `authorization_servers` the configured issuer,
//!   `scopes_supported` the minimal scopes for basic use, `bearer_methods_supported: ["header"]`;
//! - the authorization server's own metadata (RFC 8414), fetched from it, cached, and passed
//!   through unchanged for MCP 2025-03-26 clients, which look for it on the MCP server's origin.

use super::discovery::{discover, discover_at};
use super::fetch::FetchError;
use crate::config::AuthSettings;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The protected resource metadata document.
pub fn protected_resource(settings: &AuthSettings, resource: &str) -> Value {
    json!({
        "resource": resource,
        // Issuer identifiers are compared exactly by clients (RFC 8414 §3.3): listed verbatim.
        "authorization_servers": [settings.server_url],
        "scopes_supported": settings.advertised_scopes(),
        "bearer_methods_supported": ["header"],
        "resource_name": settings.resource_name,
    })
}

/// The configured authorization server's metadata, cached.
pub struct AuthorizationServerMetadata {
    http: reqwest::Client,
    issuer: String,
    /// Fetch from here instead of the issuer's well-known URLs.
    url: Option<String>,
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<Value>)>>,
}

impl AuthorizationServerMetadata {
    /// Metadata of `issuer`, kept for `ttl` after each fetch; fetched from `url` when set (its
    /// `issuer` must still be `issuer`), else discovered from `issuer`.
    pub fn new(http: reqwest::Client, issuer: &str, url: &str, ttl: Duration) -> Self {
        Self {
            http,
            issuer: issuer.trim_end_matches('/').to_owned(),
            url: (!url.trim().is_empty()).then(|| url.trim().to_owned()),
            ttl,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The document; one fetch at a time, the last good copy if a refresh fails.
    pub async fn get(&self) -> Result<Arc<Value>, FetchError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, doc)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(doc));
        }
        let fetched = match &self.url {
            Some(url) => discover_at(&self.http, url, &self.issuer).await,
            None => discover(&self.http, &self.issuer).await,
        };
        match fetched {
            Ok(doc) => {
                let doc = Arc::new(Value::Object(doc));
                *cached = Some((Instant::now(), Arc::clone(&doc)));
                Ok(doc)
            }
            Err(e) => match cached.as_ref() {
                Some((_, doc)) => {
                    tracing::warn!(error = %e, "authorization server metadata refresh failed; serving the cached copy");
                    Ok(Arc::clone(doc))
                }
                None => Err(e),
            },
        }
    }
}
