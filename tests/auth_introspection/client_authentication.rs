//! How the server authenticates at the introspection endpoint: `client_secret_basic` (the
//! default with a secret) or `client_secret_post`, and the token it asks about.

use super::*;

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
