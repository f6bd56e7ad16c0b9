//! Wake-ups between replicas: an append is published only to the replicas reading its stream,
//! and watcher leases are renewed, restored and left to lapse with their readers.

use super::*;

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
