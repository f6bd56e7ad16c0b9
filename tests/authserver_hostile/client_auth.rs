//! Client authentication and ownership: a bad secret is 401 `invalid_client` with a Basic
//! challenge, introspection needs an authenticated client, and a client cannot revoke another
//! client's tokens.

use super::*;

#[tokio::test]
async fn a_bad_client_secret_is_401_invalid_client_with_a_basic_challenge() {
    let auth = auth_server(&[]).await;
    let cc = [("grant_type", "client_credentials")];
    let check = |r: Reply, ctx: &str| {
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client", ctx);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Basic"), "{ctx}: {challenge:?}");
    };
    check(
        auth.token(&cc, Some((RS_ID, "wrong"))).await,
        "wrong Basic secret",
    );
    check(
        auth.token(&cc, Some((RS_ID, ""))).await,
        "empty Basic secret",
    );
    check(
        auth.token(&cc, Some(("nobody", RS_SECRET))).await,
        "unknown client",
    );
    check(
        auth.token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", RS_ID),
                ("client_secret", "wrong"),
            ],
            None,
        )
        .await,
        "wrong client_secret_post",
    );
    check(
        auth.token(
            &[("grant_type", "client_credentials"), ("client_id", RS_ID)],
            None,
        )
        .await,
        "confidential client without its secret",
    );
    let r = auth.introspect_reply("x", Some((RS_ID, "wrong"))).await;
    check(r, "introspection with a wrong secret");
    // The right secret still works.
    let ok = auth.token(&cc, Some((RS_ID, RS_SECRET))).await;
    ok.access_token();
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "introspect").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    let at = reply.access_token();
    for (form, ctx) in [
        (vec![("token", at)], "no credentials"),
        (
            vec![("token", at), ("client_id", client_id.as_str())],
            "a public client's id",
        ),
    ] {
        let r = auth.post_form("/introspect", &form, None).await;
        r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client", ctx);
        assert!(r.body.get("active").is_none(), "{ctx}: {}", r.body);
    }
    // The same without a token: still 401 first (no probing for the parameter).
    let r = auth.post_form("/introspect", &[], None).await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client", "empty");
    assert_eq!(auth.introspect(at, RS).await["active"], true);
}

#[tokio::test]
async fn revocation_of_another_clients_token_is_refused() {
    let auth = auth_server(&[]).await;
    let (owner, cb) = public_client(&auth, "owner").await;
    let (other, _) = public_client(&auth, "other").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&owner, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    for t in [reply.access_token(), reply.refresh_token()] {
        let r = auth.revoke_public(&other, t).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.error(), Some("unauthorized_client"), "{}", r.body);
        assert_eq!(auth.introspect(t, RS).await["active"], true);
    }
    // Unauthenticated revocation is refused too.
    let r = auth
        .post_form("/revoke", &[("token", reply.access_token())], None)
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_client", "no client");
    assert_eq!(
        auth.introspect(reply.access_token(), RS).await["active"],
        true
    );
}
