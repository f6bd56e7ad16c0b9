//! RFC 9728 protected resource metadata: both well-known URLs with CORS and preflight, the
//! issuer identifier listed verbatim, and `PUBLIC_URL` as the resource tokens must name.

use super::*;

#[tokio::test]
async fn protected_resource_metadata_at_both_urls() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    let expected = json!({
        "resource": server.mcp,
        "authorization_servers": [auth.base],
        "scopes_supported": ["mcp:tools"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-hive",
    });
    let http = http();
    for path in [PRM.to_owned(), format!("{PRM}/mcp")] {
        let url = format!("{}{path}", server.base);
        // Readable from any origin, without a token.
        let res = http
            .get(&url)
            .header("Origin", "https://inspector.example.com")
            .send()
            .await
            .expect("get PRM");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
        let doc: Value = res.json().await.expect("PRM JSON");
        assert_eq!(doc, expected, "{path}");

        let res = http
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", "https://inspector.example.com")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "mcp-protocol-version")
            .send()
            .await
            .expect("preflight");
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path} preflight");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let methods = header(&res, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("GET"), "{path}: {methods}");
        let headers = header(&res, "access-control-allow-headers").unwrap_or_default();
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("mcp-protocol-version"),
            "{path}: {headers}"
        );
    }
    // The metadata describes the resource; it does not need the AS.
    assert_eq!(auth.metadata_fetches(), 0);
    assert_eq!(auth.introspections(), 0);
}

#[tokio::test]
async fn issuer_identifier_with_trailing_slash_is_listed_verbatim() {
    // Auth0-style issuer: `https://tenant.auth0.com/`, slash included.
    let auth = AuthServer::start_with("/", MetadataAt::OAuthInserted);
    let server = introspecting_server_for(&auth.issuer, &[]).await;
    let http = http();
    let res = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let as_doc: Value = res.json().await.expect("json");
    assert_eq!(as_doc["issuer"], auth.issuer.as_str(), "{as_doc}");
    let prm: Value = http
        .get(format!("{}{PRM}/mcp", server.base))
        .send()
        .await
        .expect("PRM")
        .json()
        .await
        .expect("json");
    // RFC 9728 §2 lists issuer identifiers, and a client validating the AS metadata it
    // discovers from that entry requires `issuer` to be identical to it (RFC 8414 §3.3).
    assert_eq!(
        prm["authorization_servers"],
        json!([auth.issuer]),
        "the configured issuer identifier must be listed unchanged"
    );
}

#[tokio::test]
async fn public_url_is_the_resource() {
    let auth = AuthServer::start();
    let public = "https://mcp.example.com";
    let server = introspecting_server(&auth, &[("PUBLIC_URL", public)]).await;
    let resource = format!("{public}/mcp");
    let doc: Value = http()
        .get(format!("{}{PRM}/mcp", server.base))
        .send()
        .await
        .expect("PRM")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["resource"], resource.as_str(), "{doc}");

    let res = Client::new(&server)
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_missing_token(&resource_metadata_of(public), "challenge under PUBLIC_URL");

    // Tokens must be issued for the public resource, not for the replica's own address.
    auth.add_token("public", active(&resource, "alice"));
    auth.add_token("local", active(&server.mcp, "alice"));
    let ok = Client::new(&server).with_token("public");
    assert_eq!(
        ok.post(&initialize_body())
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let res = Client::new(&server)
        .with_token("local")
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_invalid_token(&resource_metadata_of(public), "aud = the loopback URL");
}
