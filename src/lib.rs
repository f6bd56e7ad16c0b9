//! mcp-hive: a horizontally scalable Streamable HTTP MCP server on actix-web.
//!
//! Layout, from the wire inwards:
//! - [`auth`]: the OAuth 2.1 resource server (bearer tokens, introspection or JWT, scopes,
//!   protected resource metadata); the only module that sees tokens.
//! - [`http`]: the `/mcp` endpoint (POST, GET, DELETE), SSE responses, Origin and CORS checks,
//!   access logs, health probes; maps every boundary error to an HTTP status and JSON-RPC body.
//! - [`session`]: one actix actor per session, reached through a handle; SSE streams as logs.
//! - [`protocol`]: JSON-RPC and MCP methods, free of HTTP and storage types.
//! - [`registry`]: the library API for tools, resources, prompts and completions.
//! - [`store`]: session records, event logs and the replica bus (embedded store or Redis).
//! - [`tools`]: the demo tools and the conformance-suite fixtures.
//! - [`stdio`]: the stdio transport (`mcp-hive serve --stdio`) on the same session actors.
//! - [`config`], [`telemetry`], [`startup`]: settings, logging, and the server lifecycle.
//! - [`metrics`]: the Prometheus metrics of a replica (`GET /metrics`); [`ratelimit`]: the
//!   per-principal rate limiter.
//! - [`admin`]: operator commands on the shared store (`mcp-hive sessions`).

pub mod admin;
pub mod auth;
pub mod authserver;
pub mod config;
pub mod http;
pub mod metrics;
pub mod principal;
pub mod protocol;
pub mod ratelimit;
pub mod registry;
pub mod session;
pub mod startup;
pub mod stdio;
pub mod store;
pub mod telemetry;
pub mod threads;
pub mod tools;
