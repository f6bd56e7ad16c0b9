//! Client ID Metadata Documents at the demo authorization server (MCP 2025-11-25 "Client ID
//! Metadata Documents"), end to end against a real `mcp-hive auth` process and a document server
//! in this process: a URL client id is fetched, used for a full code flow and cached; without
//! `cimd_allow_private` a loopback URL is never fetched (SSRF protection); a document naming
//! another client id, or larger than the limit, is refused.

mod common;

use actix_web::{App, HttpResponse, HttpServer, web};
use common::authserver::{AuthProcess, AuthRequest, Pkce};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Serves `/client.json` (a valid document for its own URL), `/wrong.json` (names another
/// client id) and `/big.json` (100 KiB); counts requests per path.
struct DocServer {
    base: String,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

impl DocServer {
    fn start() -> Self {
        let hits: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let counter = Arc::clone(&hits);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let base = format!(
                    "http://127.0.0.1:{}",
                    listener.local_addr().expect("addr").port()
                );
                let docs_base = base.clone();
                let server = HttpServer::new(move || {
                    let counter = Arc::clone(&counter);
                    let base = docs_base.clone();
                    App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
                        let counter = Arc::clone(&counter);
                        let base = base.clone();
                        async move {
                            let path = req.path().to_owned();
                            *counter
                                .lock()
                                .expect("lock")
                                .entry(path.clone())
                                .or_default() += 1;
                            let doc = |id: String| {
                                json!({
                                    "client_id": id,
                                    "client_name": "Metadata Document Client",
                                    "redirect_uris": ["http://127.0.0.1:9/cimd/callback"],
                                    "grant_types": ["authorization_code"],
                                    "response_types": ["code"],
                                    "token_endpoint_auth_method": "none",
                                })
                            };
                            match path.as_str() {
                                "/client.json" => {
                                    HttpResponse::Ok().json(doc(format!("{base}/client.json")))
                                }
                                "/wrong.json" => {
                                    HttpResponse::Ok().json(doc(format!("{base}/other.json")))
                                }
                                "/big.json" => {
                                    let mut d = doc(format!("{base}/big.json"));
                                    d["padding"] = json!("x".repeat(100 * 1024));
                                    HttpResponse::Ok().json(d)
                                }
                                _ => HttpResponse::NotFound().finish(),
                            }
                        }
                    }))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                tx.send(base).expect("report base");
                server.await.expect("doc server");
            });
        });
        let base = rx.recv().expect("doc server base");
        Self { base, hits }
    }

    fn hits(&self, path: &str) -> u32 {
        self.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn a_metadata_document_client_runs_a_code_flow_and_is_cached() {
    let docs = DocServer::start();
    let auth = AuthProcess::start(
        &[
            ("AUTH_AUTO_APPROVE", "true"),
            ("MCP_HIVE__AUTHSERVER__CIMD_ALLOW_PRIVATE", "true"),
        ],
        None,
    )
    .await;
    let meta = auth
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(meta["client_id_metadata_document_supported"], true);

    let client_id = format!("{}/client.json", docs.base);
    let redirect = "http://127.0.0.1:9/cimd/callback";
    let pkce = Pkce::new();
    let req = AuthRequest::new(
        &client_id,
        redirect,
        &pkce,
        Some("http://127.0.0.1:3000/mcp"),
    );
    let code = auth.authorize(&req).await;
    assert_eq!(
        docs.hits("/client.json"),
        1,
        "the document was fetched once"
    );
    let reply = auth.redeem(&req, &code, &pkce.verifier).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.access_token().to_owned();
    // `mcp-hive auth` requires client authentication for introspection; a public client may
    // still revoke its own token (RFC 7009).
    let info = auth.introspect_reply(&token, None).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{}", info.body);
    let revoked = auth.revoke_public(&client_id, &token).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);

    let pkce2 = Pkce::new();
    let req2 = AuthRequest::new(&client_id, redirect, &pkce2, None);
    auth.authorize(&req2).await;
    assert_eq!(
        docs.hits("/client.json"),
        1,
        "the second authorization used the cache"
    );

    // A redirect URI the document does not list is refused (error page, no redirect).
    let res = auth
        .authorize_raw(&req.query_with(&[("redirect_uri", "http://127.0.0.1:9/elsewhere")]))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn loopback_documents_are_never_fetched_without_the_local_test_switch() {
    let docs = DocServer::start();
    let auth = AuthProcess::start(&[("AUTH_AUTO_APPROVE", "true")], None).await;
    let client_id = format!("{}/client.json", docs.base);
    let pkce = Pkce::new();
    let req = AuthRequest::new(&client_id, "http://127.0.0.1:9/cimd/callback", &pkce, None);
    let res = auth.authorize_raw(&req.query()).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "unknown client: error page"
    );
    assert!(res.headers().get("location").is_none(), "no redirect");
    assert_eq!(
        docs.hits("/client.json"),
        0,
        "the loopback URL was never contacted"
    );
}

#[tokio::test]
async fn documents_naming_another_client_or_too_large_are_refused() {
    let docs = DocServer::start();
    let auth = AuthProcess::start(
        &[
            ("AUTH_AUTO_APPROVE", "true"),
            ("MCP_HIVE__AUTHSERVER__CIMD_ALLOW_PRIVATE", "true"),
        ],
        None,
    )
    .await;
    for path in ["/wrong.json", "/big.json"] {
        let client_id = format!("{}{path}", docs.base);
        let pkce = Pkce::new();
        let req = AuthRequest::new(&client_id, "http://127.0.0.1:9/cimd/callback", &pkce, None);
        let res = auth.authorize_raw(&req.query()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}: error page");
        assert!(
            res.headers().get("location").is_none(),
            "{path}: no redirect"
        );
        assert_eq!(docs.hits(path), 1, "{path} was fetched and refused");
    }
}
