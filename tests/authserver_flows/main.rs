//! The demo authorization server (`mcp-hive auth`, `mcp-hive dev`) as real processes, driven
//! over HTTP like a headless MCP client: dynamic registration, the code flow with PKCE S256,
//! RFC 8707 `resource` and RFC 9207 `iss`, then MCP calls on a `mcp-hive serve` process that
//! checks the tokens by introspection or as JWTs; refresh token rotation and scope narrowing;
//! revocation (an access token stops working on the MCP server, a refresh token takes its grant
//! with it); client credentials; the login and consent page; the discovery documents and the
//! JWKS; and two replicas sharing their state and signing key through a real Redis.
//!
//! - [`grants`]: the headless code flow into MCP calls (introspection and JWT mode), client
//!   credentials, and `mcp-hive dev` running both servers wired together.
//! - [`refresh_and_revocation`]: refresh token rotation, narrowing and replay; revoking access
//!   and refresh tokens.
//! - [`consent_page`]: the login and consent page (CSRF cookie, wrong password, deny, approve).
//! - [`discovery`]: the discovery documents and the JWKS that verifies the JWT access tokens.
//! - [`replicas`]: two replicas sharing clients, codes, tokens, revocations and the signing key
//!   through Redis.

#[path = "../common/mod.rs"]
mod common;

mod consent_page;
mod discovery;
mod grants;
mod refresh_and_revocation;
mod replicas;

use common::authserver::{
    AuthProcess, AuthRequest, DEMO_USER, Pkce, Redirect, Reply, callback, config_with_clients,
    http, jwt_parts, verify_with_jwks,
};
use common::{Client, RedisServer, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The MCP server's credentials at the introspection endpoint (a configured client).
const RS_ID: &str = "mcp-hive-rs";
const RS_SECRET: &str = "rs-secret-0123456789";
const RS: Option<(&str, &str)> = Some((RS_ID, RS_SECRET));
/// A configured confidential client for client credentials.
const SVC_ID: &str = "svc";
const SVC_SECRET: &str = "svc-secret-0123456789";

const RS_CLIENT: &str = r#"{ client_id = "mcp-hive-rs", client_secret = "rs-secret-0123456789", grant_types = ["client_credentials"] }"#;
const SVC_CLIENT: &str = r#"{ client_id = "svc", client_secret = "svc-secret-0123456789", grant_types = ["client_credentials"] }"#;

const RESOURCE: &str = "http://127.0.0.1:9/mcp";

/// The configuration with both configured clients and `extra` `[authserver]` lines.
fn config(extra: &str) -> String {
    config_with_clients(&[RS_CLIENT, SVC_CLIENT], extra)
}

/// An authorization server with both configured clients and `env`.
async fn auth_server(env: &[(&str, &str)], extra: &str) -> AuthProcess {
    AuthProcess::start(env, Some(&config(extra))).await
}

/// A `mcp-hive serve` that checks tokens by introspection at `auth` with the RS credentials.
async fn introspecting_mcp(auth: &AuthProcess, extra: &[(&str, &str)]) -> TestServer {
    let introspect = format!("{}/introspect", auth.issuer);
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", auth.issuer.as_str()),
        ("OAUTH_INTROSPECT_URL", introspect.as_str()),
        ("OAUTH_CLIENT_ID", RS_ID),
        ("OAUTH_CLIENT_SECRET", RS_SECRET),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// Register a public client, authorize for `resource` and redeem the code: the token response.
async fn code_flow(
    auth: &AuthProcess,
    resource: Option<&str>,
    scope: Option<&str>,
) -> (String, Reply) {
    let cb = callback("flow");
    let client_id = auth.register_public(&cb).await;
    let pkce = Pkce::new();
    let mut req = AuthRequest::new(&client_id, &cb, &pkce, resource);
    req.scope = scope;
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    (client_id, reply)
}

/// `refresh_token` grant for a public client, with an optional `scope`.
async fn refresh(auth: &AuthProcess, client_id: &str, rt: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    auth.token(&form, None).await
}

/// An initialized MCP session with `token` on `server`; checks `add` and returns `whoami`.
async fn mcp_session(server: &TestServer, token: &str) -> (Client, Value) {
    let mut c = Client::new(server).with_token(token);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "add", json!({"a": 40, "b": 2}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 42, "{res}");
    let (res, _) = c.call(&tool_call(2, "whoami", json!({}))).await;
    (c, res["result"]["structuredContent"].clone())
}

/// The status of an `initialize` with `token`.
async fn initialize_status(server: &TestServer, token: Option<&str>) -> StatusCode {
    Client::new(server)
        .using_token(token)
        .call_json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .await
        .0
}
