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
//!
//! Modules: [`round_trips`] (1), [`throughput`] (2 and 3), [`report`].

#[path = "../support/mod.rs"]
mod support;

mod report;
mod round_trips;
mod throughput;

use report::{Results, render};
use round_trips::RoundTrips;
use throughput::{Throughput, throughput};

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
            round_trips.push(round_trips::round_trips(&bin, &redis, mode, verify).await);
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
