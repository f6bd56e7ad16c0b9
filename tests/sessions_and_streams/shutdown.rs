//! Graceful shutdown on SIGTERM: open streams close and the process exits promptly, and
//! in-flight requests drain on every worker.

use super::*;

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
