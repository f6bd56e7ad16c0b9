//! Refresh tokens rotate, may narrow but not widen the scope, survive refused requests and
//! revoke their grant when replayed; a revoked access token stops working on the MCP server, and
//! revoking a refresh token revokes its grant.

use super::*;

/// The refresh tests' server: three scopes, none needed by an MCP server.
async fn scoped_auth() -> AuthProcess {
    auth_server(
        &[],
        r#"scopes_supported = ["mcp:tools", "mcp:admin", "mcp:extra"]"#,
    )
    .await
}

const BOTH: &str = "mcp:tools mcp:admin";

#[tokio::test]
async fn refresh_tokens_rotate_and_may_narrow_but_not_widen() {
    let auth = scoped_auth().await;
    let (client, first) = code_flow(&auth, Some(RESOURCE), Some(BOTH)).await;
    let (a1, r1) = (first.access_token(), first.refresh_token());
    assert_eq!(first.body["scope"], BOTH);

    let second = refresh(&auth, &client, r1, None).await;
    let (a2, r2) = (second.access_token(), second.refresh_token());
    assert_ne!(a2, a1);
    assert_ne!(r2, r1, "rotation: a new refresh token");
    assert_eq!(second.body["scope"], BOTH, "no scope: the same scope");
    let info = auth.introspect(a2, RS).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["aud"], RESOURCE, "the resource is kept: {info}");
    assert_eq!(info["sub"], DEMO_USER, "{info}");
    assert_eq!(
        auth.introspect(a1, RS).await["active"],
        true,
        "refreshing does not revoke earlier access tokens"
    );

    // The rotated-out refresh token is inactive (presenting it again would be a replay, which
    // revokes the whole grant: see replaying_a_rotated_refresh_token_revokes_the_active_one).
    assert_eq!(
        auth.introspect(r1, RS).await,
        json!({"active": false}),
        "the old refresh token is inactive"
    );

    // Narrowing is allowed.
    let third = refresh(&auth, &client, r2, Some("mcp:tools")).await;
    let a3 = third.access_token();
    assert_eq!(third.body["scope"], "mcp:tools");
    assert_eq!(auth.introspect(a3, RS).await["scope"], "mcp:tools");

    // Widening beyond the original grant is not.
    let r3 = third.refresh_token();
    refresh(&auth, &client, r3, Some("mcp:tools mcp:extra"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope", "widening");
    // Nor is a scope the server does not know.
    let (client, fresh) = code_flow(&auth, Some(RESOURCE), Some(BOTH)).await;
    refresh(&auth, &client, fresh.refresh_token(), Some("openid"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope", "unknown scope");
}

/// RFC 6749 §6 / OAuth 2.1 §4.3.3: "If a new refresh token is issued, the refresh token scope
/// MUST be identical to that of the refresh token included by the client in the request", and
/// an omitted scope "is treated as equal to the scope originally granted by the resource
/// owner". Narrowing one access token must not shrink the grant.
#[tokio::test]
async fn refresh_after_narrowing_keeps_the_original_grant_scope() {
    let auth = scoped_auth().await;
    let (client, first) = code_flow(&auth, Some(RESOURCE), Some(BOTH)).await;
    let narrowed = refresh(&auth, &client, first.refresh_token(), Some("mcp:tools")).await;
    assert_eq!(narrowed.body["scope"], "mcp:tools", "{}", narrowed.body);
    let r2 = narrowed.refresh_token();
    let info = auth.introspect(r2, RS).await;
    assert_eq!(
        info["scope"], BOTH,
        "the new refresh token keeps the scope of the one it replaced: {info}"
    );
    let again = refresh(&auth, &client, r2, None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        again.body["scope"], BOTH,
        "an omitted scope is the originally granted scope: {}",
        again.body
    );
    let admin = refresh(&auth, &client, again.refresh_token(), Some("mcp:admin")).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(admin.body["scope"], "mcp:admin");
}

/// A refresh request that is refused (a scope beyond the grant, another resource) issues
/// nothing and must not cost the client its refresh token: RFC 6749 §6 ties the old refresh
/// token's revocation to issuing a new one.
#[tokio::test]
async fn a_refused_refresh_request_leaves_the_refresh_token_usable() {
    let auth = scoped_auth().await;
    let (client, first) = code_flow(&auth, Some(RESOURCE), Some(BOTH)).await;
    let rt = first.refresh_token();
    refresh(&auth, &client, rt, Some("mcp:extra"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope", "widening");
    assert_eq!(
        auth.introspect(rt, RS).await["active"],
        true,
        "the refresh token survives an invalid_scope refusal"
    );
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client.as_str()),
        ("resource", "http://127.0.0.1:9/other"),
    ];
    auth.token(&form, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "another resource (RFC 8707)",
    );
    assert_eq!(
        auth.introspect(rt, RS).await["active"],
        true,
        "the refresh token survives an invalid_target refusal"
    );
    let after = refresh(&auth, &client, rt, None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert_eq!(after.body["scope"], BOTH);
}

/// OAuth 2.1 §4.3.1 (refresh token rotation for public clients): the previous refresh token
/// is invalidated "but information about the relationship is retained"; when an invalidated
/// refresh token is presented, "the authorization server ... will revoke the active refresh
/// token" (also RFC 9700 §4.14.2).
#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_the_active_one() {
    let auth = scoped_auth().await;
    let (client, first) = code_flow(&auth, Some(RESOURCE), None).await;
    let r1 = first.refresh_token();
    let second = refresh(&auth, &client, r1, None).await;
    let r2 = second.refresh_token();
    // An attacker (or the client) replays r1.
    refresh(&auth, &client, r1, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "replayed refresh token",
    );
    assert_eq!(
        auth.introspect(r2, RS).await,
        json!({"active": false}),
        "the active refresh token of the grant is revoked after a replay"
    );
    refresh(&auth, &client, r2, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "refresh token of a replayed grant",
    );
}

/// The MCP server caches a validated token for `cache_max_secs` (set to 1 here): within that
/// bound a revoked token can still pass; after it, the next call introspects again and the
/// token is refused. (With the default 60 s the test would have to wait a minute.)
#[tokio::test]
async fn a_revoked_access_token_stops_working_on_the_mcp_server() {
    let auth = auth_server(&[], "").await;
    let mcp = introspecting_mcp(&auth, &[("MCP_HIVE__AUTH__CACHE_MAX_SECS", "1")]).await;
    let (client_id, reply) = code_flow(&auth, Some(&mcp.mcp), None).await;
    let at = reply.access_token().to_owned();
    let (session, _) = mcp_session(&mcp, &at).await;

    let r = auth.revoke_public(&client_id, &at).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(auth.introspect(&at, RS).await, json!({"active": false}));

    let revoked_at = Instant::now();
    let status = loop {
        let (status, body) = session
            .call_json(&tool_call(9, "add", json!({"a": 1, "b": 1})))
            .await;
        if status != StatusCode::OK {
            break status;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(4),
            "the revoked token still works after the 1 s cache bound: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        initialize_status(&mcp, Some(&at)).await,
        StatusCode::UNAUTHORIZED
    );

    // The refresh token of the grant still works: revoking an access token is not revoking
    // the grant (RFC 7009 §2.1 leaves it to the server; this one keeps it).
    let fresh = refresh(&auth, &client_id, reply.refresh_token(), None).await;
    let (_, me) = mcp_session(&mcp, fresh.access_token()).await;
    assert_eq!(me["subject"], DEMO_USER);
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant() {
    let auth = auth_server(&[], "").await;
    let (client_id, first) = code_flow(&auth, Some(RESOURCE), None).await;
    let second = refresh(&auth, &client_id, first.refresh_token(), None).await;
    let (a1, a2, rt) = (
        first.access_token(),
        second.access_token(),
        second.refresh_token(),
    );
    assert_eq!(auth.introspect(rt, RS).await["token_type"], "refresh_token");
    for t in [a1, a2] {
        assert_eq!(auth.introspect(t, RS).await["active"], true);
    }

    let r = auth.revoke_public(&client_id, rt).await;
    assert_eq!(r.status, StatusCode::OK);
    for (t, what) in [(a1, "first access"), (a2, "second access"), (rt, "refresh")] {
        assert_eq!(
            auth.introspect(t, RS).await,
            json!({"active": false}),
            "{what} token after the refresh token's revocation"
        );
    }
    refresh(&auth, &client_id, rt, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "revoked refresh token",
    );

    // Another grant of the same client is unaffected; unknown tokens are a 200 no-op.
    let (_, other) = code_flow(&auth, Some(RESOURCE), None).await;
    assert_eq!(
        auth.introspect(other.access_token(), RS).await["active"],
        true
    );
    let r = auth.revoke_public(&client_id, "never-issued").await;
    assert_eq!(r.status, StatusCode::OK, "RFC 7009 §2.2: {:?}", r.body);
}
