//! The discovery documents (both identical, naming the configured issuer) and the JWKS whose key
//! signs the JWT access tokens.

use super::*;

#[tokio::test]
async fn discovery_documents_are_identical_and_name_the_configured_issuer() {
    let issuer = "https://auth.hive.test";
    let auth = auth_server(&[("ISSUER_URL", "https://auth.hive.test/")], "").await;
    assert_eq!(auth.issuer, issuer, "the trailing slash is dropped");
    let oauth = auth
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let oidc = auth.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oauth, oidc);
    assert_eq!(oauth["issuer"], issuer);
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
        ("registration_endpoint", "/register"),
        ("jwks_uri", "/jwks"),
    ] {
        assert_eq!(oauth[key], format!("{issuer}{path}"), "{key}");
    }
    assert_eq!(oauth["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        oauth["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(oauth["client_id_metadata_document_supported"], true);
    assert_eq!(oauth["response_types_supported"], json!(["code"]));
    let grants = oauth["grant_types_supported"].as_array().unwrap();
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&json!(g)), "{g}");
    }
    assert!(!grants.contains(&json!("implicit")));
    assert_eq!(
        oauth["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"]),
        "introspection needs client authentication"
    );

    // The redirect carries the configured issuer too (RFC 9207).
    let cb = callback("meta");
    let client_id = auth.register_public(&cb).await;
    let pkce = Pkce::new();
    auth.authorize(&AuthRequest::new(&client_id, &cb, &pkce, None))
        .await;

    // Without ISSUER_URL: http://localhost:<port>; registration and metadata documents off.
    let plain = AuthProcess::start(
        &[
            ("MCP_HIVE__AUTHSERVER__REGISTRATION_ENABLED", "false"),
            ("MCP_HIVE__AUTHSERVER__CLIENT_METADATA_DOCUMENTS", "false"),
        ],
        None,
    )
    .await;
    let port = plain.base.rsplit(':').next().unwrap();
    assert_eq!(plain.issuer, format!("http://localhost:{port}"));
    let doc = plain
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(doc["issuer"], plain.issuer.as_str());
    assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    assert_eq!(doc["client_id_metadata_document_supported"], false);
    let r = plain
        .register(&json!({"redirect_uris": [callback("x")]}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(r.body.get("client_id").is_none());
}

#[tokio::test]
async fn jwt_access_tokens_are_signed_with_the_key_of_jwks_uri() {
    let auth = auth_server(&[("AUTH_TOKEN_FORMAT", "jwt")], "").await;
    let meta = auth.get_json("/.well-known/openid-configuration").await;
    let jwks_uri = meta["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, format!("{}/jwks", auth.issuer));
    // The issuer is http://localhost:<port>: the advertised URI itself is fetchable.
    let jwks: Value = http()
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    assert!(keys[0].get("d").is_none(), "no private part: {jwks}");
    assert_eq!(keys[0]["use"], "sig");

    let reply = auth
        .token(
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            Some((SVC_ID, SVC_SECRET)),
        )
        .await;
    let at = reply.access_token();
    let (header, claims) = jwt_parts(at);
    assert_eq!(header["kid"], keys[0]["kid"], "{header} vs {jwks}");
    assert_eq!(
        header["alg"],
        meta["id_token_signing_alg_values_supported"][0]
    );
    assert_eq!(
        claims["sub"], SVC_ID,
        "RFC 9068 §2.2: the client is the subject"
    );
    let verified = verify_with_jwks(at, &jwks, RESOURCE).expect("verifies with /jwks");
    assert_eq!(verified["iss"], auth.issuer.as_str());
    // A tampered token does not verify.
    let sig = at.rfind('.').unwrap() + 1;
    let flipped = if at[sig..].starts_with('A') { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &at[..sig], &at[sig + 1..]);
    assert!(verify_with_jwks(&tampered, &jwks, RESOURCE).is_err());

    // Introspection knows its own JWTs; revocation (by jti) makes them inactive.
    let info = auth.introspect(at, RS).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["jti"], claims["jti"]);
    let r = auth
        .post_form("/revoke", &[("token", at)], Some((SVC_ID, SVC_SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(auth.introspect(at, RS).await, json!({"active": false}));
}
