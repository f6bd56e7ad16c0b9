//! JWT mode (`AUTH_TOKEN_MODE=jwt`) against the in-process test authorization server: the JWKS
//! found through the issuer's RFC 8414 metadata or set with `JWT_JWKS_URL`; valid RS256 and
//! ES256 tokens (trailing-slash and array audiences, `scp` claims, no `kid`, leeway) run a
//! session and reach `whoami`; forged, malformed, expired, premature, foreign-issuer and
//! foreign-audience tokens get 401 `invalid_token`; missing scopes get 403; unknown key ids
//! refetch the key set at most once per `jwks_min_refetch_secs`; a rotated key is picked up; an
//! unreachable or failing JWKS gives 503 (never 401) and is not remembered.

mod common;

use common::auth_server::{
    AuthServer, MetadataAt, SigningKey, dead_port, hostile, now, public_pem, rejection,
    resource_metadata_of, unique_jti,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A JWT-mode server whose authorization server is `auth`.
async fn jwt_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    jwt_server_for(&auth.base, extra).await
}

/// A JWT-mode server whose authorization server (and issuer) is `issuer`.
async fn jwt_server_for(issuer: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", issuer),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// Claims of a valid token for `resource`, valid for 10 minutes.
fn claims(issuer: &str, resource: &str, sub: &str, scope: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": resource,
        "sub": sub,
        "client_id": "test-client",
        "scope": scope,
        "iat": now(),
        "exp": now() + 600,
        "jti": unique_jti(),
    })
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

/// The status of an `initialize` POST carrying `token`.
async fn initialize_status(server: &TestServer, token: &str) -> StatusCode {
    Client::new(server)
        .with_token(token)
        .post(&initialize_body())
        .send()
        .await
        .expect("initialize")
        .status()
}

/// Waits until the server's start-up JWKS prefetch reached the authorization server.
async fn await_prefetch(auth: &AuthServer) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while auth.jwks_fetches() == 0 {
        assert!(Instant::now() < deadline, "no JWKS prefetch at start-up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn valid_rs256_token_runs_a_session_with_discovered_jwks() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa, &SigningKey::ec_a()]);
    let server = jwt_server(&auth, &[]).await;
    let token = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));

    let mut c = Client::new(&server).with_token(&token);
    c.initialize("2025-11-25", json!({})).await;
    let (status, body) = c
        .call_json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"add") && names.contains(&"whoami"),
        "{names:?}"
    );
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 2, "b": 3}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 5, "{res}");
    let (res, _) = c.call(&tool_call(3, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"],
        json!({
            "authenticated": true,
            "issuer": auth.base,
            "subject": "alice",
            "client_id": "test-client",
            "scopes": ["mcp:tools"],
        }),
        "{res}"
    );
    // The key set was found through the issuer's metadata (jwks_uri), not a configured URL.
    assert!(auth.metadata_fetches() >= 1, "metadata was not consulted");
    assert!(auth.jwks_fetches() >= 1, "the JWKS was not fetched");
    let sid = c.session.clone().expect("session");
    assert_eq!(c.delete(Some(&sid)).await, StatusCode::OK);
}

#[tokio::test]
async fn explicit_jwks_url_and_issuer_skip_discovery() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    let jwks_url = auth.jwks_url();
    let issuer = "https://issuer.example.com/realms/test";
    let server = jwt_server(
        &auth,
        &[("JWT_JWKS_URL", jwks_url.as_str()), ("JWT_ISSUER", issuer)],
    )
    .await;
    let token = rsa.sign(&claims(issuer, &server.mcp, "alice", "mcp:tools"));
    let mut c = Client::new(&server).with_token(&token);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"]["issuer"], issuer,
        "{res}"
    );
    assert!(
        auth.jwks_fetches() >= 1,
        "the configured JWKS URL was not used"
    );
    assert_eq!(
        auth.metadata_fetches(),
        0,
        "JWT_JWKS_URL is set: no metadata discovery"
    );

    // JWT_ISSUER, not OAUTH_SERVER_URL, is the accepted issuer now.
    let foreign = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "mcp:tools"));
    let r = rejection(
        Client::new(&server)
            .with_token(&foreign)
            .post(&initialize_body())
            .send()
            .await
            .expect("send"),
    )
    .await;
    r.assert_invalid_token(
        &resource_metadata_of(&server.base),
        "iss = OAUTH_SERVER_URL",
    );
}

#[tokio::test]
async fn jwks_is_discovered_at_every_metadata_location() {
    let rsa = SigningKey::rsa_a();
    for (path, at) in [
        ("/realms/test", MetadataAt::OAuthInserted),
        ("/realms/test", MetadataAt::OidcInserted),
        ("/realms/test", MetadataAt::OidcAppended),
        ("/realms/test", MetadataAt::Nowhere),
        ("/", MetadataAt::OAuthInserted),
    ] {
        let ctx = format!("issuer path {path:?}, metadata {at:?}");
        let auth = AuthServer::start_with(path, at);
        auth.set_keys(&[&rsa]);
        let server = jwt_server_for(&auth.issuer, &[]).await;
        let token = rsa.sign(&claims(&auth.issuer, &server.mcp, "alice", "mcp:tools"));
        assert_eq!(
            initialize_status(&server, &token).await,
            StatusCode::OK,
            "{ctx}"
        );
        assert!(auth.jwks_fetches() >= 1, "{ctx}: keys fetched");
        if at == MetadataAt::Nowhere {
            assert_eq!(auth.metadata_fetches(), 0, "{ctx}");
        } else {
            assert!(auth.metadata_fetches() >= 1, "{ctx}: metadata used");
        }
    }
}

#[tokio::test]
async fn accepted_token_variants() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    let server = jwt_server(&auth, &[]).await;
    let base = claims(&auth.base, &server.mcp, "alice", "mcp:tools");

    let mut trailing_slash = base.clone();
    trailing_slash["aud"] = json!(format!("{}/", server.mcp));
    let mut aud_array = base.clone();
    aud_array["aud"] = json!(["https://other.example.com/api", server.mcp]);
    let mut exp_in_leeway = base.clone();
    exp_in_leeway["exp"] = json!(now() - 5);
    let mut nbf_in_leeway = base.clone();
    nbf_in_leeway["nbf"] = json!(now() + 5);
    let cases = [
        ("aud with a trailing slash", ec.sign(&trailing_slash)),
        ("aud array naming the resource", ec.sign(&aud_array)),
        ("ES256", ec.sign(&base)),
        ("no kid, one RS256 key", rsa.sign_with_kid(None, &base)),
        (
            "exp 5 s ago, within the 30 s leeway",
            ec.sign(&exp_in_leeway),
        ),
        (
            "nbf in 5 s, within the 30 s leeway",
            ec.sign(&nbf_in_leeway),
        ),
    ];
    for (name, token) in &cases {
        assert_eq!(
            initialize_status(&server, token).await,
            StatusCode::OK,
            "{name}"
        );
    }

    // `scp` (array) instead of `scope`, as Okta and Entra issue it.
    let mut scp = base.clone();
    scp.as_object_mut().expect("claims").remove("scope");
    scp["scp"] = json!(["mcp:tools", "profile"]);
    let mut c = Client::new(&server).with_token(&ec.sign(&scp));
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"]["scopes"],
        json!(["mcp:tools", "profile"]),
        "{res}"
    );
}

#[tokio::test]
async fn hostile_tokens_are_rejected_with_invalid_token() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    // A symmetric key in the JWKS must never verify anything.
    auth.add_raw_key(
        json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
    );
    let server = jwt_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let good = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
    let valid = rsa.sign(&good);
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);

    let with = |key: &str, value: Value| {
        let mut c = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
        c.as_object_mut().expect("claims").remove(key);
        c
    };
    let mut elevated = good.clone();
    elevated["sub"] = json!("admin");
    elevated["scope"] = json!("mcp:tools admin");
    let cases: Vec<(&str, String)> = vec![
        ("alg none", hostile::alg_none(&good)),
        (
            "HS256 keyed with the RSA public key PEM",
            hostile::hs256("rsa-a", &public_pem("rsa-a.pub.pem"), &good),
        ),
        (
            "HS256 keyed with the JWK's n",
            hostile::hs256("rsa-a", rsa.jwk_n().as_bytes(), &good),
        ),
        (
            "HS256 with the oct key of the JWKS",
            hostile::hs256("hmac", b"secret-secret-secret", &good),
        ),
        (
            "RS256 header naming the EC key",
            rsa.sign_with_kid(Some("ec-a"), &good),
        ),
        (
            "expired beyond leeway",
            ec.sign(&with("exp", json!(now() - 120))),
        ),
        (
            "nbf beyond leeway",
            ec.sign(&with("nbf", json!(now() + 120))),
        ),
        (
            "wrong issuer",
            ec.sign(&with("iss", json!("https://evil.example.com"))),
        ),
        (
            "wrong audience",
            ec.sign(&with("aud", json!("https://other.example.com/mcp"))),
        ),
        (
            "token for another resource on this host",
            ec.sign(&with("aud", json!(format!("{}/other", server.base)))),
        ),
        (
            "audience is the bare origin",
            ec.sign(&with("aud", json!(server.base))),
        ),
        ("no audience", ec.sign(&without("aud"))),
        ("unknown kid", rsa.sign_with_kid(Some("no-such-key"), &good)),
        (
            "signed by a key the AS does not publish",
            SigningKey::rsa_b().sign_with_kid(Some("rsa-a"), &good),
        ),
        ("tampered signature", hostile::tampered_signature(&valid)),
        (
            "tampered payload",
            hostile::tampered_payload(&valid, &elevated),
        ),
        ("truncated", hostile::truncated(&valid)),
        ("garbage", "garbage-token-value".to_owned()),
        ("not a b64token", "not a token".to_owned()),
        ("missing exp", ec.sign(&without("exp"))),
        ("missing iss", ec.sign(&without("iss"))),
    ];
    for (name, token) in &cases {
        let res = Client::new(&server)
            .with_token(token)
            .post(&initialize_body())
            .send()
            .await
            .expect("send");
        rejection(res).await.assert_invalid_token(&rm, name);
    }
    // The rejections are not a broken server: the valid token still works.
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    let server = jwt_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let other_scope = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "profile email"));
    let mut no_scope = claims(&auth.base, &server.mcp, "alice", "");
    no_scope.as_object_mut().expect("claims").remove("scope");
    let no_scope = rsa.sign(&no_scope);
    for (name, token) in [("other scopes", other_scope), ("no scope claim", no_scope)] {
        let res = Client::new(&server)
            .with_token(&token)
            .post(&initialize_body())
            .send()
            .await
            .expect("send");
        rejection(res)
            .await
            .assert_insufficient_scope(&rm, "mcp:tools", name);
    }
}

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
