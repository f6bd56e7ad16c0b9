//! Redis (a real `redis-server` per test): the suite, the live-session cap, and service that
//! reports "unavailable" while Redis is down and resumes without a restart.

use super::*;

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
