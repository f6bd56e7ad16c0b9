//! The goals of issue 8, judged from one `load all` run: throughput ratios against the echo and
//! the peers (each the median of ratios taken round by round), the cached-JWT ratio, the p99 at
//! half of each maximum rate, and the delivery p99 at 10,000 streams. The echo's own 10,000-
//! stream p99 is not a goal but the limit the others are read against, so it becomes a note.

use crate::report::Row;
use crate::scenarios::ECHO_STREAMS;
use crate::summary::{self, Goal, Series, StreamsRow};

/// Throughput goals: (name, system key, baseline key, least ratio).
const RATIOS: &[(&str, &str, &str, f64)] = &[
    (
        "mcp-hive embedded / echo, JSON",
        "emb-json",
        "echo-json",
        0.45,
    ),
    ("mcp-hive embedded / echo, SSE", "emb-sse", "echo-sse", 0.45),
    (
        "mcp-hive Redis / echo, JSON",
        "redis-json",
        "echo-json",
        0.35,
    ),
    ("mcp-hive Redis / echo, SSE", "redis-sse", "echo-sse", 0.35),
    (
        "mcp-hive embedded / rmcp (stateful, SSE)",
        "emb-sse",
        "rmcp-sse",
        1.5,
    ),
    (
        "mcp-hive embedded / TypeScript SDK, JSON",
        "emb-json",
        "ts-json",
        10.0,
    ),
    (
        "mcp-hive embedded / TypeScript SDK, SSE",
        "emb-sse",
        "ts-sse",
        10.0,
    ),
];

/// Most p99 (ms) at half of the maximum rate.
const HALF_RATE_P99_MS: f64 = 2.0;

/// Most delivery p99 (ms) with 10,000 open streams.
const STREAMS_P99_MS: f64 = 50.0;

fn find<'a>(series: &'a [Series], key: &str) -> Option<&'a Series> {
    series.iter().find(|s| s.key == key)
}

/// The goals of the run. `auth` is the auth rounds' series, no auth first and the cached JWT
/// second; `open` the fixed-rate rows by system key. A goal whose systems were not measured (a
/// peer that failed to install, say) is named in `notes` instead.
pub fn evaluate(
    series: &[Series],
    auth: &[Series],
    open: &[(&'static str, Row)],
    streams: &[StreamsRow],
    notes: &mut Vec<String>,
) -> Vec<Goal> {
    let mut goals = Vec::new();
    for &(name, system, baseline, target) in RATIOS {
        match (find(series, system), find(series, baseline)) {
            (Some(x), Some(y)) => goals.push(Goal::at_least(name, summary::ratio(x, y), target)),
            _ => notes.push(format!("goal not evaluated (a system is missing): {name}")),
        }
    }
    match auth {
        [none, jwt, ..] => goals.push(Goal::at_least(
            "JWT cached / no auth (mcp-hive embedded, JSON)",
            summary::ratio(jwt, none),
            0.9,
        )),
        _ => notes.push("goal not evaluated (the auth rounds are missing): cached JWT".into()),
    }
    for (key, row) in open {
        if key.starts_with("emb-") || key.starts_with("redis-") {
            goals.push(Goal::at_most_ms(
                &format!(
                    "p99 at half the maximum rate, {} ({})",
                    row.system, row.mode
                ),
                row.p99_ms,
                HALF_RATE_P99_MS,
            ));
        }
    }
    for row in streams.iter().filter(|r| r.consumers == 10_000) {
        if row.system == ECHO_STREAMS {
            notes.push(format!(
                "the fan-out limit of this machine and generator: the echo's broadcast to 10,000 \
                 streams has delivery p99 {:.1} ms (server CPU {} µs per delivery)",
                row.delivery_ms[1],
                row.server_cpu_us
                    .map_or_else(|| "n/a".to_owned(), |us| format!("{us:.1}"))
            ));
        } else {
            goals.push(Goal::at_most_ms(
                &format!("10,000 SSE streams, delivery p99, {}", row.system),
                row.delivery_ms[1],
                STREAMS_P99_MS,
            ));
        }
    }
    goals
}
