//! `mcp-hive serve --stdio` as a child process: write lines to its stdin, read JSON lines from
//! its stdout (every line must be JSON), close stdin and wait for its exit status.

use serde_json::{Value, json};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long to wait for one line.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running `mcp-hive serve --stdio`, killed on drop.
pub struct StdioServer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl StdioServer {
    /// Starts it with extra environment variables (conformance fixtures on, logs at warn).
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-hive"));
        cmd.args(["serve", "--stdio"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MCP_CONFORMANCE_FIXTURES", "true")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn mcp-hive serve --stdio");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin: Some(stdin),
            stdout,
        }
    }

    /// Writes one raw line (a newline is added).
    pub async fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write stdin");
        stdin.flush().await.expect("flush stdin");
    }

    /// Writes one JSON message.
    pub async fn send(&mut self, message: &Value) {
        self.write_line(&message.to_string()).await;
    }

    /// The next stdout line as JSON (panics if a line is not JSON); `None` at end of output.
    pub async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("a stdout line within the wait")
            .expect("read stdout")?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
        )
    }

    /// Reads until the response to `id`; returns it and what came before.
    pub async fn response(&mut self, id: Value) -> (Value, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            let msg = self.next().await.expect("stdout ended before the response");
            if msg.get("id") == Some(&id) && msg.get("method").is_none() {
                return (msg, seen);
            }
            seen.push(msg);
        }
    }

    /// Sends a request and returns its response.
    pub async fn call(&mut self, request: &Value) -> (Value, Vec<Value>) {
        self.send(request).await;
        self.response(request["id"].clone()).await
    }

    /// `initialize` + `notifications/initialized`; returns the initialize result.
    pub async fn initialize(&mut self, version: &str, capabilities: Value) -> Value {
        let (res, _) = self
            .call(
                &json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": capabilities,
                "clientInfo": {"name": "stdio-tests", "version": "1"}}}),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        res["result"].clone()
    }

    /// Closes stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|r| r.expect("wait"))
    }
}
