//! Caching of introspection verdicts: valid and rejected tokens are asked about once per
//! `cache_max_secs` / `negative_cache_secs`, and concurrent first uses share one call.

use super::*;

#[tokio::test]
async fn verdicts_are_cached_for_their_configured_time() {
    let auth = auth_server();
    let server = introspecting_server(
        &auth,
        &[
            ("MCP_HIVE__AUTH__CACHE_MAX_SECS", "1"),
            ("MCP_HIVE__AUTH__NEGATIVE_CACHE_SECS", "1"),
        ],
    )
    .await;
    let rm = resource_metadata_of(&server.base);
    auth.add_token(
        "good",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    let mut c = Client::new(&server).with_token("good");
    c.initialize("2025-11-25", json!({})).await;
    for id in 1..=4 {
        let (status, _) = c.call_json(&tools_list(id)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        auth.introspections(),
        1,
        "a valid token is asked about once"
    );
    for _ in 0..4 {
        rejection(send_initialize(&server, "bad").await)
            .await
            .assert_invalid_token(&rm, "unknown token");
    }
    assert_eq!(
        auth.introspections(),
        2,
        "a rejected token is asked about once"
    );

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, _) = c.call_json(&tools_list(5)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        auth.introspections(),
        3,
        "after cache_max_secs the valid token is checked again"
    );
    // ... and a revocation is noticed.
    auth.add_token("good", json!({"active": false}));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let res = c.post(&tools_list(6)).send().await.expect("send");
    rejection(res)
        .await
        .assert_invalid_token(&rm, "revoked after cache_max_secs");
    rejection(send_initialize(&server, "bad").await)
        .await
        .assert_invalid_token(&rm, "unknown token");
    assert_eq!(
        auth.introspections(),
        5,
        "after negative_cache_secs the bad token is checked again"
    );
}

#[tokio::test]
async fn concurrent_first_uses_share_one_introspection() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    auth.add_token(
        "first",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    auth.add_token(
        "second",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    let mut c = Client::new(&server).with_token("first");
    c.initialize("2025-11-25", json!({})).await;
    assert_eq!(auth.introspections(), 1);

    auth.set_introspect_delay(Duration::from_millis(300));
    let second = c.using_token(Some("second"));
    let requests = (0..20).map(|i| {
        let c = second.clone();
        async move { c.call_json(&tools_list(100 + i)).await }
    });
    let started = Instant::now();
    for (status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the delay applied"
    );
    assert_eq!(
        auth.introspections(),
        2,
        "20 concurrent first uses of one token made one call"
    );
}
