//! The access log: one JSON line per request on stderr at `info`, with the JSON-RPC method and
//! session the handler tagged, and none at all when `info` is filtered out (the middleware then
//! collects nothing, see `http::access_log`).

mod common;

use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStderr, Command};

/// Starts the server with `RUST_LOG=<filter>` and JSON logs; returns it, its MCP URL and its
/// stderr lines.
async fn server(filter: &str) -> (tokio::process::Child, String, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-hive"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DISABLE_AUTH", "true")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = line.strip_prefix("mcp-hive listening on ").unwrap().trim();
    let url = format!("{base}/mcp");
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, url, stderr)
}

/// Runs `initialize` and one `tools/call`; returns the session id.
async fn session_with_a_call(url: &str) -> String {
    let http = reqwest::Client::new();
    let res = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "log-test", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let res = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&common::tool_call(2, "add", json!({"a": 1, "b": 2})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap();
    session
}

/// The `request` lines among the next lines of `stderr` (waiting at most `wait` for each).
async fn request_lines(stderr: &mut Lines<BufReader<ChildStderr>>, wait: Duration) -> Vec<Value> {
    let mut found = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(wait, stderr.next_line()).await {
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["message"] == "request"
        {
            found.push(v);
        }
    }
    found
}

#[tokio::test]
async fn every_request_is_logged_with_its_method_and_session_at_info() {
    let (_child, url, mut stderr) = server("info").await;
    let session = session_with_a_call(&url).await;
    let lines = request_lines(&mut stderr, Duration::from_secs(2)).await;
    let call = lines
        .iter()
        .find(|l| l["mcp.method"] == "tools/call")
        .unwrap_or_else(|| panic!("no access-log line for tools/call: {lines:?}"));
    assert_eq!(call["mcp.session"], session.as_str(), "{call}");
    assert_eq!(call["http.method"], "POST", "{call}");
    assert_eq!(call["http.path"], "/mcp", "{call}");
    assert_eq!(call["http.status"], 200, "{call}");
    assert_eq!(call["caller"], "-", "{call}");
    assert!(call["latency_ms"].as_f64().is_some(), "{call}");
    assert!(
        lines.iter().any(|l| l["mcp.method"] == "initialize"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn nothing_is_logged_per_request_when_info_is_filtered_out() {
    let (_child, url, mut stderr) = server("warn").await;
    session_with_a_call(&url).await;
    let lines = request_lines(&mut stderr, Duration::from_millis(500)).await;
    assert!(lines.is_empty(), "{lines:?}");
}
