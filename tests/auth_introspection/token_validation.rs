//! Which introspection answers admit a token: inactive, audience-less, foreign-audience, expired,
//! premature and refresh tokens get 401; audiences may be optional; per-tool scopes give 403.

use super::*;

#[tokio::test]
async fn invalid_introspection_answers_are_401() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let ok = || active(&server.mcp, Some("alice"), "app-1", "mcp:tools");
    let with = |key: &str, value: Value| {
        let mut v = ok();
        v[key] = value;
        v
    };
    let mut no_aud = ok();
    no_aud.as_object_mut().expect("object").remove("aud");
    let cases = [
        ("inactive", json!({"active": false})),
        ("active as a string", with("active", json!("true"))),
        ("no aud", no_aud),
        (
            "wrong aud",
            with("aud", json!("https://other.example.com/mcp")),
        ),
        (
            "another resource on this host",
            with("aud", json!(format!("{}/other", server.base))),
        ),
        ("expired but active", with("exp", json!(now() - 120))),
        ("nbf in the future", with("nbf", json!(now() + 120))),
        ("refresh token", with("token_type", json!("refresh_token"))),
    ];
    for (name, response) in &cases {
        let token = format!("bad-{}", name.replace(' ', "-"));
        auth.add_token(&token, response.clone());
        let r = rejection(send_initialize(&server, &token).await).await;
        r.assert_invalid_token(&rm, name);
    }
    // A token the AS never issued.
    let r = rejection(send_initialize(&server, "never-issued").await).await;
    r.assert_invalid_token(&rm, "unknown token");

    // Accepted variants: aud with a trailing slash, aud as an array.
    auth.add_token("slash", with("aud", json!(format!("{}/", server.mcp))));
    auth.add_token(
        "array",
        with("aud", json!(["https://other.example.com", server.mcp])),
    );
    for token in ["slash", "array"] {
        assert_eq!(
            send_initialize(&server, token).await.status(),
            StatusCode::OK,
            "{token}"
        );
    }
}

#[tokio::test]
async fn audience_may_be_optional() {
    let auth = auth_server();
    let server =
        introspecting_server(&auth, &[("MCP_HIVE__AUTH__REQUIRE_AUDIENCE", "false")]).await;
    let mut no_aud = active(&server.mcp, Some("alice"), "app-1", "mcp:tools");
    no_aud.as_object_mut().expect("object").remove("aud");
    auth.add_token("no-aud", no_aud);
    assert_eq!(
        send_initialize(&server, "no-aud").await.status(),
        StatusCode::OK
    );
    // A wrong audience is still refused.
    auth.add_token(
        "wrong-aud",
        active(
            "https://other.example.com/mcp",
            Some("alice"),
            "app-1",
            "mcp:tools",
        ),
    );
    rejection(send_initialize(&server, "wrong-aud").await)
        .await
        .assert_invalid_token(&resource_metadata_of(&server.base), "wrong aud");
}

#[tokio::test]
async fn tool_scopes_are_checked_at_tools_call() {
    let auth = auth_server();
    let server = introspecting_server(&auth, &[("MCP_TOOL_SCOPES", "count=mcp:count")]).await;
    let rm = resource_metadata_of(&server.base);
    auth.add_token(
        "basic",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools"),
    );
    auth.add_token(
        "counting",
        active(&server.mcp, Some("alice"), "app-1", "mcp:tools mcp:count"),
    );
    auth.add_token(
        "none",
        active(&server.mcp, Some("alice"), "app-1", "profile"),
    );
    let mut c = Client::new(&server).with_token("basic");
    c.initialize("2025-11-25", json!({})).await;
    let count = tool_call(1, "count", json!({"number": 2, "intervalMs": 0}));
    let res = c.post(&count).send().await.expect("send");
    rejection(res).await.assert_insufficient_scope(
        &rm,
        "mcp:tools mcp:count",
        "count with mcp:tools only",
    );
    // Tools without their own scopes only need the endpoint scope.
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 1, "b": 1}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 2, "{res}");
    // Stepping up (same user, more scopes) keeps the session and unlocks the tool.
    let (res, _) = c.using_token(Some("counting")).call(&count).await;
    assert!(res["result"]["content"].is_array(), "{res}");
    assert_ne!(res["result"]["isError"], true, "{res}");
    // Without the endpoint scope nothing works, and the challenge names the endpoint scope.
    let res = c
        .using_token(Some("none"))
        .post(&tools_list(3))
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_insufficient_scope(&rm, "mcp:tools", "no mcp:tools");
}
