//! Results as rows: a human table on stdout, JSON (`--json`), Markdown for BENCHMARKS.md, and
//! SVG plots (hand-written, no plotting dependency) under `benches/plots/`.

use crate::drive::Outcome;
use serde::Serialize;
use std::fmt::Write as _;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario (`calls`, `init`, `auth`, ...).
    pub scenario: String,
    /// System under test.
    pub system: String,
    /// Reply framing or variant (`json`, `sse`, `cached JWT`, ...).
    pub mode: String,
    /// Load model: `closed 16` (clients) or `open 5000/s`.
    pub model: String,
    /// Successful units per second.
    pub rate: f64,
    /// Latency percentiles (ms).
    pub p50_ms: f64,
    /// p90 (ms).
    pub p90_ms: f64,
    /// p99 (ms).
    pub p99_ms: f64,
    /// p99.9 (ms).
    pub p999_ms: f64,
    /// Maximum (ms).
    pub max_ms: f64,
    /// Failed units.
    pub errors: u64,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Server CPU µs per unit, when measured.
    pub cpu_us: Option<f64>,
    /// Open loop: the generator's dispatch lateness p99 (µs).
    pub dispatch_p99_us: Option<u64>,
}

impl Row {
    /// A row from an outcome.
    pub fn new(scenario: &str, system: &str, mode: &str, o: &Outcome, clients: usize) -> Self {
        let model = match o.target_rate {
            Some(r) => format!("open {r:.0}/s"),
            None => format!("closed {clients}"),
        };
        Self {
            scenario: scenario.into(),
            system: system.into(),
            mode: mode.into(),
            model,
            rate: o.rate(),
            p50_ms: o.ms(0.50),
            p90_ms: o.ms(0.90),
            p99_ms: o.ms(0.99),
            p999_ms: o.ms(0.999),
            max_ms: o.max_ms(),
            errors: o.errors,
            first_error: o.first_error.clone(),
            cpu_us: o.cpu_us_per_op(),
            dispatch_p99_us: o.dispatch_p99_us,
        }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

/// A fixed-width table for the terminal.
pub fn text_table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<30} {:<14} {:<13} {:>9} {:>7} {:>7} {:>7} {:>7} {:>8} {:>6} {:>7}",
        "scenario",
        "system",
        "mode",
        "model",
        "rate/s",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "errors",
        "cpu µs"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<8} {:<30} {:<14} {:<13} {:>9.0} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.2} {:>6} {:>7}",
            r.scenario,
            r.system,
            r.mode,
            r.model,
            r.rate,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            r.errors,
            opt(r.cpu_us, 1)
        );
        if let Some(e) = &r.first_error {
            let e: String = e.chars().take(200).collect();
            let _ = writeln!(out, "         first error: {e}");
        }
    }
    out.push_str("latencies in ms; cpu µs = server CPU time per unit\n");
    out
}

/// A Markdown table of rows.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| System | Mode | Load | Rate (/s) | p50 | p90 | p99 | p99.9 | max | Errors | Server CPU/unit |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | **{:.0}** | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} |",
            r.system,
            r.mode,
            r.model,
            r.rate,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            r.errors,
            r.cpu_us
                .map_or_else(|| "–".into(), |c| format!("{c:.0} µs"))
        );
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart: one bar per `(label, value)`, values annotated.
pub fn bar_chart_svg(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let (left, width, bar_h, gap, top) = (330.0, 420.0, 18.0, 6.0, 40.0);
    let max = bars.iter().map(|b| b.1).fold(1.0, f64::max);
    let height = top + bars.len() as f64 * (bar_h + gap) + 30.0;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">{t}</text>
"##,
        w = left + width + 110.0,
        t = esc(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let w = (value / max * width).max(1.0);
        let _ = writeln!(
            svg,
            r##"<text x="{lx}" y="{ty}" text-anchor="end">{l}</text><rect x="{left}" y="{y}" width="{w:.1}" height="{bar_h}" fill="#3b6ea8"/><text x="{vx:.1}" y="{ty}">{value:.0} {u}</text>"##,
            lx = left - 8.0,
            ty = y + 13.0,
            l = esc(label),
            vx = left + w + 6.0,
            u = esc(unit)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A latency-percentile chart: one polyline per series over p50, p90, p99, p99.9 and max, on a
/// logarithmic latency axis.
pub fn percentile_svg(title: &str, series: &[(String, [f64; 5])]) -> String {
    let (left, top, width, height) = (60.0, 40.0, 520.0, 300.0);
    let labels = ["p50", "p90", "p99", "p99.9", "max"];
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1)
        .filter(|v| *v > 0.0)
        .collect();
    let lo = all
        .iter()
        .copied()
        .fold(f64::MAX, f64::min)
        .max(0.01)
        .log10()
        .floor();
    let hi = all
        .iter()
        .copied()
        .fold(0.01, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let y_of = |ms: f64| top + height - (ms.max(0.01).log10() - lo) / (hi - lo) * height;
    let x_of = |i: usize| left + i as f64 * width / 4.0;
    let colors = [
        "#3b6ea8", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f", "#2c4d75",
    ];
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">{t}</text>
"##,
        w = left + width + 300.0,
        h = top + height + 40.0,
        t = esc(title)
    );
    let mut decade = lo;
    while decade <= hi {
        let y = y_of(10f64.powf(decade));
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{v} ms</text>"##,
            x2 = left + width,
            tx = left - 6.0,
            ty = y + 4.0,
            v = 10f64.powf(decade)
        );
        decade += 1.0;
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<text x="{x:.1}" y="{y}" text-anchor="middle">{l}</text>"##,
            x = x_of(i),
            y = top + height + 18.0
        );
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let color = colors[k % colors.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"##,
            points.join(" ")
        );
        let ly = top + 10.0 + k as f64 * 18.0;
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/><text x="{tx}" y="{ty}">{n}</text>"##,
            x = left + width + 20.0,
            y = ly - 10.0,
            tx = left + width + 38.0,
            ty = ly,
            n = esc(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
