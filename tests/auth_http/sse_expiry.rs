//! SSE GET connections end when their token expires; a long-lived token keeps its connection and
//! a fresh token resumes.

use super::*;

#[tokio::test]
async fn sse_get_stream_closes_when_the_token_expires() {
    let auth = AuthServer::start();
    let key = SigningKey::ec_a();
    auth.set_keys(&[&key]);
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("MCP_HIVE__AUTH__LEEWAY_SECS", "0"),
    ])
    .await;
    let token = |exp: u64| {
        key.sign(&json!({"iss": auth.base, "aud": server.mcp, "sub": "alice",
            "scope": "mcp:tools", "exp": exp, "jti": unique_jti()}))
    };
    let mut c_long = Client::new(&server).with_token(&token(now() + 600));
    c_long.initialize("2025-11-25", json!({})).await;
    let mut s_long = c_long.get_stream().await;
    assert!(
        s_long.next(Duration::from_secs(5)).await.is_some(),
        "priming"
    );

    let exp = now() + 3;
    let mut c_short = Client::new(&server).with_token(&token(exp));
    c_short.initialize("2025-11-25", json!({})).await;
    let mut s_short = c_short.get_stream().await;
    assert!(
        s_short.next(Duration::from_secs(5)).await.is_some(),
        "priming"
    );
    assert!(
        s_short.ended(Duration::from_secs(6)).await,
        "the connection ends when the token expires"
    );
    // At exp, give or take the whole-second rounding of the lifetime (exp - now).
    let ended_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let exp_f = exp as f64;
    assert!(
        ended_at > exp_f - 0.5 && ended_at < exp_f + 1.5,
        "ended at {ended_at:.2}, token exp {exp}"
    );
    assert!(
        !s_long.ended(Duration::from_millis(300)).await,
        "a long-lived token keeps its connection"
    );

    // Once expired (and out of every cache), the token is refused; a fresh one resumes.
    while now() < exp + 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = c_short.get().send().await.expect("get");
    rejection(res)
        .await
        .assert_invalid_token(&resource_metadata_of(&server.base), "expired token");
    let renewed = c_short.using_token(Some(&token(now() + 600)));
    let res = renewed.get().send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK, "same user, fresh token");
}
