//! The stateless lane of MCP 2026-07-28 on the same endpoint (first step of issue 6): requests
//! with the modern version header and `_meta` are served without a session; the validation
//! table's statuses and codes; session-era requests are unaffected; auth applies.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const V: &str = "2026-07-28";

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

async fn send(
    server: &TestServer,
    body: Value,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut rb = reqwest::Client::new()
        .post(&server.mcp)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.expect("POST");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn call(
    server: &TestServer,
    id: u64,
    method: &str,
    mut params: Value,
    name: Option<&str>,
) -> (StatusCode, Value) {
    params["_meta"] = meta();
    let mut headers = vec![("MCP-Protocol-Version", V), ("Mcp-Method", method)];
    if let Some(n) = name {
        headers.push(("Mcp-Name", n));
    }
    let (status, h, body) = send(
        server,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        &headers,
    )
    .await;
    assert!(
        h.get("mcp-session-id").is_none(),
        "no session in the stateless lane"
    );
    (status, body)
}

#[tokio::test]
async fn discover_lists_and_calls_without_a_session() {
    let server = TestServer::start(&[]).await;
    let (status, body) = call(&server, 1, "server/discover", json!({}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = &body["result"];
    assert_eq!(body["id"], 1);
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["supportedVersions"], json!([V]));
    assert!(r["capabilities"]["tools"].is_object(), "{r}");
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcp-hive"
    );
    assert!(r["ttlMs"].is_u64() && r["cacheScope"] == "public", "{r}");

    let (status, body) = call(&server, 2, "tools/list", json!({}), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"add"), "{names:?}");
    assert_eq!(body["result"]["cacheScope"], "public");

    let (status, body) = call(
        &server,
        3,
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
        Some("add"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["structuredContent"]["result"], 5);
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(body["result"].get("ttlMs").is_none());

    let (status, body) = call(
        &server,
        4,
        "resources/read",
        json!({"uri": "demo://clock"}),
        Some("demo://clock"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["cacheScope"], "private");
    assert!(body["result"]["contents"][0]["text"].is_string());

    // The session era still works on the same endpoint.
    let (status, h, _) = send(
        &server,
        json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get("mcp-session-id").is_some());
}

#[tokio::test]
async fn invalid_stateless_requests_get_the_revision_error_table() {
    let server = TestServer::start(&[]).await;
    let body = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let with_meta = json!({"_meta": meta()});

    // No version header, but modern _meta: stateless, header required.
    let (s, _, b) = send(
        &server,
        body("tools/list", with_meta.clone()),
        &[("Mcp-Method", "tools/list")],
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(-32020)),
        "{b}"
    );
    assert_eq!(b["id"], 7, "the id is echoed");

    // Version header without the _meta fields.
    let (s, _, b) = send(
        &server,
        body(
            "tools/list",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": V}}),
        ),
        &[("MCP-Protocol-Version", V), ("Mcp-Method", "tools/list")],
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(-32602)),
        "{b}"
    );

    // Unsupported version in both places.
    let v999 = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "v999.0.0",
        "io.modelcontextprotocol/clientCapabilities": {}}});
    let (s, _, b) = send(
        &server,
        body("server/discover", v999),
        &[
            ("MCP-Protocol-Version", "v999.0.0"),
            ("Mcp-Method", "server/discover"),
        ],
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(-32022)),
        "{b}"
    );
    assert_eq!(b["error"]["data"]["requested"], "v999.0.0");
    assert_eq!(b["error"]["data"]["supported"], json!([V]));

    // Mcp-Method disagreeing with the body.
    let (s, _, b) = send(
        &server,
        body("tools/list", with_meta.clone()),
        &[("MCP-Protocol-Version", V), ("Mcp-Method", "prompts/list")],
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(-32020)),
        "{b}"
    );

    // Methods the revision removed: 404 + -32601.
    for removed in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let (s, _, b) = send(
            &server,
            body(removed, with_meta.clone()),
            &[("MCP-Protocol-Version", V), ("Mcp-Method", removed)],
        )
        .await;
        assert_eq!(
            (s, b["error"]["code"].as_i64()),
            (StatusCode::NOT_FOUND, Some(-32601)),
            "{removed}: {b}"
        );
    }

    // A notification is accepted without a body.
    let (s, _, _) = send(
        &server,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"_meta": meta(), "requestId": 1}}),
        &[("MCP-Protocol-Version", V), ("Mcp-Method", "notifications/cancelled")],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_stateless_lane_is_protected_like_the_session_era() {
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("OAUTH_SERVER_URL", "http://127.0.0.1:9"),
    ])
    .await;
    let (status, headers, body) = send(
        &server,
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta()}}),
        &[("MCP-Protocol-Version", V), ("Mcp-Method", "server/discover")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let www = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(www.contains("resource_metadata="), "{www}");
}
