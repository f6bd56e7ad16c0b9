//! Hostile and malformed requests against the demo authorization server (`mcp-hive auth` as a
//! real process): each gets the error its RFC prescribes, nothing is issued (no code on the
//! redirect, no token in the body), and a legitimate request afterwards still behaves.
//!
//! - `/authorize`: unknown clients and unregistered redirect URIs get an HTML error page, never
//!   a redirect (RFC 6749 §4.1.2.1, open redirects); missing PKCE or `plain` go back to the
//!   client as `invalid_request` (OAuth 2.1 §4.1.1);
//! - `/token`: a wrong `code_verifier`, a replayed, foreign or expired code are `invalid_grant`
//!   (a replay also revokes what the first use issued, OAuth 2.1 §4.1.3); a bad secret is 401
//!   `invalid_client` with a Basic challenge (RFC 6749 §5.2); repeated parameters and non-form
//!   bodies are `invalid_request`; another resource is `invalid_target` (RFC 8707);
//! - `/register`: oversized bodies are `invalid_client_metadata`, non-loopback `http` and
//!   `javascript:` redirect URIs `invalid_redirect_uri` (RFC 7591 §3.2.2);
//! - `/introspect` without client authentication is 401 (RFC 7662 §2.1); `/revoke` of another
//!   client's token is refused (RFC 7009 §2.1).

mod common;

use common::authserver::{
    AuthProcess, AuthRequest, Pkce, Redirect, Reply, assert_nothing_issued, callback,
    config_with_clients,
};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const RS_ID: &str = "mcp-hive-rs";
const RS_SECRET: &str = "rs-secret-0123456789";
const RS: Option<(&str, &str)> = Some((RS_ID, RS_SECRET));
const RESOURCE: &str = "http://127.0.0.1:9/mcp";

/// An authorization server (auto-approve) with the introspection client and `env`.
async fn auth_server(env: &[(&str, &str)]) -> AuthProcess {
    let client = r#"{ client_id = "mcp-hive-rs", client_secret = "rs-secret-0123456789", grant_types = ["client_credentials"] }"#;
    AuthProcess::start(env, Some(&config_with_clients(&[client], ""))).await
}

/// A registered public client with its redirect URI.
async fn public_client(auth: &AuthProcess, tag: &str) -> (String, String) {
    let cb = callback(tag);
    (auth.register_public(&cb).await, cb)
}

/// The legitimate flow still works: authorize, redeem, an active token.
async fn legit_flow_works(auth: &AuthProcess, client_id: &str, cb: &str) {
    let pkce = Pkce::new();
    let req = AuthRequest::new(client_id, cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    let info = auth.introspect(reply.access_token(), RS).await;
    assert_eq!(info["active"], true, "{info}");
}

/// Asserts an HTML error page: `status`, no `Location`, no code anywhere, framing denied.
async fn assert_error_page(res: reqwest::Response, status: StatusCode, ctx: &str) -> String {
    assert_eq!(res.status(), status, "{ctx}");
    assert!(
        res.headers().get("location").is_none(),
        "{ctx}: no redirect, got {:?}",
        res.headers().get("location")
    );
    let ct = res.headers().get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ctx}: {ct}");
    assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
    let body = res.text().await.unwrap();
    assert!(body.contains("Authorization error"), "{ctx}: {body}");
    assert!(!body.contains("code="), "{ctx}: {body}");
    body
}

#[tokio::test]
async fn unregistered_redirect_uris_get_an_error_page_never_a_redirect() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "app").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let lookalikes = [
        "https://evil.example/cb".to_owned(),
        format!("{cb}/"),
        format!("{cb}.evil.example"),
        format!("{cb}?next=https://evil.example/"),
        cb.replace("127.0.0.1", "localhost"),
        cb.replace("http://", "https://"),
        format!("{cb}#x"),
    ];
    for evil in &lookalikes {
        let res = auth
            .authorize_raw(&req.query_with(&[("redirect_uri", evil)]))
            .await;
        let body = assert_error_page(res, StatusCode::BAD_REQUEST, evil).await;
        assert!(body.contains("redirect_uri"), "{evil}: {body}");
        assert!(!body.contains("evil.example"), "not echoed: {body}");
    }
    // Even an otherwise broken request (response_type=token) with a bad redirect is a page.
    let res = auth
        .authorize_raw(&req.query_with(&[
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "token"),
            ("code_challenge", ""),
        ]))
        .await;
    assert_error_page(res, StatusCode::BAD_REQUEST, "bad redirect and bad request").await;
    legit_flow_works(&auth, &client_id, &cb).await;
}

#[tokio::test]
async fn unknown_clients_get_an_error_page() {
    let auth = auth_server(&[]).await;
    let pkce = Pkce::new();
    for (client_id, redirect) in [
        ("never-registered", "https://evil.example/cb"),
        ("never-registered", "http://127.0.0.1:9/cb"),
        ("", "https://evil.example/cb"),
    ] {
        let req = AuthRequest::new(client_id, redirect, &pkce, None);
        let res = auth.authorize_raw(&req.query()).await;
        assert_error_page(res, StatusCode::BAD_REQUEST, client_id).await;
    }
    // The confidential introspection client has no redirect URI: it cannot start the flow.
    let req = AuthRequest::new(RS_ID, "http://127.0.0.1:9/cb", &pkce, None);
    let res = auth.authorize_raw(&req.query()).await;
    assert_error_page(res, StatusCode::BAD_REQUEST, "client without redirect URIs").await;
    let (client_id, cb) = public_client(&auth, "after").await;
    legit_flow_works(&auth, &client_id, &cb).await;
}

#[tokio::test]
async fn pkce_is_required_and_must_be_s256() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "pkce").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("no code_challenge", &[("code_challenge", "")]),
        (
            "plain",
            &[
                ("code_challenge_method", "plain"),
                ("code_challenge", pkce.verifier.as_str()),
            ],
        ),
        ("no method", &[("code_challenge_method", "")]),
        ("short challenge", &[("code_challenge", "abc")]),
        ("no response_type", &[("response_type", "")]),
    ];
    for (ctx, change) in cases {
        let res = auth.authorize_raw(&req.query_with(change)).await;
        let r = Redirect::of(&res).unwrap_or_else(|| panic!("{ctx}: expected a redirect"));
        assert_eq!(r.base, cb, "{ctx}");
        assert_eq!(r.get("error"), Some("invalid_request"), "{ctx}");
        assert_eq!(r.get("code"), None, "{ctx}: no code");
        assert_eq!(r.get("state"), Some("xyz"), "{ctx}");
        assert_eq!(r.get("iss"), Some(auth.issuer.as_str()), "{ctx}");
    }
    let res = auth
        .authorize_raw(&req.query_with(&[("response_type", "token")]))
        .await;
    let r = Redirect::of(&res).expect("redirect");
    assert_eq!(r.get("error"), Some("unsupported_response_type"));
    assert_eq!(r.get("code"), None);
    legit_flow_works(&auth, &client_id, &cb).await;
}

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
async fn registration_refuses_oversized_and_dangerous_metadata() {
    let auth = auth_server(&[]).await;
    let doc = |pad: usize| {
        json!({
            "redirect_uris": [callback("big")],
            "token_endpoint_auth_method": "none",
            "software_statement_padding": "x".repeat(pad),
        })
    };
    let big = doc(16_500);
    assert!(big.to_string().len() > 16_384);
    let r = auth.register(&big).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "oversized",
    );
    // Just under the limit, the same document registers: the size was the reason.
    let small = doc(16_000);
    assert!(small.to_string().len() < 16_384);
    assert_eq!(auth.register(&small).await.status, StatusCode::CREATED);

    for uri in [
        "http://evil.example/cb",
        "http://10.0.0.1/cb",
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "https://user:pw@app.example/cb",
        "https://app.example/cb#frag",
        "/relative/cb",
    ] {
        for app in ["web", "native"] {
            let r = auth
                .register(&json!({
                    "redirect_uris": [uri],
                    "application_type": app,
                    "token_endpoint_auth_method": "none",
                }))
                .await;
            r.assert_error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                &format!("{uri} ({app})"),
            );
        }
    }
    // A bad URI among good ones spoils the registration.
    let r = auth
        .register(&json!({"redirect_uris": [callback("ok"), "javascript:x"]}))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", "mixed");
    // Not JSON, or not declared as JSON.
    let res = common::authserver::http()
        .post(auth.url("/register"))
        .header("Content-Type", "text/plain")
        .body(json!({"redirect_uris": [callback("t")]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_nothing_issued(&body, "text/plain registration");
    let (client_id, cb) = public_client(&auth, "after").await;
    legit_flow_works(&auth, &client_id, &cb).await;
}

#[tokio::test]
async fn malformed_token_requests_are_invalid_request_and_consume_nothing() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "malformed").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cb.as_str()),
        ("client_id", client_id.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
        ("resource", RESOURCE),
    ];
    for (k, v) in [
        ("code", code.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
        ("grant_type", "client_credentials"),
        ("client_id", "someone-else"),
    ] {
        let mut repeated = form.clone();
        repeated.push((k, v));
        auth.token(&repeated, None).await.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("repeated {k}"),
        );
    }
    // The same parameters as JSON, or as form data under another content type.
    let as_json: serde_json::Map<String, serde_json::Value> = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let encoded = serde_urlencoded::to_string(&form).unwrap();
    for (ct, body) in [
        (
            "application/json",
            serde_json::Value::Object(as_json).to_string(),
        ),
        ("text/plain", encoded.clone()),
        ("multipart/form-data; boundary=x", encoded),
    ] {
        let res = common::authserver::http()
            .post(auth.url("/token"))
            .header("Content-Type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{ct}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{ct}: {body}");
        assert_nothing_issued(&body, ct);
    }
    let r = auth
        .token(
            &[("grant_type", "password"), ("client_id", &client_id)],
            None,
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "password",
    );
    // None of that consumed the code.
    let reply = auth.token(&form, None).await;
    reply.access_token();
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
async fn a_resource_other_than_the_authorized_one_is_invalid_target() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "target").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let wrong = AuthRequest::new(&client_id, &cb, &pkce, Some("http://127.0.0.1:9/other"));
    auth.redeem(&wrong, &code, &pkce.verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target", "other resource");
    // At /authorize, a resource that is not an absolute http(s) URI goes back to the client.
    for bad in ["/mcp", "urn:x:y", "http://h/mcp#f"] {
        let res = auth
            .authorize_raw(&req.query_with(&[("resource", bad)]))
            .await;
        let r = Redirect::of(&res).expect("redirect");
        assert_eq!(r.get("error"), Some("invalid_target"), "{bad}");
        assert_eq!(r.get("code"), None, "{bad}");
    }
    legit_flow_works(&auth, &client_id, &cb).await;
}

/// RFC 8707 §2 lets a client send `resource` more than once; a server that issues a token for
/// one audience only answers `invalid_target` when the set is not what was authorized — not
/// RFC 6749's "repeated parameter" `invalid_request`.
#[tokio::test]
async fn repeated_resource_parameters_with_a_mismatch_are_invalid_target() {
    let auth = auth_server(&[]).await;
    let (client_id, cb) = public_client(&auth, "resources").await;
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, &cb, &pkce, Some(RESOURCE));
    let code = auth.authorize(&req).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cb.as_str()),
        ("client_id", client_id.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
        ("resource", RESOURCE),
        ("resource", "http://127.0.0.1:9/other"),
    ];
    auth.token(&form, None).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "two resources, one not authorized",
    );
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
