//! The Redis store benchmark: what a replica costs Redis, and what Redis costs a replica.
//!
//! Run with `cargo bench --bench redis_store` (about 2 minutes after the build). It starts its
//! own `redis-server` (free loopback port, temporary `--dir`, `--save "" --appendonly no`) and
//! the release `mcp-hive` binary (`$MCP_HIVE_BIN`, else `target/release/mcp-hive`, which Cargo
//! builds for this benchmark), measures, prints a markdown table and writes it into
//! `BENCHMARKS.md` between `<!-- redis_store:begin -->` and `<!-- redis_store:end -->`.
//!
//! Measurements, all in one run (each phase on a fresh server, Redis flushed in between):
//!
//! 1. Redis round trips per warm `tools/call`: 2000 sequential calls on one live session, in
//!    `json` and `auto` (SSE) response modes, with `session.verify_each_request` at its default
//!    (true) and false. Round trips are Redis's socket reads (`INFO stats`
//!    `total_reads_processed`: a pipeline or an `EVALSHA` is one) less the benchmark's own.
//!    `INFO commandstats` also counts the commands a Lua script runs, so a `MONITOR` feed between
//!    two `ECHO` markers names the commands the replica sends and those run inside scripts.
//!    The actor is kept on its HTTP worker (`session.relocate_after = 0`): the client's
//!    connection pool sometimes sends a run of calls over a second connection, and the default
//!    setting moves the actor to it, which rehydrates the session (the raw numbers count moves).
//! 2. `tools/call` throughput: 16 clients, each with its own session and HTTP keep-alive
//!    connection, calling `add` for 10 s after a 1 s warm-up; embedded vs Redis (and Redis with
//!    `verify_each_request=false`), `json` and `auto` modes.
//! 3. What one replica's calls cost the others: the Redis rows of 2 again, with three more
//!    replicas on the same Redis that serve nothing. Their CPU time during the measured calls
//!    (summed, per call of the serving replica) and the `PUBLISH` commands per call
//!    (`commandstats`, scripts included) show whether the work of a call grows with the size
//!    of the deployment.
//!
//! Replica memory per hibernated session and per open SSE stream, Redis memory per session and
//! the initialize rate are measured by `benches/lifecycle/`.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Monitor, MonitorCounts, Redis, Server};

/// Sequential calls of the round-trip measurement.
const RT_CALLS: u64 = 2000;
/// Concurrent clients of the throughput measurement.
const CLIENTS: usize = 16;
/// Measured time per throughput configuration.
const RUN: Duration = Duration::from_secs(10);
/// Unmeasured warm-up per throughput configuration.
const WARMUP: Duration = Duration::from_secs(1);

/// Replicas beside the serving one in measurement 3.
const IDLE_REPLICAS: usize = 3;

/// Goal: Redis commands per warm `tools/call`.
const GOAL_RT: f64 = 1.0;

/// `protocol.response_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Auto,
}

impl Mode {
    fn env(self) -> String {
        match self {
            Mode::Json => "json",
            Mode::Auto => "auto",
        }
        .to_owned()
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Json => "json",
            Mode::Auto => "auto (SSE)",
        }
    }
}

/// The server environment for a store and a mode, plus `extra` settings.
fn server_env(
    redis: Option<&Redis>,
    mode: Mode,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![("MCP_HIVE__PROTOCOL__RESPONSE_MODE", mode.env())];
    if let Some(r) = redis {
        env.push(("REDIS_URL", r.url()));
    }
    env.extend_from_slice(extra);
    env
}

/// The settings of a `session.verify_each_request` value (the default is true).
fn verify_env(verify: bool) -> Vec<(&'static str, String)> {
    if verify {
        vec![]
    } else {
        vec![("MCP_HIVE__SESSION__VERIFY_EACH_REQUEST", "false".to_owned())]
    }
}

fn store_label(redis: Option<&Redis>) -> &'static str {
    if redis.is_some() { "Redis" } else { "embedded" }
}

// ---------------------------------------------------------------------------------------------
// 1. Redis commands per warm tools/call
// ---------------------------------------------------------------------------------------------

struct RoundTrips {
    mode: Mode,
    /// `session.verify_each_request` (the default is true).
    verify: bool,
    /// Socket reads by Redis on the replica's connections (`total_reads_processed` delta without
    /// the benchmark's own commands): network round trips.
    round_trips: u64,
    /// From MONITOR, between the markers.
    monitor: MonitorCounts,
    /// `INFO commandstats` delta, without the measurement's own commands.
    stats: BTreeMap<String, u64>,
    /// `used_memory` and key-count deltas over the measured calls.
    memory_delta: i64,
    keys_delta: i64,
    /// The session's keys at the end: count, total bytes, and the largest (name, bytes).
    session_keys: (usize, u64, Option<(String, u64)>),
    /// Moves of the session's actor to another HTTP worker during the measured calls (each
    /// rehydrates the session from Redis).
    relocations: u64,
}

impl RoundTrips {
    fn per_call(&self) -> f64 {
        self.round_trips as f64 / RT_CALLS as f64
    }

    fn sent_per_call(&self) -> f64 {
        self.monitor.client.values().sum::<u64>() as f64 / RT_CALLS as f64
    }

    fn stats_per_call(&self) -> f64 {
        self.stats.values().sum::<u64>() as f64 / RT_CALLS as f64
    }

    fn label(&self) -> String {
        if self.verify {
            self.mode.label().to_owned()
        } else {
            format!("{}, `verify_each_request=false`", self.mode.label())
        }
    }
}

async fn round_trips(bin: &Path, redis: &Redis, mode: Mode, verify: bool) -> RoundTrips {
    redis.flushall().await;
    // The actor stays on its HTTP worker: reqwest's pool sends runs of calls over a second
    // connection now and then, and with the default `relocate_after` the actor followed each
    // run (8 to 20 moves in 2000 calls, each rehydrating the session: not a warm call).
    let mut env = verify_env(verify);
    env.push(("MCP_HIVE__SESSION__RELOCATE_AFTER", "0".to_owned()));
    let server = Server::start(bin, &server_env(Some(redis), mode, &env)).await;
    let http = support::http_client();
    let sid = support::initialize(&http, &server.mcp)
        .await
        .expect("initialize the round-trip session");
    // Warm: actor live, scripts loaded, connections open.
    for id in 1..=50 {
        support::call_add(&http, &server.mcp, &sid, id)
            .await
            .expect("warm-up tools/call");
    }
    let relocations_before = server.actor_relocations(&http).await;
    let memory_before = (redis.used_memory().await, redis.dbsize().await);
    let monitor = redis.monitor().await;
    let before = redis.counters().await;
    redis.echo(Monitor::BEGIN).await;
    for id in 0..RT_CALLS {
        support::call_add(&http, &server.mcp, &sid, 1000 + id)
            .await
            .expect("measured tools/call");
    }
    // Let work spawned after the last reply reach Redis.
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.echo(Monitor::END).await;
    let after = redis.counters().await;
    let monitor = monitor.finish().await;
    let relocations = server.actor_relocations(&http).await - relocations_before;
    let memory_delta = redis.used_memory().await as i64 - memory_before.0 as i64;
    let keys_delta = redis.dbsize().await as i64 - memory_before.1 as i64;
    let keys = redis.keys_matching(&format!("*{sid}*")).await;
    let (mut total, mut largest) = (0, None::<(String, u64)>);
    for key in &keys {
        let bytes = redis.memory_usage(key).await;
        total += bytes;
        if largest.as_ref().is_none_or(|(_, b)| bytes > *b) {
            largest = Some((key.clone(), bytes));
        }
    }
    server.stop().await;
    let stats = after
        .calls
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "echo" | "monitor"))
        .filter_map(|(name, n)| {
            let delta = n - before.calls.get(&name).copied().unwrap_or(0);
            (delta > 0).then_some((name, delta))
        })
        .collect();
    // Our own reads in between: the two ECHOs and the second INFO.
    let round_trips = (after.reads - before.reads).saturating_sub(3);
    RoundTrips {
        mode,
        verify,
        round_trips,
        monitor,
        stats,
        memory_delta,
        keys_delta,
        session_keys: (keys.len(), total, largest),
        relocations,
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Throughput
// ---------------------------------------------------------------------------------------------

struct Throughput {
    store: &'static str,
    /// `session.verify_each_request` (only matters with Redis).
    verify: bool,
    mode: Mode,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time of the replica and of Redis per measured call, in µs.
    server_cpu_us: f64,
    redis_cpu_us: Option<f64>,
    /// Replicas running beside the serving one, serving nothing (measurement 3).
    idle: usize,
    /// Their CPU time per measured call, summed, in µs.
    idle_cpu_us: f64,
    /// `PUBLISH` commands per measured call (with Redis).
    publish_per_call: Option<f64>,
}

impl Throughput {
    fn store_label(&self) -> String {
        if self.verify {
            self.store.to_owned()
        } else {
            format!("{}, `verify_each_request=false`", self.store)
        }
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Measures `tools/call` throughput on one replica, with `idle` more replicas on the same
/// store serving nothing.
async fn throughput(
    bin: &Path,
    redis: Option<&Redis>,
    mode: Mode,
    verify: bool,
    idle: usize,
) -> Throughput {
    let store = store_label(redis);
    if let Some(r) = redis {
        r.flushall().await;
    }
    let env = server_env(redis, mode, &verify_env(verify));
    let server = Server::start(bin, &env).await;
    let mut others = Vec::with_capacity(idle);
    for _ in 0..idle {
        others.push(Server::start(bin, &env).await);
    }
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let http = support::http_client();
        let sid = support::initialize(&http, &server.mcp)
            .await
            .expect("initialize a throughput session");
        clients.push((http, sid));
    }
    let start = Instant::now();
    let (measure_from, until) = (start + WARMUP, start + WARMUP + RUN);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|(http, sid)| {
            let url = server.mcp.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0u64, None);
                let mut id = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    id += 1;
                    let result = support::call_add(&http, &url, &sid, id).await;
                    if sent < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = (server.cpu_secs(), cpu_of(redis).await);
    let idle_before: f64 = others.iter().map(Server::cpu_secs).sum();
    let publish_before = publishes(redis).await;
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for worker in workers {
        let (l, e, f) = worker.await.expect("a throughput worker panicked");
        latencies.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let secs = measure_from.elapsed().as_secs_f64();
    let calls = (latencies.len() as u64 + errors).max(1) as f64;
    let server_cpu_us = (server.cpu_secs() - cpu_before.0) * 1e6 / calls;
    let redis_cpu_us = match (cpu_of(redis).await, cpu_before.1) {
        (Some(after), Some(before)) => Some((after - before) * 1e6 / calls),
        _ => None,
    };
    let idle_cpu_us =
        (others.iter().map(Server::cpu_secs).sum::<f64>() - idle_before) * 1e6 / calls;
    let publish_per_call = match (publishes(redis).await, publish_before) {
        (Some(after), Some(before)) => Some(after.saturating_sub(before) as f64 / calls),
        _ => None,
    };
    server.stop().await;
    for other in others {
        other.stop().await;
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Throughput {
        store,
        verify,
        mode,
        requests: latencies.len() as u64,
        errors,
        first_error,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        server_cpu_us,
        redis_cpu_us,
        idle,
        idle_cpu_us,
        publish_per_call,
    }
}

/// `PUBLISH` commands Redis ran so far (`commandstats`, scripts' included).
async fn publishes(redis: Option<&Redis>) -> Option<u64> {
    let r = redis?;
    Some(
        r.counters()
            .await
            .calls
            .get("publish")
            .copied()
            .unwrap_or(0),
    )
}

async fn cpu_of(redis: Option<&Redis>) -> Option<f64> {
    match redis {
        Some(r) => Some(r.cpu_secs().await),
        None => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

struct Results {
    round_trips: Vec<RoundTrips>,
    throughput: Vec<Throughput>,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(name, n)| format!("{name} {:.2}", *n as f64 / RT_CALLS as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(r: &Results, header: &str) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{header}\n");
    let _ = writeln!(w, "| # | Measurement | Store | Mode | Result | Goal | |");
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for rt in &r.round_trips {
        let per_call = rt.per_call();
        let _ = writeln!(
            w,
            "| 1 | Redis round trips per warm `tools/call` ({RT_CALLS} sequential; commands sent / `commandstats` calls) | Redis | {} | **{per_call:.2}** ({:.2} / {:.2}) | ≤ {GOAL_RT} | {} |",
            rt.label(),
            rt.sent_per_call(),
            rt.stats_per_call(),
            // Judged as displayed: a stray background read in 2000 calls is not a miss.
            verdict((per_call * 100.0).round() / 100.0 <= GOAL_RT),
        );
    }
    for rt in r.round_trips.iter().filter(|rt| rt.verify) {
        let _ = writeln!(
            w,
            "| 1 | Redis memory kept per warm `tools/call` (`used_memory` delta / {RT_CALLS}; new keys per call) | Redis | {} | {:.0} B ({:.2} keys) | | |",
            rt.label(),
            rt.memory_delta as f64 / RT_CALLS as f64,
            rt.keys_delta as f64 / RT_CALLS as f64,
        );
    }
    for t in r.throughput.iter().filter(|t| t.idle == 0) {
        let errors = if t.errors > 0 {
            format!(", **{} errors**", t.errors)
        } else {
            String::new()
        };
        let redis_cpu = t
            .redis_cpu_us
            .map_or_else(String::new, |us| format!(", Redis {us:.0} µs"));
        let _ = writeln!(
            w,
            "| 2 | `tools/call` throughput, {CLIENTS} clients, {} s | {} | {} | **{:.0} req/s**; p50 {:.2} ms, p99 {:.2} ms; CPU per call: replica {:.0} µs{redis_cpu}{errors} | | |",
            RUN.as_secs(),
            t.store_label(),
            t.mode.label(),
            t.rps(),
            t.p50_ms,
            t.p99_ms,
            t.server_cpu_us,
        );
    }
    for t in r.throughput.iter().filter(|t| t.idle > 0) {
        let alone = r
            .throughput
            .iter()
            .find(|a| a.idle == 0 && a.store == t.store && a.mode == t.mode && a.verify == t.verify)
            .map_or(String::new(), |a| {
                format!(" ({:.2} of the rate alone)", t.rps() / a.rps())
            });
        let _ = writeln!(
            w,
            "| 3 | `tools/call` on one replica, {} more replicas on the same Redis serving nothing: CPU they spend per call, `PUBLISH` per call | {} | {} | idle replicas **{:.1} µs** per call together; `PUBLISH` {:.2}; {:.0} req/s{alone}; CPU per call: replica {:.0} µs, Redis {:.0} µs | | |",
            t.idle,
            t.store_label(),
            t.mode.label(),
            t.idle_cpu_us,
            t.publish_per_call.unwrap_or(0.0),
            t.rps(),
            t.server_cpu_us,
            t.redis_cpu_us.unwrap_or(0.0),
        );
    }
    for verify in [true, false] {
        for mode in [Mode::Json, Mode::Auto] {
            let rps = |store: &str| {
                r.throughput
                    .iter()
                    .find(|t| {
                        t.mode == mode && t.store == store && t.verify == verify && t.idle == 0
                    })
                    .map(Throughput::rps)
            };
            let embedded = r
                .throughput
                .iter()
                .find(|t| t.mode == mode && t.store == "embedded" && t.idle == 0)
                .map(Throughput::rps);
            if let (Some(redis), Some(embedded)) = (rps("Redis"), embedded) {
                let what = if verify {
                    "Redis"
                } else {
                    "Redis (`verify_each_request=false`)"
                };
                let _ = writeln!(
                    w,
                    "| 2 | Throughput ratio {what} / embedded | | {} | **{:.2}** | | |",
                    mode.label(),
                    redis / embedded
                );
            }
        }
    }
    let _ = writeln!(
        w,
        "\nRedis commands per warm `tools/call`, by command (from `MONITOR` and `INFO commandstats`):\n"
    );
    let _ = writeln!(
        w,
        "| Mode | Round trips | Sent by the replica | Run inside Lua scripts | `commandstats` delta |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|");
    for rt in &r.round_trips {
        let _ = writeln!(
            w,
            "| {} | {:.2} ({} in {RT_CALLS} calls) | {} | {} | {} |",
            rt.label(),
            rt.per_call(),
            rt.round_trips,
            counts(&rt.monitor.client),
            counts(&rt.monitor.lua),
            counts(&rt.stats)
        );
    }
    let _ = writeln!(w, "\nRaw numbers:\n");
    for rt in &r.round_trips {
        let (count, total, largest) = &rt.session_keys;
        let _ = write!(
            w,
            "- round trips, {}: after {} calls the session has {count} keys in Redis, {:.1} KiB",
            rt.label(),
            RT_CALLS + 50,
            *total as f64 / 1024.0
        );
        if let Some((key, bytes)) = largest {
            let _ = write!(w, "; largest `{key}` {:.1} KiB", *bytes as f64 / 1024.0);
        }
        let _ = writeln!(
            w,
            "; the actor moved between HTTP workers {} times during the measured calls",
            rt.relocations
        );
    }
    for t in &r.throughput {
        let beside = if t.idle > 0 {
            format!(", {} idle replicas beside", t.idle)
        } else {
            String::new()
        };
        let _ = write!(
            w,
            "- throughput {} / {}{beside}: {} calls in {:.2} s",
            t.store_label(),
            t.mode.label(),
            t.requests,
            t.secs
        );
        if let Some(e) = &t.first_error {
            let _ = write!(w, "; first error: `{e}`");
        }
        let _ = writeln!(w);
    }
    out
}

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    let started = Instant::now();
    let load_before = support::load_average();
    let redis = Redis::start().await;
    let step = |what: &str| eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());

    let mut round_trips = Vec::new();
    for verify in [true, false] {
        for mode in [Mode::Json, Mode::Auto] {
            step(&format!(
                "1. Redis round trips per tools/call, {}, verify_each_request={verify}",
                mode.label()
            ));
            round_trips.push(self::round_trips(&bin, &redis, mode, verify).await);
        }
    }
    let mut tput = Vec::new();
    for mode in [Mode::Json, Mode::Auto] {
        for (store, verify) in [(None, true), (Some(&redis), true), (Some(&redis), false)] {
            step(&format!(
                "2. throughput, {} / {}, verify_each_request={verify}",
                store_label(store),
                mode.label()
            ));
            tput.push(throughput(&bin, store, mode, verify, 0).await);
        }
    }
    for mode in [Mode::Json, Mode::Auto] {
        step(&format!(
            "3. throughput, Redis / {}, {IDLE_REPLICAS} idle replicas beside",
            mode.label()
        ));
        tput.push(throughput(&bin, Some(&redis), mode, true, IDLE_REPLICAS).await);
    }
    let redis_version = support::redis_version();
    redis.stop().await;

    let run = support::RunIdentity::now();
    let header = format!(
        "Last run: {}, commit `{}`{}, {}; Redis {redis_version}; run took {:.0} s; \
         1-minute load average {load_before} before the run, {} after (above the CPU count, \
         other work competed for the cores and throughput numbers are noisy).",
        run.date,
        run.commit,
        run.dirty_note(),
        support::machine(),
        started.elapsed().as_secs_f64(),
        support::load_average(),
    );
    let report = render(
        &Results {
            round_trips,
            throughput: tput,
        },
        &header,
    );
    println!("{report}");
    support::write_report("redis_store", &report);
}
