//! One behavioural suite for every [`TaskStore`] backend (the task records of the tasks
//! extension): the embedded store and Redis (a real `redis-server`). Both must keep the contract
//! of `mcp_hive::store::task`: version 1 at creation, compare-and-set updates that never extend
//! the expiry fixed at creation, `NotFound` once a record is gone, exactly one winner among
//! concurrent writers of the same version.

mod common;

use mcp_hive::store::memory_tasks::MemoryTaskStore;
use mcp_hive::store::record::now_ms;
use mcp_hive::store::redis::{RedisConfig, RedisStore};
use mcp_hive::store::{StoreError, TaskRecord, TaskStore};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn record(id: &str, ttl_ms: u64) -> TaskRecord {
    let now = now_ms();
    TaskRecord {
        id: id.to_owned(),
        owner: "iss|sub:alice".into(),
        status: "working".into(),
        payload: json!({"method": "tools/call", "answers": {"k": {"action": "accept"}}}),
        created_at_ms: now,
        updated_at_ms: now,
        ttl_ms,
        version: 1,
    }
}

async fn run_suite(store: Arc<dyn TaskStore>) {
    // Create, load, duplicates.
    let t1 = record("t1", 60_000);
    store.create_task(&t1).await.unwrap();
    assert_eq!(store.load_task("t1").await.unwrap(), Some(t1.clone()));
    assert!(matches!(
        store.create_task(&record("t1", 60_000)).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.load_task("nope").await.unwrap(), None);

    // Compare-and-set: the current version applies (and bumps it), a stale one does not.
    let mut next = t1.clone();
    next.status = "completed".into();
    next.payload = json!({"result": {"content": []}});
    next.updated_at_ms = t1.updated_at_ms + 5;
    assert!(store.update_task(&next).await.unwrap());
    let stored = store.load_task("t1").await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        (stored.status.as_str(), stored.payload.clone()),
        ("completed", next.payload.clone())
    );
    assert_eq!(stored.updated_at_ms, next.updated_at_ms);
    assert_eq!(
        (stored.owner.as_str(), stored.created_at_ms, stored.ttl_ms),
        (t1.owner.as_str(), t1.created_at_ms, t1.ttl_ms)
    );
    let mut stale = t1.clone();
    stale.status = "cancelled".into();
    assert!(
        !store.update_task(&stale).await.unwrap(),
        "version 1 is stale"
    );
    assert_eq!(
        store.load_task("t1").await.unwrap().unwrap().status,
        "completed"
    );
    assert!(matches!(
        store.update_task(&record("nope", 1000)).await,
        Err(StoreError::NotFound)
    ));

    // Concurrent writers of the same version: exactly one wins.
    store.create_task(&record("race", 60_000)).await.unwrap();
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut r = record("race", 60_000);
                r.status = format!("w{i}");
                store.update_task(&r).await.unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for w in writers {
        wins += usize::from(w.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.load_task("race").await.unwrap().unwrap().version, 2);

    // Expiry from creation: updates do not extend it.
    store.create_task(&record("short", 600)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut r = store.load_task("short").await.unwrap().unwrap();
    r.status = "input_required".into();
    assert!(store.update_task(&r).await.unwrap());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        store.load_task("short").await.unwrap(),
        None,
        "gone ttl after creation"
    );
    r.version = 2;
    assert!(matches!(
        store.update_task(&r).await,
        Err(StoreError::NotFound)
    ));
    // An expired id can be reused.
    store.create_task(&record("short", 600)).await.unwrap();

    // Delete.
    assert!(store.delete_task("t1").await.unwrap());
    assert!(!store.delete_task("t1").await.unwrap());
    assert_eq!(store.load_task("t1").await.unwrap(), None);
}

#[tokio::test]
async fn memory_task_store_passes_the_suite() {
    let store = MemoryTaskStore::new(0);
    run_suite(store.clone()).await;
    // The cap counts live records only.
    let capped = MemoryTaskStore::new(2);
    capped.create_task(&record("a", 60_000)).await.unwrap();
    capped.create_task(&record("b", 200)).await.unwrap();
    assert!(matches!(
        capped.create_task(&record("c", 60_000)).await,
        Err(StoreError::Full(2))
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    capped.create_task(&record("c", 60_000)).await.unwrap();
    capped.sweep();
    assert_eq!(capped.len(), 2);
}

#[tokio::test]
async fn redis_task_store_passes_the_suite() {
    let redis = common::RedisServer::start();
    let store = RedisStore::new(RedisConfig {
        url: redis.url(),
        prefix: "mcp".into(),
        pool_size: 4,
        timeout: Duration::from_secs(2),
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
        watch_lease: mcp_hive::store::redis::watchers::WATCH_LEASE,
    })
    .unwrap();
    run_suite(store.clone()).await;
    // One hash per task, readable by operators, with the task's TTL.
    store.create_task(&record("ops", 30_000)).await.unwrap();
    let key = "mcp:task:{ops}";
    assert_eq!(redis.cli(&["HGET", key, "status"]), "working");
    assert_eq!(redis.cli(&["HGET", key, "owner"]), "iss|sub:alice");
    let pttl: i64 = redis.cli(&["PTTL", key]).parse().unwrap();
    assert!((1..=30_000).contains(&pttl), "{pttl}");
    // A record that cannot be decoded is reported, not served.
    redis.cli(&["HSET", key, "version", "x"]);
    assert!(matches!(
        store.load_task("ops").await,
        Err(StoreError::Corrupt(_))
    ));
}
