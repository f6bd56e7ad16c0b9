//! Taking over the POST stream of a replica killed mid-request (SIGKILL), black-box with two
//! real replicas on a real Redis: the client resumes the stream on the surviving replica with
//! `Last-Event-ID`; a read-only or idempotent tool runs again there and the client sees every
//! notification exactly once and the result; any other request gets a JSON-RPC error instead
//! of a stream that never ends. Nothing is taken over while the first replica lives.

mod common;

use common::{Client, RedisServer, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn pair(redis: &RedisServer) -> (TestServer, TestServer) {
    let url = redis.url();
    let env = [("REDIS_URL", url.as_str())];
    (TestServer::start(&env).await, TestServer::start(&env).await)
}

/// Reads `sse` until `pred` matches, collecting the messages (the match included) and the last
/// event id.
async fn read_until(
    sse: &mut SseReader,
    messages: &mut Vec<Value>,
    last: &mut Option<(String, u64)>,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let ev = sse.next(WAIT).await.expect("stream ended or stalled");
        if let Some(id) = ev.id.as_deref() {
            *last = Some(split_id(id));
        }
        let Some(m) = ev.json() else { continue };
        messages.push(m.clone());
        if pred(&m) {
            return m;
        }
    }
}

async fn resume(server: &TestServer, client: &Client, last: &(String, u64)) -> SseReader {
    let res = server
        .client_for(client)
        .get()
        .header("Last-Event-ID", format!("{}-{}", last.0, last.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    SseReader::new(res)
}

#[tokio::test]
async fn a_read_only_call_finishes_on_the_surviving_replica() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({})).await;
    let mut body = tool_call(3, "count", json!({"number": 15, "intervalMs": 150}));
    body["params"]["_meta"] = json!({"progressToken": "t"});
    let mut sse = c.post_stream(&body).await;
    let (mut messages, mut last) = (Vec::new(), None);
    read_until(&mut sse, &mut messages, &mut last, |m| {
        m["params"]["progress"] == 4
    })
    .await;
    a.kill().await;
    drop(sse);
    let last = last.expect("event ids");
    let mut resumed = resume(&b, &c, &last).await;
    let mut seqs = vec![];
    let result = loop {
        let ev = resumed
            .next(WAIT)
            .await
            .expect("the stream goes on after the takeover");
        let Some(id) = ev.id.as_deref() else { continue };
        let (stream, seq) = split_id(id);
        assert_eq!(stream, last.0);
        seqs.push(seq);
        let Some(m) = ev.json() else { continue };
        if m["id"] == 3 {
            break m;
        }
        messages.push(m);
    };
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 15");
    let progress: Vec<u64> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .filter_map(|m| m["params"]["progress"].as_u64())
        .collect();
    assert_eq!(
        progress,
        (1..=15).collect::<Vec<_>>(),
        "each notification exactly once"
    );
    let logs = messages
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .count();
    assert_eq!(logs, 15, "log messages too");
    let data: Vec<u64> = seqs.into_iter().filter(|s| *s > last.1).collect();
    assert!(
        data.windows(2).all(|w| w[1] == w[0] + 1),
        "event ids continue without gaps: {data:?}"
    );
}

#[tokio::test]
async fn a_call_of_a_tool_not_marked_safe_gets_an_error_not_a_second_run() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({"sampling": {}})).await;
    let mut sse = c
        .post_stream(&tool_call(
            9,
            "test_sampling",
            json!({"prompt": "never answered"}),
        ))
        .await;
    let (mut messages, mut last) = (Vec::new(), None);
    // The tool waits for the client's sampling answer, which never comes.
    read_until(&mut sse, &mut messages, &mut last, |m| {
        m["method"] == "sampling/createMessage"
    })
    .await;
    a.kill().await;
    drop(sse);
    let mut resumed = resume(&b, &c, &last.expect("event ids")).await;
    let reply = resumed.until(WAIT, |m| m["id"] == 9).await;
    assert_eq!(reply["error"]["code"], -32603, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may or may not have taken effect"),
        "{reply}"
    );
    assert!(resumed.ended(WAIT).await, "the stream ends after the error");
}

#[tokio::test]
async fn a_live_replica_keeps_its_streams() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c
        .post_stream(&tool_call(
            4,
            "count",
            json!({"number": 30, "intervalMs": 150}),
        ))
        .await;
    let (mut messages, mut last) = (Vec::new(), None);
    read_until(&mut sse, &mut messages, &mut last, |m| {
        m["method"] == "notifications/message"
    })
    .await;
    drop(sse); // the connection drops; replica a keeps running the call
    let mut resumed = resume(&b, &c, &last.expect("event ids")).await;
    let result = read_until(&mut resumed, &mut messages, &mut None, |m| m["id"] == 4).await;
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 30");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m["method"] == "notifications/message")
            .count(),
        30,
        "the call ran once: no takeover while its replica renews its lease"
    );
    drop(a);
}

/// `calls` of `INFO commandstats` for one command (0 if never called).
fn command_calls(redis: &RedisServer, command: &str) -> u64 {
    let stats = redis.cli(&["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn a_stream_with_only_its_response_stores_no_runner_record_and_a_busy_one_does() {
    let redis = RedisServer::start();
    let (a, _b) = pair(&redis).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({})).await;
    let before = command_calls(&redis, "exec");
    let reads_before = command_calls(&redis, "get");
    for id in 1..=20 {
        let mut sse = c
            .post_stream(&tool_call(id, "add", json!({"a": id, "b": 1})))
            .await;
        let reply = sse.until(WAIT, |m| m["id"] == id).await;
        let text = format!("The sum of {id} and 1 is {}", id + 1);
        assert_eq!(reply["result"]["content"][0]["text"], text.as_str());
    }
    // The runner record is the only MULTI/EXEC on this path: none for 20 quick calls.
    assert_eq!(
        command_calls(&redis, "exec"),
        before,
        "no runner record written"
    );
    // The reader of a stream written here reads the local cache, never Redis (its pipeline is
    // the only GET): the pub/sub echo of its own append no longer sends it there early.
    assert_eq!(
        command_calls(&redis, "get"),
        reads_before,
        "no read from Redis"
    );

    let mut sse = c
        .post_stream(
            &json!({"jsonrpc": "2.0", "id": 21, "method": "tools/call", "params": {
            "name": "count", "arguments": {"number": 3, "intervalMs": 10},
            "_meta": {"progressToken": "p"}}}),
        )
        .await;
    let first = sse.until(WAIT, |m| m.get("method").is_some()).await;
    assert_eq!(first["method"], "notifications/progress", "{first}");
    let sid = c.session.clone().unwrap();
    let runners = redis.cli(&["HLEN", &format!("mcp:{{{sid}}}:runners")]);
    assert_eq!(runners.trim(), "1", "the record precedes the first event");
    sse.until(WAIT, |m| m["id"] == 21).await;
    assert!(sse.ended(WAIT).await);
    let runners = redis.cli(&["HLEN", &format!("mcp:{{{sid}}}:runners")]);
    assert_eq!(runners.trim(), "0", "the record goes with its stream");
}

#[tokio::test]
async fn a_quiet_stream_stores_its_record_on_time_and_is_taken_over() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut c = Client::new(&a);
    c.initialize("2025-11-25", json!({})).await;
    // No log messages and no progress token: the stream carries nothing but its priming event
    // until the tool answers, 1.5 s later.
    let set = json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel",
        "params": {"level": "emergency"}});
    assert_eq!(c.call_json(&set).await.0, StatusCode::OK);
    let mut sse = c
        .post_stream(&tool_call(
            2,
            "count",
            json!({"number": 2, "intervalMs": 1500}),
        ))
        .await;
    let priming = sse.next(WAIT).await.expect("the priming event");
    let last = split_id(priming.id.as_deref().expect("an event id"));
    let sid = c.session.clone().unwrap();
    let key = format!("mcp:{{{sid}}}:runners");
    // The record is stored by the stream's timer (50 ms), long before any event.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    while redis.cli(&["HLEN", &key]).trim() != "1" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no runner record 700 ms into a quiet stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().await;
    drop(sse);
    let mut resumed = resume(&b, &c, &last).await;
    let reply = resumed.until(WAIT, |m| m["id"] == 2).await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "Counted to 2",
        "{reply}"
    );
    assert!(resumed.ended(WAIT).await);
}
