//! A raw 2026-07-28 client for black-box tests: every request carries the protocol version and
//! client capabilities in `_meta` and mirrors version, method and name into headers, as
//! `basic/transports/streamable-http.mdx` requires. Nothing is hidden: tests see statuses,
//! headers and bodies as sent.

use super::SseReader;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The stateless revision.
pub const V: &str = "2026-07-28";

/// A modern client of one endpoint.
#[derive(Clone)]
pub struct Modern {
    http: reqwest::Client,
    /// The MCP endpoint.
    pub url: String,
    /// `io.modelcontextprotocol/clientCapabilities`.
    pub capabilities: Value,
    /// `Authorization: Bearer`, when set.
    pub token: Option<String>,
}

/// A reply: status, headers and the JSON body (`Null` when there is none).
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Parsed body.
    pub body: Value,
}

impl Modern {
    /// A client declaring `capabilities`.
    pub fn new(url: &str, capabilities: Value) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            capabilities,
            token: None,
        }
    }

    /// The same client with a bearer token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The request body and headers of a call (`extra_meta` merged into `_meta`).
    pub fn request(
        &self,
        id: i64,
        method: &str,
        mut params: Value,
        extra_meta: Value,
    ) -> reqwest::RequestBuilder {
        let mut meta = json!({
            "io.modelcontextprotocol/protocolVersion": V,
            "io.modelcontextprotocol/clientCapabilities": self.capabilities,
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-hive-tests", "version": "0"},
        });
        if let (Some(m), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
            m.extend(extra.clone());
        }
        params["_meta"] = meta;
        let name = params
            .get("name")
            .or_else(|| params.get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut rb = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Method", method)
            .body(
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
            );
        if let Some(n) = name {
            rb = rb.header("Mcp-Name", n);
        }
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    /// Sends a call and reads a JSON reply.
    pub async fn call(&self, id: i64, method: &str, params: Value) -> Reply {
        send(self.request(id, method, params, json!({}))).await
    }

    /// `tools/call`.
    pub async fn tool(&self, id: i64, name: &str, params: Value) -> Reply {
        let mut p = params;
        p["name"] = json!(name);
        if p.get("arguments").is_none() {
            p["arguments"] = json!({});
        }
        self.call(id, "tools/call", p).await
    }

    /// Sends a call whose reply is an SSE stream.
    pub async fn stream(
        &self,
        id: i64,
        method: &str,
        params: Value,
        extra_meta: Value,
    ) -> SseReader {
        let res = self
            .request(id, method, params, extra_meta)
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), StatusCode::OK);
        assert!(super::is_sse(res.headers()), "expected text/event-stream");
        SseReader::new(res)
    }
}

/// Sends and parses.
pub async fn send(rb: reqwest::RequestBuilder) -> Reply {
    let res = rb.send().await.expect("POST");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}
