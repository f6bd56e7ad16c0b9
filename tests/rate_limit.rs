//! Per-principal rate limiting (`[rate_limit]`) of real servers with JWT authentication: the
//! request after the burst gets 429 with `Retry-After` and a JSON-RPC error (with `"id": null`,
//! or no `id` for 2026-07-28 requests), another principal is not limited, the key recovers after
//! `Retry-After`, unauthenticated requests get 401 first; the `store` backend shares one budget
//! between two replicas on one redis-server (its key holds no identity) and fails open when Redis
//! is gone; limiting is off by default; a zero rate stops start-up.

mod common;

use common::auth_server::{AuthServer, SigningKey, now, unique_jti};
use common::{Client, RedisServer, TestServer};
use mcp_hive::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// The audience every replica of these tests accepts.
const AUDIENCE: &str = "https://mcp-hive.test/mcp";

fn token(auth: &AuthServer, key: &SigningKey, sub: &str) -> String {
    key.sign(&json!({
        "iss": auth.base, "aud": AUDIENCE, "sub": sub, "client_id": "rl-tests",
        "scope": "mcp:tools", "iat": now(), "exp": now() + 600, "jti": unique_jti(),
    }))
}

/// A JWT-mode server limiting each principal to `burst` requests, refilled every 5 s.
async fn limited_server(auth: &AuthServer, burst: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("JWT_AUDIENCE", AUDIENCE),
        ("MCP_HIVE__RATE_LIMIT__ENABLED", "true"),
        ("MCP_HIVE__RATE_LIMIT__REQUESTS_PER_SECOND", "0.2"),
        ("MCP_HIVE__RATE_LIMIT__BURST", burst),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "rl", "version": "1"}}})
}

/// POSTs `initialize` with `token`; returns status, `Retry-After` and body.
async fn post(server: &TestServer, token: &str) -> (StatusCode, Option<u64>, Value) {
    let res = Client::new(server)
        .with_token(token)
        .post(&initialize())
        .send()
        .await
        .expect("post");
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

fn assert_limited(status: StatusCode, retry: Option<u64>, body: &Value) -> u64 {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry = retry.expect("Retry-After");
    assert!((1..=5).contains(&retry), "Retry-After {retry}");
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["error"]["message"], "rate limit exceeded");
    assert_eq!(body["error"]["data"]["retryAfterSecs"], retry);
    retry
}

async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", server.base))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test]
async fn the_request_after_the_burst_gets_429_per_principal_until_it_refills() {
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let server = limited_server(&auth, "3", &[]).await;
    let (alice, bob) = (token(&auth, &key, "alice"), token(&auth, &key, "bob"));

    for _ in 0..3 {
        assert_eq!(post(&server, &alice).await.0, StatusCode::OK);
    }
    let (status, retry, body) = post(&server, &alice).await;
    let retry = assert_limited(status, retry, &body);
    assert!(body.get("id").is_some_and(Value::is_null), "{body}");

    // A 2026-07-28 request is refused too, and its body carries no id at all.
    let res = Client::new(&server)
        .with_token(&alice)
        .post_with_version(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "server/discover", "params": {}}),
            "2026-07-28",
        )
        .send()
        .await
        .expect("modern");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.expect("json");
    assert!(body.get("id").is_none(), "{body}");

    // Another principal has its own bucket; no token at all is a 401, not a 429.
    assert_eq!(post(&server, &bob).await.0, StatusCode::OK);
    let anonymous = Client::new(&server)
        .post(&initialize())
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        metric(
            &server,
            "mcp_server_rate_limited_requests_total{backend=\"local\"}"
        )
        .await,
        2.0
    );
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(100)).await;
    assert_eq!(post(&server, &alice).await.0, StatusCode::OK, "refilled");
}

#[tokio::test]
async fn the_store_backend_shares_one_budget_between_replicas() {
    let redis = RedisServer::start();
    let url = redis.url();
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let extra = [
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__RATE_LIMIT__BACKEND", "store"),
    ];
    let a = limited_server(&auth, "4", &extra).await;
    let b = limited_server(&auth, "4", &extra).await;
    let (alice, bob) = (token(&auth, &key, "alice"), token(&auth, &key, "bob"));

    for replica in [&a, &b, &a, &b] {
        assert_eq!(post(replica, &alice).await.0, StatusCode::OK);
    }
    let (s, r, body) = post(&a, &alice).await;
    assert_limited(s, r, &body);
    let (s, r, body) = post(&b, &alice).await;
    assert_limited(s, r, &body);
    assert_eq!(post(&b, &bob).await.0, StatusCode::OK);

    // One bucket per principal, named by a hash, with a TTL.
    let keys = redis.cli(&["--scan", "--pattern", "mcp:rl:*"]);
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| !k.contains("alice") && !k.contains("bob"))
    );
    let ttl: i64 = redis.cli(&["PTTL", keys[0]]).parse().expect("pttl");
    assert!(ttl > 0, "bucket keys expire: {ttl}");
}

#[tokio::test]
async fn the_store_backend_fails_open_when_redis_is_gone() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let server = TestServer::start(&[
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__STORE__TIMEOUT_MS", "300"),
        ("MCP_HIVE__RATE_LIMIT__ENABLED", "true"),
        ("MCP_HIVE__RATE_LIMIT__BACKEND", "store"),
        ("MCP_HIVE__RATE_LIMIT__REQUESTS_PER_SECOND", "0.1"),
        ("MCP_HIVE__RATE_LIMIT__BURST", "1"),
    ])
    .await;
    let client = Client::new(&server);
    // GET without a session needs no store beyond the limiter: 405 once, then 429.
    assert_eq!(client.get().send().await.expect("get").status(), 405);
    assert_eq!(client.get().send().await.expect("get").status(), 429);
    redis.stop();
    for _ in 0..3 {
        let status = client.get().send().await.expect("get").status();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "let through");
    }
    assert!(metric(&server, "mcp_server_rate_limit_store_errors_total").await >= 3.0);
}

#[tokio::test]
async fn limiting_is_off_by_default() {
    let server = TestServer::start(&[]).await;
    let client = Client::new(&server);
    for _ in 0..60 {
        let status = client.get().send().await.expect("get").status();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
    assert_eq!(
        metric(&server, "mcp_server_rate_limited_requests_total").await,
        0.0
    );
}

#[test]
fn a_zero_rate_stops_start_up() {
    let env: HashMap<String, String> = [
        ("MCP_HIVE__RATE_LIMIT__ENABLED", "true"),
        ("MCP_HIVE__RATE_LIMIT__REQUESTS_PER_SECOND", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let e = Settings::load_from(&env, None).expect_err("a zero rate is refused");
    assert!(
        e.to_string().contains("rate_limit.requests_per_second"),
        "{e}"
    );
    let env: HashMap<String, String> = [("MCP_HIVE__RATE_LIMIT__BURST", "0")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(
        Settings::load_from(&env, None).is_ok(),
        "disabled: not checked"
    );
}
