//! `/authorize`: unknown clients and unregistered redirect URIs get an HTML error page, never a
//! redirect; a missing or `plain` PKCE challenge goes back to the client as `invalid_request`.

use super::*;

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
