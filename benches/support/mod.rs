//! Helpers of the benchmarks: the processes under test (`redis-server`, `mcp-hive serve`), a
//! minimal MCP client over raw HTTP, Redis introspection (`INFO`, `MONITOR`), process memory and
//! the machine description.
//!
//! Failures while setting up (a process that does not start, a request that a healthy server
//! must answer) abort the benchmark with a message: a benchmark that measured something else
//! than it claims is worse than none.
//!
//! Shared by several benchmark binaries, each using a part of it.

#![allow(dead_code)]

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use reqwest::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// The protocol revision the benchmark speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

// ---------------------------------------------------------------------------------------------
// redis-server
// ---------------------------------------------------------------------------------------------

/// A private `redis-server` on a free loopback port, without persistence, killed on drop.
pub struct Redis {
    child: Child,
    port: u16,
    conn: MultiplexedConnection,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` (or `$REDIS_SERVER`) and waits until it answers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory for redis-server");
        let port = free_port();
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&program)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} (install redis-server): {e}"));
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("build the Redis URL");
        let deadline = Instant::now() + Duration::from_secs(10);
        let conn = loop {
            match client.get_multiplexed_async_connection().await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("redis-server did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        Self {
            child,
            port,
            conn,
            _dir: dir,
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .expect("query the bench Redis")
    }

    /// The `key:value` lines of `INFO` sections, read in one command.
    pub async fn info(&self, sections: &[&str]) -> BTreeMap<String, String> {
        let text: String = self.query(redis::cmd("INFO").arg(sections)).await;
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// Command counters, read with one `INFO stats commandstats`.
    pub async fn counters(&self) -> Counters {
        let info = self.info(&["stats", "commandstats"]).await;
        let reads = info
            .get("total_reads_processed")
            .and_then(|v| v.parse().ok())
            .expect("INFO stats has total_reads_processed");
        let calls = info
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("cmdstat_")?.to_owned();
                let calls = v.split(',').find_map(|f| f.strip_prefix("calls="))?;
                Some((name, calls.parse().ok()?))
            })
            .collect();
        Counters { reads, calls }
    }

    /// `INFO memory` `used_memory`, in bytes.
    pub async fn used_memory(&self) -> u64 {
        self.info(&["memory"])
            .await
            .get("used_memory")
            .and_then(|v| v.parse().ok())
            .expect("INFO memory has used_memory")
    }

    /// CPU time used by redis-server so far (`INFO cpu`, user + system), in seconds.
    pub async fn cpu_secs(&self) -> f64 {
        let info = self.info(&["cpu"]).await;
        let get = |k: &str| {
            info.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("INFO cpu has {k}"))
        };
        get("used_cpu_user") + get("used_cpu_sys")
    }

    /// The number of keys in db 0.
    pub async fn dbsize(&self) -> u64 {
        self.query(&redis::cmd("DBSIZE")).await
    }

    /// The keys matching a glob pattern (`SCAN`).
    pub async fn keys_matching(&self, pattern: &str) -> Vec<String> {
        let mut conn = self.conn.clone();
        let mut iter: redis::AsyncIter<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter_async(&mut conn)
            .await
            .expect("SCAN the bench Redis");
        let mut keys = Vec::new();
        while let Some(key) = iter.next_item().await {
            keys.push(key.expect("a SCAN reply"));
        }
        keys
    }

    /// `MEMORY USAGE <key> SAMPLES 0` (exact), in bytes; 0 if the key is gone.
    pub async fn memory_usage(&self, key: &str) -> u64 {
        let usage: Option<u64> = self
            .query(
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0),
            )
            .await;
        usage.unwrap_or(0)
    }

    /// Empties the database between phases.
    pub async fn flushall(&self) {
        let _: String = self.query(&redis::cmd("FLUSHALL")).await;
    }

    /// `ECHO` (a marker in the `MONITOR` feed).
    pub async fn echo(&self, text: &str) {
        let _: String = self.query(redis::cmd("ECHO").arg(text)).await;
    }

    /// Starts a `MONITOR` connection that tallies the commands seen between two markers
    /// (see [`Monitor`]).
    pub async fn monitor(&self) -> Monitor {
        Monitor::start(self.port).await
    }

    /// Kills the server.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Redis counters at one moment.
#[derive(Debug, Clone)]
pub struct Counters {
    /// `total_reads_processed`: socket reads, i.e. client round trips (a pipeline sent in one
    /// write is one read; a closed connection adds one).
    pub reads: u64,
    /// Calls per command (`cmdstat_<name>:calls=<n>`). Redis counts the commands a Lua script
    /// runs under their own names as well as the `EVALSHA` that ran the script.
    pub calls: BTreeMap<String, u64>,
}

/// Commands counted by a [`Monitor`], by upper-case name.
#[derive(Debug, Default, Clone)]
pub struct MonitorCounts {
    /// Commands sent by clients: each is (at most) one network round trip.
    pub client: BTreeMap<String, u64>,
    /// Commands run inside Lua scripts (`[0 lua]` in the feed): no round trip of their own.
    pub lua: BTreeMap<String, u64>,
}

/// A `MONITOR` feed. Counting starts at the `ECHO` of [`Monitor::BEGIN`] and stops at the `ECHO`
/// of [`Monitor::END`] (both sent with [`Redis::echo`]), so the measurement's own commands and
/// anything before or after are left out.
pub struct Monitor {
    /// The counts, and the connection: it stays open until [`Monitor::finish`], since closing
    /// it would be one more read for Redis's `total_reads_processed`.
    task: JoinHandle<(MonitorCounts, Lines<BufReader<TcpStream>>)>,
}

impl Monitor {
    /// The marker that starts counting.
    pub const BEGIN: &'static str = "mcp-hive-bench-begin";
    /// The marker that stops counting.
    pub const END: &'static str = "mcp-hive-bench-end";

    async fn start(port: u16) -> Self {
        let mut socket = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect the MONITOR client");
        socket
            .write_all(b"MONITOR\r\n")
            .await
            .expect("send MONITOR");
        let mut lines = BufReader::new(socket).lines();
        let ok = lines
            .next_line()
            .await
            .expect("read the MONITOR reply")
            .expect("MONITOR reply");
        assert_eq!(ok, "+OK", "MONITOR refused");
        Self {
            task: tokio::spawn(Self::tally(lines)),
        }
    }

    async fn tally(
        mut lines: Lines<BufReader<TcpStream>>,
    ) -> (MonitorCounts, Lines<BufReader<TcpStream>>) {
        let mut counts = MonitorCounts::default();
        let mut counting = false;
        while let Ok(Some(line)) = lines.next_line().await {
            // +1700000000.123456 [0 127.0.0.1:5000] "EVALSHA" "..." ...
            let Some((source, rest)) = line
                .split_once(" [")
                .and_then(|(_, rest)| rest.split_once("] "))
            else {
                continue;
            };
            let mut args = rest.split('"').skip(1).step_by(2);
            let command = args.next().unwrap_or_default().to_ascii_uppercase();
            if command == "ECHO" {
                match args.next() {
                    Some(Self::BEGIN) => counting = true,
                    Some(Self::END) => return (counts, lines),
                    _ => {}
                }
                continue;
            }
            if !counting {
                continue;
            }
            let bucket = if source.ends_with(" lua") {
                &mut counts.lua
            } else {
                &mut counts.client
            };
            *bucket.entry(command).or_default() += 1;
        }
        panic!("the MONITOR feed ended before the end marker");
    }

    /// Waits for the end marker (send it first), closes the feed and returns the counts.
    pub async fn finish(self) -> MonitorCounts {
        let (counts, _connection) = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the MONITOR feed did not reach the end marker within 30 s")
            .expect("the MONITOR task failed");
        counts
    }
}

// ---------------------------------------------------------------------------------------------
// mcp-hive serve
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// A minimal MCP client
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------------------------

/// `nproc`, total memory and CPU model, from the OS.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "?".to_owned(),
            |kib| format!("{:.1}", kib / 1024.0 / 1024.0),
        );
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    format!("{cpus} CPUs (nproc), {mem_gib} GiB RAM, {model}")
}

/// The 1-minute load average (`/proc/loadavg`): other work competing for the cores.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// What a report's header names about the code and the day: the UTC date, the short commit,
/// and whether `src/`, `config/` or `Cargo.lock` had uncommitted changes.
pub struct RunIdentity {
    pub date: String,
    pub commit: String,
    pub dirty: bool,
}

impl RunIdentity {
    /// Reads them now (`date`, `git`).
    pub fn now() -> Self {
        let commit = command_output("git", &["rev-parse", "--short", "HEAD"])
            .unwrap_or_else(|| "unknown".into());
        let dirty = command_output(
            "git",
            &["status", "--porcelain", "--", "src", "config", "Cargo.lock"],
        )
        .is_some_and(|s| !s.is_empty());
        let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .unwrap_or_else(|| "unknown date".into());
        Self {
            date,
            commit,
            dirty,
        }
    }

    /// `" (with uncommitted changes)"` when dirty, else empty.
    pub fn dirty_note(&self) -> &'static str {
        if self.dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    }
}

/// The version of the `redis-server` on `PATH` (`?` if unknown).
pub fn redis_version() -> String {
    command_output("redis-server", &["--version"])
        .and_then(|v| {
            v.split_whitespace()
                .find_map(|f| f.strip_prefix("v="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

/// The output of a command, trimmed, or `None`.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Replaces the text between `<!-- {name}:begin -->` and `<!-- {name}:end -->` in
/// `BENCHMARKS.md` (appending the section when the markers are missing).
pub fn write_report(name: &str, report: &str) {
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!("{begin}\n{report}{end}");
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &current[..b], &current[e + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", path.display());
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
