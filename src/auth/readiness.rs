//! Readiness of token checks: whether the authorization server endpoint a replica's verifier
//! depends on (the JWKS in JWT mode, the RFC 7662 introspection endpoint otherwise) answers.
//!
//! `/readyz` asks on every probe; [`ReadinessCache`] answers from the last result for
//! [`CHECK_EVERY`] and lets one probe at a time through, so a probe storm never becomes a
//! request storm against the IdP. Whether the auth server counts for readiness at all is the
//! operator's choice (`auth.ready_requires_server`): one IdP outage makes every replica unready.

use super::Verify;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one reachability result is reused.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The last reachability result of one verifier.
pub struct ReadinessCache {
    verifier: Arc<dyn Verify>,
    required: bool,
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl ReadinessCache {
    /// Checks `verifier`; with `required == false` every check passes without a call.
    pub fn new(verifier: Arc<dyn Verify>, required: bool) -> Self {
        Self {
            verifier,
            required,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// `Ok` when token checks can run, else why not.
    pub async fn check(&self) -> Result<(), String> {
        if !self.required {
            return Ok(());
        }
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref()
            && at.elapsed() < CHECK_EVERY
        {
            return result.clone();
        }
        let result = self.verifier.reachable().await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "authorization server unreachable: replica not ready");
        }
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Rejected, claims::Verified};
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Flaky {
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Verify for Flaky {
        async fn verify(&self, _token: &str) -> Result<Verified, Rejected> {
            Err(Rejected::Unavailable("unused".into()))
        }
        async fn reachable(&self) -> Result<(), String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n == 0 { Err("down".into()) } else { Ok(()) }
        }
    }

    #[tokio::test]
    async fn results_are_reused_within_the_check_period() {
        let flaky = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
        });
        let cache = ReadinessCache::new(flaky.clone(), true);
        assert_eq!(cache.check().await, Err("down".to_owned()));
        assert_eq!(cache.check().await, Err("down".to_owned()));
        assert_eq!(
            flaky.calls.load(Ordering::SeqCst),
            1,
            "second probe answered from cache"
        );
        let off = ReadinessCache::new(flaky.clone(), false);
        assert_eq!(off.check().await, Ok(()));
        assert_eq!(
            flaky.calls.load(Ordering::SeqCst),
            1,
            "switched off: no call"
        );
    }
}
