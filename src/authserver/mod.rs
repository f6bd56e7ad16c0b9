//! The demo OAuth 2.1 authorization server of `mcp-hive auth` (and `mcp-hive dev`): a separate
//! HTTP server (port 3001 by default) that MCP clients run real flows against, and that can be
//! swapped for Keycloak or a managed IdP by pointing `OAUTH_SERVER_URL` elsewhere. It shares no
//! code with the MCP request path; the MCP server talks to it only over HTTP (introspection,
//! JWKS, metadata), exactly as it talks to any other authorization server.
//!
//! - [`metadata`]: RFC 8414 and OpenID discovery documents, `/jwks`;
//! - [`clients`]: dynamic registration (RFC 7591), configured clients, client authentication;
//!   [`cimd`]: Client ID Metadata Documents fetched with SSRF limits;
//! - [`authorize`]: the authorization endpoint (code flow, PKCE S256, RFC 8707 `resource`,
//!   RFC 9207 `iss`); [`pages`]: the login and consent page;
//! - [`token`]: authorization code, refresh token and client credentials grants;
//! - [`introspect`]: RFC 7662 introspection and RFC 7009 revocation;
//! - [`state`] over [`kv`]: codes, tokens, clients and revocations in memory or in Redis;
//! - [`keys`]: the signing key of JWT access tokens; [`error`]: OAuth error responses;
//!   [`params`]: form parameters; [`pkce`]: S256.

pub mod authorize;
pub mod cimd;
pub mod clients;
pub mod error;
pub mod introspect;
pub mod keys;
pub mod kv;
pub mod metadata;
pub mod pages;
pub mod params;
pub mod pkce;
pub mod state;
pub mod token;

use crate::config::{AuthServerSettings, Settings};
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Everything the endpoints share.
pub struct AsState {
    /// Settings.
    pub settings: AuthServerSettings,
    /// The issuer identifier (no trailing slash).
    pub issuer: String,
    /// Records.
    pub state: state::State,
    /// The signing key.
    pub keys: keys::SigningKeys,
    /// HTTP client for Client ID Metadata Documents.
    pub http: reqwest::Client,
    /// Fetched client metadata documents.
    pub cimd_cache: moka::future::Cache<String, Arc<state::ClientRecord>>,
}

impl AsState {
    /// `issuer` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// A bound, not yet running authorization server.
pub struct AuthServer {
    server: Server,
    port: u16,
    issuer: String,
}

impl AuthServer {
    /// Binds `authserver.host:port`, prepares the state (the signing key, configured clients);
    /// must run inside an actix system.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let s = settings.authserver.clone();
        let listener = TcpListener::bind((s.host.as_str(), s.port)).map_err(|e| {
            anyhow::anyhow!(
                "cannot bind {}:{} (AUTH_HOST/AUTH_PORT): {e}",
                s.host,
                s.port
            )
        })?;
        let port = listener.local_addr()?.port();
        let issuer = s.issuer(port);
        let kv: Arc<dyn kv::Kv> = if settings.store.redis_url.is_empty() {
            kv::MemoryKv::new()
        } else {
            kv::RedisKv::new(
                &settings.store.redis_url,
                Duration::from_millis(settings.store.timeout_ms),
            )
            .map_err(|e| anyhow::anyhow!("store.redis_url (REDIS_URL): {e}"))?
        };
        let state = state::State::new(kv, &s.key_prefix);
        let pem = if s.signing_key_file.is_empty() {
            let candidate = keys::generate_pem().map_err(anyhow::Error::msg)?;
            state
                .signing_key(&candidate)
                .await
                .map_err(|e| anyhow::anyhow!("storing the signing key: {e}"))?
        } else {
            std::fs::read_to_string(&s.signing_key_file).map_err(|e| {
                anyhow::anyhow!("authserver.signing_key_file {}: {e}", s.signing_key_file)
            })?
        };
        let keys = keys::SigningKeys::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("authserver signing key: {e}"))?;
        let as_state = web::Data::new(AsState {
            http: cimd::client(
                Duration::from_millis(s.cimd_timeout_ms),
                s.cimd_allow_private,
            )
            .map_err(|e| anyhow::anyhow!("client metadata HTTP client: {e}"))?,
            cimd_cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(s.cimd_cache_secs.max(1)))
                .build(),
            settings: s,
            issuer: issuer.clone(),
            state,
            keys,
        });
        clients::register_static(&as_state)
            .await
            .map_err(|e| anyhow::anyhow!("registering configured clients: {e}"))?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(as_state.clone())
                .app_data(web::FormConfig::default().limit(64 * 1024))
                .wrap(actix_web::middleware::from_fn(crate::http::access_log::log))
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")),
                )
                .configure(routes)
        })
        .disable_signals()
        .workers(2)
        .listen(listener)?
        .run();
        Ok(Self {
            server,
            port,
            issuer,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The server future and its handle.
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// The endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/oauth-authorization-server",
        web::get().to(metadata::authorization_server),
    )
    .route(
        "/.well-known/openid-configuration",
        web::get().to(metadata::openid_configuration),
    )
    .route("/jwks", web::get().to(metadata::jwks))
    .route("/register", web::post().to(clients::register))
    .route("/authorize", web::get().to(authorize::get))
    .route("/authorize", web::post().to(authorize::post))
    .route("/token", web::post().to(token::token))
    .route("/introspect", web::post().to(introspect::introspect))
    .route("/revoke", web::post().to(introspect::revoke))
    .route(
        "/healthz",
        web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
    )
    .default_service(web::to(preflight_or_404));
}

/// CORS preflight for browser clients (the Inspector registers and exchanges codes from the
/// browser); 404 for anything else.
async fn preflight_or_404(req: actix_web::HttpRequest) -> HttpResponse {
    if req.method() == actix_web::http::Method::OPTIONS {
        return HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, MCP-Protocol-Version",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
            .finish();
    }
    HttpResponse::NotFound().json(serde_json::json!({"error": "not_found"}))
}
