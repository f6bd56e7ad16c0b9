//! A session's life: DELETE ends it and its streams, idle actors hibernate and rehydrate,
//! expired sessions are 404, and the session cap refuses only new sessions.

use super::*;

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
