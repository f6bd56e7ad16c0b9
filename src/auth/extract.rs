//! [`Caller`]: the typed actix extractor MCP handlers take to require authentication. Extracting
//! it runs [`super::Authenticator::authenticate`] (from the app data) before the handler body, so a
//! handler that has a `Caller` knows the request was authenticated and holds no token, only the
//! principal. The rate limiter ([`crate::http::rate_limit::enforce`]) runs here too, right after
//! authentication: one place for every MCP and HTTP+SSE handler.

use super::claims::Verified;
use super::{Authenticator, Rejection};
use crate::principal::Principal;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// The authenticated caller of a request (anonymous when auth is disabled).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    principal: Option<Arc<Principal>>,
    expires_at: Option<u64>,
}

impl Caller {
    /// A caller without credentials (auth disabled).
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub(super) fn verified(v: &Verified) -> Self {
        Self {
            principal: Some(Arc::clone(&v.principal)),
            expires_at: v.expires_at,
        }
    }

    /// The principal, when auth is enabled.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_deref()
    }

    /// The principal, shared (a reference count, no copy).
    pub fn shared_principal(&self) -> Option<Arc<Principal>> {
        self.principal.clone()
    }

    /// The principal, shared (no copy: the token cache's).
    pub fn into_principal(self) -> Option<Arc<Principal>> {
        self.principal
    }

    /// Time left before the token expires (`None`: no expiry known). Long-lived SSE connections
    /// are closed then, so the client reconnects with a fresh token.
    pub fn token_lifetime(&self) -> Option<Duration> {
        let exp = self.expires_at?;
        Some(Duration::from_secs(
            exp.saturating_sub(super::introspection::now_secs()),
        ))
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(auth) = req.app_data::<web::Data<Authenticator>>().cloned() else {
                return Err(actix_web::error::ErrorInternalServerError(
                    "the authenticator is not configured",
                ));
            };
            // The body is not read yet, so the request id is unknown; a 2026-07-28 request is
            // recognised by its version header and gets no `"id": null`.
            let modern = req
                .headers()
                .get(&crate::http::headers::PROTOCOL_VERSION_NAME)
                .and_then(|v| v.to_str().ok())
                .is_some_and(crate::protocol::stateless::is_modern_version);
            let caller = auth
                .authenticate(&req)
                .await
                .map_err(|r: Rejection| actix_web::Error::from(r.for_request(None, modern)))?;
            crate::http::rate_limit::enforce(&req, &caller, modern).await?;
            Ok(caller)
        })
    }
}
