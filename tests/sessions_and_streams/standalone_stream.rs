//! The standalone GET stream: its priming event and exact `Last-Event-ID` replay, keep-alive
//! comments only when idle, no priming before 2025-11-25, and takeover by a newer GET.

use super::*;

#[tokio::test]
async fn get_stream_primes_and_resumes_exactly() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let res = c.get().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let mut sse = SseReader::new(res);
    let priming = sse.next(WAIT).await.expect("priming event");
    assert_eq!(priming.data, "");
    assert_eq!(split_id(priming.id.as_deref().unwrap()).0, "0");
    assert!(sse.retry.is_some(), "retry field sent");

    subscribe_clock(&c).await;
    let first = sse.next(WAIT).await.expect("update");
    let second = sse.next(WAIT).await.expect("update");
    assert_eq!(
        first.json().unwrap()["method"],
        "notifications/resources/updated"
    );
    let (s1, n1) = split_id(first.id.as_deref().unwrap());
    let (s2, n2) = split_id(second.id.as_deref().unwrap());
    assert_eq!((s1.as_str(), s2.as_str()), ("0", "0"));
    assert_eq!(n2, n1 + 1);
    drop(sse);

    // Miss a few events, then resume from `second`: exactly the following ones, in order.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let res = c
        .get()
        .header("Last-Event-ID", second.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let mut expected = n2 + 1;
    let mut got = 0;
    while got < 3 {
        let ev = sse.next(WAIT).await.expect("replayed or live event");
        if ev.data.is_empty() {
            continue; // priming event of the new connection
        }
        let (s, n) = split_id(ev.id.as_deref().unwrap());
        assert_eq!(s, "0");
        assert_eq!(n, expected, "no gap, no duplicate");
        expected += 1;
        got += 1;
    }
}

#[tokio::test]
async fn keep_alive_comments_only_when_idle() {
    let server = TestServer::start(&[("MCP_HIVE__SSE__KEEP_ALIVE_SECS", "1")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.get_stream().await;
    sse.next(WAIT).await.unwrap();
    assert_eq!(sse.comments, 0, "no keep-alive right at the start");
    assert!(sse.next(Duration::from_millis(2500)).await.is_none());
    assert!(
        sse.comments >= 2,
        "keep-alives while idle: {}",
        sse.comments
    );
}

#[tokio::test]
async fn no_priming_before_2025_11_25() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-06-18", json!({})).await;
    let mut sse = c.get_stream().await;
    subscribe_clock(&c).await;
    let ev = sse.next(WAIT).await.unwrap();
    assert!(
        !ev.data.is_empty(),
        "first event is a real message, not a priming event"
    );
}

#[tokio::test]
async fn newer_get_takes_over_the_standalone_stream() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut first = c.get_stream().await;
    first.next(WAIT).await.unwrap();
    let mut second = c.get_stream().await;
    second.next(WAIT).await.unwrap();
    assert!(first.ended(WAIT).await, "the older connection is closed");
    subscribe_clock(&c).await;
    assert!(second.next(WAIT).await.is_some());
}
