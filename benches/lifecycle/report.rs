//! The Markdown of the lifecycle benchmark: the memory table (memory, heap, streams, init) with
//! the goals and raw numbers, the churn paragraph, and the resume table.

use crate::churn::{CHURN_RATE, CHURN_SECS, CHURN_SESSIONS, Churn};
use crate::fleet;
use crate::heap::Heap;
use crate::init::{INIT_SESSIONS, InitRate};
use crate::memory::Hibernation;
use crate::resume::Resume;
use crate::streams::{STREAMS, Streams};
use crate::{SESSIONS, SETUP_CONCURRENCY};
use std::fmt::Write as _;

/// Goal: replica KiB per hibernated session (Redis store).
const GOAL_HIBERNATED_KIB: f64 = 4.0;
/// Goal: Redis bytes per idle session.
const GOAL_REDIS_BYTES: f64 = 1024.0;

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn render_churn(c: &Churn) -> String {
    let mut out = String::new();
    let w = &mut out;
    let mib = |b: f64| b / 1024.0 / 1024.0;
    let late: Vec<&(f64, i64, u64, u64)> = c.samples.iter().filter(|s| s.0 >= 60.0).collect();
    let heap_pts: Vec<(f64, f64)> = late
        .iter()
        .map(|s| (s.0 / 60.0, s.1 as f64 / 1024.0))
        .collect();
    let rss_pts: Vec<(f64, f64)> = late.iter().map(|s| (s.0 / 60.0, s.2 as f64)).collect();
    let (first, last) = (late.first(), c.samples.last());
    let actors: Vec<u64> = late.iter().map(|s| s.3).collect();
    let _ = writeln!(
        w,
        "\n**Churn** ({CHURN_SESSIONS} sessions, {CHURN_RATE} calls/s for {CHURN_SECS} s, two replicas, nearly every call rehydrating its session; {} calls, {} failed{}): from 60 s to the end, live heap of the in-process replica (and the benchmark's client) {:.1} → {:.1} MiB (max {:.1}), slope **{:+.1} KiB/min**; process RSS {:.1} → {:.1} MiB, slope {:+.1} KiB/min; live actors {}..{}.",
        c.calls,
        c.failed,
        if c.first_errors.is_empty() {
            String::new()
        } else {
            format!(": {}", c.first_errors.join("; "))
        },
        first.map_or(0.0, |s| mib(s.1 as f64)),
        last.map_or(0.0, |s| mib(s.1 as f64)),
        late.iter().map(|s| mib(s.1 as f64)).fold(0.0, f64::max),
        fleet::slope(&heap_pts),
        first.map_or(0.0, |s| s.2 as f64 / 1024.0),
        last.map_or(0.0, |s| s.2 as f64 / 1024.0),
        fleet::slope(&rss_pts),
        actors.iter().min().copied().unwrap_or(0),
        actors.iter().max().copied().unwrap_or(0),
    );
    let _ = writeln!(
        w,
        "Samples (s: heap MiB / RSS MiB): {}",
        c.samples
            .iter()
            .step_by(3)
            .map(|s| format!(
                "{:.0}: {:.1} / {:.1}",
                s.0,
                mib(s.1 as f64),
                s.2 as f64 / 1024.0
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

pub(crate) fn render_memory(
    hibernation: &[Hibernation],
    heap: Option<&Heap>,
    streams: Option<&Streams>,
    init: &[InitRate],
    churn: Option<&Churn>,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    if !hibernation.is_empty() || heap.is_some() || streams.is_some() {
        let _ = writeln!(w, "| Measurement | Store | Result | Goal | |");
        let _ = writeln!(w, "|---|---|---|---|---|");
    }
    for h in hibernation {
        let (goal, status) = if h.redis.is_some() {
            (
                format!("≤ {GOAL_HIBERNATED_KIB} KiB"),
                verdict(h.kib(0).max(h.kib(1)) <= GOAL_HIBERNATED_KIB),
            )
        } else {
            ("none (sessions live in the process)".to_owned(), "")
        };
        let _ = writeln!(
            w,
            "| Replica RSS per hibernated session, first batch of {SESSIONS} (second batch) | {} | **{:.2} KiB** ({:.2} KiB) | {goal} | {status} |",
            h.store,
            h.kib(0),
            h.kib(1),
        );
    }
    if let Some(hp) = heap {
        let _ = writeln!(
            w,
            "| Live heap per hibernated session, in-process server (first batch; second batch) | Redis | **{:.0} B** ({:.0} B) | ≤ {GOAL_HIBERNATED_KIB} KiB | {} |",
            hp.hibernated_bytes(0),
            hp.hibernated_bytes(1),
            verdict(
                hp.hibernated_bytes(0).max(hp.hibernated_bytes(1)) <= GOAL_HIBERNATED_KIB * 1024.0
            ),
        );
        let _ = writeln!(
            w,
            "| Live heap per live session actor, in-process server (first batch; second batch) | Redis | {:.2} KiB ({:.2} KiB) | | |",
            hp.live_actor_bytes(0) / 1024.0,
            hp.live_actor_bytes(1) / 1024.0,
        );
    }
    if let Some(s) = streams {
        let _ = writeln!(
            w,
            "| Replica RSS per idle open SSE stream ({STREAMS} streams, actor already live) | Redis | {:.2} KiB | | |",
            s.kib_per_stream()
        );
        let _ = writeln!(
            w,
            "| Replica RSS per session with a live actor and an open SSE stream | Redis | {:.2} KiB | | |",
            s.kib_per_session_and_stream()
        );
    }
    for h in hibernation {
        if let Some(bytes) = h.redis_bytes_per_session() {
            let _ = writeln!(
                w,
                "| Redis `used_memory` per idle session ({SESSIONS} sessions) | Redis | {bytes:.0} B | ≤ {GOAL_REDIS_BYTES:.0} B | {} |",
                verdict(bytes <= GOAL_REDIS_BYTES)
            );
        }
    }
    for h in hibernation {
        let _ = writeln!(
            w,
            "| `initialize` + `initialized` per second ({SESSIONS} sessions, {SETUP_CONCURRENCY} in flight, one replica) | {} | {:.0} sessions/s | | |",
            h.store,
            SESSIONS as f64 / h.create_secs[0]
        );
    }
    if !init.is_empty() {
        let _ = writeln!(
            w,
            "\n| `initialize` + `initialized`, one replica, Redis ({INIT_SESSIONS} sessions) | sessions/s | latency p50 | p99 |"
        );
        let _ = writeln!(w, "|---|---|---|---|");
        for r in init {
            let _ = writeln!(
                w,
                "| {} in flight | **{:.0}** | {:.2} ms | {:.2} ms |",
                r.concurrency, r.per_sec, r.p50_ms, r.p99_ms
            );
        }
    }
    let _ = writeln!(w, "\nRaw numbers:\n");
    for h in hibernation {
        let _ = write!(
            w,
            "- {} store: RSS {} KiB (warm) → {} KiB ({SESSIONS} hibernated sessions) → {} KiB ({} hibernated sessions), peak {} KiB; batches created in {:.1} s and {:.1} s, all hibernated {:.1} s and {:.1} s later",
            h.store,
            h.rss_kib[0],
            h.rss_kib[1],
            h.rss_kib[2],
            2 * SESSIONS,
            h.peak_rss_kib,
            h.create_secs[0],
            h.create_secs[1],
            h.hibernate_secs[0],
            h.hibernate_secs[1],
        );
        if let Some((before, after, keys_before, keys_after)) = h.redis {
            let _ = write!(
                w,
                "; Redis used_memory {before} → {after} B, keys {keys_before} → {keys_after}"
            );
        }
        let _ = writeln!(w);
    }
    if let Some(hp) = heap {
        let mib = |b: i64| b as f64 / 1024.0 / 1024.0;
        let _ = writeln!(
            w,
            "- in-process server (bench process, Redis): live heap {:.1} MiB (warm) → {:.1} MiB ({} live actors) → {:.1} MiB ({SESSIONS} hibernated) → {:.1} MiB ({} live actors) → {:.1} MiB ({} hibernated); process RSS {} → {} → {} KiB after the batches, {} KiB after `malloc_trim(0)`",
            mib(hp.warm.heap),
            mib(hp.live[0].0.heap),
            hp.live[0].1,
            mib(hp.hibernated[0].heap),
            mib(hp.live[1].0.heap),
            hp.live[1].1,
            mib(hp.hibernated[1].heap),
            2 * SESSIONS,
            hp.warm.rss_kib,
            hp.hibernated[0].rss_kib,
            hp.hibernated[1].rss_kib,
            hp.trimmed.rss_kib,
        );
    }
    if let Some(s) = streams {
        let _ = writeln!(
            w,
            "- SSE streams: RSS {} KiB (warm) → {} KiB ({STREAMS} live sessions) → {} KiB ({STREAMS} open streams); {} live actors",
            s.rss_start_kib, s.rss_sessions_kib, s.rss_streams_kib, s.live_actors
        );
    }
    if let Some(c) = churn {
        out.push_str(&render_churn(c));
    }
    out
}

pub(crate) fn render_resume(r: &Resume) -> String {
    let mut out = String::new();
    let w = &mut out;
    let replay: Vec<f64> = r.trials.iter().map(|t| t.replay_ms).collect();
    let adopt: Vec<f64> = r.trials.iter().filter_map(|t| t.adopt_ms).collect();
    let first_new: Vec<f64> = r.trials.iter().map(|t| t.first_new_ms).collect();
    let catch_up: Vec<f64> = r
        .trials
        .iter()
        .map(|t| t.first_new_ms - t.adopt_ms.unwrap_or(f64::NAN))
        .filter(|v| v.is_finite())
        .collect();
    let replayed: Vec<f64> = r.trials.iter().map(|t| t.replayed as f64).collect();
    let skipped: Vec<f64> = r.trials.iter().map(|t| t.skipped as f64).collect();
    let _ = writeln!(
        w,
        "{} trials, {} failed{}.\n",
        r.trials.len() + r.failures.len(),
        r.failures.len(),
        if r.failures.is_empty() {
            String::new()
        } else {
            format!(": {}", r.failures.join("; "))
        }
    );
    let _ = writeln!(
        w,
        "| After SIGKILL of the replica holding the stream | Distribution |"
    );
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| `GET` with `Last-Event-ID` on the other replica → first replayed event | **{}** |",
        fleet::distribution_ms(&replay)
    );
    let _ = writeln!(
        w,
        "| Kill → the other replica owns the stream (runner record replaced; lease 3 s, renewed every 1 s, checked every 1 s) | {} |",
        fleet::distribution_ms(&adopt)
    );
    let _ = writeln!(
        w,
        "| Kill → first new event of the in-flight read-only `count` call (taken over and run again) | **{}** |",
        fleet::distribution_ms(&first_new)
    );
    let _ = writeln!(
        w,
        "| of which the rerun catching up (owning the stream → first new event; the rerun drops the notifications already stored, at the tool's own pace) | {} |",
        fleet::distribution_ms(&catch_up)
    );
    let s = fleet::sorted(&replayed);
    let k = fleet::sorted(&skipped);
    let _ = writeln!(
        w,
        "\nEvents replayed per trial (stored after the client's last event, before the kill): median {:.0}, min {:.0}, max {:.0}; notifications the rerun dropped: median {:.0}. Replayed and new event ids always continued the client's last id by one (checked per event).",
        fleet::quantile(&s, 0.5),
        s.first().copied().unwrap_or(0.0),
        s.last().copied().unwrap_or(0.0),
        fleet::quantile(&k, 0.5),
    );
    out
}
