//! `DISABLE_AUTH=true`: no metadata documents (404) and MCP calls without a token.

use super::*;

#[tokio::test]
async fn disabled_auth_has_no_metadata_and_needs_no_token() {
    let server = TestServer::start(&[]).await;
    let http = http();
    for path in [
        PRM.to_owned(),
        format!("{PRM}/mcp"),
        "/.well-known/oauth-authorization-server".to_owned(),
        "/.well-known/openid-configuration".to_owned(),
    ] {
        let res = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"]["authenticated"], false,
        "{res}"
    );
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 1, "b": 2}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 3, "{res}");
}
