//! Helpers of the lifecycle, soak and faults benchmarks (beside `support`, which they also use):
//! an SSE reader that keeps event ids and arrival times, raw MCP requests (streamed POSTs, GETs
//! with `Last-Event-ID`), a `redis-server` that can be stopped and started again on the same
//! port, the open-files limit, and statistics (percentiles, least-squares slope).
//!
//! Like `support`, a failure while setting up aborts the benchmark with a message. Modules:
//! [`sse`], [`requests`], [`steady`], [`redis_proc`], [`stats`]; the open-files limit and the
//! report header are here.

// Each benchmark uses a part of this module, so some items and re-exports go unused in each.
#![allow(dead_code, unused_imports)]

pub mod redis_proc;
pub mod requests;
pub mod sse;
pub mod stats;
pub mod steady;

pub use redis_proc::*;
pub use requests::*;
pub use sse::*;
pub use stats::*;
pub use steady::*;

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
