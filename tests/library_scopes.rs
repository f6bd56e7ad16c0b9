//! Scopes a tool declares through the library API (`ToolSpec::scopes`) are enforced at
//! `tools/call` like the configured ones: an in-process server with a custom tool, authenticated
//! by introspection at the in-process test authorization server.

mod common;

use common::auth_server::AuthServer;
use mcp_hive::config::Settings;
use mcp_hive::registry::Registry;
use mcp_hive::registry::tool::{CallToolResult, ToolSpec};
use mcp_hive::startup::Application;
use serde_json::{Value, json};
use std::collections::HashMap;

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    sid: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut rb = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", format!("Bearer {token}"))
        .body(body.to_string());
    if let Some(sid) = sid {
        rb = rb
            .header("Mcp-Session-Id", sid)
            .header("MCP-Protocol-Version", "2025-11-25");
    }
    rb.send().await.expect("POST")
}

#[actix_web::test]
async fn declared_tool_scopes_are_enforced() {
    let auth = AuthServer::start();
    let env: HashMap<String, String> = [
        ("PORT", "0".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        ("AUTH_TOKEN_MODE", "introspection".to_owned()),
        ("OAUTH_SERVER_URL", auth.issuer.clone()),
        ("OAUTH_INTROSPECT_URL", format!("{}/introspect", auth.base)),
        ("MCP_HIVE__AUTH__REQUIRE_AUDIENCE", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let registry = Registry::new();
    registry.add_tool(
        ToolSpec::new("purge", "Dangerous admin tool")
            .scopes(&["mcp:admin"])
            .build_raw(|_args, _ctx| async move { Ok(CallToolResult::text("purged")) })
            .expect("tool"),
    );
    let app = Application::build(Settings::load_from(&env, None).expect("settings"), registry)
        .expect("build");
    let url = format!("http://127.0.0.1:{}/mcp", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());

    let exp = jsonwebtoken::get_current_timestamp() + 600;
    auth.add_token(
        "basic",
        json!({"active": true, "sub": "u1", "scope": "mcp:tools", "exp": exp}),
    );
    auth.add_token(
        "admin",
        json!({"active": true, "sub": "u1", "scope": "mcp:tools mcp:admin", "exp": exp}),
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let res = post(&http, &url, "basic", None, init).await;
    assert_eq!(res.status(), 200);
    let sid = res
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session id")
        .to_owned();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "purge", "arguments": {}}});

    let res = post(&http, &url, "basic", Some(&sid), call.clone()).await;
    assert_eq!(res.status(), 403, "the declared scope is required");
    let www = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.contains("scope=\"mcp:tools mcp:admin\""), "{www}");

    // The same user with the admin scope (step-up) keeps the session and may call it.
    let res = post(&http, &url, "admin", Some(&sid), call).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    assert!(text.contains("purged"), "{text}");
    handle.stop(false).await;
}
