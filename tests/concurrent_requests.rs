//! Many requests in flight on one session (each a task of its own next to the session's
//! actor): they run side by side, quick calls are answered while slow ones wait, one can be
//! cancelled without touching the others, a running id is refused and a finished one is free
//! at once, and ending the session ends them all.

mod common;

use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Slow calls held on the session.
const HELD: i64 = 200;
/// How long each held call sleeps between its two steps.
const INTERVAL_MS: u64 = 2_000;

async fn json_server() -> (TestServer, Client) {
    json_server_with(&[]).await
}

async fn json_server_with(env: &[(&str, &str)]) -> (TestServer, Client) {
    let mut env = env.to_vec();
    env.push(("MCP_HIVE__PROTOCOL__RESPONSE_MODE", "json"));
    let server = TestServer::start(&env).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    // The held calls log nothing.
    let (status, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":"quiet","method":"logging/setLevel","params":{"level":"emergency"}}))
        .await;
    assert_eq!((status, &body["result"]), (StatusCode::OK, &json!({})));
    (server, c)
}

/// Starts `HELD` slow `count` calls with ids `1..=HELD`; each resolves to (status, body).
fn hold(c: &Client) -> Vec<tokio::task::JoinHandle<(StatusCode, Value)>> {
    hold_n(c, HELD)
}

/// Starts `n` slow `count` calls with ids `1..=n`.
fn hold_n(c: &Client, n: i64) -> Vec<tokio::task::JoinHandle<(StatusCode, Value)>> {
    (1..=n)
        .map(|id| {
            let c = c.clone();
            tokio::spawn(async move {
                let body = tool_call(id, "count", json!({"number": 2, "intervalMs": INTERVAL_MS}));
                c.call_json(&body).await
            })
        })
        .collect()
}

#[tokio::test]
async fn slow_calls_run_side_by_side_and_each_can_be_cancelled_alone() {
    let (_server, c) = json_server().await;
    let started = Instant::now();
    let held = hold(&c);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A running id is refused; the held request keeps running.
    let (status, dup) = c
        .call_json(&tool_call(5, "add", json!({"a": 1, "b": 2})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dup["id"], 5);
    assert_eq!(dup["error"]["code"], -32600, "{dup}");
    assert!(
        dup["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{dup}"
    );

    // Quick calls on the same session are answered while the slow ones wait.
    for id in 1000..1050 {
        let (_, r) = c
            .call_json(&tool_call(id, "add", json!({"a": id, "b": 1})))
            .await;
        assert_eq!(r["result"]["structuredContent"]["result"], json!(id + 1));
    }
    assert!(
        held.iter().all(|h| !h.is_finished()),
        "no held call finished before its interval"
    );

    // Cancelling one ends that one only.
    let res = c
        .post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mut results = Vec::new();
    for h in held {
        results.push(
            tokio::time::timeout(Duration::from_secs(20), h)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let elapsed = started.elapsed();
    for (i, (status, body)) in results.iter().enumerate() {
        let id = i as i64 + 1;
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body["id"], id);
        if id == 7 {
            assert_eq!(body["error"]["code"], -32800, "cancelled: {body}");
        } else {
            assert_eq!(
                body["result"]["content"][0]["text"], "Counted to 2",
                "{body}"
            );
        }
    }
    assert!(
        elapsed < Duration::from_millis(INTERVAL_MS * 4),
        "the held calls slept side by side, not one after another ({elapsed:?})"
    );

    // A finished request's id is free as soon as its answer is read.
    for _ in 0..100 {
        let (_, r) = c
            .call_json(&tool_call(1, "add", json!({"a": 2, "b": 2})))
            .await;
        assert_eq!(r["result"]["structuredContent"]["result"], json!(4), "{r}");
    }
}

#[tokio::test]
async fn deleting_the_session_ends_every_request_running_on_it() {
    let (server, c) = json_server().await;
    let held = hold(&c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.live_actors().await, 1);

    assert_eq!(c.delete(c.session.as_deref()).await, StatusCode::OK);
    let ended = Instant::now();
    for h in held {
        let (status, body) = tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .expect("a held call ended with its session")
            .unwrap();
        // Cancelled (200 with error -32800) or ended with its session (404, error body).
        assert!(
            [StatusCode::OK, StatusCode::NOT_FOUND].contains(&status),
            "{status}"
        );
        assert!(
            body["result"].is_null() && body["error"]["code"].is_i64(),
            "an error, no result, after the session ended: {body}"
        );
    }
    assert!(
        ended.elapsed() < Duration::from_millis(INTERVAL_MS),
        "the held calls ended with the session, not with their interval"
    );
    assert_eq!(server.live_actors().await, 0);
}

#[tokio::test]
async fn a_session_runs_at_most_max_requests_in_flight() {
    let (_server, c) =
        json_server_with(&[("MCP_HIVE__SESSION__MAX_REQUESTS_IN_FLIGHT", "20")]).await;
    let held = hold_n(&c, 20);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The 21st is refused at once, with the limit, and does not run.
    let (status, refused) = c
        .call_json(&tool_call(21, "add", json!({"a": 1, "b": 2})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["id"], 21);
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert_eq!(refused["error"]["data"]["limit"], 20, "{refused}");
    assert!(refused["result"].is_null());

    // Requests without an id are not requests: a cancellation still gets through.
    let res = c
        .post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mut held = held.into_iter();
    let (_, third) = held.nth(2).unwrap().await.unwrap();
    assert_eq!(third["error"]["code"], -32800, "{third}");

    // One place is free again.
    let (_, ok) = c
        .call_json(&tool_call(22, "add", json!({"a": 1, "b": 2})))
        .await;
    assert_eq!(
        ok["result"]["structuredContent"]["result"],
        json!(3),
        "{ok}"
    );
    for h in held {
        let (_, body) = h.await.unwrap();
        assert_eq!(
            body["result"]["content"][0]["text"], "Counted to 2",
            "{body}"
        );
    }
}
