//! The demo authorization server (`mcp-hive auth`, `mcp-hive dev`) as real processes, driven
//! over HTTP like a headless MCP client: dynamic registration, the code flow with PKCE S256,
//! RFC 8707 `resource` and RFC 9207 `iss`, then MCP calls on a `mcp-hive serve` process that
//! checks the tokens by introspection or as JWTs; refresh token rotation and scope narrowing;
//! revocation (an access token stops working on the MCP server, a refresh token takes its grant
//! with it); client credentials; the login and consent page; the discovery documents and the
//! JWKS; and two replicas sharing their state and signing key through a real Redis.

mod common;

use common::authserver::{
    AuthProcess, AuthRequest, DEMO_USER, Pkce, Redirect, Reply, callback, config_with_clients,
    http, jwt_parts, verify_with_jwks,
};
use common::{Client, RedisServer, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The MCP server's credentials at the introspection endpoint (a configured client).
const RS_ID: &str = "mcp-hive-rs";
const RS_SECRET: &str = "rs-secret-0123456789";
const RS: Option<(&str, &str)> = Some((RS_ID, RS_SECRET));
/// A configured confidential client for client credentials.
const SVC_ID: &str = "svc";
const SVC_SECRET: &str = "svc-secret-0123456789";

const RS_CLIENT: &str = r#"{ client_id = "mcp-hive-rs", client_secret = "rs-secret-0123456789", grant_types = ["client_credentials"] }"#;
const SVC_CLIENT: &str = r#"{ client_id = "svc", client_secret = "svc-secret-0123456789", grant_types = ["client_credentials"] }"#;

/// The configuration with both configured clients and `extra` `[authserver]` lines.
fn config(extra: &str) -> String {
    config_with_clients(&[RS_CLIENT, SVC_CLIENT], extra)
}

/// An authorization server with both configured clients and `env`.
async fn auth_server(env: &[(&str, &str)], extra: &str) -> AuthProcess {
    AuthProcess::start(env, Some(&config(extra))).await
}

/// A `mcp-hive serve` that checks tokens by introspection at `auth` with the RS credentials.
async fn introspecting_mcp(auth: &AuthProcess, extra: &[(&str, &str)]) -> TestServer {
    let introspect = format!("{}/introspect", auth.issuer);
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", auth.issuer.as_str()),
        ("OAUTH_INTROSPECT_URL", introspect.as_str()),
        ("OAUTH_CLIENT_ID", RS_ID),
        ("OAUTH_CLIENT_SECRET", RS_SECRET),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// A `mcp-hive serve` that verifies JWT access tokens of `auth` against its JWKS.
async fn jwt_mcp(auth: &AuthProcess) -> TestServer {
    TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.issuer.as_str()),
    ])
    .await
}

/// Register a public client, authorize for `resource` and redeem the code: the token response.
async fn code_flow(
    auth: &AuthProcess,
    resource: Option<&str>,
    scope: Option<&str>,
) -> (String, Reply) {
    let cb = callback("flow");
    let client_id = auth.register_public(&cb).await;
    let pkce = Pkce::new();
    let mut req = AuthRequest::new(&client_id, &cb, &pkce, resource);
    req.scope = scope;
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    (client_id, reply)
}

/// `refresh_token` grant for a public client, with an optional `scope`.
async fn refresh(auth: &AuthProcess, client_id: &str, rt: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    auth.token(&form, None).await
}

/// An initialized MCP session with `token` on `server`; checks `add` and returns `whoami`.
async fn mcp_session(server: &TestServer, token: &str) -> (Client, Value) {
    let mut c = Client::new(server).with_token(token);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "add", json!({"a": 40, "b": 2}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 42, "{res}");
    let (res, _) = c.call(&tool_call(2, "whoami", json!({}))).await;
    (c, res["result"]["structuredContent"].clone())
}

/// The status of an `initialize` with `token`.
async fn initialize_status(server: &TestServer, token: Option<&str>) -> StatusCode {
    Client::new(server)
        .using_token(token)
        .call_json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .await
        .0
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

/// The refresh tests' server: three scopes, none needed by an MCP server.
async fn scoped_auth() -> AuthProcess {
    auth_server(
        &[],
        r#"scopes_supported = ["mcp:tools", "mcp:admin", "mcp:extra"]"#,
    )
    .await
}

const RESOURCE: &str = "http://127.0.0.1:9/mcp";
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

/// Extracts the value of the hidden input `name` from the consent page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    let end = html[start..].find('"').expect("end of value");
    html[start..start + end].to_owned()
}

#[tokio::test]
async fn login_and_consent_page_issues_a_code_after_a_real_login() {
    let auth = auth_server(&[("AUTH_AUTO_APPROVE", "false")], "").await;
    let cb = callback("consent");
    let client_id = auth.register_public(&cb).await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let res = auth.authorize_raw(&req.query()).await;
    assert_eq!(res.status(), StatusCode::OK, "the login and consent page");
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("CSRF cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("mcp_hive_csrf="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/authorize"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    assert_eq!(pair, format!("mcp_hive_csrf={csrf}"), "double submit");
    assert!(html.contains(RESOURCE), "the page names the resource");

    let post = |decision: &'static str, password: &'static str, cookie: Option<String>| {
        let mut form: Vec<(String, String)> = req
            .query()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (k, v) in [
            ("csrf", csrf.as_str()),
            ("decision", decision),
            ("username", DEMO_USER),
            ("password", password),
        ] {
            form.push((k.to_owned(), v.to_owned()));
        }
        let mut rb = http().post(auth.url("/authorize")).form(&form);
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        rb.send()
    };
    // Without the cookie (a cross-site post): refused, nothing issued.
    let res = post("approve", "demo", None).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    // A wrong password: the page again, 401.
    let res = post("approve", "wrong", Some(pair.clone())).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("location").is_none());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    // Deny: access_denied on the redirect URI.
    let res = post("deny", "", Some(pair.clone())).await.unwrap();
    let denied = Redirect::of(&res).expect("redirect");
    assert_eq!(denied.base, cb);
    assert_eq!(denied.get("error"), Some("access_denied"));
    assert_eq!(denied.get("code"), None);
    assert_eq!(denied.get("iss"), Some(auth.issuer.as_str()));
    // Approve with the right password.
    let res = post("approve", "demo", Some(pair)).await.unwrap();
    let ok = Redirect::of(&res).expect("redirect");
    assert_eq!(ok.base, cb);
    assert_eq!(ok.get("state"), Some("xyz"));
    assert_eq!(ok.get("iss"), Some(auth.issuer.as_str()));
    let code = ok.get("code").expect("code");
    let reply = auth.redeem(&req, code, &pkce.verifier).await;
    let info = auth.introspect(reply.access_token(), RS).await;
    assert_eq!(info["sub"], DEMO_USER, "{info}");
    assert_eq!(info["aud"], RESOURCE, "{info}");
}

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
