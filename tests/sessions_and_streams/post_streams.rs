//! Streams opened by POST: the head and priming event come at once, a broken stream resumes on
//! GET with only its own events, and SSE polling closes connections with `retry` to resume.

use super::*;

/// The head of a POST stream waits for the first message only briefly (`HEAD_HOLD`): a request
/// that sends nothing for a while still gets its head and priming event at once.
#[tokio::test]
async fn a_slow_request_gets_its_stream_head_and_priming_event_at_once() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (_, set) = c
        .call_json(&json!({"jsonrpc":"2.0","id":100,"method":"logging/setLevel","params":{"level":"error"}}))
        .await;
    assert_eq!(set["result"], json!({}));
    // Two counts 1.5 s apart, without a progress token and with info logs off: no message
    // before the result.
    let body = tool_call(1, "count", json!({"number": 2, "intervalMs": 1500}));
    let started = std::time::Instant::now();
    let res = c.post(&body).send().await.unwrap();
    let head_after = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(
        headers["x-accel-buffering"], "no",
        "proxies must not buffer the stream"
    );
    assert_eq!(
        headers["mcp-session-id"].to_str().unwrap(),
        c.session.as_deref().unwrap()
    );
    let mut sse = SseReader::new(res);
    let priming = sse.next(WAIT).await.unwrap();
    let primed_after = started.elapsed();
    assert!(priming.data.is_empty(), "the priming event comes first");
    assert!(
        primed_after < Duration::from_millis(1000),
        "head {head_after:?} and priming event {primed_after:?} before the request ends"
    );
    let result = sse.next(WAIT).await.unwrap().json().unwrap();
    assert_eq!(result["id"], 1);
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 2");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn post_stream_resumes_on_get_without_other_streams_events() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    subscribe_clock(&c).await; // standalone-stream traffic that must not leak into the replay
    let mut body = tool_call(1, "count", json!({"number": 6, "intervalMs": 150}));
    body["params"]["_meta"] = json!({"progressToken": "t"});
    let res = c.post(&body).send().await.unwrap();
    let mut sse = SseReader::new(res);
    let _priming = sse.next(WAIT).await.unwrap();
    let ev = sse.next(WAIT).await.unwrap();
    let last_id = ev.id.clone().unwrap();
    let (stream, seq) = split_id(&last_id);
    assert_ne!(stream, "0");
    drop(sse); // the connection breaks mid-call; the call goes on

    let res = c
        .get()
        .header("Last-Event-ID", &last_id)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let events = sse.collect(WAIT).await;
    let mut result = None;
    let replayed = events.iter().filter(|e| !e.data.is_empty());
    for (expected, ev) in (seq + 1..).zip(replayed) {
        let (s, n) = split_id(ev.id.as_deref().unwrap());
        assert_eq!(s, stream, "only events of the resumed stream");
        assert_eq!(n, expected, "no gap, no duplicate");
        let msg = ev.json().unwrap();
        if msg["id"] == 1 {
            result = Some(msg);
        }
    }
    let result = result.expect("the result arrives on the resumed stream, which then ends");
    assert_eq!(result["result"]["content"][0]["text"], "Counted to 6");

    // Bad Last-Event-ID values.
    for bad in ["garbage", "0-x"] {
        let res = c.get().header("Last-Event-ID", bad).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let res = c
        .get()
        .header("Last-Event-ID", "00000000000000ff-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "unknown stream");
    let res = c
        .get()
        .header("Last-Event-ID", format!("{stream}-999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "ahead of the stream");
}

#[tokio::test]
async fn sse_polling_closes_connections_with_retry() {
    let server = TestServer::start(&[
        ("SSE_MAX_CONNECTION_SECS", "1"),
        ("MCP_HIVE__SSE__RETRY_MS", "250"),
    ])
    .await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.get_stream().await;
    let priming = sse.next(WAIT).await.unwrap();
    assert_eq!(sse.retry, Some(250));
    assert!(
        sse.ended(Duration::from_secs(4)).await,
        "server closes the connection"
    );
    // The session and stream live on: resuming works.
    let res = c
        .get()
        .header("Last-Event-ID", priming.id.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A tool may close its POST connection mid-call; the result is replayed on resume.
    let res = c
        .post(&tool_call(2, "test_reconnection", json!({})))
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let priming = sse.next(WAIT).await.unwrap();
    assert!(sse.ended(WAIT).await);
    let res = c
        .get()
        .header("Last-Event-ID", priming.id.unwrap())
        .send()
        .await
        .unwrap();
    let events = SseReader::new(res).collect(WAIT).await;
    assert!(
        events
            .iter()
            .filter_map(|e| e.json())
            .any(|m| m["id"] == 2 && m["result"].is_object())
    );
}
