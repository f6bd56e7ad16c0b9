//! The library API as a Rust developer uses it: build a registry with typed tools (input schema
//! generated from Rust types), resources and prompts, run the server in-process on port 0, and
//! change the registry at run time (live sessions get `list_changed` on their GET stream).

mod common;

use common::{SseReader, split_id};
use mcp_hive::config::Settings;
use mcp_hive::registry::prompt::{PromptArgument, PromptDef};
use mcp_hive::registry::resource::{ResourceDef, text_contents};
use mcp_hive::registry::tool::{CallToolResult, ToolError, ToolSpec};
use mcp_hive::registry::{Registry, ServerEvent};
use mcp_hive::startup::Application;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ReverseArgs {
    /// Text to reverse.
    text: String,
    /// Repeat count.
    #[serde(default)]
    times: Option<u8>,
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    sid: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut rb = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(sid) = sid {
        rb = rb.header("Mcp-Session-Id", sid);
    }
    rb.send().await.unwrap()
}

/// Opens a session (protocol 2025-11-25); returns its id.
async fn initialize(http: &reqwest::Client, url: &str) -> String {
    let res = post(http, url, None, json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"lib","version":"1"}}})).await;
    res.headers()["mcp-session-id"].to_str().unwrap().to_owned()
}

/// The session's GET stream, past its priming event.
async fn get_stream(http: &reqwest::Client, url: &str, sid: &str) -> SseReader {
    let res = http
        .get(url)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", sid)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let _priming = sse.next(Duration::from_secs(5)).await.unwrap();
    sse
}

/// An in-process server on port 0 with `registry`, auth off, the embedded store.
fn embedded_app(registry: &Registry) -> Application {
    let env: HashMap<String, String> = [
        ("PORT", "0"),
        ("HOST", "127.0.0.1"),
        ("DISABLE_AUTH", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Application::build(Settings::load_from(&env, None).unwrap(), registry.clone()).unwrap()
}

/// An in-process server on port 0 with `registry`, auth off, its store in `redis`.
fn redis_app(redis: &common::RedisServer, registry: &Registry) -> Application {
    let env: HashMap<String, String> = [
        ("PORT", "0".to_owned()),
        ("REDIS_URL", redis.url()),
        ("DISABLE_AUTH", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Application::build(Settings::load_from(&env, None).unwrap(), registry.clone()).unwrap()
}

async fn result_of(res: reqwest::Response) -> Value {
    if common::is_sse(res.headers()) {
        let mut sse = SseReader::new(res);
        while let Some(ev) = sse.next(Duration::from_secs(5)).await {
            if let Some(m) = ev.json()
                && (m.get("result").is_some() || m.get("error").is_some())
            {
                return m;
            }
        }
        panic!("no response on the stream");
    }
    res.json().await.unwrap()
}

#[actix_web::test]
async fn custom_tools_and_runtime_registry_changes() {
    let registry = Registry::new();
    registry.add_tool(
        ToolSpec::new("reverse", "Reverse a string")
            .build(|a: ReverseArgs, ctx| async move {
                if a.text.len() > 1000 {
                    return Err(ToolError::Execution("too long".into()));
                }
                let r: String = a.text.chars().rev().collect();
                let session = ctx.session_id.unwrap_or_default();
                let times = usize::from(a.times.unwrap_or(1));
                Ok(CallToolResult::text(format!(
                    "{}|{}",
                    r.repeat(times),
                    session.len()
                )))
            })
            .unwrap(),
    );
    registry.add_resource(ResourceDef::new(
        "app://motd",
        "motd",
        Some("text/plain"),
        |uri, _ctx| async move { Ok(vec![text_contents(&uri, "text/plain", "hello")]) },
    ));
    registry.add_prompt(PromptDef::new("ask", "Ask about a topic", vec![PromptArgument::required("topic", "The topic")], |args, _ctx| async move {
        Ok(json!({"messages": [{"role": "user", "content": {"type": "text", "text": format!("Tell me about {}", args["topic"])}}]}))
    }));

    let app = embedded_app(&registry);
    let url = format!("http://127.0.0.1:{}/mcp", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let sid = initialize(&http, &url).await;

    // The generated schema describes the Rust type.
    let list = result_of(
        post(
            &http,
            &url,
            Some(&sid),
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await,
    )
    .await;
    let schema = &list["result"]["tools"][0]["inputSchema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["text"]));
    assert_eq!(
        schema["properties"]["text"]["description"],
        "Text to reverse."
    );

    let r = result_of(
        post(
            &http,
            &url,
            Some(&sid),
            json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
        "params":{"name":"reverse","arguments":{"text":"abc","times":2}}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        r["result"]["content"][0]["text"], "cbacba|32",
        "handler got args and the session id"
    );
    let r = result_of(
        post(
            &http,
            &url,
            Some(&sid),
            json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
        "params":{"name":"reverse","arguments":{"times":2}}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        r["result"]["isError"], true,
        "schema validation before the handler"
    );
    let r = result_of(
        post(
            &http,
            &url,
            Some(&sid),
            json!({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"app://motd"}}),
        )
        .await,
    )
    .await;
    assert_eq!(r["result"]["contents"][0]["text"], "hello");
    let r = result_of(post(&http, &url, Some(&sid), json!({"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"ask","arguments":{"topic":"bees"}}})).await).await;
    assert!(
        r["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("bees")
    );

    // Runtime changes reach the GET stream as list_changed notifications.
    let mut sse = get_stream(&http, &url, &sid).await;
    assert!(registry.remove_tool("reverse"));
    registry.add_prompt(PromptDef::new(
        "ask2",
        "Another",
        vec![],
        |_a, _c| async move { Ok(json!({"messages": []})) },
    ));
    let mut methods = Vec::new();
    while methods.len() < 2 {
        let ev = sse
            .next(Duration::from_secs(5))
            .await
            .expect("notification");
        assert_eq!(
            split_id(ev.id.as_deref().unwrap()).0,
            "0",
            "on the standalone stream"
        );
        methods.push(ev.json().unwrap()["method"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        methods,
        [
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed"
        ]
    );
    let list = result_of(
        post(
            &http,
            &url,
            Some(&sid),
            json!({"jsonrpc":"2.0","id":6,"method":"tools/list"}),
        )
        .await,
    )
    .await;
    assert_eq!(list["result"]["tools"], json!([]));
    handle.stop(false).await;
}

#[actix_web::test]
async fn resource_updates_reach_subscribers_on_other_replicas() {
    let redis = common::RedisServer::start();
    let mut apps = Vec::new();
    for _ in 0..2 {
        let registry = Registry::new();
        registry.add_resource(ResourceDef::new(
            "app://doc",
            "doc",
            Some("text/plain"),
            |uri, _ctx| async move { Ok(vec![text_contents(&uri, "text/plain", "v1")]) },
        ));
        let app = redis_app(&redis, &registry);
        let url = format!("http://127.0.0.1:{}/mcp", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        apps.push((registry, url));
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // pub/sub listeners connect
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (_, url_b) = &apps[1];
    let sid = initialize(&http, url_b).await;
    let r = result_of(post(&http, url_b, Some(&sid), json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"app://doc"}})).await).await;
    assert_eq!(r["result"], json!({}));
    let mut sse = get_stream(&http, url_b, &sid).await;

    // The change happens on replica A.
    apps[0].0.notify_resource_updated("app://doc");
    let update = sse
        .until(Duration::from_secs(5), |m| {
            m["method"] == "notifications/resources/updated"
        })
        .await;
    assert_eq!(update["params"]["uri"], "app://doc");
    // Exactly once, although both replicas received the event.
    assert!(sse.next(Duration::from_millis(500)).await.is_none());
}

/// Server events reach the standalone stream in the order they were announced, also when each
/// append is a Redis round trip (the actor stores them one after another, not concurrently).
#[actix_web::test]
async fn standalone_notifications_keep_their_order() {
    let redis = common::RedisServer::start();
    let registry = Registry::new();
    let app = redis_app(&redis, &registry);
    announced_order_is_kept(app, &registry).await;
}

/// The same with the embedded store, whose appends the actor makes at once, without its
/// writer task.
#[actix_web::test]
async fn standalone_notifications_keep_their_order_in_the_embedded_store() {
    let registry = Registry::new();
    let app = embedded_app(&registry);
    announced_order_is_kept(app, &registry).await;
}

/// 90 server events of three kinds, announced at once, arrive on the standalone stream in
/// their order with ascending event ids.
async fn announced_order_is_kept(app: Application, registry: &Registry) {
    let url = format!("http://127.0.0.1:{}/mcp", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let sid = initialize(&http, &url).await;
    let mut sse = get_stream(&http, &url, &sid).await;

    let kinds = [
        (
            ServerEvent::ToolsChanged,
            "notifications/tools/list_changed",
        ),
        (
            ServerEvent::PromptsChanged,
            "notifications/prompts/list_changed",
        ),
        (
            ServerEvent::ResourcesChanged,
            "notifications/resources/list_changed",
        ),
    ];
    let count = 90;
    let expected: Vec<&str> = (0..count).map(|i| kinds[i % 3].1).collect();
    for i in 0..count {
        registry.announce_local(kinds[i % 3].0.clone());
    }
    let mut methods = Vec::new();
    let mut seqs = Vec::new();
    while methods.len() < count {
        let ev = sse
            .next(Duration::from_secs(5))
            .await
            .expect("notification");
        seqs.push(split_id(ev.id.as_deref().unwrap()).1);
        methods.push(ev.json().unwrap()["method"].as_str().unwrap().to_owned());
    }
    assert_eq!(methods, expected, "announcement order");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "event ids ascend: {seqs:?}"
    );
    handle.stop(false).await;
}

/// Only sessions with a standalone stream open listen for server events: an announcement wakes
/// the actors that can deliver it, not every live session of the replica.
#[actix_web::test]
async fn only_sessions_with_a_standalone_stream_listen_for_server_events() {
    let registry = Registry::new();
    let app = embedded_app(&registry);
    let url = format!("http://127.0.0.1:{}/mcp", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let before = registry.listeners();

    // Live sessions (each has just answered a request) without a standalone stream.
    let mut sids = Vec::new();
    for i in 0..3 {
        let sid = initialize(&http, &url).await;
        let r = result_of(
            post(
                &http,
                &url,
                Some(&sid),
                json!({"jsonrpc":"2.0","id":i,"method":"tools/list"}),
            )
            .await,
        )
        .await;
        assert!(r["result"]["tools"].is_array(), "{r}");
        sids.push(sid);
    }
    assert_eq!(
        registry.listeners(),
        before,
        "sessions without a GET stream"
    );

    // Opening the standalone stream listens; a second one on the same session does not add.
    let mut sse = get_stream(&http, &url, &sids[0]).await;
    assert_eq!(registry.listeners(), before + 1);
    let newer = get_stream(&http, &url, &sids[0]).await;
    assert_eq!(registry.listeners(), before + 1, "one listener per actor");
    drop(sse);
    sse = newer;
    registry.announce_local(ServerEvent::ToolsChanged);
    let ev = sse
        .until(Duration::from_secs(5), |m| {
            m["method"] == "notifications/tools/list_changed"
        })
        .await;
    assert_eq!(ev["method"], "notifications/tools/list_changed");

    // Once the stream is gone, the next event ends the listening.
    drop(sse);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while registry.listeners() > before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still listening 5 s after the stream closed"
        );
        registry.announce_local(ServerEvent::ToolsChanged);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And a new stream listens again.
    let mut sse = get_stream(&http, &url, &sids[0]).await;
    assert_eq!(registry.listeners(), before + 1);
    registry.announce_local(ServerEvent::PromptsChanged);
    let ev = sse
        .until(Duration::from_secs(5), |m| {
            m["method"] == "notifications/prompts/list_changed"
        })
        .await;
    assert_eq!(ev["method"], "notifications/prompts/list_changed");
    handle.stop(false).await;
}
