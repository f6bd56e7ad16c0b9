//! The fault benchmark: what clients see when a replica is SIGKILLed under a busy stream, and
//! when Redis goes away for a few seconds under load.
//!
//! Run with `cargo bench --bench faults` (about 8 minutes after the build), or one part:
//! `cargo bench --bench faults -- kill` / `-- redis` (`FAULTS_CYCLES=5` for a quick try of
//! `kill`). It starts its own `redis-server` and
//! release `mcp-hive serve` processes (see `benches/support`), prints the tables and rewrites
//! `BENCHMARKS.md` between `<!-- faults_kill:begin -->` / `<!-- faults_kill:end -->` and
//! `<!-- faults_redis:begin -->` / `<!-- faults_redis:end -->`.
//!
//! - `kill`: two replicas on one Redis, one session subscribed to `demo://clock` (a
//!   `notifications/resources/updated` per second on its standalone `GET` stream). 50 cycles: the
//!   client holds the `GET` stream and a `count` POST stream (100 steps 30 ms apart: a progress
//!   notification and a log message each) on one replica; after 0.4 to 2 s that replica is
//!   SIGKILLed; the client resumes both streams on the other replica with `Last-Event-ID` (the
//!   POST stream is taken over there and `count`, read-only, runs again), reads the call to its
//!   result, and the killed replica is started again. Across all cycles, the event ids of each
//!   stream must be consecutive: a missing sequence number is a lost event, a repeated one a
//!   duplicate. The progress steps of each call must arrive once each, in order, followed by the
//!   result.
//! - `redis`: Redis with an append-only file (so sessions outlive the restart), two replicas,
//!   200 sessions, 100 calls/s (alternately `tools/call` of `add`, answered over SSE, and
//!   `tools/list`, answered as JSON; sessions and replicas round-robin). After 10 s redis-server
//!   is killed, started again on the same port 5 s later, and the load goes on for 20 s. Every
//!   call is classified (ok, 503 with `Retry-After`, other status, connection error); reported:
//!   the window in which calls failed against the outage window, the time to the first success
//!   once Redis answers again, and `/readyz` of both replicas sampled every 100 ms.

#[path = "../fleet/mod.rs"]
mod fleet;
#[path = "../support/mod.rs"]
mod support;

mod kill;
mod reader;
mod redis_restart;
mod report;

use kill::kill_cycles;
use redis_restart::redis_restart;
use report::{render_kill, render_redis};
use std::time::Instant;

/// Kill cycles (`FAULTS_CYCLES` overrides it for a quick try).
fn cycles() -> usize {
    std::env::var("FAULTS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}
/// Steps of each `count` call, and milliseconds between them.
const COUNT_STEPS: u32 = 100;
const COUNT_INTERVAL_MS: u64 = 30;

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    if fleet::wants("kill") {
        let started = Instant::now();
        let load = support::load_average();
        eprintln!("faults: {} SIGKILL cycles", cycles());
        let k = kill_cycles(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load),
            render_kill(&k)
        );
        println!("{report}");
        support::write_report("faults_kill", &report);
    }
    if fleet::wants("redis") {
        let started = Instant::now();
        let load = support::load_average();
        eprintln!("faults: Redis restarted under load");
        let r = redis_restart(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load),
            render_redis(&r)
        );
        println!("{report}");
        support::write_report("faults_redis", &report);
    }
}
