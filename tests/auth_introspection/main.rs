//! Introspection mode (`AUTH_TOKEN_MODE=introspection`, RFC 7662) against the in-process test
//! authorization server: the server authenticates with `client_secret_basic` or
//! `client_secret_post`; active tokens for this resource run a session; inactive, audience-less
//! (unless `require_audience = false`), foreign-audience, expired, premature and refresh tokens
//! get 401; verdicts are cached (`cache_max_secs`, `negative_cache_secs`) and concurrent first
//! uses share one call; an authorization server that fails, is unreachable, is too slow or
//! refuses the server's credentials gives 503 + `Retry-After`; per-tool scopes give 403 with all
//! needed scopes; and a session answers only to the principal that created it (404 otherwise).
//!
//! - [`client_authentication`]: the server's credentials sent as `client_secret_basic` (the
//!   default) or `client_secret_post`, and the introspection request it makes.
//! - [`token_validation`]: introspection answers that are 401, the accepted audience variants,
//!   `require_audience = false`, and per-tool scopes (403).
//! - [`verdict_cache`]: verdicts cached for `cache_max_secs` / `negative_cache_secs`; concurrent
//!   first uses share one introspection.
//! - [`outages`]: an authorization server that fails, is unreachable, is too slow or refuses the
//!   server's credentials gives 503.
//! - [`session_binding`]: a session answers only to the principal (user or client) that created
//!   it.

#[path = "../common/mod.rs"]
mod common;

mod client_authentication;
mod outages;
mod session_binding;
mod token_validation;
mod verdict_cache;

use common::auth_server::{
    AuthServer, ClientAuthSeen, dead_port, now, rejection, resource_metadata_of,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "mcp-hive-rs";
/// Needs form-encoding inside Basic credentials (RFC 6749 §2.3.1).
const CLIENT_SECRET: &str = "s3cret:with/odd chars&=";

/// An introspection-mode server using `auth`, with this server's client credentials.
async fn introspecting_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("OAUTH_CLIENT_ID", CLIENT_ID),
        ("OAUTH_CLIENT_SECRET", CLIENT_SECRET),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// An AS expecting this server's credentials.
fn auth_server() -> AuthServer {
    let auth = AuthServer::start();
    auth.expect_client(CLIENT_ID, CLIENT_SECRET);
    auth
}

/// An active introspection response for `resource`.
fn active(resource: &str, sub: Option<&str>, client_id: &str, scope: &str) -> Value {
    let mut v = json!({
        "active": true,
        "aud": resource,
        "scope": scope,
        "client_id": client_id,
        "token_type": "Bearer",
        "exp": now() + 600,
        "iat": now(),
    });
    if let Some(sub) = sub {
        v["sub"] = json!(sub);
    }
    v
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

async fn send_initialize(server: &TestServer, token: &str) -> reqwest::Response {
    Client::new(server)
        .with_token(token)
        .post(&initialize_body())
        .send()
        .await
        .expect("initialize")
}

fn tools_list(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}
