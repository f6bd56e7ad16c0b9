//! The `WWW-Authenticate` challenges: requests without a bearer token, tokens in the query or in
//! two headers (400), malformed tokens that never reach the AS, and CORS for browser clients.

use super::*;

#[tokio::test]
async fn requests_without_a_bearer_token_are_challenged() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let c = Client::new(&server);
    let post = c.post(&initialize_body()).send().await.expect("post");
    rejection(post).await.assert_missing_token(&rm, "POST");
    let get = c.get().send().await.expect("get");
    rejection(get).await.assert_missing_token(&rm, "GET");
    let delete = c
        .http
        .delete(&c.url)
        .header("Mcp-Session-Id", "0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect("delete");
    rejection(delete).await.assert_missing_token(&rm, "DELETE");
    // Another scheme is no bearer token: the same plain challenge, no error code.
    for value in ["Basic dXNlcjpwYXNz", "DPoP some.dpop.token"] {
        let res = c
            .post(&initialize_body())
            .header("Authorization", value)
            .send()
            .await
            .expect("post");
        rejection(res).await.assert_missing_token(&rm, value);
    }
    assert_eq!(auth.introspections(), 0);
}

#[tokio::test]
async fn token_placement_errors_are_400_invalid_request() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    auth.add_token("good", active(&server.mcp, "alice"));
    let c = Client::new(&server).with_token("good");
    let in_query = |method: reqwest::Method, key: &str| {
        c.http
            .request(method, format!("{}?{key}=good", c.url))
            .bearer_auth("good")
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(initialize_body().to_string())
    };
    for (method, key) in [
        (reqwest::Method::POST, "access_token"),
        (reqwest::Method::GET, "access_token"),
        (reqwest::Method::POST, "ACCESS_TOKEN"),
    ] {
        let ctx = format!("{method} ?{key}=");
        let res = in_query(method, key).send().await.expect("send");
        rejection(res).await.assert_invalid_request(&ctx);
    }
    let res = c
        .post(&initialize_body())
        .header("Authorization", "Bearer good")
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_invalid_request("two Authorization headers");
    assert_eq!(
        auth.introspections(),
        0,
        "refused before asking the AS about the token"
    );
    // The same token in the header alone is fine, whatever the case of the scheme.
    let res = c.post(&initialize_body()).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let res = Client::new(&server)
        .post(&initialize_body())
        .header("Authorization", "bearer good")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK, "lowercase scheme");
}

#[tokio::test]
async fn browser_clients_can_preflight_and_read_the_challenge() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    let origin = "http://localhost:6274";
    let http = http();
    // The preflight carries no credentials and must not need any.
    let res = http
        .request(reqwest::Method::OPTIONS, &server.mcp)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let allowed = header(&res, "access-control-allow-headers").unwrap_or_default();
    assert!(
        allowed.to_ascii_lowercase().contains("authorization"),
        "{allowed}"
    );
    // The 401 is readable cross-origin, WWW-Authenticate included.
    let res = Client::new(&server)
        .post(&initialize_body())
        .header("Origin", origin)
        .send()
        .await
        .expect("post");
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some(origin)
    );
    let exposed = header(&res, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed.to_ascii_lowercase().contains("www-authenticate"),
        "{exposed}"
    );
    rejection(res)
        .await
        .assert_missing_token(&resource_metadata_of(&server.base), "browser POST");
}

#[tokio::test]
async fn malformed_tokens_never_reach_the_authorization_server() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    let rm = resource_metadata_of(&server.base);
    let oversized = format!("Bearer {}", "a".repeat(9000));
    for value in [
        "Bearer",
        "Bearer a\"b",
        "Bearer a,b",
        "Bearer ====",
        oversized.as_str(),
    ] {
        let res = Client::new(&server)
            .post(&initialize_body())
            .header("Authorization", value)
            .send()
            .await
            .expect("send");
        let ctx: String = value.chars().take(20).collect();
        rejection(res).await.assert_invalid_token(&rm, &ctx);
    }
    assert_eq!(auth.introspections(), 0);
}
