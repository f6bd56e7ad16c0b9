//! Two `mcp-hive auth` replicas on one real Redis: clients, codes, tokens and revocations are
//! shared, and so is the signing key (also with a replica started after a restart).

use super::*;

/// Two `mcp-hive auth` replicas on one Redis with one issuer.
async fn replicas(redis: &RedisServer, format: &str) -> (AuthProcess, AuthProcess) {
    let url = redis.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("ISSUER_URL", "https://auth.hive.test"),
        ("AUTH_TOKEN_FORMAT", format),
    ];
    (auth_server(&env, "").await, auth_server(&env, "").await)
}

#[tokio::test]
async fn replicas_share_clients_codes_tokens_and_revocations_through_redis() {
    let redis = RedisServer::start();
    let (a, b) = replicas(&redis, "opaque").await;
    assert_ne!(a.base, b.base);
    assert_eq!(a.issuer, b.issuer);

    let cb = callback("replicas");
    let client_id = a.register_public(&cb).await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = a.authorize(&req).await;
    // The code issued by A is redeemed on B, once.
    let reply = b.redeem(&req, &code, &pkce.verifier).await;
    let at = reply.access_token();
    for (name, replica) in [("A", &a), ("B", &b)] {
        let info = replica.introspect(at, RS).await;
        assert_eq!(info["active"], true, "introspection on {name}: {info}");
        assert_eq!(info["client_id"], client_id.as_str());
        assert_eq!(info["iss"], "https://auth.hive.test");
    }
    a.redeem(&req, &code, &pkce.verifier).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "code replayed on the other replica",
    );
    for (name, replica) in [("A", &a), ("B", &b)] {
        assert_eq!(
            replica.introspect(at, RS).await,
            json!({"active": false}),
            "the replay on A revoked the grant everywhere ({name})"
        );
    }

    // A second grant: refreshed on A, its refresh token revoked on B.
    let code = a.authorize(&req).await;
    let reply = b.redeem(&req, &code, &pkce.verifier).await;
    let fresh = refresh(&a, &client_id, reply.refresh_token(), None).await;
    let (at2, rt2) = (fresh.access_token(), fresh.refresh_token());
    refresh(&b, &client_id, reply.refresh_token(), None)
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "rotated on A, refused on B",
        );
    assert_eq!(
        b.revoke_public(&client_id, rt2).await.status,
        StatusCode::OK
    );
    assert_eq!(a.introspect(at2, RS).await, json!({"active": false}));
}

#[tokio::test]
async fn replicas_share_the_signing_key_through_redis() {
    let redis = RedisServer::start();
    let (a, b) = replicas(&redis, "jwt").await;
    let jwks_a = a.get_json("/jwks").await;
    let jwks_b = b.get_json("/jwks").await;
    assert_eq!(jwks_a, jwks_b, "one key for every replica");

    let reply = a
        .token(
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            Some((SVC_ID, SVC_SECRET)),
        )
        .await;
    let at = reply.access_token();
    let claims = verify_with_jwks(at, &jwks_b, RESOURCE).expect("A's JWT verifies with B's JWKS");
    assert_eq!(claims["iss"], "https://auth.hive.test");
    assert_eq!(b.introspect(at, RS).await["active"], true);
    // Revoked on A (by jti): inactive on B.
    let r = a
        .post_form("/revoke", &[("token", at)], Some((SVC_ID, SVC_SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(b.introspect(at, RS).await, json!({"active": false}));

    // A replica started later (after a restart of both) still uses the stored key.
    drop(a);
    b.kill().await;
    let url = redis.url();
    let c = auth_server(
        &[
            ("REDIS_URL", url.as_str()),
            ("ISSUER_URL", "https://auth.hive.test"),
            ("AUTH_TOKEN_FORMAT", "jwt"),
        ],
        "",
    )
    .await;
    assert_eq!(c.get_json("/jwks").await, jwks_a);
}
