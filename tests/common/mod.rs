//! Black-box test helpers: start the real `mcp-hive serve` binary on `127.0.0.1:0`, talk to it
//! over HTTP with reqwest, and parse its SSE streams.

#![allow(dead_code)]

pub mod auth_server;
pub mod authserver;
pub mod jwt_keys;
pub mod legacy;
pub mod modern;
pub mod rejection;
pub mod stdio;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process, killed on drop.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The MCP endpoint URL.
    pub mcp: String,
}

impl TestServer {
    /// Starts the server with extra environment variables (auth off unless `env` sets
    /// `DISABLE_AUTH=false`, fixtures on).
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-hive"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("MCP_CONFORMANCE_FIXTURES", "true")
            .env("DISABLE_AUTH", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn mcp-hive");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("server did not start within 30 s")
            .expect("read stdout")
            .expect("server exited before listening");
        let base = line
            .strip_prefix("mcp-hive listening on ")
            .expect("listening line")
            .trim()
            .to_owned();
        let path = env
            .iter()
            .find(|(k, _)| *k == "MCP_PATH")
            .map_or("/mcp", |(_, v)| v);
        Self {
            mcp: format!("{base}{path}"),
            base,
            child,
        }
    }

    /// The number of live session actors, from `/readyz`.
    pub async fn live_actors(&self) -> u64 {
        let body: Value = reqwest::get(format!("{}/readyz", self.base))
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json");
        body["live_actors"].as_u64().expect("live_actors")
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: the process dies at once, mid-stream.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// A client pointed at this replica but carrying another client's session (and token).
    pub fn client_for(&self, other: &Client) -> Client {
        let mut c = Client::new(self);
        c.session = other.session.clone();
        c.version = other.version.clone();
        c.token = other.token.clone();
        c
    }

    /// Sends SIGTERM and waits for exit; returns whether it exited within `limit`.
    pub async fn terminate(mut self, limit: Duration) -> bool {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        tokio::time::timeout(limit, self.child.wait()).await.is_ok()
    }
}

/// A minimal MCP client over raw HTTP.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    pub version: String,
    /// Sent as `Authorization: Bearer <token>` on every request when set.
    pub token: Option<String>,
}

impl Client {
    /// A client for a server.
    pub fn new(server: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            url: server.mcp.clone(),
            session: None,
            version: "2025-11-25".into(),
            token: None,
        }
    }

    /// The same client sending `token` as its bearer token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The same client (same session) with another bearer token, or none.
    pub fn using_token(&self, token: Option<&str>) -> Self {
        let mut c = self.clone();
        c.token = token.map(str::to_owned);
        c
    }

    /// Adds the bearer token, if any.
    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// A POST with the standard MCP headers.
    pub fn post(&self, body: &Value) -> RequestBuilder {
        let mut rb = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(s) = &self.session {
            rb = rb
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", &self.version);
        }
        self.authorize(rb)
    }

    /// A POST carrying `version` as its only `MCP-Protocol-Version` header.
    pub fn post_with_version(&self, body: &Value, version: &str) -> RequestBuilder {
        let mut rb = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", version)
            .body(body.to_string());
        if let Some(s) = &self.session {
            rb = rb.header("Mcp-Session-Id", s);
        }
        self.authorize(rb)
    }

    /// A GET on the endpoint with the standard headers.
    pub fn get(&self) -> RequestBuilder {
        let mut rb = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream");
        if let Some(s) = &self.session {
            rb = rb
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", &self.version);
        }
        self.authorize(rb)
    }

    /// Initializes a session with the given version and capabilities; sends `initialized`.
    pub async fn initialize(&mut self, version: &str, capabilities: Value) -> Value {
        let res = self
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": capabilities,
                "clientInfo": {"name": "tests", "version": "1.0"}}}),
            )
            .send()
            .await
            .expect("initialize");
        assert_eq!(res.status(), StatusCode::OK);
        let sid = res
            .headers()
            .get("mcp-session-id")
            .expect("session id header")
            .to_str()
            .expect("ascii")
            .to_owned();
        let body: Value = res.json().await.expect("json");
        self.version = body["result"]["protocolVersion"]
            .as_str()
            .expect("version")
            .to_owned();
        self.session = Some(sid);
        let res = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .send()
            .await
            .expect("initialized");
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        body
    }

    /// `DELETE` on the endpoint with a session id (or none).
    pub async fn delete(&self, session: Option<&str>) -> StatusCode {
        let mut rb = self.http.delete(&self.url);
        if let Some(s) = session {
            rb = rb.header("Mcp-Session-Id", s);
        }
        self.authorize(rb).send().await.expect("delete").status()
    }

    /// POSTs a request and reads its response as an SSE stream.
    pub async fn post_stream(&self, body: &Value) -> SseReader {
        SseReader::new(self.post(body).send().await.expect("send"))
    }

    /// Opens the standalone GET stream.
    pub async fn get_stream(&self) -> SseReader {
        SseReader::new(self.get().send().await.expect("send"))
    }

    /// A request answered as JSON; returns the status and body.
    pub async fn call_json(&self, body: &Value) -> (StatusCode, Value) {
        let res = self.post(body).send().await.expect("send");
        let status = res.status();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A request whose response may be JSON or SSE; returns the final JSON-RPC response with
    /// the request's id and every message seen before it.
    pub async fn call(&self, body: &Value) -> (Value, Vec<Value>) {
        let id = body["id"].clone();
        let res = self.post(body).send().await.expect("send");
        assert_eq!(res.status(), StatusCode::OK, "call {body}");
        if is_sse(res.headers()) {
            let mut sse = SseReader::new(res);
            let mut seen = Vec::new();
            while let Some(ev) = sse.next(Duration::from_secs(15)).await {
                let Some(msg) = ev.json() else { continue };
                if msg.get("id") == Some(&id)
                    && (msg.get("result").is_some() || msg.get("error").is_some())
                {
                    return (msg, seen);
                }
                seen.push(msg);
            }
            panic!("stream ended without a response to {id}");
        }
        (res.json().await.expect("json"), Vec::new())
    }
}

/// Whether a response is an SSE stream.
pub fn is_sse(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// One SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    /// The `event:` field (`None`: the default, `message`).
    pub event: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The data as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Incremental SSE parser over a response body.
pub struct SseReader {
    stream: ByteStream,
    buf: String,
    pub retry: Option<u64>,
    /// Comment lines (keep-alives) seen so far.
    pub comments: usize,
}

impl SseReader {
    /// Wraps a streaming response.
    pub fn new(res: Response) -> Self {
        Self {
            stream: Box::pin(res.bytes_stream()),
            buf: String::new(),
            retry: None,
            comments: 0,
        }
    }

    /// The next event with data, `None` when the stream ends or `timeout` passes.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = SseEvent::default();
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if has_data {
                            ev.data.push('\n');
                        }
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        has_data = true;
                    } else if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("retry:") {
                        self.retry = v.trim().parse().ok();
                        ev.retry = self.retry;
                    }
                }
                if has_data {
                    return Some(ev);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            let chunk = chunk.ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next JSON message matching `pred` (skipping others); panics on end or timeout.
    pub async fn until(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let ev = self
                .next(timeout)
                .await
                .expect("stream ended or timed out before the expected message");
            if let Some(m) = ev.json()
                && pred(&m)
            {
                return m;
            }
        }
    }

    /// Collects events until the stream ends or `timeout` passes without one.
    pub async fn collect(&mut self, timeout: Duration) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(ev) = self.next(timeout).await {
            out.push(ev);
        }
        out
    }

    /// Whether the stream has ended (within `timeout`): no more bytes and EOF.
    pub async fn ended(&mut self, timeout: Duration) -> bool {
        loop {
            match tokio::time::timeout(timeout, self.stream.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }
}

/// A `tools/call` request body.
pub fn tool_call(id: i64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

/// Splits `<stream>-<seq>`.
pub fn split_id(id: &str) -> (String, u64) {
    let (s, n) = id.rsplit_once('-').expect("event id");
    (s.to_owned(), n.parse().expect("seq"))
}

/// A real `redis-server` on a free loopback port in a temporary directory, killed on drop.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers PING.
    pub fn start() -> Self {
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            if let Some(server) = Self::try_start_on(port) {
                return server;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// Starts one on a given port (to restart "the same" Redis after stopping it).
    pub fn start_on(port: u16) -> Self {
        Self::try_start_on(port).expect("redis-server on the requested port")
    }

    /// Starts one on `port`; `None` if that port is taken (the new process exits).
    fn try_start_on(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/install-test-deps.sh)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // A PONG only counts if our own process is still alive (not another test's Redis).
            if child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    std::thread::sleep(Duration::from_millis(50));
                    if child.try_wait().ok().flatten().is_none() {
                        break;
                    }
                    return None;
                }
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self {
            child,
            port,
            _dir: dir,
        })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against it and returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops it (SIGKILL) now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A new initialized session (latest revision, no auth) on a library-built `replica`.
pub async fn initialized(
    replica: &mcp_hive::session::registry::SessionRegistry,
) -> mcp_hive::session::handle::SessionHandle {
    replica
        .create(mcp_hive::session::registry::NewSession {
            version: mcp_hive::protocol::version::ProtocolVersion::LATEST,
            client_info: json!({"name": "t", "version": "1"}),
            client_capabilities: json!({}),
            principal: None,
        })
        .await
        .unwrap()
}

/// `n` replicas of the server on one real Redis (a small pool each), with `extra` settings.
pub async fn redis_replicas(
    redis: &RedisServer,
    n: usize,
    extra: &[(&str, &str)],
) -> Vec<TestServer> {
    let url = redis.url();
    let mut env: Vec<(&str, &str)> = vec![
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__STORE__POOL_SIZE", "4"),
    ];
    env.extend_from_slice(extra);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TestServer::start(&env).await);
    }
    out
}
