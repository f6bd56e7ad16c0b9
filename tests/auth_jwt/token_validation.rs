//! What a token must be: the accepted variants (audiences, `scp`, no `kid`, leeway), hostile
//! tokens rejected with 401 `invalid_token`, and missing scopes with 403 `insufficient_scope`.

use super::*;

#[tokio::test]
async fn accepted_token_variants() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    let server = jwt_server(&auth, &[]).await;
    let base = claims(&auth.base, &server.mcp, "alice", "mcp:tools");

    let mut trailing_slash = base.clone();
    trailing_slash["aud"] = json!(format!("{}/", server.mcp));
    let mut aud_array = base.clone();
    aud_array["aud"] = json!(["https://other.example.com/api", server.mcp]);
    let mut exp_in_leeway = base.clone();
    exp_in_leeway["exp"] = json!(now() - 5);
    let mut nbf_in_leeway = base.clone();
    nbf_in_leeway["nbf"] = json!(now() + 5);
    let cases = [
        ("aud with a trailing slash", ec.sign(&trailing_slash)),
        ("aud array naming the resource", ec.sign(&aud_array)),
        ("ES256", ec.sign(&base)),
        ("no kid, one RS256 key", rsa.sign_with_kid(None, &base)),
        (
            "exp 5 s ago, within the 30 s leeway",
            ec.sign(&exp_in_leeway),
        ),
        (
            "nbf in 5 s, within the 30 s leeway",
            ec.sign(&nbf_in_leeway),
        ),
    ];
    for (name, token) in &cases {
        assert_eq!(
            initialize_status(&server, token).await,
            StatusCode::OK,
            "{name}"
        );
    }

    // `scp` (array) instead of `scope`, as Okta and Entra issue it.
    let mut scp = base.clone();
    scp.as_object_mut().expect("claims").remove("scope");
    scp["scp"] = json!(["mcp:tools", "profile"]);
    let mut c = Client::new(&server).with_token(&ec.sign(&scp));
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"]["scopes"],
        json!(["mcp:tools", "profile"]),
        "{res}"
    );
}

#[tokio::test]
async fn hostile_tokens_are_rejected_with_invalid_token() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    let ec = SigningKey::ec_a();
    auth.set_keys(&[&rsa, &ec]);
    // A symmetric key in the JWKS must never verify anything.
    auth.add_raw_key(
        json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
    );
    let server = jwt_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let good = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
    let valid = rsa.sign(&good);
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);

    let with = |key: &str, value: Value| {
        let mut c = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = claims(&auth.base, &server.mcp, "alice", "mcp:tools");
        c.as_object_mut().expect("claims").remove(key);
        c
    };
    let mut elevated = good.clone();
    elevated["sub"] = json!("admin");
    elevated["scope"] = json!("mcp:tools admin");
    let cases: Vec<(&str, String)> = vec![
        ("alg none", hostile::alg_none(&good)),
        (
            "HS256 keyed with the RSA public key PEM",
            hostile::hs256("rsa-a", &public_pem("rsa-a.pub.pem"), &good),
        ),
        (
            "HS256 keyed with the JWK's n",
            hostile::hs256("rsa-a", rsa.jwk_n().as_bytes(), &good),
        ),
        (
            "HS256 with the oct key of the JWKS",
            hostile::hs256("hmac", b"secret-secret-secret", &good),
        ),
        (
            "RS256 header naming the EC key",
            rsa.sign_with_kid(Some("ec-a"), &good),
        ),
        (
            "expired beyond leeway",
            ec.sign(&with("exp", json!(now() - 120))),
        ),
        (
            "nbf beyond leeway",
            ec.sign(&with("nbf", json!(now() + 120))),
        ),
        (
            "wrong issuer",
            ec.sign(&with("iss", json!("https://evil.example.com"))),
        ),
        (
            "wrong audience",
            ec.sign(&with("aud", json!("https://other.example.com/mcp"))),
        ),
        (
            "token for another resource on this host",
            ec.sign(&with("aud", json!(format!("{}/other", server.base)))),
        ),
        (
            "audience is the bare origin",
            ec.sign(&with("aud", json!(server.base))),
        ),
        ("no audience", ec.sign(&without("aud"))),
        ("unknown kid", rsa.sign_with_kid(Some("no-such-key"), &good)),
        (
            "signed by a key the AS does not publish",
            SigningKey::rsa_b().sign_with_kid(Some("rsa-a"), &good),
        ),
        ("tampered signature", hostile::tampered_signature(&valid)),
        (
            "tampered payload",
            hostile::tampered_payload(&valid, &elevated),
        ),
        ("truncated", hostile::truncated(&valid)),
        ("garbage", "garbage-token-value".to_owned()),
        ("not a b64token", "not a token".to_owned()),
        ("missing exp", ec.sign(&without("exp"))),
        ("missing iss", ec.sign(&without("iss"))),
    ];
    for (name, token) in &cases {
        let res = Client::new(&server)
            .with_token(token)
            .post(&initialize_body())
            .send()
            .await
            .expect("send");
        rejection(res).await.assert_invalid_token(&rm, name);
    }
    // The rejections are not a broken server: the valid token still works.
    assert_eq!(initialize_status(&server, &valid).await, StatusCode::OK);
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let auth = AuthServer::start();
    let rsa = SigningKey::rsa_a();
    auth.set_keys(&[&rsa]);
    let server = jwt_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let other_scope = rsa.sign(&claims(&auth.base, &server.mcp, "alice", "profile email"));
    let mut no_scope = claims(&auth.base, &server.mcp, "alice", "");
    no_scope.as_object_mut().expect("claims").remove("scope");
    let no_scope = rsa.sign(&no_scope);
    for (name, token) in [("other scopes", other_scope), ("no scope claim", no_scope)] {
        let res = Client::new(&server)
            .with_token(&token)
            .post(&initialize_body())
            .send()
            .await
            .expect("send");
        rejection(res)
            .await
            .assert_insufficient_scope(&rm, "mcp:tools", name);
    }
}
