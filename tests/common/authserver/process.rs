//! The running `mcp-hive auth` / `mcp-hive dev` process ([`AuthProcess`]): started with a cleared
//! environment, an optional TOML config and extra variables; the OAuth requests it answers
//! (registration, `/authorize`, `/token`, `/introspect`, `/revoke`); and its config's TOML.

use super::{AuthRequest, Redirect, Reply};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
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

/// The TOML of `[authserver]` with these `clients` entries (inline tables) and extra lines.
pub fn config_with_clients(clients: &[&str], extra: &str) -> String {
    format!(
        "[authserver]\nclients = [\n{}\n]\n{extra}\n",
        clients.join(",\n")
    )
}
