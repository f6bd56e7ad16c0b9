//! An authorization server that fails, is unreachable, is slower than `http_timeout_ms` or
//! refuses the server's credentials: 503 with `Retry-After`, never 401, and not cached.

use super::*;

#[tokio::test]
async fn failing_authorization_server_is_503_and_not_cached() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    auth.add_token(
        "t",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    auth.set_introspect_failing(true);
    for attempt in 0..2 {
        rejection(send_initialize(&server, "t").await)
            .await
            .assert_unavailable(&format!("AS answers 500, attempt {attempt}"));
    }
    assert_eq!(auth.introspections(), 2, "a 503 outcome is not cached");
    auth.set_introspect_failing(false);
    assert_eq!(send_initialize(&server, "t").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unreachable_authorization_server_is_503() {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", dead.as_str()),
        ("OAUTH_CLIENT_ID", CLIENT_ID),
        ("OAUTH_CLIENT_SECRET", CLIENT_SECRET),
    ])
    .await;
    rejection(send_initialize(&server, "some-token").await)
        .await
        .assert_unavailable("AS unreachable");

    // An AS that goes away after serving: also 503 for new tokens.
    let mut auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    auth.add_token(
        "before",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    assert_eq!(
        send_initialize(&server, "before").await.status(),
        StatusCode::OK
    );
    auth.stop();
    rejection(send_initialize(&server, "after").await)
        .await
        .assert_unavailable("AS stopped");
}

#[tokio::test]
async fn slow_authorization_server_is_503_after_the_timeout() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[("MCP_HIVE__AUTH__HTTP_TIMEOUT_MS", "300")]).await;
    auth.add_token(
        "t",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    auth.set_introspect_delay(Duration::from_millis(1500));
    let started = Instant::now();
    rejection(send_initialize(&server, "t").await)
        .await
        .assert_unavailable("AS slower than http_timeout_ms");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1200),
        "the server gave up after its timeout, not the AS's delay ({took:?})"
    );
}

#[tokio::test]
async fn rejected_server_credentials_are_503() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[("OAUTH_CLIENT_SECRET", "wrong-secret")]).await;
    auth.add_token(
        "t",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    rejection(send_initialize(&server, "t").await)
        .await
        .assert_unavailable("AS refuses the server's client credentials");
    assert_eq!(
        auth.last_client_auth(),
        Some(ClientAuthSeen::Basic {
            id: CLIENT_ID.into(),
            secret: "wrong-secret".into()
        })
    );
}
