//! The systems under test, each a separate process on 127.0.0.1 that prints
//! `... listening on http://<addr>[/mcp]` on stdout: `mcp-hive serve` (embedded store or Redis,
//! JSON or SSE replies, with or without auth), the echo baseline (this benchmark binary's
//! `echo-server`), and the peers built by [`crate::peers`]. Killed on drop.

use crate::drive::CpuProbe;
use crate::support;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process.
pub struct Target {
    /// Short name for tables.
    pub label: String,
    /// The MCP endpoint URL.
    pub url: String,
    child: Child,
    pid: u32,
}

/// How mcp-hive stores sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The embedded in-process store.
    Embedded,
    /// Redis (the URL is given at start).
    Redis,
}

impl Target {
    /// Starts `cmd`, waits for its listening line and, if given, for `ready` (a path on the same
    /// origin) to answer 200.
    pub async fn spawn(label: &str, mut cmd: Command, ready: Option<&str>) -> Result<Self, String> {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("start {label}: {e}"))?;
        let pid = child.id().ok_or("no pid")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Duration::from_secs(60);
        let line = loop {
            let line = tokio::time::timeout(deadline, lines.next_line())
                .await
                .map_err(|_| format!("{label} printed no listening line within 60 s"))?
                .map_err(|e| format!("read {label}'s stdout: {e}"))?
                .ok_or_else(|| format!("{label} exited before listening"))?;
            if line.contains("listening on http://") {
                break line;
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = line
            .split("listening on ")
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let url = if url.ends_with("/mcp") {
            url
        } else {
            format!("{}/mcp", url.trim_end_matches('/'))
        };
        let target = Self {
            label: label.to_owned(),
            url,
            child,
            pid,
        };
        if let Some(path) = ready {
            target.wait_ready(path).await?;
        }
        Ok(target)
    }

    async fn wait_ready(&self, path: &str) -> Result<(), String> {
        let base = self.url.trim_end_matches("/mcp");
        let http = support::http_client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}{path}")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{} was not ready within 20 s", self.label));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `mcp-hive serve` with a clean environment plus `env` (auth off unless `env` turns it on;
    /// the conformance fixtures on, for the quiet resource the stream measurement subscribes to).
    pub async fn hive(
        label: &str,
        store: Store,
        redis_url: Option<&str>,
        mode: &str,
        env: &[(&str, String)],
    ) -> Result<Self, String> {
        let mut cmd = Command::new(support::server_binary());
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("DISABLE_AUTH", "true")
            .env("RUST_LOG", "warn")
            .env("MCP_CONFORMANCE_FIXTURES", "true")
            .env("MCP_HIVE__PROTOCOL__RESPONSE_MODE", mode);
        if store == Store::Redis {
            cmd.env(
                "REDIS_URL",
                redis_url.ok_or("Redis store without a Redis URL")?,
            );
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(label, cmd, Some("/readyz")).await
    }

    /// The echo baseline: this binary's `echo-server` subcommand.
    pub async fn echo(label: &str, sse: bool) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["echo-server", "--port", "0"]);
        if sse {
            cmd.arg("--sse");
        }
        Self::spawn(label, cmd, None).await
    }

    /// A peer program (`program args...`) with `env`, listening on a free port.
    pub async fn peer(
        label: &str,
        program: &Path,
        args: &[&str],
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(dir).env("PORT", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(label, cmd, None).await
    }

    /// Reads the process's CPU time.
    pub fn cpu_probe(&self) -> CpuProbe {
        let pid = self.pid;
        Arc::new(move || support::process_cpu_secs(pid))
    }

    /// Kills the process.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
