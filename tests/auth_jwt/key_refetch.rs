//! Refetching the key set: unknown key ids refetch at most once per `jwks_min_refetch_secs`, and
//! a rotated key is accepted after a refetch.

use super::*;

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_interval() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    let server = jwt_server(
        &auth,
        &[("MCP_HIVE__AUTH__JWT__JWKS_MIN_REFETCH_SECS", "2")],
    )
    .await;
    let rm = resource_metadata_of(&server.base);
    await_prefetch(&auth).await;
    let valid = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);
    assert_eq!(auth.jwks_fetches(), 1, "a known key needs no refetch");

    // EC-signed (cheap to sign); the key set holds only rsa-a, so every kid is unknown.
    let ec = SigningKey::ec_a();
    let made_up = |kid: String| {
        let t = ec.sign_with_kid(
            Some(&kid),
            &claims(&auth.base, &server.mcp, "mallory", "mcp:tools"),
        );
        let c = Client::new(&server).with_token(&t);
        async move { c.post(&initialize_body()).send().await.expect("send") }
    };

    // Within the interval after the prefetch: unknown key ids cost the AS nothing.
    for i in 0..5 {
        let res = made_up(format!("early-{i}")).await;
        rejection(res)
            .await
            .assert_invalid_token(&rm, "unknown kid");
    }
    assert_eq!(auth.jwks_fetches(), 1, "refetched within the interval");

    // Once the interval has passed, a burst of made-up key ids (concurrent, then sequential)
    // refetches exactly once.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let burst = (0..12).map(|i| made_up(format!("burst-{i}")));
    for res in futures_util::future::join_all(burst).await {
        rejection(res)
            .await
            .assert_invalid_token(&rm, "made-up kid");
    }
    for i in 0..5 {
        let res = made_up(format!("after-burst-{i}")).await;
        rejection(res)
            .await
            .assert_invalid_token(&rm, "made-up kid");
    }
    assert_eq!(auth.jwks_fetches(), 2, "one refetch per interval");
    // Known keys keep working throughout.
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);
}

#[tokio::test]
async fn rotated_key_is_accepted_after_a_refetch() {
    let auth = AuthServer::start();
    let (a, b) = (SigningKey::rsa_a(), SigningKey::rsa_b());
    auth.set_keys(&[&a]);
    let server = jwt_server(
        &auth,
        &[("MCP_HIVE__AUTH__JWT__JWKS_MIN_REFETCH_SECS", "1")],
    )
    .await;
    let rm = resource_metadata_of(&server.base);
    await_prefetch(&auth).await;
    let token = |key: &SigningKey| key.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));

    // rsa-b is not published yet.
    let res = Client::new(&server)
        .with_token(&token(&b))
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_invalid_token(&rm, "kid not yet published");

    // The AS rotates: it publishes rsa-b next to rsa-a. After the refetch interval (counted
    // from the prefetch or from the refetch the rejected token may have caused) it is picked up.
    auth.set_keys(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = auth.jwks_fetches();
    let mut c = Client::new(&server).with_token(&token(&b));
    c.initialize("2025-11-25", json!({})).await;
    assert_eq!(
        auth.jwks_fetches(),
        before + 1,
        "the new kid caused one refetch"
    );
    // Both keys verify now, without further fetches.
    assert_eq!(initialize_status(&server, &token(&a)).await, StatusCode::OK);
    assert_eq!(initialize_status(&server, &token(&b)).await, StatusCode::OK);
    assert_eq!(auth.jwks_fetches(), before + 1);
}
