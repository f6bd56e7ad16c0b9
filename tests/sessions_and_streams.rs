//! Session lifecycle and SSE streams: the standalone GET stream, priming, `Last-Event-ID`
//! replay of GET- and POST-opened streams, takeover, SSE polling, DELETE, cancellation,
//! server-to-client requests answered by POST, hibernation and expiry, graceful shutdown.

mod common;

use common::{Client, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn subscribe_clock(c: &Client) {
    let (_, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":100,"method":"resources/subscribe","params":{"uri":"demo://clock"}}))
        .await;
    assert_eq!(body["result"], json!({}));
}

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

#[tokio::test]
async fn delete_ends_session_and_its_streams() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut get = c.get_stream().await;
    get.next(WAIT).await.unwrap();
    let long = c
        .post(&tool_call(
            1,
            "count",
            json!({"number": 100, "intervalMs": 100}),
        ))
        .send()
        .await
        .unwrap();
    let mut post = SseReader::new(long);
    post.next(WAIT).await.unwrap();

    let sid = c.session.clone().unwrap();
    assert_eq!(c.delete(Some(&sid)).await, StatusCode::OK);
    assert!(
        get.ended(Duration::from_secs(2)).await,
        "GET stream closed within a second or two"
    );
    assert!(
        post.ended(Duration::from_secs(2)).await,
        "POST stream closed"
    );
    let (status, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], -32001);
    assert_eq!(
        c.get().send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(c.delete(Some(&sid)).await, StatusCode::NOT_FOUND);
    // DELETE without a session id: 405 (nothing to end; see http::mcp::without_session).
    assert_eq!(c.delete(None).await, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn cancellation_stops_the_request_without_a_response() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut body = tool_call(42, "count", json!({"number": 1000, "intervalMs": 50}));
    body["params"]["_meta"] = json!({"progressToken": 1});
    let mut sse = c.post_stream(&body).await;
    sse.next(WAIT).await.unwrap();
    sse.next(WAIT).await.unwrap();
    let res = c
        .post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":42,"reason":"test"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let rest = sse.collect(Duration::from_secs(3)).await;
    assert!(
        rest.len() < 20,
        "work stopped promptly ({} more events)",
        rest.len()
    );
    assert!(
        rest.iter()
            .filter_map(|e| e.json())
            .all(|m| m.get("result").is_none() && m.get("error").is_none()),
        "no response for a cancelled request"
    );
    // The id is free again and the session still works.
    let (r, _) = c
        .call(&tool_call(42, "greet", json!({"name": "again"})))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "Hello, again!");
}

#[tokio::test]
async fn server_to_client_requests_are_answered_by_post() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({"elicitation": {}, "sampling": {}}))
        .await;
    for (tool, args, method, answer, expect) in [
        (
            "test_elicitation",
            json!({"message": "Who?"}),
            "elicitation/create",
            json!({"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}),
            "action=accept",
        ),
        (
            "test_sampling",
            json!({"prompt": "Hi"}),
            "sampling/createMessage",
            json!({"role": "assistant", "content": {"type": "text", "text": "Hello from the model"}, "model": "m"}),
            "Hello from the model",
        ),
    ] {
        let mut sse = c.post_stream(&tool_call(7, tool, args)).await;
        let request = sse.until(WAIT, |m| m["method"] == method).await;
        let id = request["id"].clone();
        assert!(id.is_string() || id.is_i64());
        let res = c
            .post(&json!({"jsonrpc":"2.0","id":id,"result":answer}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let result = sse.until(WAIT, |m| m["id"] == 7).await;
        let text = result["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(expect), "{text}");
    }

    // A client without the capability gets a tool error, never a request it cannot answer.
    let mut plain = Client::new(&server);
    plain.initialize("2025-11-25", json!({})).await;
    let (r, seen) = plain
        .call(&tool_call(1, "test_elicitation", json!({"message": "x"})))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(seen.iter().all(|m| m["method"] != "elicitation/create"));

    // An error answer from the client reaches the tool too.
    let mut sse = c
        .post_stream(&tool_call(8, "test_sampling", json!({"prompt": "x"})))
        .await;
    let request = sse
        .until(WAIT, |m| m["method"] == "sampling/createMessage")
        .await;
    let res = c.post(&json!({"jsonrpc":"2.0","id":request["id"],"error":{"code":-1,"message":"user refused"}})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let result = sse.until(WAIT, |m| m["id"] == 8).await;
    assert_eq!(result["result"]["isError"], true);
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("user refused")
    );
}

#[tokio::test]
async fn idle_actors_hibernate_and_rehydrate_and_expired_sessions_404() {
    let server = TestServer::start(&[("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "1")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    c.call_json(
        &json!({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"error"}}),
    )
    .await;
    assert_eq!(server.live_actors().await, 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.live_actors().await, 0, "the idle actor stopped");
    // Rehydrated from the store with its state (log level error: no info logs).
    let (_, seen) = c
        .call(&tool_call(2, "test_tool_with_logging", json!({})))
        .await;
    assert_eq!(
        seen.iter()
            .filter(|m| m["method"] == "notifications/message")
            .count(),
        0
    );
    // That call's POST stream detached without a message to the actor (its connection
    // cancels its own ticket); the actor still sees it gone and hibernates again.
    assert_eq!(server.live_actors().await, 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        server.live_actors().await,
        0,
        "the actor stopped after its POST streams closed"
    );

    let server = TestServer::start(&[("SESSION_IDLE_TIMEOUT_SECS", "1")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _) = c
        .call_json(&json!({"jsonrpc":"2.0","id":3,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "expired sessions are gone");
}

#[tokio::test]
async fn session_cap_refuses_new_sessions_only() {
    let server = TestServer::start(&[("MAX_SESSIONS", "1")]).await;
    let mut a = Client::new(&server);
    a.initialize("2025-11-25", json!({})).await;
    let b = Client::new(&server);
    let res = b.post(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"));
    let (status, _) = a
        .call_json(&json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
        .await;
    assert_eq!(status, StatusCode::OK, "existing sessions are not harmed");
}

#[tokio::test]
async fn sigterm_closes_streams_and_exits_promptly() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut sse = c.get_stream().await;
    sse.next(WAIT).await.unwrap();
    let exited = server.terminate(Duration::from_secs(5)).await;
    assert!(exited, "an open SSE stream does not hold the process");
    assert!(sse.ended(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_on_every_worker() {
    // The session is initialized on one connection and called on a fresh one, which the accept
    // loop hands to the other worker: the worker that started the session's actor then has
    // nothing in flight and stops first during the graceful shutdown.
    let server = TestServer::start(&[
        ("MCP_HIVE__PROTOCOL__RESPONSE_MODE", "json"),
        ("MCP_HIVE__SERVER__WORKERS", "2"),
    ])
    .await;
    let mut init = Client::new(&server);
    init.initialize("2025-11-25", json!({})).await;
    let mut caller = Client::new(&server); // a new connection pool
    caller.session = init.session.clone();
    caller.version = init.version.clone();
    let call = tokio::spawn(async move {
        caller
            .call_json(&tool_call(
                1,
                "count",
                json!({"number": 3, "intervalMs": 500}),
            ))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.terminate(Duration::from_secs(8)).await);
    let (status, body) = call.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "Counted to 3");
}
