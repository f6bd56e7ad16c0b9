//! Introspection mode (`AUTH_TOKEN_MODE=introspection`, RFC 7662) against the in-process test
//! authorization server: the server authenticates with `client_secret_basic` or
//! `client_secret_post`; active tokens for this resource run a session; inactive, audience-less
//! (unless `require_audience = false`), foreign-audience, expired, premature and refresh tokens
//! get 401; verdicts are cached (`cache_max_secs`, `negative_cache_secs`) and concurrent first
//! uses share one call; an authorization server that fails, is unreachable, is too slow or
//! refuses the server's credentials gives 503 + `Retry-After`; per-tool scopes give 403 with all
//! needed scopes; and a session answers only to the principal that created it (404 otherwise).

mod common;

use common::auth_server::{
    AuthServer, ClientAuthSeen, dead_port, now, rejection, resource_metadata_of,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "mcp-hive-rs";
/// Needs form-encoding inside Basic credentials (RFC 6749 §2.3.1).
const CLIENT_SECRET: &str = "s3cret:with/odd chars&=";

/// An introspection-mode server using `auth`, with this server's client credentials.
async fn introspecting_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("OAUTH_CLIENT_ID", CLIENT_ID),
        ("OAUTH_CLIENT_SECRET", CLIENT_SECRET),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// An AS expecting this server's credentials.
fn auth_server() -> AuthServer {
    let auth = AuthServer::start();
    auth.expect_client(CLIENT_ID, CLIENT_SECRET);
    auth
}

/// An active introspection response for `resource`.
fn active(resource: &str, sub: Option<&str>, client_id: &str, scope: &str) -> Value {
    let mut v = json!({
        "active": true,
        "aud": resource,
        "scope": scope,
        "client_id": client_id,
        "token_type": "Bearer",
        "exp": now() + 600,
        "iat": now(),
    });
    if let Some(sub) = sub {
        v["sub"] = json!(sub);
    }
    v
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

async fn send_initialize(server: &TestServer, token: &str) -> reqwest::Response {
    Client::new(server)
        .with_token(token)
        .post(&initialize_body())
        .send()
        .await
        .expect("initialize")
}

fn tools_list(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

#[tokio::test]
async fn client_secret_basic_session_with_an_opaque_token() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    // No `iss` in the response: the configured authorization server is the issuer.
    auth.add_token(
        "opaque-alice",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    let mut c = Client::new(&server).with_token("opaque-alice");
    c.initialize("2025-11-25", json!({})).await;
    assert_eq!(
        auth.last_client_auth(),
        Some(ClientAuthSeen::Basic {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into()
        }),
        "OAUTH_CLIENT_AUTH_METHOD=auto with a secret is client_secret_basic"
    );
    let form = auth.last_form();
    assert_eq!(form.get("token").map(String::as_str), Some("opaque-alice"));
    assert_eq!(
        form.get("token_type_hint").map(String::as_str),
        Some("access_token")
    );

    let (status, body) = c.call_json(&tools_list(1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["result"]["tools"].is_array(), "{body}");
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 40, "b": 2}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 42, "{res}");
    let (res, _) = c.call(&tool_call(3, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"],
        json!({
            "authenticated": true,
            "issuer": auth.base,
            "subject": "alice",
            "client_id": "app-1",
            "scopes": ["mcp:tools"],
        }),
        "{res}"
    );
    assert_eq!(auth.introspections(), 1, "the token was checked once");
}

#[tokio::test]
async fn client_secret_post_sends_form_credentials() {
    let auth = auth_server();
    let server =
        introspecting_server(&auth, &[("OAUTH_CLIENT_AUTH_METHOD", "client_secret_post")]).await;
    auth.add_token(
        "opaque-post",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    let mut c = Client::new(&server).with_token("opaque-post");
    c.initialize("2025-11-25", json!({})).await;
    assert_eq!(
        auth.last_client_auth(),
        Some(ClientAuthSeen::Post {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into()
        })
    );
    assert_eq!(
        auth.last_form().get("token").map(String::as_str),
        Some("opaque-post")
    );
}

#[tokio::test]
async fn invalid_introspection_answers_are_401() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let ok = || active(&server.mcp, Some("alice"), "app-1", "mcp:tools");
    let with = |key: &str, value: Value| {
        let mut v = ok();
        v[key] = value;
        v
    };
    let mut no_aud = ok();
    no_aud.as_object_mut().expect("object").remove("aud");
    let cases = [
        ("inactive", json!({"active": false})),
        ("active as a string", with("active", json!("true"))),
        ("no aud", no_aud),
        (
            "wrong aud",
            with("aud", json!("https://other.example.com/mcp")),
        ),
        (
            "another resource on this host",
            with("aud", json!(format!("{}/other", server.base))),
        ),
        ("expired but active", with("exp", json!(now() - 120))),
        ("nbf in the future", with("nbf", json!(now() + 120))),
        ("refresh token", with("token_type", json!("refresh_token"))),
    ];
    for (name, response) in &cases {
        let token = format!("bad-{}", name.replace(' ', "-"));
        auth.add_token(&token, response.clone());
        let r = rejection(send_initialize(&server, &token).await).await;
        r.assert_invalid_token(&rm, name);
    }
    // A token the AS never issued.
    let r = rejection(send_initialize(&server, "never-issued").await).await;
    r.assert_invalid_token(&rm, "unknown token");

    // Accepted variants: aud with a trailing slash, aud as an array.
    auth.add_token("slash", with("aud", json!(format!("{}/", server.mcp))));
    auth.add_token(
        "array",
        with("aud", json!(["https://other.example.com", server.mcp])),
    );
    for token in ["slash", "array"] {
        assert_eq!(
            send_initialize(&server, token).await.status(),
            StatusCode::OK,
            "{token}"
        );
    }
}

#[tokio::test]
async fn audience_may_be_optional() {
    let auth = auth_server();
    let server =
        introspecting_server(&auth, &[("MCP_HIVE__AUTH__REQUIRE_AUDIENCE", "false")]).await;
    let mut no_aud = active(&server.mcp, Some("alice"), "app-1", "mcp:tools");
    no_aud.as_object_mut().expect("object").remove("aud");
    auth.add_token("no-aud", no_aud);
    assert_eq!(
        send_initialize(&server, "no-aud").await.status(),
        StatusCode::OK
    );
    // A wrong audience is still refused.
    auth.add_token(
        "wrong-aud",
        active(
            "https://other.example.com/mcp",
            Some("alice"),
            "app-1",
            "mcp:tools",
        ),
    );
    rejection(send_initialize(&server, "wrong-aud").await)
        .await
        .assert_invalid_token(&resource_metadata_of(&server.base), "wrong aud");
}

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

#[tokio::test]
async fn tool_scopes_are_checked_at_tools_call() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[("MCP_TOOL_SCOPES", "count=mcp:count")]).await;
    let rm = resource_metadata_of(&server.base);
    auth.add_token(
        "basic",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    auth.add_token(
        "counting",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools mcp:count"),
    );
    auth.add_token(
        "none",
        active(&server.mcp, Some("alice"), "app-1", "profile"),
    );
    let mut c = Client::new(&server).with_token("basic");
    c.initialize("2025-11-25", json!({})).await;
    let count = tool_call(1, "count", json!({"number": 2, "intervalMs": 0}));
    let res = c.post(&count).send().await.expect("send");
    rejection(res).await.assert_insufficient_scope(
        &rm,
        "mcp:tools mcp:count",
        "count with mcp:tools only",
    );
    // Tools without their own scopes only need the endpoint scope.
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 1, "b": 1}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 2, "{res}");
    // Stepping up (same user, more scopes) keeps the session and unlocks the tool.
    let (res, _) = c.using_token(Some("counting")).call(&count).await;
    assert!(res["result"]["content"].is_array(), "{res}");
    assert_ne!(res["result"]["isError"], true, "{res}");
    // Without the endpoint scope nothing works, and the challenge names the endpoint scope.
    let res = c
        .using_token(Some("none"))
        .post(&tools_list(3))
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_insufficient_scope(&rm, "mcp:tools", "no mcp:tools");
}

#[tokio::test]
async fn sessions_answer_only_to_their_principal() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    let ok = |sub: Option<&str>, client: &str, scope: &str| active(&server.mcp, sub, client, scope);
    auth.add_token("alice-1", ok(Some("alice"), "app-1", "mcp:tools"));
    auth.add_token("alice-2", ok(Some("alice"), "app-2", "mcp:tools mcp:extra"));
    auth.add_token("bob", ok(Some("bob"), "app-1", "mcp:tools"));

    let mut alice = Client::new(&server).with_token("alice-1");
    alice.initialize("2025-11-25", json!({})).await;
    let sid = alice.session.clone().expect("session");
    let bob = alice.using_token(Some("bob"));
    let (status, _) = bob.call_json(&tools_list(1)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "POST with another user's token"
    );
    let res = bob.get().send().await.expect("get");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "GET with another user's token"
    );
    assert_eq!(
        bob.delete(Some(&sid)).await,
        StatusCode::NOT_FOUND,
        "DELETE with another user's token"
    );

    // The owner is unaffected, with this token or another one of hers (more scopes).
    let (status, _) = alice.call_json(&tools_list(2)).await;
    assert_eq!(status, StatusCode::OK);
    let alice2 = alice.using_token(Some("alice-2"));
    let (status, _) = alice2.call_json(&tools_list(3)).await;
    assert_eq!(status, StatusCode::OK, "same subject, another token");
    let mut get = alice2.get_stream().await;
    assert!(
        get.next(Duration::from_secs(5)).await.is_some(),
        "GET works"
    );
    drop(get);
    assert_eq!(alice2.delete(Some(&sid)).await, StatusCode::OK);
    let (status, _) = alice.call_json(&tools_list(4)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted");
}

#[tokio::test]
async fn client_credentials_sessions_bind_to_the_client() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    let ok = |sub: Option<&str>, client: &str| active(&server.mcp, sub, client, "mcp:tools");
    auth.add_token("svc-1-a", ok(None, "svc-1"));
    auth.add_token("svc-1-b", ok(None, "svc-1"));
    auth.add_token("svc-2", ok(None, "svc-2"));
    // A user whose subject happens to equal the client id is someone else.
    auth.add_token("user-svc-1", ok(Some("svc-1"), "other-app"));

    let mut svc = Client::new(&server).with_token("svc-1-a");
    svc.initialize("2025-11-25", json!({})).await;
    let (res, _) = svc.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(res["result"]["structuredContent"]["subject"], Value::Null);
    assert_eq!(res["result"]["structuredContent"]["client_id"], "svc-1");
    for other in ["svc-2", "user-svc-1"] {
        let (status, _) = svc.using_token(Some(other)).call_json(&tools_list(2)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }
    let (status, _) = svc
        .using_token(Some("svc-1-b"))
        .call_json(&tools_list(3))
        .await;
    assert_eq!(status, StatusCode::OK, "another token of the same client");
}
