//! Token buckets for rate limiting, as a store concern: [`RateDecision`] and the GCRA
//! (generic cell rate algorithm) arithmetic shared by the embedded store and, in Lua, by Redis
//! (`scripts::TAKE_TOKEN`). A key's state is one number, its theoretical arrival time (TAT):
//! a request is allowed when `TAT + interval - burst * interval <= now`, and then moves the TAT
//! one interval on. Keys are opaque strings: the store knows nothing of principals or MCP.

use std::time::Duration;

/// The outcome of taking a token from a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// A token was taken.
    Allowed,
    /// The bucket is empty; a token will be available after `retry_after`.
    Limited {
        /// Time until the next request would be allowed.
        retry_after: Duration,
    },
}

/// One GCRA step in milliseconds: the key's stored TAT (`None`: unknown key), the time now, the
/// rate (tokens per second) and the burst. Returns the decision and the new TAT to store (the
/// old one when limited).
pub fn gcra(tat_ms: Option<f64>, now_ms: f64, rate: f64, burst: u32) -> (RateDecision, f64) {
    let interval = 1000.0 / rate.max(f64::MIN_POSITIVE);
    let tat = tat_ms.map_or(now_ms, |t| t.max(now_ms));
    let new_tat = tat + interval;
    let allow_at = new_tat - f64::from(burst.max(1)) * interval;
    if allow_at > now_ms {
        let wait = Duration::from_secs_f64(((allow_at - now_ms) / 1000.0).min(86_400.0));
        return (RateDecision::Limited { retry_after: wait }, tat);
    }
    (RateDecision::Allowed, new_tat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let (mut tat, now) = (None, 1_000_000.0);
        for _ in 0..3 {
            let (d, t) = gcra(tat, now, 2.0, 3);
            assert_eq!(d, RateDecision::Allowed);
            tat = Some(t);
        }
        let (d, _) = gcra(tat, now, 2.0, 3);
        let RateDecision::Limited { retry_after } = d else {
            panic!("the fourth request of a burst of 3 must be limited");
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Half a second later (2 per second) one more token is there, and only one.
        let (d, t) = gcra(tat, now + 500.0, 2.0, 3);
        assert_eq!(d, RateDecision::Allowed);
        assert!(matches!(
            gcra(Some(t), now + 500.0, 2.0, 3).0,
            RateDecision::Limited { .. }
        ));
    }

    #[test]
    fn an_idle_key_refills_to_the_burst_and_no_more() {
        let (_, t) = gcra(None, 0.0, 1.0, 2);
        let mut tat = Some(t);
        let now = 60_000.0;
        for _ in 0..2 {
            let (d, t) = gcra(tat, now, 1.0, 2);
            assert_eq!(d, RateDecision::Allowed);
            tat = Some(t);
        }
        assert!(matches!(
            gcra(tat, now, 1.0, 2).0,
            RateDecision::Limited { .. }
        ));
    }
}
