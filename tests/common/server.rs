//! The black-box test server: the real `mcp-hive serve` binary started on `127.0.0.1:0` with a
//! cleared environment and extra variables, killed on drop.

use super::Client;
use serde_json::Value;
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
