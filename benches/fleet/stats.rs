//! Statistics of the reports: quantiles (nearest rank), distributions in ms, least-squares
//! slope.

use super::*;

/// The `p` quantile (0..=1, nearest rank) of sorted values.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Sorted copy.
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// `p50 / p99 / max` of durations in milliseconds, formatted.
pub fn distribution_ms(values: &[f64]) -> String {
    let s = sorted(values);
    format!(
        "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (min {:.0} ms, n = {})",
        quantile(&s, 0.5),
        quantile(&s, 0.99),
        s.last().copied().unwrap_or(f64::NAN),
        s.first().copied().unwrap_or(f64::NAN),
        s.len()
    )
}

/// Least-squares slope of `y` over `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}
