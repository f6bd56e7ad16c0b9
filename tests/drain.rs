//! Graceful shutdown and readiness, black-box on real server processes: on SIGTERM a replica
//! turns not-ready, keeps serving for `server.drain_delay_secs`, lets POST streams finish on
//! their own connection, closes those still open at the drain deadline so the client resumes
//! on another replica (with Redis) and gets everything, and waits for the request to finish
//! before it exits. `/readyz` also reports whether the authorization server answers.

mod common;

use common::auth_server::AuthServer;
use common::rejection::dead_port;
use common::{Client, RedisServer, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

fn sigterm(server: &TestServer) {
    let pid = server.pid().expect("running server");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

async fn readyz(base: &str) -> Option<(StatusCode, Value)> {
    let res = reqwest::Client::new()
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let status = res.status();
    Some((status, res.json().await.unwrap_or(Value::Null)))
}

/// A `count` call asking for progress.
fn counting(id: i64, number: u64, interval_ms: u64) -> Value {
    let mut body = tool_call(
        id,
        "count",
        json!({"number": number, "intervalMs": interval_ms}),
    );
    body["params"]["_meta"] = json!({"progressToken": "p"});
    body
}

/// Reads a POST stream up to the response to request id 1: the response and the messages
/// before it. The stream must stay open until then.
async fn until_result(sse: &mut SseReader) -> (Value, Vec<Value>) {
    let mut messages = Vec::new();
    loop {
        let ev = sse
            .next(WAIT)
            .await
            .expect("the stream stays open until the result");
        let Some(m) = ev.json() else { continue };
        if m["id"] == 1 {
            return (m, messages);
        }
        messages.push(m);
    }
}

/// Progress values of the notifications in `messages`.
fn progress(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .filter_map(|m| m["params"]["progress"].as_u64())
        .collect()
}

#[tokio::test]
async fn a_post_stream_in_flight_finishes_on_its_own_connection() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.post_stream(&counting(1, 10, 150)).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Not ready any more (or no longer accepting at all).
    if let Some((status, body)) = readyz(&server.base).await {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "shutting down");
    }
    let (result, messages) = until_result(&mut sse).await;
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 10");
    assert_eq!(progress(&messages), (1..=10).collect::<Vec<_>>());
    assert!(started.elapsed() >= Duration::from_millis(1300));
    assert!(
        server.terminate(Duration::from_secs(5)).await,
        "exits once drained"
    );
}

/// Session actors live on the HTTP worker thread whose request started them, and a worker
/// stops with the HTTP server. Calls whose connection is served by one worker while their
/// actor lives on the other must still finish: the shutdown moves the actors off the workers
/// first. Each session is initialized on its own connection (which then closes) and called on
/// another, so with two workers actors and calls land on either; the calls differ in length so
/// that one worker runs out of connections while the other's calls still run.
#[tokio::test]
async fn calls_finish_whichever_worker_their_actor_lives_on() {
    let server = TestServer::start(&[("MCP_HIVE__SERVER__WORKERS", "2")]).await;
    let mut calls = Vec::new();
    for i in 0..8u64 {
        let mut opener = Client::new(&server);
        opener.initialize("2025-11-25", json!({})).await;
        let mut caller = Client::new(&server);
        caller.session = opener.session.clone();
        drop(opener);
        let (number, interval) = if i % 2 == 0 { (2, 100) } else { (8, 150) };
        let sse = caller.post_stream(&counting(1, number, interval)).await;
        calls.push((number, sse, caller));
    }
    sigterm(&server);
    for (number, mut sse, _caller) in calls {
        let (result, messages) = until_result(&mut sse).await;
        assert_eq!(
            result["result"]["content"][0]["text"],
            format!("Counted to {number}"),
            "{result}"
        );
        assert_eq!(progress(&messages), (1..=number).collect::<Vec<_>>());
    }
    assert!(
        server.terminate(Duration::from_secs(5)).await,
        "exits once drained"
    );
}

#[tokio::test]
async fn the_drain_delay_keeps_serving_while_not_ready() {
    let server = TestServer::start(&[("MCP_HIVE__SERVER__DRAIN_DELAY_SECS", "2")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (status, body) = readyz(&server.base).await.expect("ready");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["in_flight_requests"], 0);
    sigterm(&server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = readyz(&server.base).await.expect("still accepting");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = c
        .call_json(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "served during the drain delay: {body}"
    );
    assert_eq!(body["result"], json!({}));
    assert!(server.terminate(Duration::from_secs(8)).await);
}

#[tokio::test]
async fn a_post_stream_cut_at_the_drain_deadline_resumes_on_another_replica() {
    let redis = RedisServer::start();
    let url = redis.url();
    // Budget 3 s: the POST stream closes at 2 s, the call (about 2.6 s) still finishes here.
    let env = [
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__SERVER__SHUTDOWN_TIMEOUT_SECS", "3"),
    ];
    let a = TestServer::start(&env).await;
    let b = TestServer::start(&env).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.post_stream(&counting(7, 13, 200)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigterm(&a);
    let mut messages = Vec::new();
    let mut last = None;
    let cut = Instant::now();
    while let Some(ev) = sse.next(WAIT).await {
        if let Some(id) = ev.id.as_deref() {
            last = Some(split_id(id));
        }
        if let Some(m) = ev.json() {
            assert_ne!(m["id"], 7, "the call outlives the drain deadline");
            messages.push(m);
        }
    }
    let elapsed = cut.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_millis(2900),
        "the POST stream closed at the drain deadline, after {elapsed:?}"
    );
    let (stream, seq) = last.expect("events carried ids");
    // Resume on the other replica, as a client does after the retry hint.
    let res = b
        .client_for(&c)
        .get()
        .header("Last-Event-ID", format!("{stream}-{seq}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut resumed = SseReader::new(res);
    let result = loop {
        let ev = resumed.next(WAIT).await.expect("the result is replayed");
        let Some(m) = ev.json() else { continue };
        if m["id"] == 7 {
            break m;
        }
        messages.push(m);
    };
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 13");
    assert_eq!(
        progress(&messages),
        (1..=13).collect::<Vec<_>>(),
        "every notification exactly once across the two connections"
    );
    assert!(
        a.terminate(Duration::from_secs(5)).await,
        "the replica exited"
    );
}

#[tokio::test]
async fn readiness_follows_the_introspection_endpoint() {
    let mut auth = AuthServer::start();
    auth.expect_client("mcp-hive-rs", "secret");
    let env = |url: &str| {
        vec![
            ("DISABLE_AUTH".to_owned(), "false".to_owned()),
            ("AUTH_TOKEN_MODE".to_owned(), "introspection".to_owned()),
            ("OAUTH_SERVER_URL".to_owned(), url.to_owned()),
            ("OAUTH_CLIENT_ID".to_owned(), "mcp-hive-rs".to_owned()),
            ("OAUTH_CLIENT_SECRET".to_owned(), "secret".to_owned()),
        ]
    };
    let start = |vars: Vec<(String, String)>| async move {
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        TestServer::start(&refs).await
    };
    let up = start(env(&auth.base)).await;
    let (status, body) = readyz(&up.base).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");

    let wrong = start(
        env(&auth.base)
            .into_iter()
            .map(|(k, v)| {
                if k == "OAUTH_CLIENT_SECRET" {
                    (k, "wrong".into())
                } else {
                    (k, v)
                }
            })
            .collect(),
    )
    .await;
    let (status, body) = readyz(&wrong.base).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("client credentials"),
        "{body}"
    );

    let dead = format!("http://127.0.0.1:{}", dead_port());
    let down = start(env(&dead)).await;
    let (status, body) = readyz(&down.base).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "authorization server unavailable");

    let mut lenient = env(&dead);
    lenient.push((
        "MCP_HIVE__AUTH__READY_REQUIRES_SERVER".into(),
        "false".into(),
    ));
    let lenient = start(lenient).await;
    let (status, body) = readyz(&lenient.base).await.unwrap();
    assert_eq!(status, StatusCode::OK, "switched off: {body}");

    auth.stop();
}

#[tokio::test]
async fn readiness_follows_the_jwks() {
    let auth = AuthServer::start();
    auth.set_jwks_failing(true);
    let jwks = auth.jwks_url();
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("JWT_JWKS_URL", jwks.as_str()),
        ("MCP_HIVE__AUTH__JWT__JWKS_MIN_REFETCH_SECS", "0"),
    ])
    .await;
    let (status, body) = readyz(&server.base).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("jwks"), "{body}");
    auth.set_jwks_failing(false);
    // The failed result is reused for up to 5 s.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let (status, body) = readyz(&server.base).await.unwrap();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never ready again: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
