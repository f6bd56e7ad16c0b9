//! The generated part of BENCHMARKS.md's "Load generator and comparisons" section (between the
//! `load` markers): run header, goals, tables, plot links and raw per-round numbers.

use crate::report::{Row, markdown_table};
use crate::summary::{Goal, Series, StreamsRow, goals_table, rounds_list, streams_table};
use crate::support;
use std::fmt::Write as _;

/// Everything the section shows.
pub struct Parts<'a> {
    /// 1-minute load average before the run.
    pub load_before: String,
    /// Run time (s).
    pub secs: f64,
    /// Clients of the full-speed runs.
    pub clients: usize,
    /// Rounds.
    pub rounds: usize,
    /// Rounds of the auth runs.
    pub auth_rounds: usize,
    /// Measured seconds per run.
    pub run_secs: f64,
    /// The goals.
    pub goals: &'a [Goal],
    /// Full speed, median round.
    pub full: &'a [Row],
    /// Fixed rate.
    pub rate: &'a [Row],
    /// Sessions per second.
    pub init: &'a [Row],
    /// Auth.
    pub auth: &'a [Row],
    /// `add` next to slow calls held on the same session.
    pub held: &'a [Row],
    /// Streams.
    pub streams: &'a [StreamsRow],
    /// Per-round full-speed series.
    pub series: &'a [Series],
    /// Per-round auth series.
    pub auth_series: &'a [Series],
    /// Peer versions and anything left out.
    pub notes: &'a [String],
}

/// Renders the section.
pub fn section(p: Parts<'_>) -> String {
    let run = support::RunIdentity::now();
    let (date, redis) = (&run.date, support::redis_version());
    let revision = format!("commit `{}`{}", run.commit, run.dirty_note());
    let after = support::load_average();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let busy = after.parse::<f64>().is_ok_and(|a| a > cpus as f64)
        || p.load_before.parse::<f64>().is_ok_and(|a| a > cpus as f64);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Last run: {date}, {revision}, {}; Redis {redis}; 1-minute load average {} before \
         the run, {after} after{}; run took {:.0} s.\n",
        support::machine(),
        p.load_before,
        if busy {
            " (above the CPU count: other work shared the cores, absolute numbers are noisy; the \
             ratios, measured back to back round by round, much less so)"
        } else {
            ""
        },
        p.secs
    );
    for n in p.notes {
        let _ = writeln!(out, "- {n}");
    }
    let _ = writeln!(
        out,
        "\n**Goals** (each ratio: the median over {} rounds ({} for auth) of the ratio within a \
         round, where the two systems ran back to back):\n",
        p.rounds, p.auth_rounds
    );
    out.push_str(&goals_table(p.goals));
    let _ = writeln!(
        out,
        "\n**`tools/call` of `add` at full speed** ({} clients, each with its own session and \
         keep-alive connection; 1 s warm-up, {} s measured; the median of {} rounds; server CPU \
         per call from `/proc/<pid>/stat`):\n",
        p.clients, p.run_secs, p.rounds
    );
    out.push_str(&markdown_table(p.full));
    out.push_str("\n![tools/call throughput](benches/plots/load-throughput.svg)\n");
    let late = p
        .rate
        .iter()
        .filter_map(|r| r.dispatch_p99_us)
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\n**At a fixed arrival rate of half each system's maximum** (open loop, {} connections, \
         latency from the intended send time; the generator's own dispatch lateness, p99 over \
         the runs, was at most {late} µs):\n",
        2 * p.clients
    );
    out.push_str(&markdown_table(p.rate));
    out.push_str(
        "\n![latency percentiles at half the maximum rate](benches/plots/load-latency.svg)\n",
    );
    let _ = writeln!(
        out,
        "\n**New sessions per second** (`initialize` + `notifications/initialized`, {} clients):\n",
        p.clients
    );
    out.push_str(&markdown_table(p.init));
    let _ = writeln!(
        out,
        "\n**Auth** (mcp-hive, embedded store, JSON replies; the median of {} rounds; cached \
         rows: the same token on every call; the last row: a new RS256 token on every call, so \
         every call verifies a signature):\n",
        p.auth_rounds
    );
    out.push_str(&markdown_table(p.auth));
    let _ = writeln!(
        out,
        "\n**Slow calls held on one session** (`load inflight`: N calls of `count` sleeping on \
         one session, each on its own connection, while 4 connections call `add` on the same \
         session; mcp-hive, embedded store, JSON replies):\n"
    );
    out.push_str(&markdown_table(p.held));
    let _ = writeln!(
        out,
        "\n**Stream delivery** (`notify` → `notifications/resources/updated` on N open GET \
         streams; latency from the server's announcement to the consumer's read):\n"
    );
    out.push_str(&streams_table(p.streams));
    out.push_str("\nRaw per-round rates:\n\n");
    out.push_str(&rounds_list(p.series));
    out.push_str(&rounds_list(p.auth_series));
    out
}

/// Writes the two plots the section links to under `benches/plots/`: full-speed throughput per
/// system (`full`) and the latency percentiles at half of each maximum rate (`latency`: p50,
/// p90, p99, p99.9 and max in ms per system).
pub fn plots(
    throughput_title: &str,
    full: &[Row],
    latency: &[(String, [f64; 5])],
) -> Result<(), String> {
    let bars: Vec<(String, f64)> = full
        .iter()
        .map(|r| (format!("{} ({})", r.system, r.mode), r.rate))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/plots");
    std::fs::create_dir_all(&dir).map_err(|e| format!("create benches/plots: {e}"))?;
    let write = |name: &str, svg: String| {
        std::fs::write(dir.join(name), svg).map_err(|e| format!("write {name}: {e}"))
    };
    write(
        "load-throughput.svg",
        crate::report::bar_chart_svg(throughput_title, "calls/s", &bars),
    )?;
    write(
        "load-latency.svg",
        crate::report::percentile_svg(
            "tools/call latency at half of each maximum rate (open loop)",
            latency,
        ),
    )
}
