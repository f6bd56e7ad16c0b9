//! An in-process OAuth 2.1 authorization server for the auth tests, plus JWT helpers.
//!
//! [`AuthServer`] is an actix-web server on `127.0.0.1:0`, run on its own thread with its own
//! actix system (the tests themselves run on tokio), whose behaviour the test steers at run time
//! through shared state:
//!
//! - RFC 8414 metadata at `/.well-known/oauth-authorization-server` (`issuer` is the base URL),
//!   or, for [`AuthServer::start_with`], an issuer with a path and metadata at one of the other
//!   discovery locations (or none);
//! - `GET /jwks` (and `<issuer>/.well-known/jwks.json`): the current key set (replaceable for
//!   rotation tests; can be switched to 500);
//! - `POST /introspect`: RFC 7662 with client authentication (Basic or form credentials; wrong
//!   ones get 401 `invalid_client`), an optional artificial delay, a "fail with 500" switch, and
//!   a token → response map (unknown tokens are `{"active": false}`).
//!
//! Every endpoint counts its calls, and the introspection endpoint records how the last caller
//! authenticated. The JWT helpers ([`super::jwt_keys`]) and the rejection assertions
//! ([`super::rejection`]) are re-exported here.

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

#[allow(unused_imports)]
pub use super::jwt_keys::*;
#[allow(unused_imports)]
pub use super::rejection::*;

/// How a caller authenticated at the introspection endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuthSeen {
    /// No credentials.
    None,
    /// `client_secret_basic`: the decoded (form-urldecoded) id and secret.
    Basic { id: String, secret: String },
    /// `client_secret_post`: the `client_id` and `client_secret` form parameters.
    Post { id: String, secret: String },
}

/// Where the metadata document is served (the discovery locations of MCP 2025-11-25, for an
/// issuer `<origin><path>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataAt {
    /// `<origin>/.well-known/oauth-authorization-server<path>` (RFC 8414 §3.1).
    OAuthInserted,
    /// `<origin>/.well-known/openid-configuration<path>`.
    OidcInserted,
    /// `<origin><path>/.well-known/openid-configuration` (OpenID Connect Discovery, Keycloak).
    OidcAppended,
    /// Nowhere: only `<issuer>/.well-known/jwks.json` exists.
    Nowhere,
}

/// State shared between the test and the server thread.
pub struct AsState {
    issuer: String,
    base: String,
    metadata_path: Option<String>,
    jwks_json_path: String,
    jwks: Mutex<Vec<Value>>,
    jwks_fail: AtomicBool,
    jwks_fetches: AtomicUsize,
    metadata_fetches: AtomicUsize,
    introspections: AtomicUsize,
    introspect_delay_ms: AtomicU64,
    introspect_fail: AtomicBool,
    client: Mutex<Option<(String, String)>>,
    tokens: Mutex<HashMap<String, Value>>,
    last_auth: Mutex<Option<ClientAuthSeen>>,
    last_form: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The test authorization server; stopped on drop.
pub struct AuthServer {
    /// `http://127.0.0.1:<port>`: also the issuer identifier for [`AuthServer::start`].
    pub base: String,
    /// The issuer identifier (`base` + the issuer path).
    pub issuer: String,
    state: Arc<AsState>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl AuthServer {
    /// Starts a server whose issuer is its base URL, with RFC 8414 metadata; it publishes no
    /// keys and expects no client credentials.
    pub fn start() -> Self {
        Self::start_with("", MetadataAt::OAuthInserted)
    }

    /// Starts a server whose issuer is `<base><issuer_path>` (e.g. `/realms/test`, or `/` for
    /// an Auth0-style trailing slash), with its metadata at `metadata`.
    pub fn start_with(issuer_path: &str, metadata: MetadataAt) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the test AS");
        let port = listener.local_addr().expect("test AS address").port();
        let base = format!("http://127.0.0.1:{port}");
        let issuer = format!("{base}{issuer_path}");
        let path = issuer_path.trim_end_matches('/');
        let metadata_path = match metadata {
            MetadataAt::OAuthInserted => {
                Some(format!("/.well-known/oauth-authorization-server{path}"))
            }
            MetadataAt::OidcInserted => Some(format!("/.well-known/openid-configuration{path}")),
            MetadataAt::OidcAppended => Some(format!("{path}/.well-known/openid-configuration")),
            MetadataAt::Nowhere => None,
        };
        let state = Arc::new(AsState {
            issuer: issuer.clone(),
            base: base.clone(),
            metadata_path,
            jwks_json_path: format!("{path}/.well-known/jwks.json"),
            jwks: Mutex::new(Vec::new()),
            jwks_fail: AtomicBool::new(false),
            jwks_fetches: AtomicUsize::new(0),
            metadata_fetches: AtomicUsize::new(0),
            introspections: AtomicUsize::new(0),
            introspect_delay_ms: AtomicU64::new(0),
            introspect_fail: AtomicBool::new(false),
            client: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            last_auth: Mutex::new(None),
            last_form: Mutex::new(HashMap::new()),
        });
        let shared = Arc::clone(&state);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/jwks", web::get().to(jwks))
                        .route("/introspect", web::post().to(introspect))
                        .default_service(web::to(well_known))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(0)
                .listen(listener)
                .expect("test AS listens")
                .run();
                tx.send(server.handle()).expect("send the test AS handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("the test AS started");
        Self {
            base,
            issuer,
            state,
            handle,
            thread: Some(thread),
        }
    }

    /// Stops the server now (connections are refused afterwards).
    pub fn stop(&mut self) {
        // `stop` sends the command at once; its future only reports completion.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// The metadata document it serves.
    pub fn metadata(&self) -> Value {
        metadata_doc(&self.issuer, &self.base)
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.base)
    }

    /// Replaces the published key set.
    pub fn set_keys(&self, keys: &[&SigningKey]) {
        *lock(&self.state.jwks) = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// Adds a raw JWK to the published key set.
    pub fn add_raw_key(&self, jwk: Value) {
        lock(&self.state.jwks).push(jwk);
    }

    /// Makes `GET /jwks` answer 500 (or recover).
    pub fn set_jwks_failing(&self, fail: bool) {
        self.state.jwks_fail.store(fail, Ordering::SeqCst);
    }

    /// `GET /jwks` calls so far.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Metadata calls so far (at the location it serves).
    pub fn metadata_fetches(&self) -> usize {
        self.state.metadata_fetches.load(Ordering::SeqCst)
    }

    /// Introspection calls so far.
    pub fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    /// Delays every introspection answer.
    pub fn set_introspect_delay(&self, delay: Duration) {
        self.state
            .introspect_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Makes `POST /introspect` answer 500 (or recover).
    pub fn set_introspect_failing(&self, fail: bool) {
        self.state.introspect_fail.store(fail, Ordering::SeqCst);
    }

    /// Requires these client credentials at the introspection endpoint (by either method).
    pub fn expect_client(&self, id: &str, secret: &str) {
        *lock(&self.state.client) = Some((id.to_owned(), secret.to_owned()));
    }

    /// The introspection response for `token`.
    pub fn add_token(&self, token: &str, response: Value) {
        lock(&self.state.tokens).insert(token.to_owned(), response);
    }

    /// How the last introspection call authenticated (`None` before the first call).
    pub fn last_client_auth(&self) -> Option<ClientAuthSeen> {
        lock(&self.state.last_auth).clone()
    }

    /// The form parameters of the last introspection call, credentials removed.
    pub fn last_form(&self) -> HashMap<String, String> {
        lock(&self.state.last_form).clone()
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn metadata_doc(issuer: &str, base: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/jwks"),
        "introspection_endpoint": format!("{base}/introspect"),
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// The metadata at its configured location, `<issuer>/.well-known/jwks.json`, 404 elsewhere.
async fn well_known(req: HttpRequest, state: web::Data<AsState>) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET {
        return HttpResponse::MethodNotAllowed().finish();
    }
    if state.metadata_path.as_deref() == Some(req.path()) {
        state.metadata_fetches.fetch_add(1, Ordering::SeqCst);
        return HttpResponse::Ok().json(metadata_doc(&state.issuer, &state.base));
    }
    if req.path() == state.jwks_json_path {
        return jwks(state).await;
    }
    HttpResponse::NotFound().json(json!({"error": "not_found"}))
}

async fn jwks(state: web::Data<AsState>) -> HttpResponse {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if state.jwks_fail.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError().json(json!({"error": "server_error"}));
    }
    let keys = lock(&state.jwks).clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

async fn introspect(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    state: web::Data<AsState>,
) -> HttpResponse {
    state.introspections.fetch_add(1, Ordering::SeqCst);
    let delay = state.introspect_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut form = form.into_inner();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(decode_basic);
    let post = match (form.remove("client_id"), form.remove("client_secret")) {
        (Some(id), Some(secret)) => Some(ClientAuthSeen::Post { id, secret }),
        (Some(id), None) => Some(ClientAuthSeen::Post {
            id,
            secret: String::new(),
        }),
        _ => None,
    };
    let seen = match (basic, post) {
        (Some(_), Some(_)) => {
            return HttpResponse::BadRequest().json(json!({
                "error": "invalid_request",
                "error_description": "more than one client authentication method"
            }));
        }
        (Some(Some(b)), None) => b,
        (Some(None), None) => {
            return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
        }
        (None, Some(p)) => p,
        (None, None) => ClientAuthSeen::None,
    };
    *lock(&state.last_auth) = Some(seen.clone());
    *lock(&state.last_form) = form.clone();
    if let Some((id, secret)) = lock(&state.client).clone() {
        let ok = match &seen {
            ClientAuthSeen::Basic { id: i, secret: s }
            | ClientAuthSeen::Post { id: i, secret: s } => *i == id && *s == secret,
            ClientAuthSeen::None => false,
        };
        if !ok {
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Basic realm=\"test-as\""))
                .json(json!({"error": "invalid_client"}));
        }
    }
    if state.introspect_fail.load(Ordering::SeqCst) {
        return HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)
            .json(json!({"error": "server_error"}));
    }
    let Some(token) = form.get("token") else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_request"}));
    };
    let answer = lock(&state.tokens)
        .get(token)
        .cloned()
        .unwrap_or_else(|| json!({"active": false}));
    HttpResponse::Ok().json(answer)
}

/// `Basic` credentials: base64 of `form-urlencoded(id):form-urlencoded(secret)` (RFC 6749
/// §2.3.1); `None` when undecodable.
fn decode_basic(b64: &str) -> Option<ClientAuthSeen> {
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some(ClientAuthSeen::Basic {
        id: form_decode(id)?,
        secret: form_decode(secret)?,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}
