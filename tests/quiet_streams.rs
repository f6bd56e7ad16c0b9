//! A POST stream that has sent nothing but its 2025-11-25 priming event can be resumed with
//! that event's id (`basic/transports.mdx`, resumability): the client that lost its connection
//! during a long, silent `tools/call` gets the result on the GET stream. Black-box, with the
//! embedded store and with Redis (a real `redis-server`), where nothing of the stream is in
//! Redis yet: the replica knows the stream it opened. (Another replica knows it from its runner
//! record: `takeover.rs`.)

mod common;

use common::{Client, RedisServer, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Opens a silent call (no log messages, no progress token, the answer 1.2 s later), drops
/// the connection after the priming event and resumes right away on the same replica.
async fn resume_a_silent_call(server: &TestServer, what: &str) {
    let mut c = Client::new(server);
    c.initialize("2025-11-25", json!({})).await;
    let set = json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel",
        "params": {"level": "emergency"}});
    assert_eq!(c.call_json(&set).await.0, StatusCode::OK, "{what}");
    let call = tool_call(2, "count", json!({"number": 2, "intervalMs": 1200}));
    let mut sse = c.post_stream(&call).await;
    let priming = sse.next(WAIT).await.expect("the priming event");
    assert!(priming.data.is_empty(), "{what}: {:?}", priming.data);
    let id = priming.id.expect("an event id");
    let (stream, seq) = split_id(&id);
    assert_eq!(seq, 0, "{what}");
    drop(sse);

    let res = c.get().header("Last-Event-ID", &id).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{what}");
    let mut resumed = SseReader::new(res);
    let reply = resumed.until(WAIT, |m| m["id"] == 2).await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "Counted to 2",
        "{what}: {reply}"
    );
    assert!(
        resumed.ended(WAIT).await,
        "{what}: the stream ends after it"
    );

    // Event ids are checked, not trusted: an unknown stream is still refused.
    let unknown = format!("{}-0", "f".repeat(stream.len()));
    let res = c
        .get()
        .header("Last-Event-ID", unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
}

#[tokio::test]
async fn a_silent_post_stream_resumes_from_its_priming_event_embedded() {
    let server = TestServer::start(&[]).await;
    resume_a_silent_call(&server, "embedded").await;
}

#[tokio::test]
async fn a_silent_post_stream_resumes_from_its_priming_event_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TestServer::start(&[("REDIS_URL", url.as_str())]).await;
    resume_a_silent_call(&server, "redis").await;
}
