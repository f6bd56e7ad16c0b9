//! The behaviour every backend must have ([`run_suite`]), run by each backend's module
//! against a store configured with a short TTL.

use super::*;

/// The behaviour every backend must have. `ttl` is the configured session TTL, `max_len` the
/// configured event-log length.
pub(crate) async fn run_suite(
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
