//! Per-key request rate limiting (`[rate_limit]`, off by default), free of HTTP: a token bucket
//! (GCRA) per key refilled at `requests_per_second` and holding `burst` tokens.
//!
//! - `local` backend: a `governor` keyed limiter in this replica's memory (idle keys are swept
//!   once a minute). N replicas behind a round-robin balancer allow about N times the rate.
//! - `store` backend: [`SessionStore::take_token`] on the shared store (Redis: one atomic Lua
//!   script per request under `<prefix>:rl:{<key>}`; the embedded store: the same arithmetic in
//!   memory), so every replica draws from one bucket per key. The key is hashed (SHA-256) before
//!   it reaches the store, which therefore never holds a principal's identity. When the store
//!   fails, the request is let through ([`Verdict::FailedOpen`]): an outage of Redis must not
//!   turn into an outage of the server.
//!
//! The HTTP side ([`crate::http::rate_limit`]) derives the key from the authenticated
//! principal (or the peer address) and turns [`Verdict::Limited`] into a 429.

use crate::config::{RateBackend, RateLimitSettings};
use crate::store::{RateDecision, SessionStore, StoreError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the local limiter forgets keys whose bucket is full again.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The outcome of one check.
#[derive(Debug)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// Refused; the key may try again after `retry_after`.
    Limited {
        /// Time until a token is available.
        retry_after: Duration,
    },
    /// The store could not answer; the request goes ahead.
    FailedOpen(StoreError),
}

/// A limiter setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// The rate or the burst is out of range.
    #[error("invalid rate limit: {0}")]
    Invalid(&'static str),
}

enum Backend {
    Local {
        limiter: DefaultKeyedRateLimiter<String>,
        last_sweep: Mutex<Instant>,
    },
    Store(Arc<dyn SessionStore>),
}

/// The limiter of one replica.
pub struct RateLimiter {
    backend: Backend,
    rate: f64,
    burst: u32,
    trust_forwarded_for: bool,
}

impl RateLimiter {
    /// A limiter for `settings` (`store` is used by the `store` backend); `Ok(None)` when
    /// limiting is disabled.
    pub fn new(
        settings: &RateLimitSettings,
        store: Arc<dyn SessionStore>,
    ) -> Result<Option<Self>, RateLimitError> {
        if !settings.enabled {
            return Ok(None);
        }
        let rate = settings.requests_per_second;
        if !rate.is_finite() || rate <= 0.0 {
            return Err(RateLimitError::Invalid("requests_per_second must be > 0"));
        }
        let burst =
            NonZeroU32::new(settings.burst).ok_or(RateLimitError::Invalid("burst must be >= 1"))?;
        let backend = match settings.backend {
            RateBackend::Local => {
                let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))
                    .ok_or(RateLimitError::Invalid("requests_per_second is too large"))?
                    .allow_burst(burst);
                Backend::Local {
                    limiter: DefaultKeyedRateLimiter::keyed(quota),
                    last_sweep: Mutex::new(Instant::now()),
                }
            }
            RateBackend::Store => Backend::Store(store),
        };
        Ok(Some(Self {
            backend,
            rate,
            burst: burst.get(),
            trust_forwarded_for: settings.trust_forwarded_for,
        }))
    }

    /// `local` or `store`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Local { .. } => "local",
            Backend::Store(_) => "store",
        }
    }

    /// Whether the client address may be taken from `X-Forwarded-For` / `Forwarded`.
    pub fn trusts_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    /// Takes a token for `key`.
    pub async fn check(&self, key: &str) -> Verdict {
        match &self.backend {
            Backend::Local {
                limiter,
                last_sweep,
            } => {
                sweep(limiter, last_sweep);
                match limiter.check_key(&key.to_owned()) {
                    Ok(()) => Verdict::Allowed,
                    Err(not_until) => Verdict::Limited {
                        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                    },
                }
            }
            Backend::Store(store) => {
                let hashed = hash_key(key);
                match store.take_token(&hashed, self.rate, self.burst).await {
                    Ok(RateDecision::Allowed) => Verdict::Allowed,
                    Ok(RateDecision::Limited { retry_after }) => Verdict::Limited { retry_after },
                    Err(e) => Verdict::FailedOpen(e),
                }
            }
        }
    }
}

/// Forgets keys whose bucket is full again, at most once per [`SWEEP_EVERY`].
fn sweep(limiter: &DefaultKeyedRateLimiter<String>, last_sweep: &Mutex<Instant>) {
    let Some(mut last) = last_sweep.try_lock() else {
        return;
    };
    if last.elapsed() >= SWEEP_EVERY {
        *last = Instant::now();
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// The store key of a limiter key: 32 hex digits of its SHA-256.
fn hash_key(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{MemoryStore, MemoryStoreConfig};

    fn settings(backend: RateBackend, rps: f64, burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            requests_per_second: rps,
            burst,
            backend,
            trust_forwarded_for: false,
        }
    }

    fn store() -> Arc<dyn SessionStore> {
        MemoryStore::new(MemoryStoreConfig {
            session_ttl: Duration::from_secs(60),
            max_sessions: 0,
            event_max_len: 10,
            event_max_age: Duration::from_secs(60),
            closed_retention: Duration::from_secs(60),
        })
    }

    #[tokio::test]
    async fn both_backends_allow_the_burst_then_limit_per_key() {
        for backend in [RateBackend::Local, RateBackend::Store] {
            let limiter = RateLimiter::new(&settings(backend, 1.0, 3), store())
                .ok()
                .flatten()
                .expect("enabled");
            for _ in 0..3 {
                assert!(matches!(limiter.check("alice").await, Verdict::Allowed));
            }
            let Verdict::Limited { retry_after } = limiter.check("alice").await else {
                panic!("{backend:?}: the 4th request of a burst of 3 must be limited");
            };
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
            assert!(matches!(limiter.check("bob").await, Verdict::Allowed));
        }
    }

    #[test]
    fn disabled_means_no_limiter_and_keys_are_hashed() {
        let mut s = settings(RateBackend::Local, 1.0, 1);
        s.enabled = false;
        assert!(matches!(RateLimiter::new(&s, store()), Ok(None)));
        let h = hash_key("https://as|sub:alice");
        assert_eq!(h.len(), 32);
        assert!(!h.contains("alice"));
    }
}
