//! The MCP requests of the load generator over [`crate::http::Conn`]: `initialize` (plus
//! `notifications/initialized`), `tools/call` of `add`, `resources/subscribe`, the standalone
//! GET stream and the `notify` demo tool. Requests are encoded once per call with the session's
//! headers; replies are checked cheaply (status and a `"result"` member) on the hot path and
//! parsed fully where the value matters.

use crate::http::{self, Conn, Response};
use serde_json::{Value, json};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The protocol revision the generator asks for (servers may answer with an older one).
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Time limit of one request.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// An MCP endpoint: where to connect and what to put in the request line.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The socket address.
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
    /// The path of the MCP endpoint.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host:port/path`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("not an http:// URL: {url}"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let addr = host
            .to_socket_addrs()
            .map_err(|e| format!("resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("no address for {host}"))?;
        Ok(Self {
            addr,
            host: host.to_owned(),
            path: format!("/{path}"),
        })
    }

    /// A new (not yet connected) connection to the endpoint.
    pub fn conn(&self) -> Conn {
        Conn::new(self.addr)
    }
}

/// An initialized session.
#[derive(Debug, Clone)]
pub struct Session {
    /// `Mcp-Session-Id`.
    pub id: String,
    /// The negotiated protocol version (sent as `MCP-Protocol-Version`).
    pub version: String,
    /// `Authorization` header value, if any.
    pub auth: Option<String>,
}

fn post(ep: &Endpoint, session: Option<&Session>, auth: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut headers: Vec<(&str, &str)> = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(s) = session {
        headers.push(("Mcp-Session-Id", &s.id));
        headers.push(("MCP-Protocol-Version", &s.version));
    }
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    http::encode("POST", &ep.host, &ep.path, &headers, body)
}

/// An encoded POST of `body` on `session` (with its `Authorization`, if any).
pub fn post_request(ep: &Endpoint, session: &Session, body: &[u8]) -> Vec<u8> {
    post(ep, Some(session), session.auth.as_deref(), body)
}

async fn send(conn: &mut Conn, request: &[u8]) -> Result<Response, String> {
    conn.request(request, REQUEST_LIMIT)
        .await
        .map_err(|e| e.to_string())
}

/// `initialize` then `notifications/initialized`, with `Authorization: <auth>` if given.
pub async fn initialize(
    conn: &mut Conn,
    ep: &Endpoint,
    auth: Option<&str>,
) -> Result<Session, String> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "mcp-hive-load", "version": "1"}}});
    let res = send(conn, &post(ep, None, auth, body.to_string().as_bytes())).await?;
    if res.head.status != 200 {
        return Err(format!(
            "initialize: HTTP {}: {}",
            res.head.status,
            String::from_utf8_lossy(&res.body)
        ));
    }
    let id = res
        .head
        .session_id
        .clone()
        .ok_or("initialize: no Mcp-Session-Id")?;
    let reply = http::message_json(&res.head, &res.body).ok_or("initialize: no JSON reply")?;
    let version = reply["result"]["protocolVersion"]
        .as_str()
        .ok_or_else(|| format!("initialize failed: {reply}"))?
        .to_owned();
    let session = Session {
        id,
        version,
        auth: auth.map(str::to_owned),
    };
    let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let res = send(conn, &post(ep, Some(&session), auth, note)).await?;
    if res.head.status != 202 {
        return Err(format!(
            "notifications/initialized: HTTP {}",
            res.head.status
        ));
    }
    Ok(session)
}

/// The encoded `tools/call` of `add` (1 + 2) with JSON-RPC id `id`.
pub fn add_request(ep: &Endpoint, session: &Session, id: u64) -> Vec<u8> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}}}}}}"#
    );
    post(ep, Some(session), session.auth.as_deref(), body.as_bytes())
}

/// Whether a `tools/call` reply is a success (cheap: no JSON parsing).
pub fn add_ok(res: &Response) -> bool {
    res.head.status == 200
        && http::contains(&res.body, b"\"result\"")
        && !http::contains(&res.body, b"\"isError\":true")
}

/// Whether a `tools/call` reply carries the sum 3 (parses the reply).
pub fn add_verified(res: &Response) -> bool {
    let Some(reply) = http::message_json(&res.head, &res.body) else {
        return false;
    };
    let result = &reply["result"];
    result["structuredContent"]["result"].as_f64() == Some(3.0)
        || result["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains('3'))
}

/// One `tools/call` of `add`, fully checked.
pub async fn call_add(
    conn: &mut Conn,
    ep: &Endpoint,
    session: &Session,
    id: u64,
) -> Result<(), String> {
    let res = send(conn, &add_request(ep, session, id)).await?;
    if add_ok(&res) && add_verified(&res) {
        Ok(())
    } else {
        Err(format!(
            "tools/call add: HTTP {}: {}",
            res.head.status,
            String::from_utf8_lossy(&res.body)
        ))
    }
}

/// A request answered with a JSON-RPC result; returns the result.
pub async fn request(
    conn: &mut Conn,
    ep: &Endpoint,
    session: &Session,
    body: &Value,
) -> Result<Value, String> {
    let res = send(
        conn,
        &post(
            ep,
            Some(session),
            session.auth.as_deref(),
            body.to_string().as_bytes(),
        ),
    )
    .await?;
    let reply = http::message_json(&res.head, &res.body)
        .ok_or_else(|| format!("HTTP {}: no JSON-RPC reply", res.head.status))?;
    match reply.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(format!("{}: {reply}", body["method"])),
    }
}

/// `resources/subscribe` to `uri`.
pub async fn subscribe(
    conn: &mut Conn,
    ep: &Endpoint,
    session: &Session,
    uri: &str,
) -> Result<(), String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
        "params": {"uri": uri}});
    request(conn, ep, session, &body).await.map(|_| ())
}

/// `tools/call` of `notify` for `uri`; returns the server's announcement time (µs).
pub async fn notify(
    conn: &mut Conn,
    ep: &Endpoint,
    session: &Session,
    uri: &str,
    id: u64,
) -> Result<u64, String> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "notify", "arguments": {"uri": uri}}});
    let result = request(conn, ep, session, &body).await?;
    result["structuredContent"]["announcedAtUs"]
        .as_u64()
        .ok_or_else(|| format!("notify: unexpected result {result}"))
}

/// The encoded standalone `GET` of a session's SSE stream.
pub fn get_stream_request(ep: &Endpoint, session: &Session) -> Vec<u8> {
    let mut headers: Vec<(&str, &str)> = vec![
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", &session.id),
        ("MCP-Protocol-Version", &session.version),
    ];
    if let Some(a) = &session.auth {
        headers.push(("Authorization", a));
    }
    http::encode("GET", &ep.host, &ep.path, &headers, b"")
}
