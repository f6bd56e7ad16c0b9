//! The Markdown of the faults benchmark: the checks and timings of the `kill` cycles, and the
//! timeline, failures by kind and recovery of the `redis` restart.

use crate::COUNT_STEPS;
use crate::fleet;
use crate::kill::Kill;
use crate::redis_restart::{Call, Outcome, RATE_PER_SEC, RedisRestart};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

pub(crate) fn render_kill(k: &Kill) -> String {
    let mut out = String::new();
    let w = &mut out;
    let ms = |v: Vec<f64>| fleet::distribution_ms(&v);
    let post_first: Vec<f64> = k.cycles.iter().filter_map(|c| c.post_first_ms).collect();
    let post_done: Vec<f64> = k.cycles.iter().filter_map(|c| c.post_done_ms).collect();
    let get_first: Vec<f64> = k.cycles.iter().filter_map(|c| c.get_first_ms).collect();
    let resumed = k.cycles.iter().filter(|c| c.after > 0).count();
    let before = fleet::sorted(&k.cycles.iter().map(|c| c.before as f64).collect::<Vec<_>>());
    let after = fleet::sorted(&k.cycles.iter().map(|c| c.after as f64).collect::<Vec<_>>());
    let ok = |v: u64| if v == 0 { "met" } else { "**missed**" };
    let _ = writeln!(
        w,
        "{} SIGKILL cycles; {resumed} POST streams were taken over mid-call (the others had already answered when the kill came). Events per `count` stream received before the kill: median {:.0} (min {:.0}, max {:.0}); after it, on the other replica: median {:.0}.\n",
        k.cycles.len(),
        fleet::quantile(&before, 0.5),
        before.first().copied().unwrap_or(0.0),
        before.last().copied().unwrap_or(0.0),
        fleet::quantile(&after, 0.5),
    );
    let _ = writeln!(w, "| Check | Count | Goal | |");
    let _ = writeln!(w, "|---|---|---|---|");
    let _ = writeln!(
        w,
        "| POST stream events received ({} calls) | {} | | |",
        k.cycles.len(),
        k.post_events
    );
    let _ = writeln!(
        w,
        "| POST stream event ids lost / duplicated | **{} / {}** | 0 / 0 | {} |",
        k.post_lost,
        k.post_dup,
        ok(k.post_lost + k.post_dup)
    );
    let _ = writeln!(
        w,
        "| Progress steps lost / duplicated (each call: 1..{COUNT_STEPS} once, in order) | **{} / {}** | 0 / 0 | {} |",
        k.progress_lost,
        k.progress_dup,
        ok(k.progress_lost + k.progress_dup)
    );
    let _ = writeln!(
        w,
        "| Calls without their result | **{}** | 0 | {} |",
        k.bad_results,
        ok(k.bad_results)
    );
    let _ = writeln!(
        w,
        "| GET stream events received (clock, one per second, over the whole run) | {} | | |",
        k.get_events
    );
    let _ = writeln!(
        w,
        "| GET stream event ids lost / duplicated | **{} / {}** | 0 / 0 | {} |",
        k.get_lost,
        k.get_dup,
        ok(k.get_lost + k.get_dup)
    );
    let _ = writeln!(w, "\n| Timing | Distribution |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| Kill → first event on the resumed POST stream (replayed or new) | {} |",
        ms(post_first)
    );
    let _ = writeln!(
        w,
        "| Kill → the call's result on the resumed POST stream | {} |",
        ms(post_done)
    );
    let _ = writeln!(
        w,
        "| Kill → first event on the resumed GET stream (the clock ticks once a second) | {} |",
        ms(get_first)
    );
    let _ = writeln!(
        w,
        "| Restart of the killed replica (spawn → `/readyz` 200) | {} |",
        ms(k.restart_ms.clone())
    );
    if !k.notes.is_empty() {
        let _ = writeln!(w, "\nFindings:\n");
        for n in k.notes.iter().take(30) {
            let _ = writeln!(w, "- {n}");
        }
    }
    out
}

pub(crate) fn render_redis(r: &RedisRestart) -> String {
    let mut out = String::new();
    let w = &mut out;
    let at = |t: Instant| (t - r.start).as_secs_f64();
    let errors: Vec<&Call> = r
        .calls
        .iter()
        .filter(|c| c.outcome != Outcome::Ok)
        .collect();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for c in &errors {
        let kind = match &c.outcome {
            Outcome::Ok => unreachable!(),
            Outcome::Unavailable => "503 with Retry-After".to_owned(),
            Outcome::Status(s, retry) => {
                format!("HTTP {s}{}", if *retry { " with Retry-After" } else { "" })
            }
            Outcome::Transport => "no HTTP answer".to_owned(),
            Outcome::BadBody => "200 with an unexpected body".to_owned(),
        };
        *by_kind.entry(kind).or_default() += 1;
    }
    let first_error = errors.iter().map(|c| c.sent).min();
    let last_error = errors.iter().map(|c| c.done).max();
    let first_ok_after = r
        .calls
        .iter()
        .filter(|c| c.outcome == Outcome::Ok && c.done >= r.up)
        .map(|c| c.done)
        .min();
    let after_last_error: Vec<&Call> = r
        .calls
        .iter()
        .filter(|c| last_error.is_some_and(|l| c.sent > l))
        .collect();
    let outside: Vec<&&Call> = errors
        .iter()
        .filter(|c| c.done < r.down || c.sent > r.up + Duration::from_secs(5))
        .collect();
    let not_ready: Vec<f64> = r.ready.iter().filter(|s| !s.2).map(|s| at(s.1)).collect();
    let _ = writeln!(
        w,
        "Timeline (seconds from the start of the load): redis-server killed at **{:.2}**, answering again at **{:.2}** (outage {:.2} s: 5 s down plus its start and AOF load).\n",
        at(r.down),
        at(r.up),
        (r.up - r.down).as_secs_f64()
    );
    let _ = writeln!(w, "| Measurement | Result |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| Calls sent ({RATE_PER_SEC}/s, half `tools/call` over SSE, half `tools/list` as JSON) | {} ({} not sent: 400 already in flight) |",
        r.calls.len(),
        r.skipped
    );
    let _ = writeln!(
        w,
        "| Failed calls, by kind | {} |",
        if by_kind.is_empty() {
            "none".to_owned()
        } else {
            by_kind
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    match (first_error, last_error) {
        (Some(f), Some(l)) => {
            let _ = writeln!(
                w,
                "| Error window (first failed call sent → last failed call answered) | **{:.2} → {:.2}** ({:.2} s; outage {:.2} → {:.2}) |",
                at(f),
                at(l),
                (l - f).as_secs_f64(),
                at(r.down),
                at(r.up)
            );
        }
        _ => {
            let _ = writeln!(w, "| Error window | no call failed |");
        }
    }
    let _ = writeln!(
        w,
        "| Failed calls outside the outage (answered before the kill, or sent more than 5 s after Redis answered again) | **{}** |",
        outside.len()
    );
    if let Some(t) = first_ok_after {
        let _ = writeln!(
            w,
            "| Redis answering again → first successful call | **{:.0} ms** |",
            (t - r.up).as_secs_f64() * 1000.0
        );
    }
    if let Some(l) = last_error {
        let _ = writeln!(
            w,
            "| Redis answering again → last failed call answered | {:.0} ms |",
            (l.saturating_duration_since(r.up)).as_secs_f64() * 1000.0
        );
    }
    let ok_after = after_last_error
        .iter()
        .filter(|c| c.outcome == Outcome::Ok)
        .count();
    let _ = writeln!(
        w,
        "| Calls sent after the last failure that succeeded (full recovery, same sessions) | {ok_after} of {} |",
        after_last_error.len()
    );
    if let (Some(f), Some(l)) = (not_ready.first(), not_ready.last()) {
        let _ = writeln!(
            w,
            "| `/readyz` 503 (either replica, sampled every 100 ms) | {f:.2} → {l:.2} ({} samples) |",
            not_ready.len()
        );
    } else {
        let _ = writeln!(w, "| `/readyz` 503 | never |");
    }
    if let Some(c) = errors.iter().find(|c| c.outcome != Outcome::Unavailable) {
        let _ = writeln!(
            w,
            "\nFirst failure other than 503: `{:?}` `{}`",
            c.outcome, c.detail
        );
    }
    if let Some(c) = errors.iter().find(|c| c.outcome == Outcome::Unavailable) {
        let _ = writeln!(w, "\nA 503 body: `{}`", c.detail.trim());
    }
    out
}
