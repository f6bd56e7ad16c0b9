//! The HTTP surface of the OAuth resource server: RFC 9728 protected resource metadata at both
//! well-known URLs (fields, CORS, preflight, `PUBLIC_URL`), the RFC 8414 authorization server
//! metadata pass-through (cached, served stale when the AS goes away, 503 when never reachable),
//! 404s and token-less MCP with `DISABLE_AUTH=true`, the `WWW-Authenticate` challenges of
//! requests without a token, with another scheme, with malformed tokens (which never reach the
//! AS), with a token in the query string or with two `Authorization` headers, JSON-RPC error
//! bodies with `id: null`, and SSE GET connections that end when their token expires.
//!
//! - [`resource_metadata`]: the protected resource metadata at both URLs, the issuer listed
//!   verbatim, `PUBLIC_URL` as the resource.
//! - [`auth_server_metadata`]: the authorization server metadata passed through and cached,
//!   503 when never reachable, fetched from a separate URL.
//! - [`disabled_auth`]: no metadata and no token needed with `DISABLE_AUTH=true`.
//! - [`challenges`]: missing, misplaced and malformed tokens, and the challenge read by browsers.
//! - [`sse_expiry`]: SSE GET streams that close when their token expires.

#[path = "../common/mod.rs"]
mod common;

mod auth_server_metadata;
mod challenges;
mod disabled_auth;
mod resource_metadata;
mod sse_expiry;

use common::auth_server::{
    AuthServer, MetadataAt, SigningKey, dead_port, now, rejection, resource_metadata_of, unique_jti,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const PRM: &str = "/.well-known/oauth-protected-resource";

/// An introspection-mode server using `auth` (no client credentials).
async fn introspecting_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    introspecting_server_for(&auth.base, extra).await
}

/// An introspection-mode server whose authorization server is `issuer`.
async fn introspecting_server_for(issuer: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", issuer),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

fn active(resource: &str, sub: &str) -> Value {
    json!({"active": true, "aud": resource, "scope": "mcp:tools", "sub": sub,
           "client_id": "app-1", "exp": now() + 600})
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII").to_owned())
}
