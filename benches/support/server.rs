//! `mcp-hive serve` as a benchmark starts it ([`Server`]: the release binary, its environment,
//! readiness and memory) and the CPU time of a process from `/proc`.

use super::*;

/// The server binary: `$MCP_HIVE_BIN`, else the release binary Cargo built for this benchmark
/// (`target/release/mcp-hive`).
pub fn server_binary() -> PathBuf {
    std::env::var_os("MCP_HIVE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcp-hive")))
}

/// A running `mcp-hive serve`, killed on drop.
pub struct Server {
    child: Child,
    pid: u32,
    base: String,
    /// The MCP endpoint URL.
    pub mcp: String,
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    /// Starts the server on 127.0.0.1:0 with a clean environment plus `env`, and waits until
    /// `/readyz` answers 200 (for Redis: the pool and the pub/sub listener are connected).
    pub async fn start(bin: &Path, env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("DISABLE_AUTH", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {} (build it first): {e}", bin.display()));
        let pid = child.id().expect("the server's pid");
        let stdout = child.stdout.take().expect("the server's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server did not print its listening line within 30 s")
            .expect("read the server's stdout")
            .expect("the server exited before listening");
        let base = line
            .strip_prefix("mcp-hive listening on ")
            .unwrap_or_else(|| panic!("unexpected first stdout line: {line}"))
            .trim()
            .to_owned();
        let server = Self {
            child,
            pid,
            mcp: format!("{base}/mcp"),
            base,
            _stdout: lines,
        };
        server.wait_ready(&http_client()).await;
        server
    }

    async fn readyz(&self, http: &reqwest::Client) -> Option<Value> {
        let res = http
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json().await.ok()
    }

    async fn wait_ready(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.readyz(http).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "the server was not ready within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Session actors alive on the replica (`/readyz` `live_actors`).
    pub async fn live_actors(&self, http: &reqwest::Client) -> u64 {
        self.readyz(http)
            .await
            .and_then(|v| v["live_actors"].as_u64())
            .expect("/readyz reports live_actors")
    }

    /// Actors that moved to the HTTP worker their requests arrive on (`/readyz`
    /// `actor_relocations`): each move rehydrates the session, a round trip or two.
    pub async fn actor_relocations(&self, http: &reqwest::Client) -> u64 {
        self.readyz(http)
            .await
            .and_then(|v| v["actor_relocations"].as_u64())
            .expect("/readyz reports actor_relocations")
    }

    /// Waits until every session actor has hibernated; returns how long it took.
    pub async fn wait_hibernated(&self, http: &reqwest::Client, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let live = self.live_actors(http).await;
            if live == 0 {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "{live} session actors still alive after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("read /proc/<pid>/status of the server");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/<pid>/status"))
    }

    /// The resident set size (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// The peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// CPU time used by the server so far (user + system, `/proc/<pid>/stat`), in seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .expect("read /proc/<pid>/stat of the server");
        // Fields after "(comm) ": state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| -> f64 {
            fields
                .get(i)
                .and_then(|v| v.parse().ok())
                .expect("utime and stime in /proc/<pid>/stat")
        };
        (ticks(11) + ticks(12)) / clock_ticks()
    }

    /// Kills the server.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// CPU time used by any process so far (user + system, `/proc/<pid>/stat`), in seconds; 0 once
/// the process is gone.
pub fn process_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after "(comm) ": state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> f64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times), 100 if unknown.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        command_output("getconf", &["CLK_TCK"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(100.0)
    })
}
