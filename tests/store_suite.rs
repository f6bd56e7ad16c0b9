//! One behavioural suite for every store backend: each backend's test calls [`run_suite`] with a
//! store configured with a short TTL: the embedded store and Redis (a real `redis-server`).

mod common;

use futures_util::StreamExt as _;
use mcp_hive::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, reader_stream};
use mcp_hive::store::memory::{MemoryStore, MemoryStoreConfig};
use mcp_hive::store::redis::watchers::WATCH_LEASE;
use mcp_hive::store::redis::{RedisConfig, RedisStore};
use mcp_hive::store::runner::RunnerStore;
use mcp_hive::store::{
    EventBatch, EventStore, SessionPatch, SessionRecord, SessionStore, StoreError, WatchScope,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A batch's events as (sequence number, data).
fn numbered(batch: &EventBatch) -> Vec<(u64, &str)> {
    batch.events.iter().map(|e| (e.seq, &*e.data)).collect()
}

fn record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        protocol_version: "2025-11-25".into(),
        client_info: json!({"name": "suite", "version": "1"}),
        client_capabilities: json!({"sampling": {}}),
        log_level: "info".into(),
        subscriptions: Default::default(),
        principal: None,
        created_at_ms: 1,
    }
}

/// The behaviour every backend must have. `ttl` is the configured session TTL, `max_len` the
/// configured event-log length.
async fn run_suite(
    sessions: Arc<dyn SessionStore>,
    events: Arc<dyn EventStore>,
    ttl: Duration,
    max_len: usize,
) {
    // Records: create, load, duplicate, patch, delete.
    sessions.create_session(&record("s1")).await.unwrap();
    assert!(matches!(
        sessions.create_session(&record("s1")).await,
        Err(StoreError::AlreadyExists)
    ));
    let loaded = sessions.load_session("s1").await.unwrap().unwrap();
    assert_eq!(loaded, record("s1"));
    assert!(sessions.load_session("nope").await.unwrap().is_none());
    sessions
        .update_session("s1", &SessionPatch::LogLevel("debug".into()))
        .await
        .unwrap();
    sessions
        .update_session("s1", &SessionPatch::Subscribe("a://x".into()))
        .await
        .unwrap();
    sessions
        .update_session("s1", &SessionPatch::Subscribe("a://y".into()))
        .await
        .unwrap();
    sessions
        .update_session("s1", &SessionPatch::Unsubscribe("a://x".into()))
        .await
        .unwrap();
    let loaded = sessions.load_session("s1").await.unwrap().unwrap();
    assert_eq!(loaded.log_level, "debug");
    assert_eq!(loaded.subscriptions.iter().collect::<Vec<_>>(), ["a://y"]);
    assert!(matches!(
        sessions
            .update_session("nope", &SessionPatch::LogLevel("x".into()))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        sessions
            .list_sessions(10)
            .await
            .unwrap()
            .contains(&"s1".to_owned())
    );

    // Event logs: sequence numbers, reads after a cursor, isolation between streams, close.
    let mut watch = events.watch("s1", "aa", WatchScope::Any).await.unwrap();
    for i in 1..=5u64 {
        let seq = events
            .append("s1", "aa", Arc::from(format!("e{i}")), false)
            .await
            .unwrap();
        assert_eq!(seq, i);
    }
    assert!(watch.has_changed().unwrap(), "appends wake watchers");
    watch.borrow_and_update();
    events
        .append("s1", "bb", Arc::from("other"), false)
        .await
        .unwrap();
    let batch = events.read_after("s1", "aa", 2, 100).await.unwrap();
    let data: Vec<&str> = batch.events.iter().map(|e| &*e.data).collect();
    assert_eq!(data, ["e3", "e4", "e5"]);
    assert!(!batch.closed);
    let limited = events.read_after("s1", "aa", 0, 2).await.unwrap();
    assert_eq!(limited.events.len(), 2);
    assert!(!limited.closed);
    events.close_stream("s1", "aa").await.unwrap();
    // Closing wakes watchers: a waiting reader sees a new version (the embedded store then
    // drops the ended stream's channel, which `changed` reports only after that version).
    let woken = tokio::time::timeout(Duration::from_secs(1), watch.changed()).await;
    assert!(matches!(woken, Ok(Ok(()))), "closing wakes watchers");
    let batch = events.read_after("s1", "aa", 5, 100).await.unwrap();
    assert!(batch.events.is_empty() && batch.closed);
    assert!(
        events
            .append("s1", "aa", Arc::from("late"), false)
            .await
            .is_err(),
        "closed streams take no events"
    );
    let info = events.stream_info("s1", "aa").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (5, true));
    assert!(events.stream_info("s1", "zz").await.unwrap().is_none());
    // A stream opened without events yet is known (open, at 0) so a client can resume it from
    // its priming event; its first event is number 1.
    events.opened("s1", "op");
    let info = events.stream_info("s1", "op").await.unwrap();
    let info = info.expect("an opened stream is known");
    assert_eq!((info.last_seq, info.closed), (0, false));
    let batch = events.read_after("s1", "op", 0, 10).await.unwrap();
    assert!(batch.events.is_empty() && !batch.closed);
    let seq = events.append("s1", "op", Arc::from("first"), true).await;
    assert_eq!(seq.unwrap(), 1);
    let info = events.stream_info("s1", "op").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (1, true));
    events.opened("nope", "op");
    assert!(matches!(
        events.stream_info("nope", "op").await,
        Err(StoreError::NotFound)
    ));
    // A final event closes its stream in the same operation.
    let seq = events
        .append("s1", "dd", Arc::from("only"), true)
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let batch = events.read_after("s1", "dd", 0, 10).await.unwrap();
    assert_eq!((batch.events.len(), batch.closed), (1, true));
    let batch = events.read_after("s1", "dd", 1, 10).await.unwrap();
    assert!(batch.events.is_empty() && batch.closed);
    // A stream that ended with its only event takes no other, final or not, and keeps it.
    for close in [true, false] {
        let again = events.append("s1", "dd", Arc::from("again"), close).await;
        assert!(again.is_err(), "an ended stream refused {again:?}");
    }
    let batch = events.read_after("s1", "dd", 0, 10).await.unwrap();
    assert_eq!(numbered(&batch), [(1, "only")]);
    assert!(matches!(
        events.append("nope", "aa", Arc::from("x"), false).await,
        Err(StoreError::NotFound)
    ));
    // The only event of a stream opened here and never written (a POST's SSE reply whose
    // runner record was never stored) ends it like a final append.
    events.opened("s1", "so");
    let seq = events.append_sole("s1", "so", Arc::from("sole")).await;
    assert_eq!(seq.unwrap(), 1);
    let batch = events.read_after("s1", "so", 0, 10).await.unwrap();
    assert_eq!(numbered(&batch), [(1, "sole")]);
    assert!(batch.closed);
    let info = events.stream_info("s1", "so").await.unwrap().unwrap();
    assert_eq!((info.last_seq, info.closed), (1, true));
    for close in [true, false] {
        let again = events.append("s1", "so", Arc::from("again"), close).await;
        assert!(again.is_err(), "an ended stream refused {again:?}");
    }
    let again = events.append_sole("s1", "so", Arc::from("again")).await;
    assert!(again.is_err(), "an ended stream refused {again:?}");
    let batch = events.read_after("s1", "so", 0, 10).await.unwrap();
    assert_eq!(numbered(&batch), [(1, "sole")]);
    events.opened("nope", "so");
    assert!(matches!(
        events.append_sole("nope", "so", Arc::from("x")).await,
        Err(StoreError::NotFound)
    ));

    // Trimming by length keeps the newest events and their sequence numbers.
    for i in 0..(max_len + 5) {
        events
            .append("s1", "cc", Arc::from(format!("c{i}")), false)
            .await
            .unwrap();
    }
    let batch = events.read_after("s1", "cc", 0, 10_000).await.unwrap();
    assert_eq!(batch.events.len(), max_len);
    assert_eq!(batch.events.last().unwrap().seq, (max_len + 5) as u64);

    // Deleting a session removes its logs and ends its watchers.
    let mut bb = events.watch("s1", "bb", WatchScope::Any).await.unwrap();
    assert!(sessions.session_exists("s1").await.unwrap());
    assert!(sessions.delete_session("s1").await.unwrap());
    assert!(!sessions.delete_session("s1").await.unwrap());
    assert!(!sessions.session_exists("s1").await.unwrap());
    assert!(sessions.load_session("s1").await.unwrap().is_none());
    assert!(
        bb.changed().await.is_err(),
        "watchers of a deleted session end"
    );
    assert!(matches!(
        events.read_after("s1", "aa", 0, 10).await,
        Err(StoreError::NotFound)
    ));

    // Expiry: a session untouched for longer than the TTL is gone; touching slides the TTL,
    // asking whether it exists does not.
    let before = sessions.count_sessions().await.unwrap();
    sessions.create_session(&record("s2")).await.unwrap();
    sessions.create_session(&record("s3")).await.unwrap();
    assert_eq!(sessions.count_sessions().await.unwrap(), before + 2);
    let half = ttl / 2;
    tokio::time::sleep(half + Duration::from_millis(100)).await;
    assert!(sessions.touch_session("s2").await.unwrap());
    assert!(sessions.session_exists("s3").await.unwrap());
    tokio::time::sleep(half + Duration::from_millis(100)).await;
    assert!(sessions.session_exists("s2").await.unwrap());
    assert!(
        !sessions.session_exists("s3").await.unwrap(),
        "asking did not slide the TTL"
    );
    assert!(
        sessions.load_session("s2").await.unwrap().is_some(),
        "touched session lives"
    );
    assert!(
        sessions.load_session("s3").await.unwrap().is_none(),
        "untouched session expired"
    );
    assert!(!sessions.touch_session("s3").await.unwrap());
    assert_eq!(
        sessions.count_sessions().await.unwrap(),
        before + 1,
        "expired sessions are not counted"
    );
    assert!(sessions.ping().await.is_ok());
}

#[tokio::test]
async fn memory_store_passes_the_suite() {
    let store = MemoryStore::new(MemoryStoreConfig {
        session_ttl: Duration::from_secs(2),
        max_sessions: 0,
        event_max_len: 50,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
    });
    run_suite(store.clone(), store, Duration::from_secs(2), 50).await;
}

#[tokio::test]
async fn memory_store_caps_live_sessions() {
    let store = MemoryStore::new(MemoryStoreConfig {
        session_ttl: Duration::from_secs(60),
        max_sessions: 2,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
    });
    store.create_session(&record("a")).await.unwrap();
    store.create_session(&record("b")).await.unwrap();
    assert!(matches!(
        store.create_session(&record("c")).await,
        Err(StoreError::Full(2))
    ));
    store.delete_session("a").await.unwrap();
    store.create_session(&record("c")).await.unwrap();
}

/// The embedded store appends at once (`append_now`), with `append`'s outcomes: the next
/// sequence number, readers woken, `NotFound` for a missing session, an error after the end.
#[tokio::test]
async fn memory_store_appends_at_once_like_append() {
    let store = MemoryStore::new(MemoryStoreConfig {
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
    });
    store.create_session(&record("a")).await.unwrap();
    let data: Arc<str> = Arc::from("{\"n\":1}");
    let mut watch = store.watch("a", "0", WatchScope::Local).await.unwrap();
    assert_eq!(
        store.append("a", "0", data.clone(), false).await.unwrap(),
        1
    );
    assert!(matches!(store.append_now("a", "0", &data), Some(Ok(2))));
    watch.changed().await.unwrap();
    assert_eq!(*watch.borrow_and_update(), 2);
    let read = store.read_after("a", "0", 0, 10).await.unwrap();
    assert_eq!(
        read.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(matches!(
        store.append_now("gone", "0", &data),
        Some(Err(StoreError::NotFound))
    ));
    store.close_stream("a", "0").await.unwrap();
    assert!(matches!(store.append_now("a", "0", &data), Some(Err(_))));
}

/// The cap counts expired sessions out, and creations racing on several threads never pass it
/// (the sessions are spread over shards with a lock each, the cap is shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_cap_frees_expired_places_and_holds_under_racing_creations() {
    let config = MemoryStoreConfig {
        session_ttl: Duration::from_millis(100),
        max_sessions: 2,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
    };
    let store = MemoryStore::new(config.clone());
    store.create_session(&record("a")).await.unwrap();
    store.create_session(&record("b")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.create_session(&record("c")).await.unwrap();
    store.create_session(&record("d")).await.unwrap();
    assert!(matches!(
        store.create_session(&record("e")).await,
        Err(StoreError::Full(2))
    ));
    // An expired session's own id can be created again in its place.
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.create_session(&record("c")).await.unwrap();
    assert_eq!(store.count_sessions().await.unwrap(), 1);

    let store = MemoryStore::new(MemoryStoreConfig {
        session_ttl: Duration::from_secs(60),
        max_sessions: 100,
        ..config
    });
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create_session(&record(&format!("s{i}"))).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Full(100)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 100);
    assert_eq!(store.count_sessions().await.unwrap(), 100);
    assert_eq!(store.list_sessions(1000).await.unwrap().len(), 100);
    assert_eq!(store.list_sessions(7).await.unwrap().len(), 7);
}

/// Test defaults for a Redis store; tests override fields with struct-update syntax.
fn redis_config(url: String) -> RedisConfig {
    RedisConfig {
        url,
        prefix: "mcp".into(),
        pool_size: 4,
        timeout: Duration::from_secs(2),
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
        watch_lease: WATCH_LEASE,
    }
}

fn redis_store(config: RedisConfig) -> Arc<RedisStore> {
    let store = RedisStore::new(config).unwrap();
    store.spawn_listener();
    store
}

#[tokio::test]
async fn redis_store_passes_the_suite() {
    let redis = common::RedisServer::start();
    let store = redis_store(RedisConfig {
        session_ttl: Duration::from_secs(2),
        event_max_len: 50,
        ..redis_config(redis.url())
    });
    // Let the listener connect so that watchers get pub/sub wake-ups too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    run_suite(store.clone(), store.clone(), Duration::from_secs(2), 50).await;
    // An append is a round trip: never done at once, and nothing is stored by asking.
    store.create_session(&record("later")).await.unwrap();
    assert!(store.append_now("later", "0", &Arc::from("x")).is_none());
    assert!(
        store
            .read_after("later", "0", 0, 10)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    // A stream ended by its only event without the append script: another replica reads it
    // from the marker, and a session that is gone keeps no marker.
    store.create_session(&record("sole")).await.unwrap();
    store.opened("sole", "r1");
    let seq = store.append_sole("sole", "r1", Arc::from("reply")).await;
    assert_eq!(seq.unwrap(), 1);
    let other = redis_store(redis_config(redis.url()));
    let batch = other.read_after("sole", "r1", 0, 10).await.unwrap();
    assert_eq!(numbered(&batch), [(1, "reply")]);
    assert!(batch.closed);
    let marker: i64 = redis.cli(&["PTTL", "mcp:{sole}:ended:r1"]).parse().unwrap();
    assert!(marker > 0, "the marker expires: PTTL {marker}");
    let gone = store.append_sole("gone", "r1", Arc::from("reply")).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let left = redis.cli(&["--scan", "--pattern", "mcp:{gone}:*"]);
    assert!(left.trim().is_empty(), "keys of a missing session: {left}");
    // A Redis that lost its scripts (restarted, `SCRIPT FLUSH`) gets them again on first use.
    store.create_session(&record("flushed")).await.unwrap();
    assert_eq!(redis.cli(&["SCRIPT", "FLUSH"]), "OK");
    let seq = store
        .append("flushed", "f1", Arc::from("reply"), true)
        .await;
    assert_eq!(seq.unwrap(), 1);
    store.close_stream("flushed", "f2").await.unwrap();
    assert_eq!(redis.cli(&["SCRIPT", "FLUSH"]), "OK");
    store.close_stream("flushed", "f3").await.unwrap();
    let batch = store.read_after("flushed", "f1", 0, 10).await.unwrap();
    assert_eq!(numbered(&batch), [(1, "reply")]);
    assert!(
        store
            .stream_info("flushed", "f3")
            .await
            .unwrap()
            .unwrap()
            .closed
    );
    // Every key has a TTL.
    store.create_session(&record("ttl")).await.unwrap();
    store
        .append("ttl", "0", Arc::from("x"), false)
        .await
        .unwrap();
    store
        .update_session("ttl", &SessionPatch::Subscribe("u://1".into()))
        .await
        .unwrap();
    let keys = redis.cli(&["--scan", "--pattern", "mcp:{ttl}:*"]);
    assert_eq!(keys.lines().count(), 4, "{keys}");
    for key in keys.lines() {
        let ttl: i64 = redis.cli(&["PTTL", key]).parse().unwrap();
        assert!(ttl > 0, "{key} has no TTL");
    }
    // So has the session index: it expires with its last session.
    let index_ttl: i64 = redis.cli(&["PTTL", "mcp:sessions"]).parse().unwrap();
    assert!((1..=2000).contains(&index_ttl), "index PTTL {index_ttl}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(store.touch_session("ttl").await.unwrap());
    let index_ttl: i64 = redis.cli(&["PTTL", "mcp:sessions"]).parse().unwrap();
    assert!(
        index_ttl > 1000,
        "a touch extends the index too: {index_ttl}"
    );
}

#[tokio::test]
async fn redis_store_caps_live_sessions() {
    let redis = common::RedisServer::start();
    let store = redis_store(RedisConfig {
        max_sessions: 2,
        ..redis_config(redis.url())
    });
    store.create_session(&record("a")).await.unwrap();
    store.create_session(&record("b")).await.unwrap();
    assert!(matches!(
        store.create_session(&record("c")).await,
        Err(StoreError::Full(2))
    ));
    store.delete_session("a").await.unwrap();
    store.create_session(&record("c")).await.unwrap();
}

#[tokio::test]
async fn redis_store_reports_unavailable_and_recovers() {
    let mut redis = common::RedisServer::start();
    let port = redis.port;
    let store = redis_store(redis_config(redis.url()));
    store.create_session(&record("r")).await.unwrap();
    redis.stop();
    assert!(matches!(
        store.load_session("r").await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(store.ping().await.is_err());
    let _redis = common::RedisServer::start_on(port);
    let mut ok = false;
    for _ in 0..50 {
        if store.ping().await.is_ok() && store.create_session(&record("after")).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "service resumes without a restart");
}

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

/// Keeps Redis busy for `ms` milliseconds with a script (scripts block the server), from
/// another thread; join the handle to wait for the end.
fn keep_busy(
    redis: &common::RedisServer,
    ms: u64,
) -> std::thread::JoinHandle<std::process::Output> {
    let port = redis.port;
    std::thread::spawn(move || {
        std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "EVAL"])
            .arg(format!(
                "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] \
                 while true do local n = redis.call('TIME') \
                 if n[1] * 1000000 + n[2] - s > {} then return 1 end end",
                ms * 1000
            ))
            .arg("0")
            .output()
            .expect("redis-cli")
    })
}

/// Waits (at most 5 s) until Redis is blocked by [`keep_busy`]'s script: a `PING` on a fresh
/// connection stays unanswered for 50 ms. A fixed pause is not enough on a loaded machine,
/// where starting `redis-cli` alone can take longer.
async fn until_busy(redis: &common::RedisServer) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", redis.port))
            .await
            .unwrap();
        conn.write_all(b"PING\r\n").await.unwrap();
        let mut reply = [0u8; 16];
        let answer = tokio::time::timeout(Duration::from_millis(50), conn.read(&mut reply)).await;
        if answer.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("Redis never got busy");
}

/// Creates session `id` and opens every pooled connection (a new one would wait for a busy
/// Redis while connecting).
async fn open_with_connections(store: &RedisStore, id: &str) {
    store.create_session(&record(id)).await.unwrap();
    for _ in 0..8 {
        assert!(store.load_session(id).await.unwrap().is_some());
    }
}

/// `store.timeout_ms` is the time limit of a Redis operation: an answer slower than the redis
/// crate's own default response timeout (500 ms) but within the configured limit is taken, not
/// turned into "unavailable".
#[tokio::test]
async fn redis_answers_within_the_store_timeout_are_taken() {
    let redis = common::RedisServer::start();
    let store = redis_store(RedisConfig {
        timeout: Duration::from_secs(3),
        ..redis_config(redis.url())
    });
    open_with_connections(&store, "slow").await;
    let busy = keep_busy(&redis, 900);
    until_busy(&redis).await;
    let started = std::time::Instant::now();
    let loaded = store.load_session("slow").await;
    let waited = started.elapsed();
    assert!(busy.join().unwrap().status.success());
    assert!(
        waited >= Duration::from_millis(500),
        "Redis was busy: {waited:?}"
    );
    assert_eq!(
        loaded
            .expect("answered within store.timeout_ms")
            .map(|r| r.id),
        Some("slow".to_owned()),
        "after {waited:?}"
    );
}

/// An append whose call times out but that Redis runs afterwards reaches this replica's
/// readers: for that stream the echo of the replica's own wake-up, otherwise ignored, wakes
/// them (before, they waited for the next event of the stream, or forever for a final one).
#[tokio::test]
async fn an_append_that_lands_after_its_time_out_wakes_local_readers() {
    let redis = common::RedisServer::start();
    let store = redis_store(RedisConfig {
        timeout: Duration::from_millis(300),
        ..redis_config(redis.url())
    });
    // The listener subscribed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    open_with_connections(&store, "late").await;
    // The append script loaded (a first EVALSHA answered NOSCRIPT after the time-out would
    // never be retried: that append would not land at all).
    store
        .append("late", "warm-up", Arc::from("{}"), true)
        .await
        .unwrap();
    // A reader of a POST stream this replica writes: no lease until the append is unsettled.
    let mut watch = store.watch("late", "s", WatchScope::Local).await.unwrap();
    let before = *watch.borrow_and_update();
    let busy = keep_busy(&redis, 900);
    until_busy(&redis).await;
    let appended = store
        .append("late", "s", Arc::from(r#"{"late":true}"#), true)
        .await;
    assert!(
        matches!(appended, Err(StoreError::Unavailable(_))),
        "the call must time out while Redis is busy: {appended:?}"
    );
    tokio::time::timeout(Duration::from_secs(3), watch.changed())
        .await
        .expect("the reader was not woken when the append landed")
        .unwrap();
    assert!(*watch.borrow() > before);
    assert!(busy.join().unwrap().status.success());
    // What the woken reader finds: the event, and the stream's end.
    let batch = store.read_after("late", "s", 0, 10).await.unwrap();
    assert_eq!(batch.events.len(), 1, "{batch:?}");
    assert_eq!(&*batch.events[0].data, r#"{"late":true}"#);
    assert!(batch.closed);
}

/// A stream reader rides out a Redis slower than `store.timeout_ms` for a moment: it reads
/// again after a pause instead of ending its connection at the first time-out (before, the
/// client had to reconnect with `Last-Event-ID`).
#[tokio::test]
async fn a_stream_reader_reads_again_after_a_time_out() {
    let redis = common::RedisServer::start();
    let config = RedisConfig {
        timeout: Duration::from_millis(300),
        ..redis_config(redis.url())
    };
    let writer = redis_store(config.clone());
    // Another replica reads: nothing of the stream is in its local cache.
    let reader = redis_store(config);
    writer.create_session(&record("reread")).await.unwrap();
    for data in [r#"{"n":1}"#, r#"{"n":2}"#] {
        let close = data.contains('2');
        writer
            .append("reread", "s", Arc::from(data), close)
            .await
            .unwrap();
    }
    assert!(reader.load_session("reread").await.unwrap().is_some());
    let busy = keep_busy(&redis, 900);
    until_busy(&redis).await;
    let source = ReaderSource {
        events: reader.clone(),
        session: Arc::from("reread"),
        stream: "s".into(),
        after: Some(0),
    };
    let options = ReaderOptions {
        prime: false,
        max_connection: None,
        batch: 16,
        keep_alive: Duration::from_secs(30),
        fresh: false,
    };
    let stop = StopOn {
        connection: CancellationToken::new(),
        shutdown: CancellationToken::new(),
    };
    let frames: Vec<Frame> = tokio::time::timeout(
        Duration::from_secs(10),
        reader_stream(source, options, stop, ()).collect(),
    )
    .await
    .expect("the reader ended neither with its stream nor by giving up");
    assert!(busy.join().unwrap().status.success());
    let data: Vec<String> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Event { data, .. } => Some(data.to_string()),
            Frame::KeepAlive => None,
        })
        .collect();
    assert_eq!(data, [r#"{"n":1}"#, r#"{"n":2}"#]);
}

/// Every message published on the store's channels while `during` runs, as (channel, payload),
/// collected for `settle` after it.
async fn published<F: std::future::Future<Output = ()>>(
    redis: &common::RedisServer,
    settle: Duration,
    during: F,
) -> Vec<(String, String)> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.psubscribe("mcp:*").await.unwrap();
    during.await;
    let mut messages = pubsub.on_message();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + settle;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, messages.next()).await {
        let payload: String = msg.get_payload().unwrap();
        seen.push((msg.get_channel_name().to_owned(), payload));
    }
    seen
}

/// An append wakes the replicas that read its stream, on their own channel, and costs the
/// others nothing (before, every append was published to every replica).
#[tokio::test]
async fn wake_ups_go_only_to_the_replicas_reading_the_stream() {
    let redis = common::RedisServer::start();
    let (a, b, c) = (
        redis_store(redis_config(redis.url())),
        redis_store(redis_config(redis.url())),
        redis_store(redis_config(redis.url())),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.create_session(&record("s")).await.unwrap();
    // Replica a answers a POST over SSE and reads that stream itself.
    let reply = a.watch("s", "post", WatchScope::Local).await.unwrap();
    let quiet = published(&redis, Duration::from_millis(300), async {
        a.append("s", "post", Arc::from(r#"{"id":1}"#), true)
            .await
            .unwrap();
    })
    .await;
    assert_eq!(
        quiet,
        vec![],
        "a reply read where it is written is published nowhere"
    );
    assert!(
        reply.has_changed().unwrap(),
        "the local append woke its reader"
    );
    // Replica b holds a GET stream of the session; c reads nothing of it.
    let mut get_b = b.watch("s", "get", WatchScope::Any).await.unwrap();
    let get_c = c.watch("s", "other", WatchScope::Any).await.unwrap();
    get_b.borrow_and_update();
    let leases = redis.cli(&["HKEYS", "mcp:{s}:watchers"]);
    assert_eq!(leases.lines().count(), 2, "{leases}");
    let seen = published(&redis, Duration::from_millis(300), async {
        a.append("s", "get", Arc::from(r#"{"method":"n"}"#), false)
            .await
            .unwrap();
    })
    .await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].0.starts_with("mcp:wake:"), "{seen:?}");
    assert!(seen[0].1.starts_with("w s get 1 "), "{seen:?}");
    tokio::time::timeout(Duration::from_secs(1), get_b.changed())
        .await
        .expect("b was not woken")
        .unwrap();
    assert_eq!(*get_b.borrow(), 1);
    assert!(!get_c.has_changed().unwrap(), "c reads another stream");
    // Closing the stream wakes b too.
    a.close_stream("s", "get").await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), get_b.changed())
        .await
        .expect("b was not woken by the close")
        .unwrap();
}

/// A lease lives as long as its reader: renewed past its term, restored (with a re-read) if
/// its field was lost, and left to lapse once the reader is gone.
#[tokio::test]
async fn watcher_leases_are_renewed_restored_and_left_to_lapse() {
    let redis = common::RedisServer::start();
    let config = RedisConfig {
        watch_lease: Duration::from_millis(600),
        ..redis_config(redis.url())
    };
    let (a, b) = (redis_store(config.clone()), redis_store(config));
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.create_session(&record("s")).await.unwrap();
    let mut get = b.watch("s", "get", WatchScope::Any).await.unwrap();
    get.borrow_and_update();
    // Well past the lease's term: the renewal kept it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.append("s", "get", Arc::from("1"), false).await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), get.changed())
        .await
        .expect("a renewed lease must still bring wake-ups")
        .unwrap();
    assert_eq!(*get.borrow_and_update(), 1);
    // The field is lost (as if it expired during an outage) and an append goes unannounced:
    // the next renewal restores the lease and makes the reader read again.
    redis.cli(&["DEL", "mcp:{s}:watchers"]);
    a.append("s", "get", Arc::from("2"), false).await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), get.changed())
        .await
        .expect("the restored lease must wake the reader")
        .unwrap();
    let batch = b.read_after("s", "get", 1, 10).await.unwrap();
    assert_eq!(numbered(&batch), vec![(2, "2")]);
    // The reader goes: no more renewals, the key expires with the last lease.
    drop(get);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(redis.cli(&["EXISTS", "mcp:{s}:watchers"]), "0");
}
