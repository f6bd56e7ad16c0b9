//! Redeeming a code at `/token`: a wrong verifier, a replayed code (which revokes what it
//! issued), another client's code, another redirect URI and an expired code are `invalid_grant`.

use super::*;

/// What the server does: the code is taken before the verifier is checked, so a wrong
/// verifier burns it, and the retry with the right verifier is a replay (`invalid_grant`).
#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant_and_burns_the_code() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "verifier").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let other = Pkce::new();
    auth.redeem(&req, &code, &other.verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant", "wrong verifier");
    auth.redeem(&req, &code, &pkce.verifier).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "right verifier after a wrong one",
    );
    // A missing verifier is invalid_request and leaves a fresh code alone.
    let code = auth.authorize(&req).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cb.as_str()),
        ("client_id", client_id.as_str()),
    ];
    auth.token(&form, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no verifier",
    );
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    reply.access_token();
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "replay").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let first = auth.redeem(&req, &code, &pkce.verifier).await;
    let (at, rt) = (first.access_token(), first.refresh_token());
    assert_eq!(auth.introspect(at, RS).await["active"], true);

    auth.redeem(&req, &code, &pkce.verifier).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "replayed code",
    );
    for (t, what) in [(at, "access"), (rt, "refresh")] {
        assert_eq!(
            auth.introspect(t, RS).await,
            json!({"active": false}),
            "the {what} token of the first use is revoked"
        );
    }
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id.as_str()),
    ];
    auth.token(&form, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "refresh of a revoked grant",
    );
    legit_flow_works(&auth, &client_id, &cb).await;
}

/// What the server does: the foreign client's attempt takes the code, so the rightful client
/// can no longer redeem it (a code presented by the wrong client is treated as leaked).
#[tokio::test]
async fn another_clients_code_is_invalid_grant() {
    let auth = auth_server(&[]).await;
    let (victim, cb) = public_client(&auth, "victim").await;
    let (attacker, attacker_cb) = public_client(&auth, "attacker").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&victim, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    for redirect in [cb.as_str(), attacker_cb.as_str()] {
        let stolen = AuthRequest::new(&attacker, redirect, &pkce, Some(RESOURCE));
        auth.redeem(&stolen, &code, &pkce.verifier)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant", redirect);
    }
    auth.redeem(&req, &code, &pkce.verifier).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the victim after the attempt",
    );
    // A confidential client presenting a public client's code.
    let (id, secret) = auth
        .register_confidential(&cb, &["authorization_code"], "client_secret_basic")
        .await;
    let code = auth.authorize(&req).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cb.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    auth.token(&form, Some((&id, &secret))).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "confidential client, public client's code",
    );
    legit_flow_works(&auth, &victim, &cb).await;
    legit_flow_works(&auth, &attacker, &attacker_cb).await;
}

#[tokio::test]
async fn a_code_redeemed_with_another_redirect_uri_is_invalid_grant() {
    let auth = auth_server(&[]).await;
    let cb2 = callback("second");
    let r = auth
        .register(&json!({
            "redirect_uris": [callback("first"), cb2],
            "token_endpoint_auth_method": "none",
        }))
        .await;
    let client_id = r.body["client_id"].as_str().unwrap().to_owned();
    let pkce = Pkce::new();
    let first = callback("first");
    let req = AuthRequest::new(&client_id, &first, &pkce, None);
    let code = auth.authorize(&req).await;
    let other = AuthRequest::new(&client_id, &cb2, &pkce, None);
    auth.redeem(&other, &code, &pkce.verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let auth = auth_server(&[("MCP_HIVE__AUTHSERVER__CODE_TTL_SECS", "1")]).await;
    let (client_id, cb) = public_client(&auth, "expired").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    auth.redeem(&req, &code, &pkce.verifier).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "expired code",
    );
    // A fresh code redeemed at once works.
    legit_flow_works(&auth, &client_id, &cb).await;
}
