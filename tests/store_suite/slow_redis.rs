//! A Redis slower than usual: answers within `store.timeout_ms` are taken, an append that lands
//! after its time-out still wakes local readers, and a stream reader reads again after a
//! time-out instead of ending.

use super::*;

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
