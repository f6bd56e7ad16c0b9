//! Black-box helpers for the demo authorization server: start the real binary as
//! `mcp-hive auth` (or `mcp-hive dev`) on `127.0.0.1:0` with a cleared environment, an optional
//! TOML config file and extra variables; then talk OAuth to it over HTTP with a client that never
//! follows redirects: dynamic registration, `/authorize` with PKCE S256, `/token`,
//! `/introspect`, `/revoke`, and a few JWT and redirect-parsing utilities.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The demo user `AUTH_AUTO_APPROVE` issues codes for (the default `authserver.users`).
pub const DEMO_USER: &str = "demo";

/// A running `mcp-hive auth` or `mcp-hive dev` process, killed on drop.
pub struct AuthProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`: where it listens.
    pub base: String,
    /// The issuer it announced (`ISSUER_URL`, or `http://localhost:<port>`).
    pub issuer: String,
    /// `mcp-hive dev` only: the MCP endpoint of the bundled MCP server.
    pub mcp: Option<String>,
    http: reqwest::Client,
    _config: Option<tempfile::NamedTempFile>,
}

/// A client that never follows redirects and ignores proxies.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("http client")
}

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no listening line within 30 s")
        .expect("read stdout")
        .expect("the process exited before listening (see its stderr)")
}

impl AuthProcess {
    /// `mcp-hive auth` with auto-approve on (headless flows), `env` on top of the defaults and
    /// `config` (TOML) as `--config`.
    pub async fn start(env: &[(&str, &str)], config: Option<&str>) -> Self {
        Self::spawn("auth", env, config).await
    }

    /// `mcp-hive dev`: the authorization server and an MCP server wired together.
    pub async fn start_dev(env: &[(&str, &str)], config: Option<&str>) -> Self {
        Self::spawn("dev", env, config).await
    }

    async fn spawn(sub: &str, env: &[(&str, &str)], config: Option<&str>) -> Self {
        let config = config.map(|toml| {
            let mut f = tempfile::Builder::new()
                .suffix(".toml")
                .tempfile()
                .expect("config file");
            f.write_all(toml.as_bytes()).expect("write config");
            f.flush().expect("flush config");
            f
        });
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-hive"));
        cmd.arg(sub);
        if let Some(f) = &config {
            cmd.arg("--config").arg(f.path());
        }
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AUTH_HOST", "127.0.0.1")
            .env("AUTH_PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("AUTH_AUTO_APPROVE", "true")
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn mcp-hive");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = next_line(&mut lines).await;
        let rest = line
            .strip_prefix("mcp-hive auth listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let (base, issuer) = rest
            .trim()
            .split_once(" (issuer ")
            .unwrap_or_else(|| panic!("unexpected listening line {line:?}"));
        let issuer = issuer.strip_suffix(')').expect("issuer in parentheses");
        let mcp = if sub == "dev" {
            let line = next_line(&mut lines).await;
            let base = line
                .strip_prefix("mcp-hive listening on ")
                .unwrap_or_else(|| panic!("unexpected second line {line:?}"));
            Some(format!("{}/mcp", base.trim()))
        } else {
            None
        };
        Self {
            child,
            base: base.to_owned(),
            issuer: issuer.to_owned(),
            mcp,
            http: http(),
            _config: config,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL now.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// `GET path` as JSON (200 expected).
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).send().await.expect("GET");
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.expect("json")
    }

    /// `POST /register` with a JSON document.
    pub async fn register(&self, doc: &Value) -> Reply {
        Reply::of(
            self.http
                .post(self.url("/register"))
                .header("Content-Type", "application/json")
                .body(doc.to_string())
                .send()
                .await
                .expect("register"),
        )
        .await
    }

    /// Registers a public client (`none`) for the code and refresh grants; returns its id.
    pub async fn register_public(&self, redirect_uri: &str) -> String {
        let r = self
            .register(&json!({
                "client_name": "tests",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(r.body.get("client_secret").is_none(), "{}", r.body);
        r.body["client_id"].as_str().expect("client_id").to_owned()
    }

    /// Registers a confidential client (`client_secret_post` or `client_secret_basic`);
    /// returns its id and secret.
    pub async fn register_confidential(
        &self,
        redirect_uri: &str,
        grants: &[&str],
        method: &str,
    ) -> (String, String) {
        let r = self
            .register(&json!({
                "redirect_uris": [redirect_uri],
                "grant_types": grants,
                "token_endpoint_auth_method": method,
            }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["client_id"].as_str().expect("client_id").to_owned(),
            r.body["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_owned(),
        )
    }

    /// `GET /authorize` with these query parameters (repeats allowed), redirects not followed.
    pub async fn authorize_raw(&self, query: &[(&str, &str)]) -> Response {
        let q = serde_urlencoded::to_string(query).expect("query");
        self.http
            .get(format!("{}?{q}", self.url("/authorize")))
            .send()
            .await
            .expect("authorize")
    }

    /// `GET /authorize` for `req` (auto-approve must be on); asserts the 302 back to the
    /// redirect URI with `code`, the `state` and `iss`, and returns the code.
    pub async fn authorize(&self, req: &AuthRequest<'_>) -> String {
        let res = self.authorize_raw(&req.query()).await;
        let redirect = Redirect::of(&res).unwrap_or_else(|| {
            panic!(
                "expected a redirect from /authorize, got {}",
                res.status().as_u16()
            )
        });
        assert_eq!(redirect.base, req.redirect_uri, "redirected to the client");
        assert_eq!(redirect.get("error"), None, "{:?}", redirect.params);
        assert_eq!(redirect.get("state"), Some(req.state), "state echoed");
        assert_eq!(
            redirect.get("iss"),
            Some(self.issuer.as_str()),
            "RFC 9207 iss"
        );
        redirect.get("code").expect("code").to_owned()
    }

    /// `POST path` with a form body (repeats allowed) and optional Basic credentials.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Reply {
        let mut rb = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            rb = rb.basic_auth(id, Some(secret));
        }
        Reply::of(rb.send().await.expect("POST")).await
    }

    /// `POST /token`.
    pub async fn token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
        self.post_form("/token", form, basic).await
    }

    /// Redeems `code` for the public client of `req` with `verifier`, naming the resource.
    pub async fn redeem(&self, req: &AuthRequest<'_>, code: &str, verifier: &str) -> Reply {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", req.redirect_uri),
            ("client_id", req.client_id),
            ("code_verifier", verifier),
        ];
        if let Some(r) = req.resource {
            form.push(("resource", r));
        }
        self.token(&form, None).await
    }

    /// `POST /introspect` authenticated with Basic `creds` (or not at all); the JSON answer
    /// (200 expected).
    pub async fn introspect(&self, token: &str, creds: Option<(&str, &str)>) -> Value {
        let r = self.introspect_reply(token, creds).await;
        assert_eq!(r.status, StatusCode::OK, "introspect: {}", r.body);
        r.body
    }

    /// `POST /introspect` authenticated with Basic `creds` (or not at all), whatever the answer.
    pub async fn introspect_reply(&self, token: &str, creds: Option<(&str, &str)>) -> Reply {
        self.post_form("/introspect", &[("token", token)], creds)
            .await
    }

    /// `POST /revoke` by a public client (`client_id` only).
    pub async fn revoke_public(&self, client_id: &str, token: &str) -> Reply {
        self.post_form(
            "/revoke",
            &[("token", token), ("client_id", client_id)],
            None,
        )
        .await
    }
}

/// An HTTP answer: status, headers and the body as JSON (`Null` if it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn of(res: Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` code of an OAuth error response.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    /// Asserts an OAuth error response (`status`, `error`, `no-store`) that issues nothing.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, error: &str, ctx: &str) {
        assert_eq!(self.status, status, "{ctx}: {}", self.body);
        assert_eq!(self.error(), Some(error), "{ctx}: {}", self.body);
        assert!(
            self.body["error_description"].is_string(),
            "{ctx}: {}",
            self.body
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{ctx}");
        assert_nothing_issued(&self.body, ctx);
    }

    /// A successful token response's access token (asserts 200, Bearer, `no-store`).
    #[track_caller]
    pub fn access_token(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "token: {}", self.body);
        assert_eq!(self.body["token_type"], "Bearer", "{}", self.body);
        assert_eq!(self.header("cache-control"), Some("no-store"));
        self.body["access_token"].as_str().expect("access_token")
    }

    /// The refresh token of a successful token response.
    #[track_caller]
    pub fn refresh_token(&self) -> &str {
        self.body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.body))
    }
}

/// Asserts that a response body carries no credential.
#[track_caller]
pub fn assert_nothing_issued(body: &Value, ctx: &str) {
    for key in [
        "access_token",
        "refresh_token",
        "code",
        "id_token",
        "client_id",
    ] {
        assert!(body.get(key).is_none(), "{ctx}: {key} issued in {body}");
    }
}

/// A PKCE S256 pair (RFC 7636): a fresh 64-character verifier and its challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// An authorization request of the code flow.
#[derive(Debug, Clone)]
pub struct AuthRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    pub state: &'a str,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    /// A request with `state=xyz`, no scope, and `resource` if given.
    pub fn new(
        client_id: &'a str,
        redirect_uri: &'a str,
        pkce: &'a Pkce,
        resource: Option<&'a str>,
    ) -> Self {
        Self {
            client_id,
            redirect_uri,
            challenge: &pkce.challenge,
            state: "xyz",
            scope: None,
            resource,
        }
    }

    /// The query parameters.
    pub fn query(&self) -> Vec<(&'a str, &'a str)> {
        let mut q = vec![
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("state", self.state),
            ("code_challenge", self.challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = self.scope {
            q.push(("scope", s));
        }
        if let Some(r) = self.resource {
            q.push(("resource", r));
        }
        q
    }

    /// The query with `changes` applied: each key replaced, or removed when the value is "".
    pub fn query_with(&self, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut q = self.query();
        for (k, v) in changes {
            q.retain(|(qk, _)| qk != k);
            if !v.is_empty() {
                q.push((k, v));
            }
        }
        q
    }
}

/// A `302` from the authorization endpoint: the target without its query, and the query.
#[derive(Debug)]
pub struct Redirect {
    pub base: String,
    pub params: Vec<(String, String)>,
}

impl Redirect {
    /// `Some` for a 302 with a `Location`.
    pub fn of(res: &Response) -> Option<Self> {
        if res.status() != StatusCode::FOUND {
            return None;
        }
        let loc = res.headers().get("location")?.to_str().ok()?;
        let (base, query) = loc.split_once('?').unwrap_or((loc, ""));
        Some(Self {
            base: base.to_owned(),
            params: serde_urlencoded::from_str(query).expect("redirect query"),
        })
    }

    /// A query parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback redirect URI nobody listens on (the tests read `Location` instead).
pub fn callback(tag: &str) -> String {
    format!("http://127.0.0.1:9/{tag}/callback")
}

/// The decoded header and claims of a JWT (not verified).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || -> Value {
        let raw = URL_SAFE_NO_PAD
            .decode(parts.next().expect("JWT part"))
            .expect("base64url");
        serde_json::from_slice(&raw).expect("JSON")
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// Verifies `token` against the key of `jwks` its `kid` names (ES256 or RS256), for the
/// audience `aud`; the claims.
pub fn verify_with_jwks(token: &str, jwks: &Value, aud: &str) -> Result<Value, String> {
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in {jwks}"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// The TOML of `[authserver]` with these `clients` entries (inline tables) and extra lines.
pub fn config_with_clients(clients: &[&str], extra: &str) -> String {
    format!(
        "[authserver]\nclients = [\n{}\n]\n{extra}\n",
        clients.join(",\n")
    )
}
