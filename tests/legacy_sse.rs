//! The HTTP+SSE transport of MCP 2024-11-05 against the real binary: the `endpoint` event, the
//! session lifecycle over `POST /messages` (initialize, tools, logs, elicitation answered by
//! POST), every error status with its JSON-RPC body, Origin checks, routes that follow
//! `MCP_PATH` and `PUBLIC_URL`, `TRANSPORT=streamable-http`, the session ending with its `/sse`
//! connection, bearer auth with session binding, and two replicas on one Redis (`/sse` on one,
//! POSTs on the other).

mod common;

use common::auth_server::{AuthServer, SigningKey, now, unique_jti};
use common::legacy::{LegacySession, WAIT, get_sse};
use common::{RedisServer, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// POSTs `body` (as raw text) to `url`; returns the status and the JSON body.
async fn post_raw(url: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let res = http()
        .post(url)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls until a POST to the session gets 404 (the session ended); false after `limit`.
async fn ends_within(session: &LegacySession, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let res = session
            .post(&json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}))
            .send()
            .await
            .expect("POST");
        if res.status() == StatusCode::NOT_FOUND {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn endpoint_event_then_initialize_and_tools_over_messages() {
    let server = TestServer::start(&[]).await;
    let mut s = LegacySession::open(&server).await;
    assert!(
        s.endpoint.starts_with("/messages?sessionId="),
        "{}",
        s.endpoint
    );
    assert_eq!(s.session.len(), 32);

    // Before initialize: ping is answered, other requests are refused.
    let (pong, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}))
        .await;
    assert_eq!(pong["result"], json!({}));
    let (early, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(early["error"]["code"], -32600, "{early}");

    let result = s.initialize("2024-11-05", json!({})).await;
    assert_eq!(result["protocolVersion"], "2024-11-05");
    assert_eq!(result["serverInfo"]["name"], "mcp-hive");
    let (again, _) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {},
            "clientInfo": {"name": "x", "version": "1"}}}),
        )
        .await;
    assert_eq!(again["error"]["code"], -32600, "second initialize: {again}");

    let (list, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .await;
    let tools = list["result"]["tools"].as_array().expect("tools");
    assert!(tools.iter().any(|t| t["name"] == "add"), "{list}");
    let (sum, _) = s
        .call(&tool_call(4, "add", json!({"a": 20, "b": 22})))
        .await;
    assert_eq!(
        sum["result"]["content"][0]["text"],
        "The sum of 20 and 22 is 42"
    );

    // Log notifications of a running tool arrive on the same stream before its result.
    let (res, seen) = s
        .call(&tool_call(5, "test_tool_with_logging", json!({})))
        .await;
    assert!(res["result"].is_object(), "{res}");
    assert!(
        seen.iter().any(|m| m["method"] == "notifications/message"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn elicitation_is_sent_on_the_stream_and_answered_by_post() {
    let server = TestServer::start(&[]).await;
    let mut s = LegacySession::open(&server).await;
    let result = s.initialize("2025-06-18", json!({"elicitation": {}})).await;
    assert_eq!(result["protocolVersion"], "2025-06-18");
    s.send(&tool_call(
        7,
        "test_elicitation",
        json!({"message": "Who?"}),
    ))
    .await;
    let ask = s.next_message().await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    s.send(
        &json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept",
        "content": {"username": "ada", "email": "ada@example.com"}}}),
    )
    .await;
    let (res, _) = s.response(json!(7)).await;
    let text = res["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("ada"), "{res}");
}

#[tokio::test]
async fn error_statuses_carry_json_rpc_bodies() {
    let server = TestServer::start(&[]).await;
    let s = LegacySession::open(&server).await;
    let messages = format!("{}/messages", server.base);
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    let (status, body) = post_raw(&messages, "application/json", ping).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing sessionId");
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(body["error"]["code"].is_i64(), "{body}");
    let unknown = format!("{messages}?sessionId=0123456789abcdef0123456789abcdef");
    let (status, body) = post_raw(&unknown, "application/json", ping).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown sessionId");
    assert_eq!(body["error"]["code"], -32001, "{body}");
    let url = format!("{}{}", server.base, s.endpoint);
    let (status, body) = post_raw(&url, "application/json", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], -32700, "{body}");
    let (status, body) = post_raw(&url, "application/json", &format!("[{ping}]")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "batch");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    let (status, body) = post_raw(&url, "application/json", r#"{"jsonrpc":"1.0"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not JSON-RPC");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    let (status, _) = post_raw(&url, "text/plain", ping).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let res = http().get(&url).send().await.expect("GET /messages");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = http()
        .post(format!("{}/sse", server.base))
        .send()
        .await
        .expect("POST /sse");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = http()
        .get(format!("{}/sse", server.base))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);

    // Origin: the same rules as the MCP endpoint, on both routes.
    for (method, path) in [("GET", "/sse".to_owned()), ("POST", s.endpoint.clone())] {
        let rb = http().request(
            method.parse().expect("method"),
            format!("{}{path}", server.base),
        );
        let res = rb
            .header("Origin", "https://evil.example.com")
            .header("Content-Type", "application/json")
            .body(ping)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body: Value = res.json().await.expect("json");
        assert!(body["error"]["code"].is_i64(), "{body}");
    }
    let res = http()
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "http://localhost:6274")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:6274"
    );
    let res = http()
        .get(format!("{}/sse", server.base))
        .header("Origin", "http://localhost:6274")
        .send()
        .await
        .expect("GET /sse from a local origin");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn closing_the_sse_connection_ends_the_session() {
    let server = TestServer::start(&[]).await;
    let mut s = LegacySession::open(&server).await;
    s.initialize("2024-11-05", json!({})).await;
    let live = server.live_actors().await;
    assert!(live >= 1);
    // Drop the stream: the connection closes.
    s.sse = common::SseReader::new(
        http()
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("healthz"),
    );
    assert!(
        ends_within(&s, Duration::from_secs(10)).await,
        "the session ends with its /sse connection"
    );
}

#[tokio::test]
async fn routes_follow_mcp_path_and_public_url_and_can_be_turned_off() {
    let server = TestServer::start(&[
        ("MCP_PATH", "/api/mcp"),
        ("PUBLIC_URL", "https://gw.example.com/edge"),
    ])
    .await;
    assert_eq!(
        get_sse(&server.base, "/sse", None).await.status(),
        StatusCode::NOT_FOUND
    );
    let mut s = LegacySession::open_at(&server.base, "/api/sse", None).await;
    // Clients resolve the endpoint against the public URL: the proxy's prefix comes first.
    assert!(
        s.endpoint.starts_with("/edge/api/messages?sessionId="),
        "{}",
        s.endpoint
    );
    s.endpoint = s.endpoint.trim_start_matches("/edge").to_owned();
    let result = s.initialize("2024-11-05", json!({})).await;
    assert_eq!(result["protocolVersion"], "2024-11-05");

    let off = TestServer::start(&[("TRANSPORT", "streamable-http")]).await;
    assert_eq!(
        get_sse(&off.base, "/sse", None).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = post_raw(
        &format!("{}/messages?sessionId=x", off.base),
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bearer_auth_and_session_binding() {
    const PUBLIC_URL: &str = "https://mcp.example.com";
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("PUBLIC_URL", PUBLIC_URL),
    ])
    .await;
    let token = |sub: &str| {
        key.sign(
            &json!({"iss": auth.base, "aud": format!("{PUBLIC_URL}/mcp"), "sub": sub,
            "client_id": "app-1", "scope": "mcp:tools", "exp": now() + 600, "jti": unique_jti()}),
        )
    };
    let (alice, bob) = (token("alice"), token("bob"));

    let res = get_sse(&server.base, "/sse", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(challenge.contains("resource_metadata="), "{challenge}");

    let mut s = LegacySession::open_at(&server.base, "/sse", Some(&alice)).await;
    s.initialize("2024-11-05", json!({})).await;
    let (me, _) = s.call(&tool_call(1, "whoami", json!({}))).await;
    let text = me["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("alice"), "{me}");

    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let url = format!("{}{}", server.base, s.endpoint);
    let as_bob = http().post(&url).bearer_auth(&bob).json(&ping);
    let res = as_bob.send().await.expect("POST");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another principal");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], -32001, "{body}");
    let res = http().post(&url).json(&ping).send().await.expect("POST");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no token");
    // Alice's session still works.
    let (pong, _) = s.call(&ping).await;
    assert_eq!(pong["result"], json!({}));
}

#[tokio::test]
async fn sse_on_one_replica_and_posts_on_another() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__STORE__POOL_SIZE", "4"),
    ];
    let a = TestServer::start(&env).await;
    let b = TestServer::start(&env).await;
    let mut s = LegacySession::open(&a).await;
    s.post_via(&b);
    let result = s.initialize("2025-06-18", json!({"elicitation": {}})).await;
    assert_eq!(result["protocolVersion"], "2025-06-18");
    let (sum, _) = s.call(&tool_call(1, "add", json!({"a": 1, "b": 2}))).await;
    assert_eq!(sum["result"]["structuredContent"]["result"], 3, "{sum}");

    // POSTs alternate between the replicas: each one's actor learns of initialize.
    s.post_via(&a);
    let (list, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert!(list["result"]["tools"].is_array(), "{list}");

    // The tool waits on B; its question travels to A's stream; the answer is POSTed to A.
    s.post_via(&b);
    s.send(&tool_call(
        3,
        "test_elicitation",
        json!({"message": "Who?"}),
    ))
    .await;
    let ask = s.next_message().await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    s.post_via(&a);
    s.send(
        &json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept",
        "content": {"username": "grace", "email": "grace@example.com"}}}),
    )
    .await;
    let (res, _) = s.response(json!(3)).await;
    let text = res["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("grace"), "{res}");

    // Closing the stream on A ends the session for B too.
    s.post_via(&b);
    s.sse = common::SseReader::new(
        http()
            .get(format!("{}/healthz", a.base))
            .send()
            .await
            .expect("healthz"),
    );
    assert!(ends_within(&s, WAIT).await, "the session ended everywhere");
}
