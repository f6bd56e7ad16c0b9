//! Session binding across replicas: two `mcp-hive serve` processes in JWT mode share a real
//! `redis-server` and one public URL (the token audience); a session created on replica 1 with
//! user A's token answers user A on replica 2 (also with another of A's tokens), and is "not
//! found" (404) for user B's token on POST, GET and DELETE there, so the principal recorded at
//! `initialize` travels with the session record.

mod common;

use common::auth_server::{AuthServer, SigningKey, now, unique_jti};
use common::{Client, RedisServer, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const PUBLIC_URL: &str = "https://mcp.example.com";

fn tools_list(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

#[tokio::test]
async fn sessions_stay_bound_to_their_principal_on_every_replica() {
    let redis = RedisServer::start();
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let url = redis.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__STORE__POOL_SIZE", "4"),
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("PUBLIC_URL", PUBLIC_URL),
    ];
    let r1 = TestServer::start(&env).await;
    let r2 = TestServer::start(&env).await;
    let token = |sub: &str, scope: &str| {
        key.sign(
            &json!({"iss": auth.base, "aud": format!("{PUBLIC_URL}/mcp"), "sub": sub,
            "client_id": "app-1", "scope": scope, "exp": now() + 600, "jti": unique_jti()}),
        )
    };
    let (alice, bob) = (token("alice", "mcp:tools"), token("bob", "mcp:tools"));

    let mut a1 = Client::new(&r1).with_token(&alice);
    a1.initialize("2025-11-25", json!({})).await;
    let sid = a1.session.clone().expect("session");

    // Bob on replica 2: the session does not exist for him.
    let b2 = r2.client_for(&a1).using_token(Some(&bob));
    let (status, _) = b2.call_json(&tools_list(1)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "POST with B's token on replica 2"
    );
    let res = b2.get().send().await.expect("get");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "GET with B's token on replica 2"
    );
    assert_eq!(
        b2.delete(Some(&sid)).await,
        StatusCode::NOT_FOUND,
        "DELETE with B's token on replica 2"
    );

    // Alice on replica 2, with her token and with another token of hers.
    let a2 = r2.client_for(&a1);
    let (status, body) = a2.call_json(&tools_list(2)).await;
    assert_eq!(status, StatusCode::OK, "A's token on replica 2: {body}");
    let (res, _) = a2.call(&tool_call(3, "whoami", json!({}))).await;
    assert_eq!(res["result"]["structuredContent"]["subject"], "alice");
    let a2b = a2.using_token(Some(&token("alice", "mcp:tools mcp:more")));
    let mut get = a2b.get_stream().await;
    assert!(
        get.next(Duration::from_secs(5)).await.is_some(),
        "GET with another of A's tokens on replica 2"
    );
    drop(get);

    // Bob is refused on replica 1 too, and his failed DELETE did not end the session.
    let b1 = a1.using_token(Some(&bob));
    let (status, _) = b1.call_json(&tools_list(4)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "POST with B's token on replica 1"
    );
    let (status, _) = a1.call_json(&tools_list(5)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a2.delete(Some(&sid)).await, StatusCode::OK);
}
