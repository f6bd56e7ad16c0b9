//! The HTTP surface of the OAuth resource server: RFC 9728 protected resource metadata at both
//! well-known URLs (fields, CORS, preflight, `PUBLIC_URL`), the RFC 8414 authorization server
//! metadata pass-through (cached, served stale when the AS goes away, 503 when never reachable),
//! 404s and token-less MCP with `DISABLE_AUTH=true`, the `WWW-Authenticate` challenges of
//! requests without a token, with another scheme, with malformed tokens (which never reach the
//! AS), with a token in the query string or with two `Authorization` headers, JSON-RPC error
//! bodies with `id: null`, and SSE GET connections that end when their token expires.

mod common;

use common::auth_server::{
    AuthServer, MetadataAt, SigningKey, dead_port, now, rejection, resource_metadata_of, unique_jti,
};
use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const PRM: &str = "/.well-known/oauth-protected-resource";

/// An introspection-mode server using `auth` (no client credentials).
async fn introspecting_server(auth: &AuthServer, extra: &[(&str, &str)]) -> TestServer {
    introspecting_server_for(&auth.base, extra).await
}

/// An introspection-mode server whose authorization server is `issuer`.
async fn introspecting_server_for(issuer: &str, extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", issuer),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

fn active(resource: &str, sub: &str) -> Value {
    json!({"active": true, "aud": resource, "scope": "mcp:tools", "sub": sub,
           "client_id": "app-1", "exp": now() + 600})
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-tests", "version": "1"}}})
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII").to_owned())
}

#[tokio::test]
async fn protected_resource_metadata_at_both_urls() {
    let auth = AuthServer::start();
    let server = introspecting_server(&auth, &[]).await;
    let expected = json!({
        "resource": server.mcp,
        "authorization_servers": [auth.base],
        "scopes_supported": ["mcp:tools"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-hive",
    });
    let http = http();
    for path in [PRM.to_owned(), format!("{PRM}/mcp")] {
        let url = format!("{}{path}", server.base);
        // Readable from any origin, without a token.
        let res = http
            .get(&url)
            .header("Origin", "https://inspector.example.com")
            .send()
            .await
            .expect("get PRM");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
        let doc: Value = res.json().await.expect("PRM JSON");
        assert_eq!(doc, expected, "{path}");

        let res = http
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", "https://inspector.example.com")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "mcp-protocol-version")
            .send()
            .await
            .expect("preflight");
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path} preflight");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let methods = header(&res, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("GET"), "{path}: {methods}");
        let headers = header(&res, "access-control-allow-headers").unwrap_or_default();
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("mcp-protocol-version"),
            "{path}: {headers}"
        );
    }
    // The metadata describes the resource; it does not need the AS.
    assert_eq!(auth.metadata_fetches(), 0);
    assert_eq!(auth.introspections(), 0);
}

#[tokio::test]
async fn issuer_identifier_with_trailing_slash_is_listed_verbatim() {
    // Auth0-style issuer: `https://tenant.auth0.com/`, slash included.
    let auth = AuthServer::start_with("/", MetadataAt::OAuthInserted);
    let server = introspecting_server_for(&auth.issuer, &[]).await;
    let http = http();
    let res = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let as_doc: Value = res.json().await.expect("json");
    assert_eq!(as_doc["issuer"], auth.issuer.as_str(), "{as_doc}");
    let prm: Value = http
        .get(format!("{}{PRM}/mcp", server.base))
        .send()
        .await
        .expect("PRM")
        .json()
        .await
        .expect("json");
    // RFC 9728 §2 lists issuer identifiers, and a client validating the AS metadata it
    // discovers from that entry requires `issuer` to be identical to it (RFC 8414 §3.3).
    assert_eq!(
        prm["authorization_servers"],
        json!([auth.issuer]),
        "the configured issuer identifier must be listed unchanged"
    );
}

#[tokio::test]
async fn public_url_is_the_resource() {
    let auth = AuthServer::start();
    let public = "https://mcp.example.com";
    let server = introspecting_server(&auth, &[("PUBLIC_URL", public)]).await;
    let resource = format!("{public}/mcp");
    let doc: Value = http()
        .get(format!("{}{PRM}/mcp", server.base))
        .send()
        .await
        .expect("PRM")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["resource"], resource.as_str(), "{doc}");

    let res = Client::new(&server)
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_missing_token(&resource_metadata_of(public), "challenge under PUBLIC_URL");

    // Tokens must be issued for the public resource, not for the replica's own address.
    auth.add_token("public", active(&resource, "alice"));
    auth.add_token("local", active(&server.mcp, "alice"));
    let ok = Client::new(&server).with_token("public");
    assert_eq!(
        ok.post(&initialize_body())
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let res = Client::new(&server)
        .with_token("local")
        .post(&initialize_body())
        .send()
        .await
        .expect("send");
    rejection(res)
        .await
        .assert_invalid_token(&resource_metadata_of(public), "aud = the loopback URL");
}

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
async fn disabled_auth_has_no_metadata_and_needs_no_token() {
    let server = TestServer::start(&[]).await;
    let http = http();
    for path in [
        PRM.to_owned(),
        format!("{PRM}/mcp"),
        "/.well-known/oauth-authorization-server".to_owned(),
        "/.well-known/openid-configuration".to_owned(),
    ] {
        let res = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (res, _) = c.call(&tool_call(1, "whoami", json!({}))).await;
    assert_eq!(
        res["result"]["structuredContent"]["authenticated"], false,
        "{res}"
    );
    let (res, _) = c.call(&tool_call(2, "add", json!({"a": 1, "b": 2}))).await;
    assert_eq!(res["result"]["structuredContent"]["result"], 3, "{res}");
}

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

#[tokio::test]
async fn sse_get_stream_closes_when_the_token_expires() {
    let auth = AuthServer::start();
    let key = SigningKey::ec_a();
    auth.set_keys(&[&key]);
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("MCP_HIVE__AUTH__LEEWAY_SECS", "0"),
    ])
    .await;
    let token = |exp: u64| {
        key.sign(&json!({"iss": auth.base, "aud": server.mcp, "sub": "alice",
            "scope": "mcp:tools", "exp": exp, "jti": unique_jti()}))
    };
    let mut c_long = Client::new(&server).with_token(&token(now() + 600));
    c_long.initialize("2025-11-25", json!({})).await;
    let mut s_long = c_long.get_stream().await;
    assert!(
        s_long.next(Duration::from_secs(5)).await.is_some(),
        "priming"
    );

    let exp = now() + 3;
    let mut c_short = Client::new(&server).with_token(&token(exp));
    c_short.initialize("2025-11-25", json!({})).await;
    let mut s_short = c_short.get_stream().await;
    assert!(
        s_short.next(Duration::from_secs(5)).await.is_some(),
        "priming"
    );
    assert!(
        s_short.ended(Duration::from_secs(6)).await,
        "the connection ends when the token expires"
    );
    // At exp, give or take the whole-second rounding of the lifetime (exp - now).
    let ended_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let exp_f = exp as f64;
    assert!(
        ended_at > exp_f - 0.5 && ended_at < exp_f + 1.5,
        "ended at {ended_at:.2}, token exp {exp}"
    );
    assert!(
        !s_long.ended(Duration::from_millis(300)).await,
        "a long-lived token keeps its connection"
    );

    // Once expired (and out of every cache), the token is refused; a fresh one resumes.
    while now() < exp + 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = c_short.get().send().await.expect("get");
    rejection(res)
        .await
        .assert_invalid_token(&resource_metadata_of(&server.base), "expired token");
    let renewed = c_short.using_token(Some(&token(now() + 600)));
    let res = renewed.get().send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK, "same user, fresh token");
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
