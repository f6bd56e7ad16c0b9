//! What `load all` concludes: medians over rounds, ratios measured round by round, the goals
//! of issue 8 with met/missed, the stream table, and the Markdown section of BENCHMARKS.md.

use crate::drive::Outcome;
use crate::report::Row;
use crate::streams::StreamsOutcome;
use serde::Serialize;
use std::fmt::Write as _;

/// The full-speed runs of one system, one per round.
pub struct Series {
    /// Key used by the goals (`echo-json`, `hive-emb-sse`, ...).
    pub key: &'static str,
    /// System name for tables.
    pub system: String,
    /// Reply framing.
    pub mode: String,
    /// One outcome per round.
    pub rounds: Vec<Outcome>,
}

impl Series {
    /// The round with the median rate.
    pub fn median(&self) -> &Outcome {
        let mut idx: Vec<usize> = (0..self.rounds.len()).collect();
        idx.sort_by(|a, b| self.rounds[*a].rate().total_cmp(&self.rounds[*b].rate()));
        &self.rounds[idx[idx.len() / 2]]
    }
}

/// The median over rounds of `a`'s rate / `b`'s rate in the same round.
pub fn ratio(a: &Series, b: &Series) -> f64 {
    let mut r: Vec<f64> = a
        .rounds
        .iter()
        .zip(&b.rounds)
        .map(|(x, y)| x.rate() / y.rate().max(1e-9))
        .collect();
    r.sort_by(f64::total_cmp);
    r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One goal and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    /// What is compared.
    pub name: String,
    /// The measured value.
    pub measured: f64,
    /// `≥` or `≤`.
    pub op: &'static str,
    /// The threshold.
    pub target: f64,
    /// How the value reads (`×`, ` ms`).
    pub unit: &'static str,
    /// Whether the goal is met.
    pub met: bool,
}

impl Goal {
    /// A "measured ≥ target" goal.
    pub fn at_least(name: &str, measured: f64, target: f64) -> Self {
        Self {
            name: name.into(),
            measured,
            op: "≥",
            target,
            unit: "×",
            met: measured >= target,
        }
    }

    /// A "measured ≤ target" goal, in ms.
    pub fn at_most_ms(name: &str, measured: f64, target: f64) -> Self {
        Self {
            name: name.into(),
            measured,
            op: "≤",
            target,
            unit: " ms",
            met: measured <= target,
        }
    }

    /// "met" or "**missed**".
    pub fn verdict(&self) -> &'static str {
        if self.met { "met" } else { "**missed**" }
    }
}

/// The goals as a Markdown table.
pub fn goals_table(goals: &[Goal]) -> String {
    let mut out = String::from("| Goal | Measured | Target | |\n|---|---|---|---|\n");
    for g in goals {
        let digits = if g.unit == "×" { 2 } else { 3 };
        let _ = writeln!(
            out,
            "| {} | **{:.digits$}{}** | {} {}{} | {} |",
            g.name,
            g.measured,
            g.unit,
            g.op,
            g.target,
            g.unit,
            g.verdict()
        );
    }
    out
}

/// The stream measurement of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct StreamsRow {
    /// System under test.
    pub system: String,
    /// Open streams.
    pub consumers: usize,
    /// Notifications published.
    pub notifies: usize,
    /// (notification, consumer) pairs delivered within their round's 5 s.
    pub delivered: u64,
    /// Pairs delivered later than that.
    pub late: u64,
    /// Pairs never delivered.
    pub missing: u64,
    /// Delivery latency p50 / p99 / max (ms).
    pub delivery_ms: [f64; 3],
    /// Last consumer's latency p50 / p99 (ms).
    pub last_ms: [f64; 2],
    /// First-to-last spread p50 / p99 (ms).
    pub spread_ms: [f64; 2],
    /// Seconds to open the sessions and streams.
    pub setup_secs: f64,
    /// Server CPU per delivered notification (µs) over the rounds, when probed.
    pub server_cpu_us: Option<f64>,
    /// The generator's CPU per delivered notification (µs) over the rounds.
    pub generator_cpu_us: f64,
}

impl StreamsRow {
    /// A row from an outcome.
    pub fn new(system: &str, o: &StreamsOutcome) -> Self {
        let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Self {
            system: system.into(),
            consumers: o.consumers,
            notifies: o.notifies,
            delivered: o.delivered,
            late: o.late,
            missing: o.missing,
            delivery_ms: [
                ms(&o.delivery, 0.5),
                ms(&o.delivery, 0.99),
                o.delivery.max() as f64 / 1000.0,
            ],
            last_ms: [ms(&o.last, 0.5), ms(&o.last, 0.99)],
            spread_ms: [ms(&o.spread, 0.5), ms(&o.spread, 0.99)],
            setup_secs: o.setup_secs,
            server_cpu_us: o
                .server_cpu_secs
                .map(|s| s * 1e6 / o.delivered.max(1) as f64),
            generator_cpu_us: o.generator_cpu_secs * 1e6 / o.delivered.max(1) as f64,
        }
    }
}

/// Stream rows as a Markdown table (also readable on a terminal).
pub fn streams_table(rows: &[StreamsRow]) -> String {
    let mut out = String::from(
        "| System | Streams | Notifications | Delivered | Late (> 5 s) | Missing | Delivery p50 / p99 / max (ms) | Last consumer p50 / p99 (ms) | Spread first→last p50 / p99 (ms) | CPU per delivery: server / generator (µs) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {} / {:.1} |",
            r.system,
            r.consumers,
            r.notifies,
            r.delivered,
            r.late,
            r.missing,
            r.delivery_ms[0],
            r.delivery_ms[1],
            r.delivery_ms[2],
            r.last_ms[0],
            r.last_ms[1],
            r.spread_ms[0],
            r.spread_ms[1],
            r.server_cpu_us
                .map_or_else(|| "n/a".to_owned(), |us| format!("{us:.1}")),
            r.generator_cpu_us
        );
    }
    out
}

/// Per-round rates of every series, for the raw-numbers list.
pub fn rounds_list(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        let rates: Vec<String> = s
            .rounds
            .iter()
            .map(|o| format!("{:.0}", o.rate()))
            .collect();
        let errors: u64 = s.rounds.iter().map(|o| o.errors).sum();
        let _ = writeln!(
            out,
            "- {} ({}): {} calls/s{}",
            s.system,
            s.mode,
            rates.join(", "),
            if errors > 0 {
                format!(", {errors} errors")
            } else {
                String::new()
            }
        );
    }
    out
}

/// Rows of the median round of every series.
pub fn median_rows(series: &[Series], clients: usize) -> Vec<Row> {
    series
        .iter()
        .map(|s| Row::new("calls", &s.system, &s.mode, s.median(), clients))
        .collect()
}
