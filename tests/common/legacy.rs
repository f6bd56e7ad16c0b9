//! A minimal client of the HTTP+SSE transport (MCP 2024-11-05): `GET /sse` for the event
//! stream and its `endpoint` event, `POST` of single messages to that endpoint.

use super::{SseEvent, SseReader, TestServer};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// How long to wait for one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// `GET <base><path>` with `Accept: text/event-stream` (and a bearer token when given).
pub async fn get_sse(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut rb = http()
        .get(format!("{base}{path}"))
        .header("Accept", "text/event-stream");
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().await.expect("GET /sse")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// One HTTP+SSE session: its open event stream and its message endpoint.
pub struct LegacySession {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>` of the replica that POSTs go to.
    pub base: String,
    /// The `endpoint` event's data, e.g. `/messages?sessionId=<id>`.
    pub endpoint: String,
    /// The session id (the `sessionId` parameter of the endpoint).
    pub session: String,
    /// The `/sse` stream (after its `endpoint` event).
    pub sse: SseReader,
    /// Sent as `Authorization: Bearer` on POSTs when set.
    pub token: Option<String>,
}

impl LegacySession {
    /// Opens `GET /sse` on `server` and reads the `endpoint` event.
    pub async fn open(server: &TestServer) -> Self {
        Self::open_at(&server.base, "/sse", None).await
    }

    /// Opens `<base><path>` with an optional token and reads the `endpoint` event.
    pub async fn open_at(base: &str, path: &str, token: Option<&str>) -> Self {
        let res = get_sse(base, path, token).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        assert!(super::is_sse(res.headers()), "GET {path} is an SSE stream");
        let mut sse = SseReader::new(res);
        let first = sse.next(WAIT).await.expect("the endpoint event");
        assert_eq!(first.event.as_deref(), Some("endpoint"), "{first:?}");
        let session = first
            .data
            .split_once("sessionId=")
            .map(|(_, id)| id.to_owned())
            .expect("sessionId in the endpoint");
        Self {
            http: http(),
            base: base.to_owned(),
            endpoint: first.data,
            session,
            sse,
            token: token.map(str::to_owned),
        }
    }

    /// The same session posting to another replica (the stream stays where it is).
    pub fn post_via(&mut self, server: &TestServer) {
        self.base.clone_from(&server.base);
    }

    /// A POST of `body` to the endpoint.
    pub fn post(&self, body: &Value) -> RequestBuilder {
        let rb = self
            .http
            .post(format!("{}{}", self.base, self.endpoint))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// POSTs `body`; asserts 202 with an empty body.
    pub async fn send(&self, body: &Value) {
        let res = self.post(body).send().await.expect("POST");
        assert_eq!(res.status(), StatusCode::ACCEPTED, "POST {body}");
        assert_eq!(res.text().await.expect("body"), "", "202 has no body");
    }

    /// The next `message` event as JSON.
    pub async fn next_message(&mut self) -> Value {
        let ev: SseEvent = self.sse.next(WAIT).await.expect("a message event");
        assert_eq!(ev.event.as_deref(), Some("message"), "{ev:?}");
        ev.json().expect("JSON data")
    }

    /// Reads messages until the response to `id`; returns it and what came before.
    pub async fn response(&mut self, id: Value) -> (Value, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            let msg = self.next_message().await;
            if msg.get("id") == Some(&id) && msg.get("method").is_none() {
                return (msg, seen);
            }
            seen.push(msg);
        }
    }

    /// POSTs a request and returns its response from the stream.
    pub async fn call(&mut self, body: &Value) -> (Value, Vec<Value>) {
        self.send(body).await;
        self.response(body["id"].clone()).await
    }

    /// `initialize` + `notifications/initialized`; returns the initialize result.
    pub async fn initialize(&mut self, version: &str, capabilities: Value) -> Value {
        let (res, _) = self
            .call(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": capabilities,
                "clientInfo": {"name": "legacy-tests", "version": "1"}}}),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        res["result"].clone()
    }
}
