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
//!   kind (`SCAN`). Reported: first / last / max RSS, the peak RSS in each third of the run after
//!   the first 2 minutes (when every session has been visited twice and the number of live actors
//!   is steady; the allocator returns memory in steps, so steady RSS is a sawtooth and rising
//!   peaks, not a slope, are the sign of a leak), and the least-squares slopes (whole run, after
//!   the first 2 minutes, last third).
//! - After the load: the `GET` streams close, nothing else is sent, and `DBSIZE` and the session
//!   keys (`mcp:{*`) are polled every second until no session key is left; the keys that remain
//!   are listed (the replicas' liveness leases).

#[path = "../fleet/mod.rs"]
mod fleet;
#[path = "../support/mod.rs"]
mod support;

mod report;
mod run;
mod sample;
mod streams;

use report::render;
use run::soak;
use std::time::{Duration, Instant};

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

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let load = support::load_average();
    let s = soak().await;
    let report = format!("{}\n\n{}", fleet::run_header(started, &load), render(&s));
    println!("{report}");
    support::write_report("soak", &report);
}
