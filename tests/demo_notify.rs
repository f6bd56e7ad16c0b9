//! The `notify` demo tool: it announces an update of a known resource to its subscribers (on
//! every replica with Redis) and returns the server time of the announcement; unknown URIs are a
//! tool error. The load generator (`benches/load`) measures stream delivery latency with it.

mod common;

use common::{Client, RedisServer, SseReader, TestServer, tool_call};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(5);
/// A fixture resource nothing else announces (the demo clock ticks every second).
const QUIET: &str = "test://watched-resource";

async fn subscribe(c: &Client, uri: &str) {
    let (_, body) = c
        .call_json(
            &json!({"jsonrpc":"2.0","id":100,"method":"resources/subscribe","params":{"uri": uri}}),
        )
        .await;
    assert_eq!(body["result"], json!({}), "subscribe: {body}");
}

async fn next_update(sse: &mut SseReader) -> Value {
    sse.until(WAIT, |m| m["method"] == "notifications/resources/updated")
        .await
}

fn now_us() -> u64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(d.as_micros()).unwrap()
}

#[tokio::test]
async fn notify_announces_to_subscribers_and_returns_the_time() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.get_stream().await;
    sse.next(WAIT).await.expect("priming event");
    subscribe(&c, QUIET).await;

    let before = now_us();
    let (res, _) = c.call(&tool_call(1, "notify", json!({"uri": QUIET}))).await;
    let after = now_us();
    let result = &res["result"]["structuredContent"];
    assert_eq!(result["uri"], QUIET, "{res}");
    let at = result["announcedAtUs"].as_u64().expect("announcedAtUs");
    assert!(
        (before..=after).contains(&at),
        "{before} <= {at} <= {after}"
    );
    let update = next_update(&mut sse).await;
    assert_eq!(update["params"]["uri"], QUIET);

    let (res, _) = c
        .call(&tool_call(
            2,
            "notify",
            json!({"uri": "test://no-such-resource"}),
        ))
        .await;
    assert_eq!(res["result"]["isError"], true, "{res}");
}

#[tokio::test]
async fn notify_reaches_subscribers_on_other_replicas() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [("REDIS_URL", url.as_str())];
    let a = TestServer::start(&env).await;
    let b = TestServer::start(&env).await;
    let mut listener = Client::new(&a);
    listener.initialize("2025-11-25", json!({})).await;
    let mut sse = listener.get_stream().await;
    sse.next(WAIT).await.expect("priming event");
    subscribe(&listener, QUIET).await;

    let mut publisher = Client::new(&b);
    publisher.initialize("2025-11-25", json!({})).await;
    let (res, _) = publisher
        .call(&tool_call(1, "notify", json!({"uri": QUIET})))
        .await;
    assert!(res["result"]["structuredContent"]["announcedAtUs"].is_u64());
    let update = next_update(&mut sse).await;
    assert_eq!(update["params"]["uri"], QUIET);
}
