//! Finding the JWKS: through the issuer's RFC 8414 / OIDC metadata at every location it may be
//! published, or skipping discovery with `JWT_JWKS_URL` and `JWT_ISSUER`.

use super::*;

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
