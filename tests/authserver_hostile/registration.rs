//! `/register`: oversized metadata, dangerous redirect URIs and non-JSON bodies are refused.

use super::*;

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
