//! Streams of MCP 2026-07-28 against real processes: SSE replies carry a request's progress and
//! (only when asked for) log notifications before its result; `subscriptions/listen` opens with
//! its acknowledgment, honours its filter, hears changes announced on another replica through
//! Redis, and ends with a completion result when the server shuts down. Also the transport rules
//! around them: `Mcp-Param-*` headers, 405 for GET/DELETE without a session, `initialize`
//! selecting the session era.

mod common;

use common::modern::{Modern, V, send};
use common::{Client, RedisServer, SseReader, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const SUB_ID: &str = "io.modelcontextprotocol/subscriptionId";

async fn frames(mut sse: SseReader) -> Vec<Value> {
    sse.collect(Duration::from_secs(10))
        .await
        .iter()
        .filter_map(|e| e.json())
        .collect()
}

fn methods(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            f["method"]
                .as_str()
                .map_or_else(|| "<response>".to_owned(), str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn sse_replies_carry_progress_and_only_requested_logs() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(&server.mcp, json!({}));
    let call = json!({"name": "test_tool_with_logging", "arguments": {}});
    let logged = frames(
        c.stream(
            1,
            "tools/call",
            call.clone(),
            json!({"io.modelcontextprotocol/logLevel": "debug"}),
        )
        .await,
    )
    .await;
    let m = methods(&logged);
    assert!(
        m.iter().filter(|m| *m == "notifications/message").count() >= 1,
        "{m:?}"
    );
    assert_eq!(m.last().map(String::as_str), Some("<response>"), "{m:?}");
    assert_eq!(
        logged.last().map(|f| f["result"]["resultType"].clone()),
        Some(json!("complete"))
    );

    // A progress token without a log level: progress, and no log message.
    let quiet = frames(
        c.stream(2, "tools/call", call, json!({"progressToken": "p"}))
            .await,
    )
    .await;
    assert!(
        !methods(&quiet).iter().any(|m| m == "notifications/message"),
        "{quiet:?}"
    );

    let progress = json!({"name": "test_tool_with_progress", "arguments": {}});
    let f = frames(
        c.stream(3, "tools/call", progress, json!({"progressToken": 7}))
            .await,
    )
    .await;
    let steps: Vec<&Value> = f
        .iter()
        .filter(|f| f["method"] == "notifications/progress")
        .collect();
    assert!(steps.len() >= 2, "{f:?}");
    assert!(steps.iter().all(|s| s["params"]["progressToken"] == 7));
    assert!(
        f.iter().all(|f| f
            .get("method")
            .is_none_or(|m| m.as_str().is_some_and(|m| m.starts_with("notifications/")))),
        "no server-to-client request on a response stream: {f:?}"
    );

    // Without a notification request the same call is plain JSON.
    let r = c.tool(4, "test_tool_with_logging", json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json")
    );
}

/// An SSE reply's head waits for the first message only briefly (`HEAD_HOLD`, 20 ms): a
/// request that sends nothing for a while still gets its head at once.
#[tokio::test]
async fn a_slow_sse_reply_gets_its_head_before_its_first_message() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(&server.mcp, json!({}));
    // Two counts 1.5 s apart; a log level (SSE reply) above the tool's info logs: nothing is
    // sent before the result.
    let call = json!({"name": "count", "arguments": {"number": 2, "intervalMs": 1500}});
    let started = std::time::Instant::now();
    let sse = c
        .stream(
            1,
            "tools/call",
            call,
            json!({"io.modelcontextprotocol/logLevel": "error"}),
        )
        .await;
    let head_after = started.elapsed();
    assert!(
        head_after < Duration::from_millis(1000),
        "head after {head_after:?}, before the request ends"
    );
    let got = frames(sse).await;
    assert_eq!(methods(&got), ["<response>"], "{got:?}");
    assert_eq!(got[0]["result"]["content"][0]["text"], "Counted to 2");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn listen_filters_and_hears_other_replicas() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [("REDIS_URL", url.as_str())];
    let a = TestServer::start(&env).await;
    let b = TestServer::start(&env).await;
    let (ca, cb) = (
        Modern::new(&a.mcp, json!({})),
        Modern::new(&b.mcp, json!({})),
    );
    let filter = json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["demo://clock"], "bogus": true}});
    let mut sse = ca
        .stream(41, "subscriptions/listen", filter, json!({}))
        .await;
    let ack = sse
        .next(Duration::from_secs(5))
        .await
        .and_then(|e| e.json())
        .expect("ack");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(ack["params"]["_meta"][SUB_ID], 41);
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["demo://clock"]})
    );
    // Changes announced on replica B reach the listener on replica A; prompts were not asked for.
    for (id, tool) in [
        (1, "test_trigger_prompt_change"),
        (2, "test_trigger_tool_change"),
    ] {
        let r = cb.tool(id, tool, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let tools = sse
        .until(Duration::from_secs(5), |f| {
            f["method"] == "notifications/tools/list_changed"
        })
        .await;
    assert_eq!(tools["params"]["_meta"][SUB_ID], 41);
    let clock = sse
        .until(Duration::from_secs(5), |f| {
            f["method"] == "notifications/resources/updated"
        })
        .await;
    assert_eq!(clock["params"]["uri"], "demo://clock");
    assert_eq!(clock["params"]["_meta"][SUB_ID], 41);
    // The clock ticks every second, so the stream never pauses: watch it for a fixed window.
    let end = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Some(e) = sse
        .next(end.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        let f = e.json().unwrap_or_default();
        assert_ne!(
            f["method"], "notifications/prompts/list_changed",
            "prompts were not asked for"
        );
        assert_eq!(f["params"]["_meta"][SUB_ID], 41, "{f}");
    }
}

#[tokio::test]
async fn listen_ends_with_a_completion_result_on_shutdown() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(&server.mcp, json!({}));
    let mut sse = c
        .stream(
            9,
            "subscriptions/listen",
            json!({"notifications": {"promptsListChanged": true}}),
            json!({}),
        )
        .await;
    let ack = sse
        .next(Duration::from_secs(5))
        .await
        .and_then(|e| e.json())
        .expect("ack");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    let stopping = tokio::spawn(server.terminate(Duration::from_secs(20)));
    let done = sse
        .until(Duration::from_secs(10), |f| f.get("id").is_some())
        .await;
    assert_eq!(done["id"], 9);
    assert_eq!(done["result"]["resultType"], "complete");
    assert_eq!(done["result"]["_meta"][SUB_ID], 9);
    assert!(stopping.await.unwrap_or(false), "the server stops");
}

#[tokio::test]
async fn param_headers_must_mirror_annotated_arguments() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(&server.mcp, json!({}));
    let call = |region: &'static str, header: Option<&'static str>| {
        let rb = c.request(
            1,
            "tools/call",
            json!({"name": "test_header_param", "arguments": {"region": region}}),
            json!({}),
        );
        let rb = match header {
            Some(h) => rb.header("Mcp-Param-Region", h),
            None => rb,
        };
        send(rb)
    };
    let ok = call("eu-west", Some("eu-west")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["result"]["content"][0]["text"], "region: eu-west");
    // "Zürich" travels base64-encoded.
    let encoded = call("Zürich", Some("=?base64?WsO8cmljaA==?=")).await;
    assert_eq!(encoded.status, StatusCode::OK, "{}", encoded.body);
    for (region, header) in [
        ("eu-west", None),
        ("eu-west", Some("us-east")),
        ("Zürich", Some("=?base64?WsO8cmljaA=?=")),
    ] {
        let r = call(region, header).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{region} {header:?}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["code"], -32020);
    }
}

#[tokio::test]
async fn get_and_delete_without_a_session_are_405_and_initialize_is_session_era() {
    let server = TestServer::start(&[]).await;
    let http = reqwest::Client::new();
    let get = http
        .get(&server.mcp)
        .header("Accept", "text/event-stream")
        .header("MCP-Protocol-Version", V)
        .send()
        .await
        .expect("GET");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let del = http
        .delete(&server.mcp)
        .header("MCP-Protocol-Version", V)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(del.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = del.json().await.unwrap_or_default();
    assert!(body["error"]["message"].is_string(), "{body}");

    // initialize carrying modern `_meta` still opens a session.
    let mut c = Client::new(&server);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": V}}});
    let res = c.post(&init).send().await.expect("initialize");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("mcp-session-id"));
    c.session = None;
}
