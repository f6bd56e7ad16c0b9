//! The grants that issue tokens, ending in MCP calls: the headless code flow with the MCP server
//! in introspection and in JWT mode, client credentials (confidential clients only), and
//! `mcp-hive dev` running both servers wired together.

use super::*;

/// A `mcp-hive serve` that verifies JWT access tokens of `auth` against its JWKS.
async fn jwt_mcp(auth: &AuthProcess) -> TestServer {
    TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.issuer.as_str()),
    ])
    .await
}

#[tokio::test]
async fn headless_code_flow_then_mcp_calls_in_introspection_mode() {
    let auth = auth_server(&[], "").await;
    let mcp = introspecting_mcp(&auth, &[]).await;
    assert_eq!(
        initialize_status(&mcp, None).await,
        StatusCode::UNAUTHORIZED
    );

    let (client_id, reply) = code_flow(&auth, Some(&mcp.mcp), None).await;
    let at = reply.access_token().to_owned();
    assert_eq!(reply.body["scope"], "mcp:tools", "{}", reply.body);
    assert_eq!(reply.body["expires_in"], 600, "{}", reply.body);
    assert!(
        reply.body.get("refresh_token").is_some(),
        "registered for refresh_token: {}",
        reply.body
    );
    assert_eq!(at.split('.').count(), 1, "opaque by default: {at}");

    let info = auth.introspect(&at, RS).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["aud"], mcp.mcp.as_str(), "RFC 8707 audience: {info}");
    assert_eq!(info["sub"], DEMO_USER, "{info}");
    assert_eq!(info["client_id"], client_id.as_str(), "{info}");
    assert_eq!(info["iss"], auth.issuer.as_str(), "{info}");

    let (_, me) = mcp_session(&mcp, &at).await;
    assert_eq!(
        me,
        json!({"authenticated": true, "issuer": auth.issuer, "subject": DEMO_USER,
            "client_id": client_id, "scopes": ["mcp:tools"]}),
    );

    // A token for another resource is refused by this MCP server (audience binding).
    let (_, other) = code_flow(&auth, Some("http://127.0.0.1:9/mcp"), None).await;
    assert_eq!(
        initialize_status(&mcp, Some(other.access_token())).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn headless_code_flow_then_mcp_calls_in_jwt_mode() {
    let auth = auth_server(&[("AUTH_TOKEN_FORMAT", "jwt")], "").await;
    let mcp = jwt_mcp(&auth).await;

    let (client_id, reply) = code_flow(&auth, Some(&mcp.mcp), None).await;
    let at = reply.access_token().to_owned();
    let (header, claims) = jwt_parts(&at);
    assert_eq!(header["typ"], "at+jwt", "RFC 9068: {header}");
    assert_eq!(header["alg"], "ES256", "{header}");
    assert_eq!(claims["iss"], auth.issuer.as_str(), "{claims}");
    assert_eq!(claims["aud"], mcp.mcp.as_str(), "{claims}");
    assert_eq!(claims["sub"], DEMO_USER, "{claims}");
    assert_eq!(claims["client_id"], client_id.as_str(), "{claims}");
    assert_eq!(claims["scope"], "mcp:tools", "{claims}");
    assert!(claims["jti"].is_string(), "{claims}");

    let (_, me) = mcp_session(&mcp, &at).await;
    assert_eq!(
        me,
        json!({"authenticated": true, "issuer": auth.issuer, "subject": DEMO_USER,
            "client_id": client_id, "scopes": ["mcp:tools"]}),
    );

    // Audience binding: a JWT for another resource, or none at all, is refused.
    let (_, other) = code_flow(&auth, Some("http://127.0.0.1:9/mcp"), None).await;
    assert_eq!(
        initialize_status(&mcp, Some(other.access_token())).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, none) = code_flow(&auth, None, None).await;
    let (_, claims) = jwt_parts(none.access_token());
    assert_eq!(
        claims["aud"],
        auth.issuer.as_str(),
        "no resource: the issuer"
    );
    assert_eq!(
        initialize_status(&mcp, Some(none.access_token())).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn client_credentials_needs_a_confidential_client() {
    let auth = auth_server(&[], "").await;
    let mcp = introspecting_mcp(&auth, &[]).await;

    let basic = auth
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("resource", mcp.mcp.as_str()),
            ],
            Some((SVC_ID, SVC_SECRET)),
        )
        .await;
    let at = basic.access_token();
    assert!(
        basic.body.get("refresh_token").is_none(),
        "no refresh token for client credentials: {}",
        basic.body
    );
    assert_eq!(basic.body["scope"], "mcp:tools", "the default scope");
    let info = auth.introspect(at, RS).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], SVC_ID, "{info}");
    assert!(info.get("sub").is_none(), "no user: {info}");
    let (_, me) = mcp_session(&mcp, at).await;
    assert_eq!(me["client_id"], SVC_ID, "{me}");

    // client_secret_post works too.
    let post = auth
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", SVC_ID),
                ("client_secret", SVC_SECRET),
            ],
            None,
        )
        .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.body);

    // A public client cannot authenticate, so it cannot use the grant.
    let public = auth.register_public(&callback("public")).await;
    auth.token(
        &[("grant_type", "client_credentials"), ("client_id", &public)],
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_client", "public client");
    auth.token(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public),
            ("client_secret", "guess"),
        ],
        None,
    )
    .await
    .assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "public client with a secret",
    );
    // A confidential client not registered for the grant.
    let (id, secret) = auth
        .register_confidential(
            &callback("conf"),
            &["authorization_code"],
            "client_secret_basic",
        )
        .await;
    auth.token(
        &[("grant_type", "client_credentials")],
        Some((&id, &secret)),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "grant not registered",
    );
}

#[tokio::test]
async fn dev_runs_both_servers_wired_together() {
    let dev = AuthProcess::start_dev(&[], None).await;
    let mcp_url = dev.mcp.clone().expect("the MCP server's line");
    assert!(mcp_url.starts_with("http://127.0.0.1:"), "{mcp_url}");
    let cb = callback("dev");
    let client_id = dev.register_public(&cb).await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(&mcp_url));
    let code = dev.authorize(&req).await;
    let reply = dev.redeem(&req, &code, &pkce.verifier).await;
    let at = reply.access_token();
    // Public introspection (the seed's quick check) is on in dev, and advertised.
    let meta = dev
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let methods = &meta["introspection_endpoint_auth_methods_supported"];
    assert!(
        methods.as_array().unwrap().contains(&json!("none")),
        "{meta}"
    );
    let info = dev.introspect(at, None).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["aud"], mcp_url.as_str());

    let mut c = Client {
        http: http(),
        url: mcp_url.clone(),
        session: None,
        version: "2025-11-25".into(),
        token: Some(at.to_owned()),
    };
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "add", json!({"a": 2, "b": 3}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 5, "{res}");
    let anonymous = c.using_token(None);
    let (status, _) = anonymous
        .call_json(&tool_call(2, "add", json!({"a": 1, "b": 1})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "dev keeps auth on");
}
