//! The per-replica token cache in front of both verifiers (a `moka` cache keyed by the token's
//! SHA-256, so the cache holds no tokens):
//!
//! - a valid token is remembered until `min(exp, now + cache_max_secs)`: never past its
//!   expiry, and a revoked token stops working within `cache_max_secs` in introspection mode;
//! - a rejected token is remembered for `negative_cache_secs`, so replaying garbage costs the
//!   authorization server nothing;
//! - single flight: concurrent first requests with the same token share one verification (one
//!   introspection call, one signature check);
//! - "unavailable" outcomes are not cached: the next request asks again.
//!
//! Hits, misses and (in introspection mode) the outcome of each verification are reported to the
//! [`AuthObserver`] set with [`TokenCache::observe`], if any.

use super::claims::Verified;
use super::observe::AuthObserver;
use super::{Rejected, Verify};
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A cached outcome and how long it may be reused.
#[derive(Clone)]
enum Verdict {
    Valid(Arc<Verified>, Duration),
    Invalid(Arc<str>, Duration),
}

struct VerdictTtl;

impl Expiry<[u8; 32], Verdict> for VerdictTtl {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Verdict,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(match value {
            Verdict::Valid(_, ttl) | Verdict::Invalid(_, ttl) => *ttl,
        })
    }
}

/// Time from now until the Unix time `exp` (zero when past), to the millisecond, so a cached
/// token never outlives its `exp`.
fn until(exp: u64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(exp).saturating_sub(now)
}

/// Cached, single-flight token verification.
pub struct TokenCache {
    verdicts: Cache<[u8; 32], Verdict>,
    max_age: Duration,
    negative: Duration,
    /// Where hits and misses go; `true`: each verification is an introspection call.
    observer: OnceLock<(Arc<dyn AuthObserver>, bool)>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: u64, max_age: Duration, negative: Duration) -> Self {
        Self {
            verdicts: Cache::builder()
                .max_capacity(capacity)
                .expire_after(VerdictTtl)
                .build(),
            max_age,
            negative,
            observer: OnceLock::new(),
        }
    }

    /// Reports hits and misses to `observer`, and each verification as an introspection call
    /// when `introspects` (the first observer set stays).
    pub fn observe(&self, observer: Arc<dyn AuthObserver>, introspects: bool) {
        let _ = self.observer.set((observer, introspects));
    }

    /// The verified token, from the cache or from `verifier` (once for concurrent callers).
    pub async fn verify(
        &self,
        token: &str,
        verifier: &dyn Verify,
    ) -> Result<Arc<Verified>, Rejected> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let ran = AtomicBool::new(false);
        let observer = self.observer.get();
        let verdict = self
            .verdicts
            .try_get_with(key, async {
                ran.store(true, Ordering::Relaxed);
                let result = verifier.verify(token).await;
                if let Some((o, true)) = observer {
                    o.introspection(match &result {
                        Ok(_) => "active",
                        Err(Rejected::Invalid(_)) => "inactive",
                        Err(Rejected::Unavailable(_)) => "error",
                    });
                }
                match result {
                    Ok(v) => {
                        let ttl = match v.expires_at {
                            Some(exp) => until(exp).min(self.max_age),
                            None => self.max_age,
                        };
                        Ok(Verdict::Valid(Arc::new(v), ttl))
                    }
                    Err(Rejected::Invalid(reason)) => {
                        Ok(Verdict::Invalid(Arc::from(reason.as_str()), self.negative))
                    }
                    Err(Rejected::Unavailable(reason)) => Err(reason),
                }
            })
            .await
            .map_err(|reason: Arc<String>| Rejected::Unavailable(reason.to_string()));
        if let Some((o, _)) = observer {
            o.token_cache(!ran.load(Ordering::Relaxed));
        }
        let verdict = verdict?;
        match verdict {
            Verdict::Valid(v, _) => Ok(v),
            Verdict::Invalid(reason, _) => Err(Rejected::Invalid(reason.to_string())),
        }
    }

    /// Number of remembered tokens (approximate; for diagnostics).
    pub fn len(&self) -> u64 {
        self.verdicts.entry_count()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
