//! Raw MCP requests of the benchmarks: streamed POSTs of `tools/call`, GETs with
//! `Last-Event-ID`, and subscriptions.

use super::*;

pub use crate::support::post;

/// A `GET` of the MCP endpoint: the standalone stream, or with `last_event_id` the rest of the
/// stream that id names.
pub fn get(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    last_event_id: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut rb = http
        .get(url)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", PROTOCOL_VERSION);
    if let Some(id) = last_event_id {
        rb = rb.header("Last-Event-ID", id);
    }
    rb
}

/// A `tools/call` request body.
pub fn tool_call(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}})
}

/// A `tools/call` of `count` (`number` steps, `interval_ms` apart, each a progress notification
/// and a log message) with a progress token.
pub fn count_call(id: u64, number: u32, interval_ms: u64) -> Value {
    let mut body = tool_call(
        id,
        "count",
        json!({"number": number, "intervalMs": interval_ms}),
    );
    body["params"]["_meta"] = json!({"progressToken": format!("p{id}")});
    body
}

/// Sends a request that must be answered with 200; returns the response (SSE or JSON).
pub async fn send_ok(rb: reqwest::RequestBuilder, what: &str) -> Result<Response, String> {
    let res = rb.send().await.map_err(|e| format!("{what}: {e}"))?;
    if !res.status().is_success() {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        return Err(format!("{what}: HTTP {status}: {body}"));
    }
    Ok(res)
}

/// `resources/subscribe` to `uri`; checks the answer.
pub async fn subscribe(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    uri: &str,
) -> Result<(), String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
        "params": {"uri": uri}});
    let res = send_ok(post(http, url, Some(session), &body), "resources/subscribe").await?;
    let text = res.text().await.map_err(|e| e.to_string())?;
    if text.contains("\"result\"") {
        Ok(())
    } else {
        Err(format!("resources/subscribe: {text}"))
    }
}
