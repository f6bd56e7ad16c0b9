//! The Markdown of the soak: the run in one paragraph, replica and Redis memory with their
//! slopes, the samples once a minute, the keys by kind, and the expiry after the load.

use crate::fleet;
use crate::run::Soak;
use crate::sample::Sample;
use crate::{GET_STREAMS, IDLE_TIMEOUT_SECS, MAX_IN_FLIGHT, RETENTION_SECS, WARM_UP_SECS};
use std::fmt::Write as _;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) fn render(s: &Soak) -> String {
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
        "| Replica RSS | first sample | last sample | max | peaks after {WARM_UP_SECS:.0} s, by thirds | slope, whole run | slope after {WARM_UP_SECS:.0} s | slope over the last third (after {last_third:.0} s) | growth per 2 minutes |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    // The allocator gives memory back in steps, so RSS under steady load is a sawtooth: a slope
    // over a window ending on a climb reads as growth. Peaks that do not rise from one third of
    // the run to the next are what "flat" means; a leak raises every peak.
    let third = (s.secs as f64 - WARM_UP_SECS).max(0.0) / 3.0;
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
        let peaks: Vec<String> = (0..3)
            .map(|i| {
                let from = WARM_UP_SECS + third * i as f64;
                let to = if i == 2 { f64::MAX } else { from + third };
                s.samples
                    .iter()
                    .filter(|x| x.t >= from && x.t < to)
                    .map(|x| x.rss_kib[r])
                    .max()
                    .map_or_else(|| "–".to_string(), |k| format!("{:.1}", mib(k)))
            })
            .collect();
        let _ = writeln!(
            w,
            "| replica {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | **{} MiB** | {:+.0} KiB/min | {:+.0} KiB/min | {:+.0} KiB/min | {} MiB |",
            ["A", "B"][r],
            mib(first),
            mib(last),
            mib(max),
            peaks.join(", "),
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
