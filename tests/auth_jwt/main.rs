//! JWT mode (`AUTH_TOKEN_MODE=jwt`) against the in-process test authorization server: the JWKS
//! found through the issuer's RFC 8414 metadata or set with `JWT_JWKS_URL`; valid RS256 and
//! ES256 tokens (trailing-slash and array audiences, `scp` claims, no `kid`, leeway) run a
//! session and reach `whoami`; forged, malformed, expired, premature, foreign-issuer and
//! foreign-audience tokens get 401 `invalid_token`; missing scopes get 403; unknown key ids
//! refetch the key set at most once per `jwks_min_refetch_secs`; a rotated key is picked up; an
//! unreachable or failing JWKS gives 503 (never 401) and is not remembered.
//!
//! - [`discovery`]: the JWKS found through the issuer's metadata (at every location), or
//!   configured with `JWT_JWKS_URL` and `JWT_ISSUER`.
//! - [`token_validation`]: the accepted token variants, hostile tokens (401 `invalid_token`)
//!   and missing scopes (403).
//! - [`key_refetch`]: unknown key ids refetch at most once per interval; a rotated key is
//!   picked up.
//! - [`jwks_outages`]: an unreachable or failing JWKS is 503 and not remembered; stale keys keep
//!   working and their failing refresh is throttled.

#[path = "../common/mod.rs"]
mod common;

mod discovery;
mod jwks_outages;
mod key_refetch;
mod token_validation;

use common::auth_server::{
    AuthServer, MetadataAt, SigningKey, dead_port, hostile, now, public_pem, rejection,
    resource_metadata_of, unique_jti,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A JWT-mode server whose authorization server is `auth`.
async fn jwt_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    jwt_server_for(&auth.base, extra).await
}

/// A JWT-mode server whose authorization server (and issuer) is `issuer`.
async fn jwt_server_for(issuer: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", issuer),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// Claims of a valid token for `resource`, valid for 10 minutes.
fn claims(issuer: &str, resource: &str, sub: &str, scope: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": resource,
        "sub": sub,
        "client_id": "test-client",
        "scope": scope,
        "iat": now(),
        "exp": now() + 600,
        "jti": unique_jti(),
    })
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

/// The status of an `initialize` POST carrying `token`.
async fn initialize_status(server: &TestServer, token: &str) -> StatusCode {
    Client::new(server)
        .with_token(token)
        .post(&initialize_body())
        .send()
        .await
        .expect("initialize")
        .status()
}

/// Waits until the server's start-up JWKS prefetch reached the authorization server.
async fn await_prefetch(auth: &AuthServer) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while auth.jwks_fetches() == 0 {
        assert!(Instant::now() < deadline, "no JWKS prefetch at start-up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
