//! A minimal MCP client over `reqwest`: initialize sessions, call `add`, open a GET stream.

use super::*;

/// An HTTP client with keep-alive connections and no proxy.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(None)
        .build()
        .expect("build the HTTP client")
}

/// A POST of one JSON-RPC message to a session (or without one).
pub fn post(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut rb = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(sid) = session {
        rb = rb
            .header("Mcp-Session-Id", sid)
            .header("MCP-Protocol-Version", PROTOCOL_VERSION);
    }
    rb
}

/// The JSON-RPC message of a response: the JSON body, or the last `data:` line of an SSE body.
async fn message(res: Response) -> Result<Value, String> {
    let status = res.status();
    let sse = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let text = res.text().await.map_err(|e| format!("read body: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {text}"));
    }
    let json = if sse {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .rfind(|d| !d.is_empty())
            .ok_or_else(|| format!("no data in the SSE body: {text}"))?
    } else {
        text.as_str()
    };
    serde_json::from_str(json).map_err(|e| format!("invalid JSON ({e}): {json}"))
}

/// `initialize` then `notifications/initialized`; returns the session id.
pub async fn initialize(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}});
    let res = post(http, url, None, &body)
        .send()
        .await
        .map_err(|e| format!("initialize: {e}"))?;
    let sid = res
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("initialize: no Mcp-Session-Id (HTTP {})", res.status()))?;
    let reply = message(res).await?;
    if reply.get("result").is_none() {
        return Err(format!("initialize failed: {reply}"));
    }
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let res = post(http, url, Some(&sid), &note)
        .send()
        .await
        .map_err(|e| format!("notifications/initialized: {e}"))?;
    if res.status() != reqwest::StatusCode::ACCEPTED {
        return Err(format!("notifications/initialized: HTTP {}", res.status()));
    }
    Ok(sid)
}

/// Creates `n` sessions with `concurrency` requests in flight; aborts on any failure.
pub async fn create_sessions(
    http: &reqwest::Client,
    url: &str,
    n: usize,
    concurrency: usize,
) -> Vec<String> {
    futures_util::stream::iter(0..n)
        .map(|_| initialize(http, url))
        .buffer_unordered(concurrency)
        .map(|r| r.unwrap_or_else(|e| panic!("create a session: {e}")))
        .collect()
        .await
}

/// One `tools/call` of `add` (1 + 2), answered as JSON or over SSE; checks the result.
pub async fn call_add(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    id: u64,
) -> Result<(), String> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 2}}});
    let res = post(http, url, Some(session), &body)
        .send()
        .await
        .map_err(|e| format!("tools/call: {e}"))?;
    let reply = message(res).await?;
    match reply["result"]["structuredContent"]["result"].as_i64() {
        Some(3) => Ok(()),
        _ => Err(format!("unexpected tools/call reply: {reply}")),
    }
}

/// Opens the standalone SSE stream of a session and reads its priming event; the returned
/// response keeps the connection open.
pub async fn open_stream(
    http: &reqwest::Client,
    url: &str,
    session: &str,
) -> Result<Response, String> {
    let mut res = http
        .get(url)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", PROTOCOL_VERSION)
        .send()
        .await
        .map_err(|e| format!("GET stream: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("GET stream: HTTP {}", res.status()));
    }
    let mut seen = String::new();
    while !(seen.contains("id: 0-0") && seen.contains("\n\n")) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .map_err(|_| "no priming event within 10 s".to_owned())?
            .map_err(|e| format!("read stream: {e}"))?
            .ok_or_else(|| format!("stream ended before the priming event: {seen:?}"))?;
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    Ok(res)
}

/// Like [`http_client`], sending `Authorization: Bearer <token>` on every request.
pub fn http_client_with_token(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .expect("a token is a valid header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(None)
        .default_headers(headers)
        .build()
        .expect("build the HTTP client")
}
