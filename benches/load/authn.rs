//! Bearer tokens for the auth-overhead scenario, as `benches/auth.rs` makes them: an in-process
//! actix-web server (its own thread) serves the JWK Set of the committed test key
//! `tests/fixtures/jwt/rsa-a.key.pem` at `/jwks` and an RFC 7662 introspection endpoint at
//! `/introspect` that calls every token active; RS256 access tokens are signed with that key.
//! Both endpoints are hit only on a cache miss of the server under test (once per token).

use crate::drive::{AddCall, Op};
use crate::http::Conn;
use crate::mcp;
use actix_web::{App, HttpResponse, HttpServer, web};
use futures_util::future::BoxFuture;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The audience of the tokens (`JWT_AUDIENCE` of the server).
pub const AUDIENCE: &str = "urn:mcp-hive:load";
const KID: &str = "load-rsa-a";

/// The authorization server stand-in and a signing key.
pub struct Issuer {
    /// The issuer URL (also `OAUTH_SERVER_URL`).
    pub url: String,
    key: EncodingKey,
}

impl Issuer {
    /// Starts the JWKS/introspection server on a free loopback port.
    pub fn start() -> Self {
        let pem = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt/rsa-a.key.pem"),
        )
        .expect("read tests/fixtures/jwt/rsa-a.key.pem");
        let key = EncodingKey::from_rsa_pem(&pem).expect("the RSA test key");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("its JWK");
        jwk.common.key_id = Some(KID.to_owned());
        let jwks = json!({ "keys": [serde_json::to_value(&jwk).expect("JWK as JSON")] });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let jwks = jwks.clone();
                    App::new()
                        .route(
                            "/jwks",
                            web::get().to(move || {
                                let jwks = jwks.clone();
                                async move { HttpResponse::Ok().json(jwks) }
                            }),
                        )
                        .route("/introspect", web::post().to(introspect))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("bind the issuer stand-in");
                tx.send(server.addrs()[0].port()).expect("report the port");
                server.run().await.expect("run the issuer stand-in");
            });
        });
        let port = rx.recv().expect("the issuer's port");
        Self {
            url: format!("http://127.0.0.1:{port}"),
            key,
        }
    }

    /// The server settings of JWT mode against this issuer.
    pub fn jwt_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DISABLE_AUTH", "false".into()),
            ("AUTH_TOKEN_MODE", "jwt".into()),
            ("OAUTH_SERVER_URL", self.url.clone()),
            ("JWT_JWKS_URL", format!("{}/jwks", self.url)),
            ("JWT_AUDIENCE", AUDIENCE.into()),
        ]
    }

    /// The server settings of introspection mode against this issuer.
    pub fn introspection_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DISABLE_AUTH", "false".into()),
            ("AUTH_TOKEN_MODE", "introspection".into()),
            ("OAUTH_SERVER_URL", self.url.clone()),
            ("OAUTH_INTROSPECT_URL", format!("{}/introspect", self.url)),
            ("OAUTH_CLIENT_ID", "mcp-hive".into()),
            ("OAUTH_CLIENT_SECRET", "load-secret".into()),
            ("JWT_AUDIENCE", AUDIENCE.into()),
        ]
    }

    /// A signed RS256 access token; `n` makes it unique (`jti`).
    pub fn token(&self, n: u64) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_owned());
        header.typ = Some("at+jwt".to_owned());
        let claims = json!({
            "iss": self.url, "aud": AUDIENCE, "sub": "load-user", "client_id": "load-client",
            "scope": "mcp:tools", "iat": now, "exp": now + 3600, "jti": format!("load-{n:016x}"),
        });
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign a token")
    }

    /// `n` distinct tokens, signed on every core (RS256 signing costs about a millisecond).
    pub fn tokens(&self, n: usize) -> Vec<String> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            let parts: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t * per..((t + 1) * per).min(n))
                            .map(|i| self.token(i as u64 + 1_000_000))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|p| p.join().expect("a signing thread panicked"))
                .collect()
        })
    }
}

async fn introspect(form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let token = form
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !token.starts_with("opaque-") {
        return HttpResponse::Ok().json(json!({"active": false}));
    }
    let now = jsonwebtoken::get_current_timestamp();
    let body: Value = json!({
        "active": true, "aud": AUDIENCE, "sub": "load-user", "client_id": "load-client",
        "scope": "mcp:tools", "token_type": "Bearer", "iat": now, "exp": now + 3600,
    });
    HttpResponse::Ok().json(body)
}

/// `tools/call` with a new token on every call (uncached JWT).
pub struct FreshTokens {
    /// The endpoint and the sessions (opened with any valid token).
    pub inner: AddCall,
    /// Tokens, each used once.
    pub tokens: Vec<String>,
    /// The next token.
    pub next: AtomicUsize,
}

impl Op for FreshTokens {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        client: usize,
        _seq: u64,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let token = self.tokens.get(i).ok_or("token pool exhausted")?;
            let mut session = self.inner.sessions[client % self.inner.sessions.len()].clone();
            session.auth = Some(format!("Bearer {token}"));
            let req = mcp::add_request(&self.inner.ep, &session, i as u64);
            let res = conn
                .request(&req, mcp::REQUEST_LIMIT)
                .await
                .map_err(|e| e.to_string())?;
            if mcp::add_ok(&res) {
                Ok(())
            } else {
                Err(format!(
                    "HTTP {}: {}",
                    res.head.status,
                    String::from_utf8_lossy(&res.body)
                ))
            }
        })
    }
}
