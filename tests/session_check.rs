//! The per-request session check with a shared store (`session.verify_each_request`, on by
//! default): a replica whose actor of a session is live must not serve a request once the
//! session is gone from Redis — deleted on another replica (its signal still on the way), or
//! removed without any signal. Every kind of request gets 404: one that changes something is
//! refused before it runs; one that changes nothing and is answered over SSE is refused by the
//! store's write of its reply (or, when no reply is stored within the head's hold, by a check
//! before the head), which makes such a call one Redis round trip instead of two.

mod common;

use common::{Client, RedisServer, TestServer, redis_replicas, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// The setting under test, explicitly on (it is the default).
const VERIFY: &[(&str, &str)] = &[("MCP_HIVE__SESSION__VERIFY_EACH_REQUEST", "true")];

/// Removes the session's record from Redis behind the replicas' backs (no signal), as an
/// operator's `DEL` or an eviction would.
fn drop_record(redis: &RedisServer, client: &Client) {
    let sid = client.session.clone().expect("session");
    assert_eq!(redis.cli(&["DEL", &format!("mcp:{{{sid}}}:session")]), "1");
}

/// Posts `body` and returns the status and the body, read whole (JSON, or the SSE text).
async fn post(client: &Client, body: &Value) -> (StatusCode, String) {
    let res = client.post(body).send().await.expect("send");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// Polls `/readyz` until the replica has no live actor.
async fn no_live_actor(server: &TestServer) -> bool {
    for _ in 0..50 {
        if server.live_actors().await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Redis's count of socket reads: one per round trip of a client sending one command or
/// script at a time.
fn reads(redis: &RedisServer) -> u64 {
    redis
        .cli(&["INFO", "stats"])
        .lines()
        .find_map(|l| l.strip_prefix("total_reads_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("total_reads_processed")
}

#[tokio::test]
async fn every_kind_of_request_on_a_session_gone_from_redis_gets_404() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 1, VERIFY).await;
    let count = |interval: u64| tool_call(2, "count", json!({"number": 2, "intervalMs": interval}));
    let cases: [(&str, Value, Option<&str>); 6] = [
        (
            "read-only tool, reply at once",
            tool_call(2, "add", json!({"a": 1, "b": 2})),
            None,
        ),
        (
            "read-only tool, a log message first",
            count(300),
            Some("info"),
        ),
        // Nothing is stored within the head's hold: the head waits for a check instead.
        (
            "read-only tool, nothing stored for 300 ms",
            count(300),
            Some("emergency"),
        ),
        (
            "tool without annotations",
            tool_call(2, "test_simple_text", json!({})),
            None,
        ),
        (
            "reading method, JSON reply",
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            None,
        ),
        (
            "setting method",
            json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "debug"}}),
            None,
        ),
    ];
    for (what, request, level) in cases {
        let mut c = Client::new(&r[0]);
        c.initialize("2025-11-25", json!({})).await;
        if let Some(level) = level {
            let set = json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": level}});
            assert_eq!(c.call_json(&set).await.0, StatusCode::OK, "{what}");
        }
        // The actor is live and has served an SSE call.
        let (warm, _) = c.call(&tool_call(1, "add", json!({"a": 2, "b": 2}))).await;
        assert_eq!(
            warm["result"]["structuredContent"]["result"],
            json!(4),
            "{what}"
        );
        drop_record(&redis, &c);
        let (status, body) = post(&c, &request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
        let error: Value = serde_json::from_str(&body).expect("a JSON-RPC error body");
        assert_eq!(error["error"]["code"], json!(-32001), "{what}: {body}");
        assert!(
            no_live_actor(&r[0]).await,
            "{what}: the actor outlived its session"
        );
    }
}

#[tokio::test]
async fn a_read_only_call_over_sse_costs_one_redis_round_trip() {
    const CALLS: u64 = 100;
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 1, VERIFY).await;
    let mut c = Client::new(&r[0]);
    c.initialize("2025-11-25", json!({})).await;
    let mut per_tool = Vec::new();
    for tool in ["add", "test_simple_text"] {
        let args = if tool == "add" {
            json!({"a": 1, "b": 1})
        } else {
            json!({})
        };
        // Warm: the actor is live, the scripts are loaded.
        for id in 0..5 {
            c.call(&tool_call(id, tool, args.clone())).await;
        }
        let before = reads(&redis);
        for id in 0..CALLS {
            let (reply, _) = c
                .call(&tool_call(100 + id as i64, tool, args.clone()))
                .await;
            assert!(reply.get("result").is_some(), "{tool}: {reply}");
        }
        // Less the `INFO` of this measurement; a heartbeat or two may fall inside.
        per_tool.push((tool, reads(&redis) - before - 1));
    }
    let (read_only, effects) = (per_tool[0].1, per_tool[1].1);
    assert!(
        (CALLS..=CALLS + CALLS / 10).contains(&read_only),
        "a read-only call makes one round trip (the reply's append): {per_tool:?}"
    );
    assert!(
        (2 * CALLS..=2 * CALLS + CALLS / 10).contains(&effects),
        "other calls are checked first, then stored: {per_tool:?}"
    );
}

#[tokio::test]
async fn a_request_right_after_delete_elsewhere_gets_404() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, VERIFY).await;
    for round in 0..40 {
        let mut x = Client::new(&r[0]);
        x.initialize("2025-11-25", json!({})).await;
        let y = r[1].client_for(&x);
        // Y caches the session (its actor is live), then X deletes it.
        let (status, _) = y
            .call_json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(x.delete(x.session.as_deref()).await, StatusCode::OK);
        // A JSON reply (checked before it runs) and a read-only call over SSE (checked by the
        // store's write of its reply) alike.
        let request = if round % 2 == 0 {
            json!({"jsonrpc":"2.0","id":2,"method":"tools/list"})
        } else {
            tool_call(2, "add", json!({"a": 1, "b": 2}))
        };
        let (status, body) = post(&y, &request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
}

#[tokio::test]
async fn a_cached_session_gone_from_redis_gets_404() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 1, VERIFY).await;
    let mut c = Client::new(&r[0]);
    c.initialize("2025-11-25", json!({})).await;
    let (status, _) = c
        .call_json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The record disappears without any signal (manual DEL, eviction): the live actor must not
    // keep serving it.
    let sid = c.session.clone().unwrap();
    redis.cli(&["DEL", &format!("mcp:{{{sid}}}:session")]);
    let (status, _) = c
        .call_json(&json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
