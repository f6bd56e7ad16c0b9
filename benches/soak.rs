//! The soak benchmark: two replicas on one Redis serve 10,000 sessions with steady calls for
//! 10 minutes; replica memory must stay flat, and once the load stops every session key must
//! leave Redis by its TTL.
//!
//! Run with `cargo bench --bench soak` (about 13 minutes after the build: 10 of load, then the
//! wait for the TTLs). For a quick try, `SOAK_SECS`, `SOAK_SESSIONS` and `SOAK_RATE` shorten it
//! (the report says so). It starts its own `redis-server` and two release `mcp-hive serve`
//! processes (see `benches/support`), prints the tables and rewrites `BENCHMARKS.md` between
//! `<!-- soak:begin -->` and `<!-- soak:end -->`.
//!
//! Method:
//!
//! - Replicas run with short TTLs so that the end of the run can watch them act:
//!   `SESSION_IDLE_TIMEOUT_SECS=90` and `MCP_HIVE__SSE__CLOSED_STREAM_RETENTION_SECS=10`
//!   (otherwise defaults: actors hibernate after 60 s idle, `response_mode=auto`).
//! - 10,000 sessions are created (32 in flight, half on each replica). 100 of them also keep a
//!   standalone `GET` stream open for the whole run (half on each replica; a dropped stream is
//!   resumed with `Last-Event-ID` on the other replica and counted).
//! - Open-loop load: 200 calls/s, the sessions in turn (each gets a call every 50 s, within its
//!   90 s TTL), the replica alternating from one visit of a session to the next; half the calls are
//!   `tools/call` of `add` (answered over SSE: a stream with one event, kept 10 s after it ends),
//!   half `tools/list` (answered as JSON). At most 512 calls are in flight; a tick that finds
//!   512 is counted as not sent.
//! - Every 10 s: `VmRSS` and CPU time of both replicas, `/readyz` `live_actors`, Redis
//!   `used_memory`, `DBSIZE` and keys without a TTL (`INFO keyspace`); every 60 s the keys by
//!   kind (`SCAN`). Reported: first / last / max RSS and the least-squares slope (over the whole
//!   run and after the first 2 minutes, when every session has been visited twice and the number
//!   of live actors is steady).
//! - After the load: the `GET` streams close, nothing else is sent, and `DBSIZE` and the session
//!   keys (`mcp:{*`) are polled every second until no session key is left; the keys that remain
//!   are listed (the replicas' liveness leases).

mod fleet;
mod support;

use fleet::Next;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Redis, Server};
use tokio_util::sync::CancellationToken;

/// Session TTL of the replicas (`SESSION_IDLE_TIMEOUT_SECS`).
const IDLE_TIMEOUT_SECS: u64 = 90;
/// How long an ended stream stays (`sse.closed_stream_retention_secs`).
const RETENTION_SECS: u64 = 10;
/// Standalone streams kept open.
const GET_STREAMS: usize = 100;
/// Most calls in flight.
const MAX_IN_FLIGHT: usize = 512;
/// Sampling period.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Samples before this are the warm-up, left out of the second slope.
const WARM_UP_SECS: f64 = 120.0;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One sample.
#[derive(Debug, Clone)]
struct Sample {
    t: f64,
    rss_kib: [u64; 2],
    cpu_secs: [f64; 2],
    live_actors: [u64; 2],
    redis_used: u64,
    keys: u64,
    keys_without_ttl: u64,
    /// Calls answered / failed so far.
    ok: u64,
    failed: u64,
}

/// Keys by kind.
async fn key_kinds(redis: &Redis) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for key in redis.keys_matching("*").await {
        let kind = if let Some(rest) = key.strip_prefix("mcp:{") {
            let tail = rest.split_once("}:").map_or("", |(_, t)| t);
            let tail = tail.split(':').next().unwrap_or("");
            format!("mcp:{{sid}}:{tail}")
        } else if key.starts_with("mcp:replica:") {
            "mcp:replica:<id>".to_owned()
        } else {
            key
        };
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

async fn keyspace(redis: &Redis) -> (u64, u64) {
    let info = redis.info(&["keyspace"]).await;
    let db0 = info.get("db0").cloned().unwrap_or_default();
    let field = |name: &str| {
        db0.split(',')
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("keys"), field("expires"))
}

/// Keeps a standalone stream open, resuming it on the other replica when it drops.
fn hold_stream(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    sid: String,
    mut replica: usize,
    first: reqwest::Response,
    stop: CancellationToken,
    reconnects: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sse = fleet::Sse::new(first);
        let mut last = "0-0".to_owned();
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                n = sse.next(Duration::from_secs(60)) => n,
            };
            match next {
                Next::Event(e) => {
                    if let Some(id) = e.id {
                        last = id;
                    }
                }
                Next::Timeout => {}
                Next::Ended | Next::Broken(_) => loop {
                    reconnects.fetch_add(1, Ordering::Relaxed);
                    replica = 1 - replica;
                    let rb = fleet::get(&http, &urls[replica], &sid, Some(&last));
                    if let Ok(res) = fleet::send_ok(rb, "resume GET").await {
                        sse = fleet::Sse::new(res);
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                },
            }
        }
    })
}

struct Soak {
    sessions: usize,
    rate: u64,
    secs: u64,
    create_secs: f64,
    samples: Vec<Sample>,
    kinds: Vec<(f64, BTreeMap<String, u64>)>,
    results: Vec<(f32, f32, bool)>,
    not_sent: u64,
    first_errors: Vec<String>,
    reconnects: u64,
    /// After the load: (seconds, DBSIZE, session keys) every second, the time the last session
    /// key went, the keys left, and RSS of the replicas at the end.
    expiry: Vec<(f64, u64, u64)>,
    expired_after: Option<f64>,
    left: BTreeMap<String, u64>,
    rss_end_kib: [u64; 2],
    last_call_to_stop: f64,
    limits: String,
}

async fn soak() -> Soak {
    let sessions_n = setting("SOAK_SESSIONS", 10_000) as usize;
    let rate = setting("SOAK_RATE", 200);
    let secs = setting("SOAK_SECS", 600);
    let limits = fleet::ensure_open_files(4 * (MAX_IN_FLIGHT + GET_STREAMS) as u64 + 1024);
    let bin = support::server_binary();
    let redis = Redis::start().await;
    let env = vec![
        ("REDIS_URL", redis.url()),
        ("SESSION_IDLE_TIMEOUT_SECS", IDLE_TIMEOUT_SECS.to_string()),
        (
            "MCP_HIVE__SSE__CLOSED_STREAM_RETENTION_SECS",
            RETENTION_SECS.to_string(),
        ),
    ];
    let replicas = [
        Server::start(&bin, &env).await,
        Server::start(&bin, &env).await,
    ];
    let urls: Arc<Vec<String>> = Arc::new(replicas.iter().map(|r| r.mcp.clone()).collect());
    let http = support::http_client();
    eprintln!("soak: creating {sessions_n} sessions");
    let start = Instant::now();
    let (a, b) = tokio::join!(
        support::create_sessions(&http, &urls[0], sessions_n / 2, 16),
        support::create_sessions(&http, &urls[1], sessions_n - sessions_n / 2, 16),
    );
    let create_secs = start.elapsed().as_secs_f64();
    // Interleave, so that consecutive sessions were created on different replicas.
    let sessions: Arc<Vec<String>> =
        Arc::new(a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect());
    let stop_streams = CancellationToken::new();
    let reconnects = Arc::new(AtomicU64::new(0));
    let mut holders = Vec::new();
    for (i, sid) in sessions.iter().take(GET_STREAMS).enumerate() {
        let replica = i % 2;
        let res = support::open_stream(&http, &urls[replica], sid)
            .await
            .expect("open a GET stream");
        holders.push(hold_stream(
            http.clone(),
            Arc::clone(&urls),
            sid.clone(),
            replica,
            res,
            stop_streams.clone(),
            Arc::clone(&reconnects),
        ));
    }
    eprintln!("soak: {secs} s of load at {rate} calls/s");
    let stop_load = CancellationToken::new();
    let load_start = Instant::now();
    let (results, load) = fleet::steady_load(
        http.clone(),
        Arc::clone(&urls),
        Arc::clone(&sessions),
        rate,
        MAX_IN_FLIGHT,
        stop_load.clone(),
    );
    let mut samples = Vec::new();
    let mut kinds = Vec::new();
    let mut next_sample = load_start;
    let mut sample_no = 0u64;
    while load_start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep_until(next_sample.into()).await;
        next_sample += SAMPLE_EVERY;
        let (keys, expires) = keyspace(&redis).await;
        let (ok, failed) = {
            let r = results.calls.lock();
            let ok = r.iter().filter(|x| x.2).count() as u64;
            (ok, r.len() as u64 - ok)
        };
        let s = Sample {
            t: load_start.elapsed().as_secs_f64(),
            rss_kib: [replicas[0].rss_kib(), replicas[1].rss_kib()],
            cpu_secs: [replicas[0].cpu_secs(), replicas[1].cpu_secs()],
            live_actors: [
                replicas[0].live_actors(&http).await,
                replicas[1].live_actors(&http).await,
            ],
            redis_used: redis.used_memory().await,
            keys,
            keys_without_ttl: keys.saturating_sub(expires),
            ok,
            failed,
        };
        eprintln!(
            "  t={:>5.0} s rss {} / {} KiB, actors {} / {}, redis {:.1} MiB, {} keys ({} without TTL), {} ok, {} failed",
            s.t,
            s.rss_kib[0],
            s.rss_kib[1],
            s.live_actors[0],
            s.live_actors[1],
            s.redis_used as f64 / 1048576.0,
            s.keys,
            s.keys_without_ttl,
            s.ok,
            s.failed
        );
        samples.push(s);
        if sample_no % 6 == 0 {
            kinds.push((load_start.elapsed().as_secs_f64(), key_kinds(&redis).await));
        }
        sample_no += 1;
    }
    stop_load.cancel();
    let not_sent = load.await.expect("the load task");
    let stopped = Instant::now();
    let last_call_to_stop = (stopped - load_start).as_secs_f64() - secs as f64;
    stop_streams.cancel();
    for h in holders {
        let _ = h.await;
    }
    kinds.push((load_start.elapsed().as_secs_f64(), key_kinds(&redis).await));
    eprintln!("soak: load stopped; waiting for the TTLs");
    let mut expiry = Vec::new();
    let mut expired_after = None;
    let limit = Duration::from_secs(IDLE_TIMEOUT_SECS + RETENTION_SECS + 120);
    while stopped.elapsed() < limit {
        let session_keys = redis.keys_matching("mcp:{*").await.len() as u64;
        let t = stopped.elapsed().as_secs_f64();
        expiry.push((t, redis.dbsize().await, session_keys));
        if session_keys == 0 {
            expired_after = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The index goes with its last session (same expiry); give Redis's expiry cycle a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = key_kinds(&redis).await;
    let rss_end_kib = [replicas[0].rss_kib(), replicas[1].rss_kib()];
    let first_errors = results.first_errors.lock().clone();
    let results = std::mem::take(&mut *results.calls.lock());
    for r in replicas {
        r.stop().await;
    }
    redis.stop().await;
    Soak {
        sessions: sessions_n,
        rate,
        secs,
        create_secs,
        samples,
        kinds,
        results,
        not_sent,
        first_errors,
        reconnects: reconnects.load(Ordering::Relaxed),
        expiry,
        expired_after,
        left,
        rss_end_kib,
        last_call_to_stop,
        limits,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn render(s: &Soak) -> String {
    let mut out = String::new();
    let w = &mut out;
    let full = s.sessions == 10_000 && s.rate == 200 && s.secs == 600;
    if !full {
        let _ = writeln!(
            w,
            "**Non-default run** (`SOAK_SESSIONS={}`, `SOAK_RATE={}`, `SOAK_SECS={}`; the defaults are 10000, 200 and 600).\n",
            s.sessions, s.rate, s.secs
        );
    }
    let calls = s.results.len();
    let failed = s.results.iter().filter(|r| !r.2).count();
    let mut lat: Vec<f64> = s
        .results
        .iter()
        .filter(|r| r.2)
        .map(|r| f64::from(r.1))
        .collect();
    lat.sort_by(f64::total_cmp);
    let _ = writeln!(
        w,
        "{} sessions created in {:.1} s ({:.0} sessions/s, 2 replicas, 32 in flight); {} of them held a GET stream for the whole run ({} resumptions needed). {} calls in {} s ({:.1}/s; {} not sent because {MAX_IN_FLIGHT} were in flight), **{failed} failed**; latency p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms. {}.\n",
        s.sessions,
        s.create_secs,
        s.sessions as f64 / s.create_secs,
        GET_STREAMS,
        s.reconnects,
        calls,
        s.secs,
        calls as f64 / s.secs as f64,
        s.not_sent,
        fleet::quantile(&lat, 0.5),
        fleet::quantile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        s.limits,
    );
    if !s.first_errors.is_empty() {
        let _ = writeln!(w, "First failures: {}\n", s.first_errors.join("; "));
    }
    // Memory.
    let last_third = s.secs as f64 * 2.0 / 3.0;
    let _ = writeln!(
        w,
        "| Replica RSS | first sample | last sample | max | slope, whole run | slope after {WARM_UP_SECS:.0} s | slope over the last third (after {last_third:.0} s) | growth per 2 minutes |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
    for r in 0..2 {
        let points = |from: f64| -> Vec<(f64, f64)> {
            s.samples
                .iter()
                .filter(|x| x.t >= from)
                .map(|x| (x.t / 60.0, x.rss_kib[r] as f64))
                .collect()
        };
        let (first, last) = (
            s.samples.first().map_or(0, |x| x.rss_kib[r]),
            s.samples.last().map_or(0, |x| x.rss_kib[r]),
        );
        let max = s.samples.iter().map(|x| x.rss_kib[r]).max().unwrap_or(0);
        let windows: Vec<String> = s
            .samples
            .iter()
            .filter(|x| (x.t / 10.0).round() as u64 % 12 == 0)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|p| format!("{:+.1}", mib(p[1].rss_kib[r]) - mib(p[0].rss_kib[r])))
            .collect();
        let _ = writeln!(
            w,
            "| replica {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:+.0} KiB/min | {:+.0} KiB/min | **{:+.0} KiB/min** | {} MiB |",
            ["A", "B"][r],
            mib(first),
            mib(last),
            mib(max),
            fleet::slope(&points(0.0)),
            fleet::slope(&points(WARM_UP_SECS)),
            fleet::slope(&points(last_third)),
            windows.join(", "),
        );
    }
    let redis_pts: Vec<(f64, f64)> = s
        .samples
        .iter()
        .filter(|x| x.t >= WARM_UP_SECS)
        .map(|x| (x.t / 60.0, x.redis_used as f64 / 1024.0))
        .collect();
    let _ = writeln!(
        w,
        "\nRedis `used_memory`: {:.1} MiB first, {:.1} MiB last, {:.1} MiB max; slope after {WARM_UP_SECS:.0} s {:+.0} KiB/min.\n",
        s.samples
            .first()
            .map_or(0.0, |x| x.redis_used as f64 / 1048576.0),
        s.samples
            .last()
            .map_or(0.0, |x| x.redis_used as f64 / 1048576.0),
        s.samples.iter().map(|x| x.redis_used).max().unwrap_or(0) as f64 / 1048576.0,
        fleet::slope(&redis_pts),
    );
    // Samples once a minute.
    let _ = writeln!(
        w,
        "| t | RSS A | RSS B | live actors A / B | replica CPU A / B (per call, last minute) | Redis used_memory | keys (without TTL) | calls ok / failed (last minute) | p50 / p99 (last minute) |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    let mut prev: Option<&Sample> = None;
    for x in s
        .samples
        .iter()
        .filter(|x| (x.t / 10.0).round() as u64 % 6 == 0)
    {
        let window: Vec<f64> = {
            let from = prev.map_or(0.0, |p| p.t) as f32;
            let mut v: Vec<f64> = s
                .results
                .iter()
                .filter(|r| r.0 >= from && r.0 < x.t as f32 && r.2)
                .map(|r| f64::from(r.1))
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (ok, failed, cpu) = match prev {
            Some(p) => {
                let calls = (x.ok + x.failed - p.ok - p.failed).max(1) as f64;
                (
                    x.ok - p.ok,
                    x.failed - p.failed,
                    format!(
                        "{:.0} / {:.0} µs",
                        (x.cpu_secs[0] - p.cpu_secs[0]) * 1e6 / calls,
                        (x.cpu_secs[1] - p.cpu_secs[1]) * 1e6 / calls
                    ),
                )
            }
            None => (x.ok, x.failed, "-".to_owned()),
        };
        let _ = writeln!(
            w,
            "| {:.0} s | {:.1} MiB | {:.1} MiB | {} / {} | {cpu} | {:.1} MiB | {} ({}) | {ok} / {failed} | {:.1} / {:.1} ms |",
            x.t,
            mib(x.rss_kib[0]),
            mib(x.rss_kib[1]),
            x.live_actors[0],
            x.live_actors[1],
            x.redis_used as f64 / 1048576.0,
            x.keys,
            x.keys_without_ttl,
            fleet::quantile(&window, 0.5),
            fleet::quantile(&window, 0.99),
        );
        prev = Some(x);
    }
    let _ = writeln!(w, "\nKeys by kind (`SCAN`):\n");
    for (t, kinds) in s
        .kinds
        .iter()
        .step_by(2.max(s.kinds.len() / 4))
        .chain(s.kinds.last())
    {
        let _ = writeln!(
            w,
            "- {t:.0} s: {}",
            kinds
                .iter()
                .map(|(k, n)| format!("`{k}` {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Expiry.
    let _ = writeln!(
        w,
        "\nAfter the load stopped (the last call answered {:.1} s after the {} s; the GET streams then closed):\n",
        s.last_call_to_stop, s.secs
    );
    match s.expired_after {
        Some(t) => {
            let _ = writeln!(
                w,
                "- every session key was gone **{t:.0} s** after the load stopped (session TTL {IDLE_TIMEOUT_SECS} s after each session's last request or open connection; ended streams {RETENTION_SECS} s after their end)"
            );
        }
        None => {
            let _ = writeln!(
                w,
                "- **session keys were still there** {:.0} s after the load stopped",
                s.expiry.last().map_or(0.0, |e| e.0)
            );
        }
    }
    let points: Vec<String> = s
        .expiry
        .iter()
        .filter(|e| e.0.round() as u64 % 10 == 0 || e.2 == 0)
        .map(|e| format!("{:.0} s: {} keys ({} of sessions)", e.0, e.1, e.2))
        .collect();
    let _ = writeln!(w, "- DBSIZE every 10 s: {}", points.join("; "));
    let _ = writeln!(
        w,
        "- keys left at the end: {}",
        if s.left.is_empty() {
            "none".to_owned()
        } else {
            s.left
                .iter()
                .map(|(k, n)| format!("`{k}` {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let _ = writeln!(
        w,
        "- replica RSS at the end (idle, every actor hibernated): {:.1} MiB / {:.1} MiB",
        mib(s.rss_end_kib[0]),
        mib(s.rss_end_kib[1])
    );
    out
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let load = support::load_average();
    let s = soak().await;
    let report = format!("{}\n\n{}", fleet::run_header(started, &load), render(&s));
    println!("{report}");
    support::write_report("soak", &report);
}
