//! Every status code and JSON-RPC error of the MCP endpoint, against a real server process.

mod common;

use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn assert_jsonrpc_error(body: &Value, code: i64) {
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn media_types_and_body_limits() {
    let server = TestServer::start(&[("MCP_HIVE__SERVER__MAX_BODY_BYTES", "2048")]).await;
    let c = Client::new(&server);
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});

    // Accept must list both types on POST (406), including the */* case the seed warns about.
    for accept in ["application/json", "text/event-stream", "*/*"] {
        let res = c
            .http
            .post(&c.url)
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_jsonrpc_error(&res.json().await.unwrap(), -32000);
    }
    // Either order is fine.
    let res = c
        .http
        .post(&c.url)
        .header("Content-Type", "application/json")
        .header("Accept", "text/event-stream, application/json")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Content-Type must be JSON (415).
    let res = c
        .http
        .post(&c.url)
        .header("Content-Type", "text/plain")
        .header("Accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_jsonrpc_error(&res.json().await.unwrap(), -32000);

    // Body too large (413), whether declared or streamed.
    let big = json!({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"x".repeat(4096)}});
    let (status, body) = c.call_json(&big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_jsonrpc_error(&body, -32000);
}

#[tokio::test]
async fn malformed_and_invalid_messages() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;

    let res = c
        .http
        .post(&c.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("Mcp-Session-Id", c.session.clone().unwrap())
        .body("{\"jsonrpc\": \"2.0\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_jsonrpc_error(&body, -32700);
    assert!(body["id"].is_null());

    for bad in [
        json!({"id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}),
        json!({"jsonrpc": "2.0"}),
        json!([]),
        json!(42),
    ] {
        let (status, body) = c.call_json(&bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_jsonrpc_error(&body, -32600);
    }

    // Unknown methods are JSON-RPC errors in a 200 response.
    let (status, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":5,"method":"nope/nope"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_jsonrpc_error(&body, -32601);
    assert_eq!(body["id"], 5);
}

#[tokio::test]
async fn session_header_rules() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);

    // No session id on a non-initialize request: 400.
    let (status, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_jsonrpc_error(&body, -32000);

    // Unknown session: 404 with -32001, on POST, GET and DELETE.
    c.session = Some("0123456789abcdef0123456789abcdef".into());
    let (status, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_jsonrpc_error(&body, -32001);
    assert_eq!(
        c.get().send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.delete(Some("0123456789abcdef0123456789abcdef")).await,
        StatusCode::NOT_FOUND
    );

    // A malformed session id (a space is not visible ASCII): 400 with a JSON-RPC body on POST,
    // GET and DELETE; on POST the Accept check still comes first (406).
    let bad = "not a session";
    let post = |accept: &'static str| {
        c.http
            .post(&c.url)
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .header("Mcp-Session-Id", bad)
            .body(json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string())
    };
    let res = post("application/json, text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_jsonrpc_error(&res.json().await.unwrap(), -32000);
    let res = post("application/json").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    for req in [c.http.get(&c.url), c.http.delete(&c.url)] {
        let res = req
            .header("Accept", "text/event-stream")
            .header("Mcp-Session-Id", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_jsonrpc_error(&res.json().await.unwrap(), -32000);
    }

    // Session ids are 128-bit hex: visible ASCII.
    c.session = None;
    c.initialize("2025-11-25", json!({})).await;
    let sid = c.session.clone().unwrap();
    assert_eq!(sid.len(), 32);
    assert!(sid.bytes().all(|b| b.is_ascii_hexdigit()));

    // initialize with a session id is refused; initialize in a batch too.
    let init = json!({"jsonrpc":"2.0","id":9,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let (status, body) = c.call_json(&init).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_jsonrpc_error(&body, -32600);
    let (status, _) = c.call_json(&json!([init])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unsupported MCP-Protocol-Version: 400 listing the supported versions.
    let res = c
        .post_with_version(
            &json!({"jsonrpc":"2.0","id":2,"method":"ping"}),
            "1999-01-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["data"]["supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("2025-11-25")))
    );

    // A supported version other than the negotiated one is tolerated (older SDKs send it).
    let res = c
        .post_with_version(
            &json!({"jsonrpc":"2.0","id":3,"method":"ping"}),
            "2025-03-26",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Other methods on the endpoint: 405.
    let res = c.http.put(&c.url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn notifications_and_responses_get_202_without_body() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    for msg in [
        json!({"jsonrpc":"2.0","method":"notifications/roots/list_changed"}),
        json!({"jsonrpc":"2.0","id":"s999","result":{}}),
        json!({"jsonrpc":"2.0","id":"s998","error":{"code":-1,"message":"no"}}),
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12345}}),
    ] {
        let res = c.post(&msg).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED, "{msg}");
        assert!(res.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn batches_only_for_2025_03_26() {
    let server = TestServer::start(&[]).await;
    let mut modern = Client::new(&server);
    modern.initialize("2025-06-18", json!({})).await;
    let batch = json!([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]);
    let (status, body) = modern.call_json(&batch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_jsonrpc_error(&body, -32600);

    let mut old = Client::new(&server);
    old.initialize("2025-03-26", json!({})).await;
    assert_eq!(old.version, "2025-03-26");
    let (status, body) = old.call_json(&batch).await;
    assert_eq!(status, StatusCode::OK);
    let arr = body.as_array().expect("array of responses");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], 1);
    assert_eq!(arr[0]["result"], json!({}));
    assert_eq!(arr[1]["id"], 2);
    assert!(arr[1]["result"]["tools"].is_array());

    // A batch of notifications only: 202.
    let res = old
        .post(&json!([{"jsonrpc":"2.0","method":"notifications/initialized"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    // A batch with a streaming request answers with one SSE stream carrying every response.
    let mixed = json!([tool_call(7, "add", json!({"a": 1, "b": 2})), {"jsonrpc":"2.0","id":8,"method":"ping"}]);
    let res = old.post(&mixed).send().await.unwrap();
    assert!(common::is_sse(res.headers()));
    let mut sse = common::SseReader::new(res);
    let ids: Vec<Value> = sse
        .collect(std::time::Duration::from_secs(5))
        .await
        .iter()
        .filter_map(common::SseEvent::json)
        .map(|m| m["id"].clone())
        .collect();
    assert!(
        ids.contains(&json!(7)) && ids.contains(&json!(8)),
        "{ids:?}"
    );
}

#[tokio::test]
async fn origin_validation_and_cors() {
    let server = TestServer::start(&[("ALLOWED_ORIGINS", "https://inspector.example.com")]).await;
    let c = Client::new(&server);
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});

    let res = c
        .post(&init)
        .header("Origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_jsonrpc_error(&res.json().await.unwrap(), -32000);

    for origin in ["http://localhost:6274", "https://inspector.example.com"] {
        let res = c.post(&init).header("Origin", origin).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{origin}");
        assert_eq!(res.headers()["access-control-allow-origin"], origin);
        let exposed = res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(exposed.contains("mcp-session-id"));
    }

    let res = c
        .http
        .request(reqwest::Method::OPTIONS, &c.url)
        .header("Origin", "http://localhost:6274")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, mcp-session-id",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        "authorization",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    let res = c
        .http
        .request(reqwest::Method::OPTIONS, &c.url)
        .header("Origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn health_probes() {
    let server = TestServer::start(&[]).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn bad_configuration_stops_startup_naming_the_setting() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-hive"))
        .arg("serve")
        .env("PORT", "not-a-port")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PORT"), "{err}");
}
