//! Helpers of the lifecycle, soak and faults benchmarks (beside `support`, which they also use):
//! an SSE reader that keeps event ids and arrival times, raw MCP requests (streamed POSTs, GETs
//! with `Last-Event-ID`), a `redis-server` that can be stopped and started again on the same
//! port, the open-files limit, and statistics (percentiles, least-squares slope).
//!
//! Like `support`, a failure while setting up aborts the benchmark with a message.

#![allow(dead_code)]

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use parking_lot::Mutex;
use reqwest::Response;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::support::PROTOCOL_VERSION;

// ---------------------------------------------------------------------------------------------
// SSE
// ---------------------------------------------------------------------------------------------

/// One SSE event as received.
#[derive(Debug, Clone)]
pub struct Event {
    /// `id:` (`<stream>-<seq>`), if any.
    pub id: Option<String>,
    /// `data:` lines joined with newlines; empty for the priming event.
    pub data: String,
    /// When the event's last byte arrived.
    pub at: Instant,
}

impl Event {
    /// The stream and sequence number of the id.
    pub fn seq(&self) -> Option<(String, u64)> {
        split_id(self.id.as_deref()?)
    }

    /// The JSON-RPC message, if the event carries one.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// `<stream>-<seq>` split in two.
pub fn split_id(id: &str) -> Option<(String, u64)> {
    let (stream, seq) = id.rsplit_once('-')?;
    Some((stream.to_owned(), seq.parse().ok()?))
}

/// What reading a stream gave.
#[derive(Debug)]
pub enum Next {
    /// An event (with or without data).
    Event(Event),
    /// The server ended the response.
    Ended,
    /// Nothing within the time limit.
    Timeout,
    /// The connection failed (reset by a killed replica, ...).
    Broken(String),
}

/// Reads SSE events from a streaming response.
pub struct Sse {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl Sse {
    /// Wraps a response whose body is `text/event-stream`.
    pub fn new(res: Response) -> Self {
        Self {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event (comments such as keep-alives are skipped).
    pub async fn next(&mut self, timeout: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let (mut id, mut data, mut fields) = (None, String::new(), 0);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                        fields += 1;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if fields > 0 && !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        fields += 1;
                    }
                }
                if id.is_some() || !data.is_empty() {
                    return Next::Event(Event {
                        id,
                        data,
                        at: Instant::now(),
                    });
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => return Next::Ended,
                Ok(Some(Err(e))) => return Next::Broken(e.to_string()),
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MCP requests
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Steady load
// ---------------------------------------------------------------------------------------------

/// What a [`steady_load`] recorded.
#[derive(Default)]
pub struct LoadResults {
    /// Per call: seconds since the load started, latency in ms, success.
    pub calls: Mutex<Vec<(f32, f32, bool)>>,
    /// The first few failures.
    pub first_errors: Mutex<Vec<String>>,
}

/// One call of the steady load: `tools/call` of `add` (answered over SSE in `auto` mode) or
/// `tools/list` (answered as JSON); checks the answer.
pub async fn steady_call(
    http: &reqwest::Client,
    url: &str,
    sid: &str,
    n: u64,
    sse: bool,
) -> Result<(), String> {
    if sse {
        return crate::support::call_add(http, url, sid, n).await;
    }
    let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/list"});
    let res = post(http, url, Some(sid), &body)
        .send()
        .await
        .map_err(|e| format!("tools/list: {e}"))?;
    let status = res.status();
    let text = res.text().await.map_err(|e| format!("tools/list: {e}"))?;
    if status.is_success() && text.contains("\"tools\"") {
        Ok(())
    } else {
        Err(format!(
            "tools/list: HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

/// Starts an open-loop load of `rate` calls/s until `stop`: the sessions in turn (each gets a
/// call every `sessions / rate` seconds), the replica alternating from one visit of a session to
/// the next, half [`steady_call`]s over SSE and half as JSON. At most `max_in_flight` calls run
/// at once; the task returns how many ticks found that many and sent nothing.
pub fn steady_load(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    sessions: Arc<Vec<String>>,
    rate: u64,
    max_in_flight: usize,
    stop: CancellationToken,
) -> (Arc<LoadResults>, tokio::task::JoinHandle<u64>) {
    let results = Arc::new(LoadResults::default());
    let recorded = Arc::clone(&results);
    let task = tokio::spawn(async move {
        let start = Instant::now();
        let limit = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let (mut n, mut not_sent) = (0u64, 0u64);
        let mut tasks = futures_util::stream::FuturesUnordered::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
                Some(_) = tasks.next(), if !tasks.is_empty() => continue,
            }
            let count = sessions.len() as u64;
            let (round, s) = (n / count, (n % count) as usize);
            n += 1;
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                not_sent += 1;
                continue;
            };
            let replica = (s as u64 + round) as usize % urls.len();
            let sse = ((s as u64 >> 1) + round) % 2 == 0;
            let (http, urls, sessions) = (http.clone(), Arc::clone(&urls), Arc::clone(&sessions));
            let results = Arc::clone(&recorded);
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let r = steady_call(&http, &urls[replica], &sessions[s], n, sse).await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                let at = (sent - start).as_secs_f32();
                results.calls.lock().push((at, ms as f32, r.is_ok()));
                if let Err(e) = r {
                    let mut f = results.first_errors.lock();
                    if f.len() < 5 {
                        f.push(format!("{at:.1} s: {e}"));
                    }
                }
                drop(permit);
            }));
        }
        while tasks.next().await.is_some() {}
        not_sent
    });
    (results, task)
}

// ---------------------------------------------------------------------------------------------
// A redis-server that can be restarted
// ---------------------------------------------------------------------------------------------

/// A private `redis-server` on a fixed loopback port and directory, which can be killed and
/// started again on the same port (with its data when `aof` is on).
pub struct RedisProc {
    child: Option<Child>,
    port: u16,
    aof: bool,
    dir: tempfile::TempDir,
    program: String,
}

impl RedisProc {
    /// Starts `redis-server` (or `$REDIS_SERVER`) on a free port; with `aof`, an append-only
    /// file (`appendfsync everysec`) keeps the data across restarts.
    pub async fn start(aof: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("find a free loopback port");
        let mut redis = Self {
            child: None,
            port,
            aof,
            dir: tempfile::tempdir().expect("create a directory for redis-server"),
            program: std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()),
        };
        redis.launch().await;
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) {
        let child = Command::new(&self.program)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "everysec"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {} (install redis-server): {e}", self.program));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.connection().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A new connection (after a restart, old ones are gone).
    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// Kills the server (SIGKILL): clients see their connections reset.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Starts the server again on the same port and directory; returns once it answers `PING`
    /// (with AOF, once the file is loaded: Redis answers `LOADING` until then).
    pub async fn restart(&mut self) {
        self.launch().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = self.connection().await {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
                if pong.is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not load its data"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `DBSIZE`.
    pub async fn dbsize(&self) -> u64 {
        let mut c = self.connection().await.expect("connect to the bench Redis");
        redis::cmd("DBSIZE")
            .query_async(&mut c)
            .await
            .expect("DBSIZE")
    }
}

// ---------------------------------------------------------------------------------------------
// Process limits
// ---------------------------------------------------------------------------------------------

/// Makes sure this process (and the servers it starts, which inherit the limit) may open at least
/// `want` files, raising the soft `RLIMIT_NOFILE` up to the hard limit if needed. Returns a
/// sentence for the report.
pub fn ensure_open_files(want: u64) -> String {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return "the open-files limit could not be read".into();
    }
    let (soft, hard) = (limit.rlim_cur, limit.rlim_max);
    if soft >= want {
        return format!("open-files limit {soft} (≥ {want} needed), not raised");
    }
    limit.rlim_cur = want.min(hard);
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return format!("open-files limit {soft}: raising it to {want} failed (hard limit {hard})");
    }
    format!(
        "open-files limit raised from {soft} to {} (setrlimit in the bench process; the servers \
         inherit it)",
        limit.rlim_cur
    )
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/// The `p` quantile (0..=1, nearest rank) of sorted values.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Sorted copy.
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// `p50 / p99 / max` of durations in milliseconds, formatted.
pub fn distribution_ms(values: &[f64]) -> String {
    let s = sorted(values);
    format!(
        "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (min {:.0} ms, n = {})",
        quantile(&s, 0.5),
        quantile(&s, 0.99),
        s.last().copied().unwrap_or(f64::NAN),
        s.first().copied().unwrap_or(f64::NAN),
        s.len()
    )
}

/// Least-squares slope of `y` over `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// Whether the benchmark was asked for `part` (`cargo bench --bench x -- part ...`); no names
/// (only Cargo's own `--bench` flag) means every part.
pub fn wants(part: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    named.is_empty() || named.iter().any(|a| a == part)
}

/// The header line of a report: date, commit, machine, load.
pub fn run_header(started: Instant, load_before: &str) -> String {
    use crate::support;
    let run = support::RunIdentity::now();
    let redis = support::redis_version();
    format!(
        "Last run: {}, commit `{}`{}, {}; Redis {redis}; run took {:.0} s; 1-minute \
         load average {load_before} before, {} after (above the CPU count, other work shared the \
         cores).",
        run.date,
        run.commit,
        run.dirty_note(),
        support::machine(),
        started.elapsed().as_secs_f64(),
        support::load_average(),
    )
}

/// The server binary in use (for messages).
pub fn binary() -> PathBuf {
    crate::support::server_binary()
}
