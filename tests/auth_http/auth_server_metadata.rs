//! The RFC 8414 authorization server metadata pass-through: cached and served stale when the AS
//! goes away, 503 (not cacheable) when never reachable, and fetched from `OAUTH_METADATA_URL`.

use super::*;

#[tokio::test]
async fn authorization_server_metadata_is_passed_through_and_cached() {
    let mut auth = AuthServer::start();
    let server = introspecting_server(&auth, &[("MCP_HIVE__AUTH__METADATA_CACHE_SECS", "1")]).await;
    let http = http();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();
    let expected = auth.metadata();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let res = get(path).await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
        let doc: Value = res.json().await.expect("json");
        assert_eq!(doc, expected, "{path}");
    }
    assert_eq!(
        auth.metadata_fetches(),
        1,
        "both documents from one cached fetch"
    );

    // The AS goes away: the last good copy is still served, also after the cache expired.
    auth.stop();
    let res = get("/.well-known/oauth-authorization-server")
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json"), expected);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let res = get("/.well-known/oauth-authorization-server")
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK, "stale copy after the TTL");
    assert_eq!(res.json::<Value>().await.expect("json"), expected);
}

#[tokio::test]
async fn authorization_server_metadata_never_reachable_is_503() {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", dead.as_str()),
    ])
    .await;
    let http = http();
    let mut cache_controls = Vec::new();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let res = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        cache_controls.push((path, header(&res, "cache-control").unwrap_or_default()));
        let r = rejection(res).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(r.retry_after.is_some(), "{path}: Retry-After");
        r.assert_jsonrpc(None, path);
    }
    // The protected resource metadata does not depend on the AS.
    let res = http
        .get(format!("{}{PRM}/mcp", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    // A transient outage (Retry-After: 2) must not be stored by browsers or shared caches for
    // minutes.
    for (path, cc) in cache_controls {
        assert!(
            cc.is_empty()
                || ["no-store", "no-cache", "max-age=0"]
                    .iter()
                    .any(|d| cc.contains(d)),
            "{path}: the 503 must not be cacheable, got Cache-Control: {cc}"
        );
    }
}

#[tokio::test]
async fn authorization_server_metadata_can_be_fetched_from_a_separate_url() {
    // As in docker compose: clients know the issuer by a URL this server cannot reach.
    let issuer = format!("http://127.0.0.1:{}", dead_port());
    let auth =
        common::authserver::AuthProcess::start(&[("ISSUER_URL", issuer.as_str())], None).await;
    let metadata_url = auth.url("/.well-known/oauth-authorization-server");
    let start = |server_url: String| {
        let metadata_url = metadata_url.clone();
        async move {
            TestServer::start(&[
                ("DISABLE_AUTH", "false"),
                ("AUTH_TOKEN_MODE", "introspection"),
                ("OAUTH_SERVER_URL", server_url.as_str()),
                ("OAUTH_METADATA_URL", metadata_url.as_str()),
                ("MCP_HIVE__AUTH__READY_REQUIRES_SERVER", "false"),
            ])
            .await
        }
    };
    let server = start(issuer.clone()).await;
    let res = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("json");
    assert_eq!(doc["issuer"], json!(issuer), "the issuer clients know");

    // A document naming another issuer is refused (RFC 8414 §3.3).
    let other = start(format!("http://127.0.0.1:{}", dead_port())).await;
    let res = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            other.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}
