//! A JWKS that is unreachable or failing: 503 (never 401), not remembered once it recovers;
//! stale keys keep verifying during an outage, and their refresh attempts are throttled.

use super::*;

#[tokio::test]
async fn unreachable_jwks_at_first_use_is_503_not_401() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    let dead = format!("http://127.0.0.1:{}/jwks", dead_port());
    let server = jwt_server(
        &auth,
        &[
            ("JWT_JWKS_URL", dead.as_str()),
            ("MCP_HIVE__AUTH__HTTP_TIMEOUT_MS", "500"),
        ],
    )
    .await;
    let token = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    for attempt in 0..2 {
        let res = Client::new(&server)
            .with_token(&token)
            .post(&initialize_body())
            .send()
            .await
            .expect("send");
        rejection(res)
            .await
            .assert_unavailable(&format!("JWKS unreachable, attempt {attempt}"));
    }
}

#[tokio::test]
async fn failing_jwks_is_503_and_not_remembered() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    auth.set_jwks_failing(true);
    let server = jwt_server(
        &auth,
        &[("MCP_HIVE__AUTH__JWT__JWKS_MIN_REFETCH_SECS", "1")],
    )
    .await;
    await_prefetch(&auth).await;
    let token = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    let res = Client::new(&server)
        .with_token(&token)
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res).await.assert_unavailable("JWKS answers 500");

    // The same token works once the key set can be fetched (after at most one refetch
    // interval): neither the outage nor the token's 503 was cached.
    auth.set_jwks_failing(false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut c = Client::new(&server).with_token(&token);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(res["result"]["structuredContent"]["subject"], "alice");
}

/// A server whose keys go stale after 1 s and that refetches at most every 30 s.
async fn stale_keys_server(auth: &AuthServer) -> TestServer {
    jwt_server(
        auth,
        &[
            ("MCP_HIVE__AUTH__JWT__JWKS_MAX_AGE_SECS", "1"),
            ("MCP_HIVE__AUTH__JWT__JWKS_MIN_REFETCH_SECS", "30"),
        ],
    )
    .await
}

#[tokio::test]
async fn stale_keys_keep_working_while_the_jwks_fails() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    let server = stale_keys_server(&auth).await;
    await_prefetch(&auth).await;
    let fresh = || ec.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    assert_eq!(initialize_status(&server, &fresh()).await, StatusCode::OK);
    auth.set_jwks_failing(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // New (uncached) tokens signed with a known key are still verified with the stale keys.
    for _ in 0..3 {
        assert_eq!(initialize_status(&server, &fresh()).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn failing_refresh_of_stale_keys_is_throttled() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    let server = stale_keys_server(&auth).await;
    await_prefetch(&auth).await;
    let fresh = || ec.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    assert_eq!(initialize_status(&server, &fresh()).await, StatusCode::OK);
    auth.set_jwks_failing(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = auth.jwks_fetches();
    for _ in 0..10 {
        assert_eq!(initialize_status(&server, &fresh()).await, StatusCode::OK);
    }
    // Each refresh attempt is made under the key set's lock, so with a slow or blackholed AS
    // every new token would wait a full http_timeout_ms in turn; and made-up tokens naming a
    // known kid would turn the server into a load generator against the failing IdP.
    let attempts = auth.jwks_fetches() - before;
    assert!(
        attempts <= 1,
        "10 new tokens during a JWKS outage made {attempts} refresh attempts within one \
         jwks_min_refetch_secs interval (expected at most 1; stale keys should be served \
         without asking again)"
    );
}
