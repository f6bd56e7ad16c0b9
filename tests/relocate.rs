//! A session actor moves to the HTTP worker its requests arrive on (`session.relocate_after`,
//! `session::relocate`), black-box against `mcp-hive serve` with two HTTP workers, on the
//! embedded store and on a real `redis-server`.
//!
//! Which worker serves a connection is actix-web's choice: it hands accepted connections to
//! its workers in turn, so with two workers consecutive new connections land on different
//! ones. Every client below has its own connection pool, and every response is JSON (read to
//! its end), so a client keeps to one connection.

mod common;

use common::{Client, RedisServer, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const AFTER: &str = "4";

async fn start(extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("MCP_HIVE__SERVER__WORKERS", "2"),
        ("MCP_HIVE__SESSION__RELOCATE_AFTER", AFTER),
        ("MCP_HIVE__PROTOCOL__RESPONSE_MODE", "json"),
        // The server ends SSE connections after 2 s (a client dropping one is noticed only at
        // the next write), so the GET stream below detaches at a known time.
        ("MCP_HIVE__SSE__MAX_CONNECTION_SECS", "2"),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// `/readyz`, read over one kept-alive connection (opened before any MCP client's).
struct Probe {
    http: reqwest::Client,
    url: String,
}

impl Probe {
    /// Waits (at most 10 s) until the replica is ready: with Redis, right after start-up it
    /// may still be connecting.
    async fn new(server: &TestServer) -> Self {
        let probe = Self {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: format!("{}/readyz", server.base),
        };
        for _ in 0..100 {
            let res = probe.http.get(&probe.url).send().await.expect("readyz");
            if res.status() == StatusCode::OK {
                let _ = res.bytes().await;
                return probe;
            }
            let _ = res.bytes().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the replica did not become ready");
    }

    async fn readyz(&self) -> Value {
        let res = self.http.get(&self.url).send().await.expect("readyz");
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    async fn relocations(&self) -> u64 {
        self.readyz().await["actor_relocations"]
            .as_u64()
            .expect("actor_relocations")
    }
}

/// `n` calls of `add`, each answered correctly.
async fn calls(c: &Client, n: i64) {
    for i in 0..n {
        let (status, body) = c
            .call_json(&tool_call(i + 1, "add", json!({"a": i, "b": 1000})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["result"]["structuredContent"]["result"],
            i + 1000,
            "{body}"
        );
    }
}

/// The scenario, on whatever store `extra` selects.
async fn moves_to_the_calling_worker(extra: &[(&str, &str)]) {
    let server = start(extra).await;
    let probe = Probe::new(&server).await;
    let mut creator = Client::new(&server);
    creator.initialize("2025-11-25", json!({})).await;
    calls(&creator, 12).await;
    assert_eq!(
        probe.relocations().await,
        0,
        "calls on the creating connection reach the actor on its own worker"
    );

    // The next connection lands on the other worker: its run of calls moves the actor there,
    // once, and every call is answered (the one that asked finds the actor gone and
    // rehydrates the session on its own worker).
    let other = server.client_for(&creator);
    calls(&other, 12).await;
    assert_eq!(probe.relocations().await, 1, "one move for one run");
    calls(&other, 12).await;
    assert_eq!(
        probe.relocations().await,
        1,
        "the actor lives where these calls arrive now"
    );
    assert_eq!(probe.readyz().await["live_actors"], 1, "one actor, not two");

    // A busy actor stays: while a GET stream is attached, a run from the creator's worker
    // does not move it back; once the stream is gone, the next run does.
    let watcher = server.client_for(&creator);
    let mut stream = watcher.get_stream().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    calls(&creator, 12).await;
    assert_eq!(probe.relocations().await, 1, "an attached stream keeps it");
    assert!(
        stream.ended(Duration::from_secs(5)).await,
        "the server ends the GET connection after sse.max_connection_secs"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    calls(&creator, 12).await;
    assert_eq!(probe.relocations().await, 2, "moved back once idle");
    calls(&other, 3).await;
    assert_eq!(probe.relocations().await, 2, "a short run moves nothing");
}

#[tokio::test]
async fn embedded_store_actor_moves_to_the_worker_its_requests_arrive_on() {
    moves_to_the_calling_worker(&[]).await;
}

#[tokio::test]
async fn redis_store_actor_moves_to_the_worker_its_requests_arrive_on() {
    let redis = RedisServer::start();
    let url = redis.url();
    moves_to_the_calling_worker(&[("REDIS_URL", url.as_str())]).await;
}

#[tokio::test]
async fn relocate_after_zero_never_moves_an_actor() {
    let server = start(&[("MCP_HIVE__SESSION__RELOCATE_AFTER", "0")]).await;
    let probe = Probe::new(&server).await;
    let mut creator = Client::new(&server);
    creator.initialize("2025-11-25", json!({})).await;
    let other = server.client_for(&creator);
    calls(&other, 24).await;
    assert_eq!(probe.relocations().await, 0);
}
