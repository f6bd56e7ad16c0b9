//! Hostile and malformed requests against the demo authorization server (`mcp-hive auth` as a
//! real process): each gets the error its RFC prescribes, nothing is issued (no code on the
//! redirect, no token in the body), and a legitimate request afterwards still behaves.
//!
//! - `/authorize`: unknown clients and unregistered redirect URIs get an HTML error page, never
//!   a redirect (RFC 6749 §4.1.2.1, open redirects); missing PKCE or `plain` go back to the
//!   client as `invalid_request` (OAuth 2.1 §4.1.1);
//! - `/token`: a wrong `code_verifier`, a replayed, foreign or expired code are `invalid_grant`
//!   (a replay also revokes what the first use issued, OAuth 2.1 §4.1.3); a bad secret is 401
//!   `invalid_client` with a Basic challenge (RFC 6749 §5.2); repeated parameters and non-form
//!   bodies are `invalid_request`; another resource is `invalid_target` (RFC 8707);
//! - `/register`: oversized bodies are `invalid_client_metadata`, non-loopback `http` and
//!   `javascript:` redirect URIs `invalid_redirect_uri` (RFC 7591 §3.2.2);
//! - `/introspect` without client authentication is 401 (RFC 7662 §2.1); `/revoke` of another
//!   client's token is refused (RFC 7009 §2.1).
//!
//! Modules:
//! - [`authorize`]: error pages for unknown clients and redirect URIs, PKCE required and S256.
//! - [`code_redemption`]: wrong verifiers, replayed, foreign, mismatched and expired codes.
//! - [`client_auth`]: bad client secrets, unauthenticated introspection, revoking another
//!   client's token.
//! - [`registration`]: oversized and dangerous client metadata.
//! - [`token_requests`]: malformed `/token` requests and resources other than the authorized
//!   one.

#[path = "../common/mod.rs"]
mod common;

mod authorize;
mod client_auth;
mod code_redemption;
mod registration;
mod token_requests;

use common::authserver::{
    AuthProcess, AuthRequest, Pkce, Redirect, Reply, assert_nothing_issued, callback,
    config_with_clients,
};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const RS_ID: &str = "mcp-hive-rs";
const RS_SECRET: &str = "rs-secret-0123456789";
const RS: Option<(&str, &str)> = Some((RS_ID, RS_SECRET));
const RESOURCE: &str = "http://127.0.0.1:9/mcp";

/// An authorization server (auto-approve) with the introspection client and `env`.
async fn auth_server(env: &[(&str, &str)]) -> AuthProcess {
    let client = r#"{ client_id = "mcp-hive-rs", client_secret = "rs-secret-0123456789", grant_types = ["client_credentials"] }"#;
    AuthProcess::start(env, Some(&config_with_clients(&[client], ""))).await
}

/// A registered public client with its redirect URI.
async fn public_client(auth: &AuthProcess, tag: &str) -> (String, String) {
    let cb = callback(tag);
    (auth.register_public(&cb).await, cb)
}

/// The legitimate flow still works: authorize, redeem, an active token.
async fn legit_flow_works(auth: &AuthProcess, client_id: &str, cb: &str) {
    let pkce = Pkce::new();
    let req = AuthRequest::new(client_id, cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    let info = auth.introspect(reply.access_token(), RS).await;
    assert_eq!(info["active"], true, "{info}");
}
