//! Several `mcp-hive serve` processes on one real `redis-server` behave as one server: any
//! replica serves any request of any session, streams resume anywhere without loss after a
//! SIGKILL, client answers and cancellations reach the replica running the tool, DELETE ends
//! streams everywhere, and a Redis outage gives 503 until Redis returns.

mod common;

use common::{Client, RedisServer, SseReader, TestServer, redis_replicas, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn any_replica_serves_any_request() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 3, &[]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({})).await;
    let b = r[1].client_for(&a);
    let c = r[2].client_for(&a);

    let (res, _) = b
        .call(&tool_call(1, "add", json!({"a": 20, "b": 22})))
        .await;
    assert_eq!(res["result"]["structuredContent"]["result"], 42);
    // State set on B reaches A's cached actor through a bus signal, within a second.
    let (_, body) = b
        .call_json(
            &json!({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"error"}}),
        )
        .await;
    assert_eq!(body["result"], json!({}));
    let mut quiet = false;
    for id in 3..13 {
        let (_, seen) = a
            .call(&tool_call(id, "test_tool_with_logging", json!({})))
            .await;
        if seen.iter().all(|m| m["method"] != "notifications/message") {
            quiet = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(quiet, "the log level set on B applies on A");

    // GET stream on C; subscription made through B; updates arrive on C.
    let mut get = c.get_stream().await;
    get.next(WAIT).await.expect("priming");
    let (_, body) = b.call_json(&json!({"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"demo://clock"}})).await;
    assert_eq!(body["result"], json!({}));
    let ev = get
        .next(WAIT)
        .await
        .expect("resource update on the GET stream held by C");
    assert_eq!(
        ev.json().unwrap()["method"],
        "notifications/resources/updated"
    );

    // A newer GET on A takes over C's connection: each message reaches one connection only.
    let mut get_a = a.get_stream().await;
    get_a.next(WAIT).await.unwrap();
    assert!(
        get.ended(Duration::from_secs(2)).await,
        "C's connection closed by the takeover on A"
    );
    assert!(get_a.next(WAIT).await.is_some());
}

/// Starts `count` (with progress, request id 1) on `server` over SSE and drops the connection
/// after the priming event: the tool keeps running there. Returns the session's client and the
/// POST stream's id.
async fn counting_elsewhere(
    server: &TestServer,
    number: u64,
    interval_ms: u64,
) -> (Client, String) {
    let mut producer = Client::new(server);
    producer.initialize("2025-11-25", json!({})).await;
    let mut body = tool_call(
        1,
        "count",
        json!({"number": number, "intervalMs": interval_ms}),
    );
    body["params"]["_meta"] = json!({"progressToken": "k"});
    let mut sse = producer.post_stream(&body).await;
    let priming = sse.next(WAIT).await.unwrap();
    let (stream, _) = split_id(priming.id.as_deref().unwrap());
    (producer, stream)
}

#[tokio::test]
async fn resume_after_sigkill_loses_nothing() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[]).await;
    let (producer, stream) = counting_elsewhere(&r[0], 60, 40).await;

    let mut last = 0u64;
    let mut seen = Vec::new();
    let mut done = false;
    for round in 0..6 {
        if done {
            break;
        }
        // Resume on a fresh replica, read a little, then SIGKILL it mid-stream.
        let holder = TestServer::start(&[("REDIS_URL", redis.url().as_str())]).await;
        let client = holder.client_for(&producer);
        let res = client
            .get()
            .header("Last-Event-ID", format!("{stream}-{last}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "round {round}");
        let mut sse = SseReader::new(res);
        for _ in 0..8 {
            let Some(ev) = sse.next(WAIT).await else {
                break;
            };
            if ev.data.is_empty() {
                continue;
            }
            let (s, n) = split_id(ev.id.as_deref().unwrap());
            assert_eq!(s, stream);
            assert_eq!(n, last + 1, "round {round}: no gap, no duplicate");
            last = n;
            let msg = ev.json().unwrap();
            if msg["id"] == 1 {
                done = true;
                break;
            }
            seen.push(msg);
        }
        holder.kill().await;
    }
    // Finish on a surviving replica.
    let client = r[1].client_for(&producer);
    if !done {
        let res = client
            .get()
            .header("Last-Event-ID", format!("{stream}-{last}"))
            .send()
            .await
            .unwrap();
        let mut sse = SseReader::new(res);
        while let Some(ev) = sse.next(WAIT).await {
            if ev.data.is_empty() {
                continue;
            }
            let (_, n) = split_id(ev.id.as_deref().unwrap());
            assert_eq!(n, last + 1);
            last = n;
            let msg = ev.json().unwrap();
            if msg["id"] == 1 {
                assert_eq!(msg["result"]["content"][0]["text"], "Counted to 60");
                done = true;
                break;
            }
            seen.push(msg);
        }
    }
    assert!(done, "the result arrived");
    let progress: Vec<u64> = seen
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_u64().unwrap())
        .collect();
    assert_eq!(
        progress,
        (1..=60).collect::<Vec<_>>(),
        "every progress notification exactly once, in order"
    );
}

/// A stream resumed on another replica while its request still runs where it started follows
/// it live: each event the running replica appends wakes the reader on the other one (the
/// reader's watcher lease routes the wake-up there), not just the replay at reconnection.
#[tokio::test]
async fn a_stream_resumed_elsewhere_follows_the_running_replica_live() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[]).await;
    let (producer, stream) = counting_elsewhere(&r[0], 8, 250).await;
    let res = r[1]
        .client_for(&producer)
        .get()
        .header("Last-Event-ID", format!("{stream}-0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut sse = SseReader::new(res);
    let mut progress = Vec::new();
    loop {
        // Events come every 250 ms: each must reach replica 1 well within a second.
        let ev = sse
            .next(Duration::from_millis(1500))
            .await
            .unwrap_or_else(|| panic!("stalled after progress {progress:?}"));
        if ev.data.is_empty() {
            continue;
        }
        let msg = ev.json().unwrap();
        if msg["id"] == 1 {
            assert_eq!(msg["result"]["content"][0]["text"], "Counted to 8");
            break;
        }
        if msg["method"] == "notifications/progress" {
            progress.push(msg["params"]["progress"].as_u64().unwrap());
        }
    }
    assert_eq!(progress, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn answers_and_cancellations_cross_replicas() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({"elicitation": {}})).await;
    let b = r[1].client_for(&a);

    // An elicitation raised by a tool on A is answered through B.
    let mut sse = a
        .post_stream(&tool_call(7, "test_elicitation", json!({"message": "hi"})))
        .await;
    let request = sse
        .until(WAIT, |m| m["method"] == "elicitation/create")
        .await;
    let res = b.post(&json!({"jsonrpc":"2.0","id":request["id"],"result":{"action":"accept","content":{"username":"u","email":"e@x"}}})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let result = sse.until(WAIT, |m| m["id"] == 7).await;
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("action=accept")
    );

    // A cancellation sent to B stops the request running on A.
    let mut sse = a
        .post_stream(&tool_call(
            8,
            "count",
            json!({"number": 1000, "intervalMs": 50}),
        ))
        .await;
    sse.next(WAIT).await.unwrap();
    let res = b
        .post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":8}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(
        sse.ended(Duration::from_secs(3)).await,
        "the stream ends without a result"
    );
}

#[tokio::test]
async fn delete_on_one_replica_ends_streams_on_all() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({})).await;
    let b = r[1].client_for(&a);
    let mut get = a.get_stream().await;
    get.next(WAIT).await.unwrap();
    let mut post = a
        .post_stream(&tool_call(
            1,
            "count",
            json!({"number": 1000, "intervalMs": 50}),
        ))
        .await;
    post.next(WAIT).await.unwrap();
    assert_eq!(b.delete(a.session.as_deref()).await, StatusCode::OK);
    assert!(
        get.ended(Duration::from_secs(1)).await,
        "A's GET stream ended within a second"
    );
    assert!(
        post.ended(Duration::from_secs(1)).await,
        "A's POST stream ended within a second"
    );
    for c in [&a, &b] {
        let (status, _) = c
            .call_json(&json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        redis.cli(&[
            "--scan",
            "--pattern",
            &format!("mcp:{{{}}}:*", a.session.clone().unwrap())
        ]),
        ""
    );
}

#[tokio::test]
async fn ttl_expiry_gives_404_everywhere() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[("SESSION_IDLE_TIMEOUT_SECS", "1")]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({})).await;
    let key = format!("mcp:{{{}}}:session", a.session.clone().unwrap());
    let pttl: i64 = redis.cli(&["PTTL", &key]).parse().unwrap();
    assert!(pttl > 0 && pttl <= 1000, "{pttl}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for server in &r {
        let (status, _) = server
            .client_for(&a)
            .call_json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn redis_outage_gives_503_then_recovers() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let r = redis_replicas(&redis, 1, &[("MCP_HIVE__STORE__TIMEOUT_MS", "500")]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({})).await;
    redis.stop();
    let http = reqwest::Client::new();
    let fresh = Client::new(&r[0]);
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}});
    let res = fresh.post(&init).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    let res = http
        .get(format!("{}/readyz", r[0].base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = http
        .get(format!("{}/healthz", r[0].base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let _redis = RedisServer::start_on(port);
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ready = http
            .get(format!("{}/readyz", r[0].base))
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::OK;
        if ready && fresh.post(&init).send().await.unwrap().status() == StatusCode::OK {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "service resumes without a restart");
}

#[tokio::test]
async fn redis_connections_are_bounded() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 2, &[("MCP_HIVE__SERVER__WORKERS", "2")]).await;
    let mut streams = Vec::new();
    for i in 0..40 {
        let mut c = Client::new(&r[i % 2]);
        c.initialize("2025-11-25", json!({})).await;
        let mut sse = c.get_stream().await;
        sse.next(WAIT).await.unwrap();
        streams.push(sse);
    }
    let info = redis.cli(&["INFO", "clients"]);
    let connected: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    // Per replica: one per HTTP worker (2) + pool (4) + one pub/sub connection; plus this
    // redis-cli.
    assert!(
        connected <= 2 * (2 + 4 + 1) + 1,
        "{connected} connections for 40 sessions and streams"
    );
}

#[tokio::test]
async fn sessions_cli_lists_shows_and_deletes() {
    let redis = RedisServer::start();
    let r = redis_replicas(&redis, 1, &[]).await;
    let mut a = Client::new(&r[0]);
    a.initialize("2025-11-25", json!({})).await;
    let sid = a.session.clone().unwrap();
    let mut get = a.get_stream().await;
    get.next(WAIT).await.unwrap();
    a.call(&tool_call(1, "greet", json!({"name": "cli"}))).await;

    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-hive"))
            .arg("sessions")
            .args(args)
            .env("REDIS_URL", redis.url())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, _) = cli(&["list"]);
    assert!(
        ok && out.contains(&sid) && out.contains("tests/1.0"),
        "{out}"
    );
    let (ok, out, _) = cli(&["show", &sid]);
    assert!(ok, "{out}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["record"]["protocol_version"], "2025-11-25");
    assert!(shown["ttl_ms"].as_i64().unwrap() > 0);
    assert!(
        shown["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["closed"] == true && s["stored_events"] == 1)
    );
    let (ok, out, _) = cli(&["delete", &sid]);
    assert!(ok, "{out}");
    assert!(
        get.ended(Duration::from_secs(1)).await,
        "the replica's stream ended"
    );
    let (status, _) = a
        .call_json(&json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (ok, _, err) = cli(&["show", &sid]);
    assert!(!ok && err.contains("not found"), "{err}");
    // Without REDIS_URL the command explains what it needs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-hive"))
        .args(["sessions", "list"])
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REDIS_URL"));
}
