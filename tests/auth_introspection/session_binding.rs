//! Sessions bound to their principal: another user's or client's token gets 404, the owner's
//! other tokens work, and client-credentials sessions bind to the client id.

use super::*;

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
