//! Malformed `/token` requests (repeated parameters, non-form bodies, unknown grants) consume
//! nothing; a resource other than the authorized one is `invalid_target` (RFC 8707).

use super::*;

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
