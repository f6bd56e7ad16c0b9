//! The HTTP boundary (actix-web): routes, the shared [`McpState`], and the middleware stack.
//!
//! - [`mcp`]: POST/GET/DELETE on the MCP endpoint; [`stateless`]: its 2026-07-28 lane;
//! - [`sse`]: SSE responses backed by session streams;
//! - [`legacy_sse`]: the HTTP+SSE transport of 2024-11-05 (`GET /sse`, `POST /messages`);
//! - [`headers`]: typed transport headers; [`error`]: [`error::HttpError`] → status + JSON-RPC body;
//! - [`origin`]: Origin validation and CORS; [`access_log`]: one line per request;
//! - [`health`]: liveness and readiness probes;
//! - [`well_known`]: the OAuth metadata documents (RFC 9728, RFC 8414 pass-through).

pub mod access_log;
pub mod error;
pub mod event_stream;
pub mod headers;
pub mod health;
pub mod legacy_sse;
pub mod mcp;
pub mod origin;
pub mod rate_limit;
pub mod sse;
pub mod stateless;
pub mod well_known;

use crate::config::Settings;
use crate::session::SessionRegistry;
use actix_web::middleware::from_fn;
use actix_web::web;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// State shared by all handlers of all workers.
pub struct McpState {
    /// Sessions on this replica.
    pub sessions: SessionRegistry,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Cancelled when the replica starts shutting down: `/readyz` answers 503 and GET-like SSE
    /// connections (standalone, listen, HTTP+SSE) close with a retry hint.
    pub shutdown: CancellationToken,
    /// Cancelled shortly before the drain budget runs out: POST streams still open close then
    /// (with the retry hint), so their clients resume on another replica with `Last-Event-ID`
    /// while the request finishes here and its events reach the store.
    pub drain_deadline: CancellationToken,
    /// The 2026-07-28 stateless lane's own state.
    pub stateless: stateless::StatelessLane,
}

/// Registers the routes; `mcp_path` is the configured endpoint, `legacy` the HTTP+SSE routes
/// when that transport is on.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    mcp_path: &str,
    policy: origin::OriginPolicy,
    legacy: Option<&legacy_sse::LegacyRoutes>,
) {
    well_known::configure(cfg, mcp_path);
    if let Some(routes) = legacy {
        legacy_sse::configure(cfg, routes, policy.clone());
    }
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::resource(mcp_path)
                .app_data(web::Data::new(policy))
                .wrap(from_fn(origin::guard))
                .route(web::post().to(mcp::post))
                .route(web::get().to(mcp::get))
                .route(web::delete().to(mcp::delete))
                .default_service(web::to(mcp::method_not_allowed)),
        );
}
