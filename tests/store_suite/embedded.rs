//! The embedded store: the suite, its live-session cap (also under racing creations on several
//! threads) and its immediate appends.

use super::*;

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
