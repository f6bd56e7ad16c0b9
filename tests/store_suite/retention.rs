//! Ended streams are kept for the closed-stream retention and then dropped, in both stores, and
//! deleting a session removes its ended streams' keys too.

use super::*;

#[tokio::test]
async fn ended_streams_are_dropped_after_their_retention() {
    // Embedded store: the sweeper drops ended streams after the retention, not the open ones.
    let store = MemoryStore::new(MemoryStoreConfig {
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_millis(300),
    });
    store.create_session(&record("m")).await.unwrap();
    store
        .append("m", "post", Arc::from("r"), true)
        .await
        .unwrap();
    store.append("m", "0", Arc::from("n"), false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Ended later: kept by the next sweep, which drops only what is past its retention.
    store
        .append("m", "late", Arc::from("l"), false)
        .await
        .unwrap();
    store.close_stream("m", "late").await.unwrap();
    store.close_stream("m", "late").await.unwrap();
    store.sweep();
    assert!(
        store
            .read_after("m", "post", 0, 10)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    assert!(store.stream_info("m", "post").await.unwrap().is_none());
    let late = store.read_after("m", "late", 0, 10).await.unwrap();
    assert_eq!((late.events.len(), late.closed), (1, true));
    let info = store.stream_info("m", "late").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (1, true));
    assert!(
        store
            .append("m", "late", Arc::from("x"), false)
            .await
            .is_err(),
        "an ended stream takes no events"
    );
    // An ended stream keeps no wake-up channel: a watch of it starts at its last sequence
    // number and is already closed (nothing more will come, a reader reads to the end).
    let watch = store.watch("m", "late", WatchScope::Any).await.unwrap();
    assert_eq!(*watch.borrow(), 1);
    assert!(
        watch.has_changed().is_err(),
        "the ended stream's watch is closed"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    store.sweep();
    assert!(store.stream_info("m", "late").await.unwrap().is_none());
    assert!(
        store.stream_info("m", "0").await.unwrap().is_some(),
        "open streams stay"
    );
    assert_eq!(
        store
            .read_after("m", "0", 0, 10)
            .await
            .unwrap()
            .events
            .len(),
        1
    );

    // Redis: an ended stream's key gets the short TTL, an open one keeps the event max age.
    let redis = common::RedisServer::start();
    let store = redis_store(RedisConfig {
        closed_retention: Duration::from_secs(1),
        ..redis_config(redis.url())
    });
    store.create_session(&record("r")).await.unwrap();
    store
        .append("r", "post", Arc::from("r"), true)
        .await
        .unwrap();
    store
        .append("r", "other", Arc::from("x"), false)
        .await
        .unwrap();
    store.close_stream("r", "other").await.unwrap();
    store.append("r", "0", Arc::from("n"), false).await.unwrap();
    let pttl = |key: &str| -> i64 {
        redis
            .cli(&["PTTL", &format!("mcp:{{r}}:{key}")])
            .parse()
            .unwrap()
    };
    // A stream whose only event ended it has no Redis stream: the ended marker holds the event.
    assert_eq!(
        pttl("stream:post"),
        -2,
        "no stream key for a one-event stream"
    );
    assert_eq!(redis.cli(&["GET", "mcp:{r}:ended:post"]), "1\nr");
    assert!(
        (1..=1000).contains(&pttl("ended:post")),
        "{}",
        pttl("ended:post")
    );
    assert!(
        (1..=1000).contains(&pttl("stream:other")),
        "{}",
        pttl("stream:other")
    );
    assert!(
        (1..=1000).contains(&pttl("ended:other")),
        "{}",
        pttl("ended:other")
    );
    assert!(pttl("stream:0") > 50_000);
    // Ended streams leave the session's stream hash: it does not grow with every SSE call.
    for i in 0..50 {
        store
            .append("r", &format!("p{i}"), Arc::from("r"), true)
            .await
            .unwrap();
    }
    assert_eq!(
        redis.cli(&["HLEN", "mcp:{r}:streams"]),
        "1",
        "only the open standalone stream"
    );
    let info = store.stream_info("r", "p7").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (1, true));
    assert!(
        store
            .append("r", "p7", Arc::from("late"), false)
            .await
            .is_err()
    );
    // Another replica (no local cache of these appends) reads both forms of ended stream.
    let other = redis_store(RedisConfig {
        closed_retention: Duration::from_secs(1),
        ..redis_config(redis.url())
    });
    let batch = other.read_after("r", "p7", 0, 10).await.unwrap();
    let seen = numbered(&batch);
    assert_eq!((seen, batch.closed), (vec![(1, "r")], true));
    let batch = other.read_after("r", "p7", 1, 10).await.unwrap();
    assert!(batch.events.is_empty() && batch.closed);
    let info = other.stream_info("r", "p7").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (1, true));
    // A stream opened on the first replica, with no events: the other knows it from its
    // runner record only.
    store.opened("r", "quiet");
    assert!(store.stream_info("r", "quiet").await.unwrap().is_some());
    assert!(other.stream_info("r", "quiet").await.unwrap().is_none());
    store
        .set_runner("r", "quiet", Arc::from("{}"))
        .await
        .unwrap();
    let info = other.stream_info("r", "quiet").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (0, false));
    // A stream with events is whatever Redis says, though this replica's cache remembers it.
    store
        .append("r", "gone", Arc::from("g"), true)
        .await
        .unwrap();
    redis.cli(&["DEL", "mcp:{r}:ended:gone"]);
    assert!(store.stream_info("r", "gone").await.unwrap().is_none());
    let batch = other.read_after("r", "other", 0, 10).await.unwrap();
    let seen = numbered(&batch);
    assert_eq!((seen, batch.closed), (vec![(1, "x")], true));
    // A stream that had events before its final one keeps them all in its Redis stream.
    store
        .append("r", "two", Arc::from("a"), false)
        .await
        .unwrap();
    store
        .append("r", "two", Arc::from("b"), true)
        .await
        .unwrap();
    let batch = other.read_after("r", "two", 0, 10).await.unwrap();
    let seen = numbered(&batch);
    assert_eq!((seen, batch.closed), (vec![(1, "a"), (2, "b")], true));
    assert_eq!(redis.cli(&["GET", "mcp:{r}:ended:two"]), "2");
    // The operator's view counts the event kept in the marker.
    let view = other.describe("r").await.unwrap().unwrap();
    let p7 = view["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "p7")
        .unwrap()
        .clone();
    assert_eq!(
        p7,
        json!({"stream": "p7", "last_seq": 1, "closed": true, "stored_events": 1})
    );
    // Deleting the session removes ended streams' keys too.
    store.delete_session("r").await.unwrap();
    assert_eq!(redis.cli(&["--scan", "--pattern", "mcp:{r}:*"]), "");
}
