//! The session lifecycle benchmark: what a session costs while it sleeps and while it streams,
//! how fast sessions are created, and how fast a stream resumes on another replica after the
//! replica that held it was killed.
//!
//! Run with `cargo bench --bench lifecycle` (about 12 minutes after the build), or name parts:
//! `cargo bench --bench lifecycle -- memory heap streams init churn resume` (`LIFECYCLE_TRIALS=5`
//! for a quick try of `resume`). It starts its own
//! `redis-server` and release `mcp-hive serve` processes (see `benches/support`), prints the
//! tables and rewrites the parts of `BENCHMARKS.md` between `<!-- lifecycle:begin -->` /
//! `<!-- lifecycle:end -->` (memory, heap, streams, init, churn) and `<!-- resume:begin -->` /
//! `<!-- resume:end -->`.
//!
//! Parts:
//!
//! - `memory`: replica RSS (`VmRSS`) per hibernated session. `ACTOR_IDLE_SECS=1`; 200 warm-up
//!   sessions hibernate, then two batches of 5000 sessions (16 in flight) are created and left to
//!   hibernate (`/readyz` `live_actors` = 0); the RSS delta of each batch / 5000, embedded store
//!   and Redis, and Redis `used_memory` / keys per session. The first batch's delta includes what
//!   the allocator keeps after the peak of live actors; the second batch reuses that memory, so
//!   its delta is the memory that stays per hibernated session.
//! - `heap`: the same batches against a server running *inside* the benchmark process (the
//!   library's `Application`, Redis store), whose global allocator counts live heap bytes: heap
//!   per hibernated session and per live actor, exactly, whatever the allocator keeps; and the
//!   process RSS before and after `malloc_trim(0)`, which tells the allocator's share of the RSS.
//! - `streams`: replica RSS per idle open standalone SSE stream (1000 sessions with live actors,
//!   then one `GET` stream each).
//! - `init`: `initialize` + `notifications/initialized` per second against one replica on Redis,
//!   with 1, 16 and 64 sessions being created at once (3000 sessions each).
//! - `churn`: the soak's load pattern, faster, with the in-process replica's heap counted: it and
//!   an external replica share Redis; 2000 sessions get a call every 10 s (200 calls/s, half
//!   `tools/call` over SSE, half `tools/list` as JSON), the replica alternating per visit, and
//!   actors hibernate after 5 s idle, so nearly every call rehydrates its session. Live heap and
//!   RSS every 10 s for 5 minutes: a leak shows in the heap, allocator fragmentation only in the
//!   RSS.
//! - `resume`: 50 trials on two replicas and one Redis. A session on replica A runs `count`
//!   (150 steps, 20 ms apart: a progress notification and a log message per step, an in-flight
//!   read-only tool call) on a POST stream; the client reads it up to a progress step between 5
//!   and 14, drops the connection, A goes on storing events for 200 ms and is SIGKILLed; the
//!   client at once sends `GET` with `Last-Event-ID` to replica B. Measured: reconnect → first
//!   replayed event (events A stored after the client's last one), kill → B owns the stream
//!   (its runner record, polled in Redis every 10 ms), and kill → the first event the takeover
//!   produced (an id above the last one A stored). The replayed ids must continue the client's.
//!   A is then started again and the roles swap.

#[path = "../fleet/mod.rs"]
mod fleet;
#[path = "../support/mod.rs"]
mod support;

mod churn;
mod counting;
mod heap;
mod in_process;
mod init;
mod memory;
mod report;
mod resume;
mod streams;

use churn::churn;
use heap::heap;
use init::init_rate;
use memory::hibernated;
use report::{render_memory, render_resume};
use resume::resume;
use std::time::Instant;
use streams::stream_memory;
use support::Redis;

/// Sessions per memory batch.
const SESSIONS: usize = 5000;
/// Warm-up sessions before the memory baseline.
const WARM_SESSIONS: usize = 200;
/// Requests in flight while creating sessions.
const SETUP_CONCURRENCY: usize = 16;

fn store_label(redis: Option<&Redis>) -> &'static str {
    if redis.is_some() { "Redis" } else { "embedded" }
}

fn server_env(
    redis: Option<&Redis>,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> =
        extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    if let Some(r) = redis {
        env.push(("REDIS_URL", r.url()));
    }
    env
}

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    let started = Instant::now();
    let load_before = support::load_average();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    let redis = Redis::start().await;

    let mut hibernation = Vec::new();
    if fleet::wants("memory") {
        for store in [None, Some(&redis)] {
            step(&format!(
                "memory per hibernated session, {}",
                store_label(store)
            ));
            hibernation.push(hibernated(&bin, store).await);
        }
    }
    let heap = if fleet::wants("heap") {
        step("live heap of an in-process server");
        Some(heap(&redis).await)
    } else {
        None
    };
    let streams = if fleet::wants("streams") {
        step("memory per open SSE stream");
        Some(stream_memory(&bin, &redis).await)
    } else {
        None
    };
    let init = if fleet::wants("init") {
        step("initialize rate");
        init_rate(&bin, &redis).await
    } else {
        Vec::new()
    };
    let churn = if fleet::wants("churn") {
        step("live heap under churn");
        Some(churn(&bin, &redis).await)
    } else {
        None
    };
    redis.stop().await;
    let memory_ran = !hibernation.is_empty()
        || heap.is_some()
        || streams.is_some()
        || !init.is_empty()
        || churn.is_some();
    if memory_ran {
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load_before),
            render_memory(
                &hibernation,
                heap.as_ref(),
                streams.as_ref(),
                &init,
                churn.as_ref()
            )
        );
        println!("{report}");
        support::write_report("lifecycle", &report);
    }
    if fleet::wants("resume") {
        let resume_started = Instant::now();
        let load_before = support::load_average();
        step("resume after SIGKILL");
        let r = resume(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(resume_started, &load_before),
            render_resume(&r)
        );
        println!("{report}");
        support::write_report("resume", &report);
    }
}
