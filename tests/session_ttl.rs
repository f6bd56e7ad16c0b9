//! A session in steady use never expires, even when every request of it lands where its actor
//! has hibernated (a rehydrated actor used to count itself as just touched without sliding the
//! stored TTL, so such a session expired `idle_timeout_secs` after its last touch; the soak
//! benchmark found it with two round-robin replicas). Embedded store and two Redis replicas.

mod common;

use common::{Client, RedisServer, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// Session TTL 3 s, actors hibernate after 1 s idle: a request every 2 s always rehydrates.
const ENV: [(&str, &str); 2] = [
    ("SESSION_IDLE_TIMEOUT_SECS", "3"),
    ("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "1"),
];

async fn ping(client: &Client, id: u64) -> StatusCode {
    client
        .call_json(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
        .await
        .0
}

#[tokio::test]
async fn requests_that_rehydrate_the_actor_keep_the_session_alive() {
    let server = TestServer::start(&ENV).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    // 4 × 2 s = 8 s, well past the 3 s TTL counted from creation.
    for id in 1..=4 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(server.live_actors().await, 0, "the actor hibernated");
        assert_eq!(ping(&c, id).await, StatusCode::OK, "ping {id}");
    }
}

#[tokio::test]
async fn requests_alternating_between_replicas_keep_the_session_alive() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [ENV[0], ENV[1], ("REDIS_URL", url.as_str())];
    let (a, b) = (TestServer::start(&env).await, TestServer::start(&env).await);
    let mut first = Client::new(&a);
    first.initialize("2025-11-25", json!({})).await;
    let clients = [b.client_for(&first), a.client_for(&first)];
    for id in 1..=4u64 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let c = &clients[id as usize % 2];
        assert_eq!(ping(c, id).await, StatusCode::OK, "ping {id}");
    }
    let ttl: i64 = redis
        .cli(&[
            "PTTL",
            &format!("mcp:{{{}}}:session", first.session.clone().unwrap()),
        ])
        .parse()
        .unwrap();
    assert!(ttl > 2000, "the last request slid the TTL: {ttl} ms left");
}
