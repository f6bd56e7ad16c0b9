//! A minimal MCP client over raw HTTP ([`Client`]): the standard headers, an optional bearer
//! token, `initialize`, DELETE, and calls answered as JSON or SSE; plus `tools/call` bodies.

use super::{SseReader, TestServer, is_sse};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

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

/// A `tools/call` request body.
pub fn tool_call(id: i64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}})
}
