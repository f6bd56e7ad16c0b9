//! Rate-limit buckets on Redis: one atomic Lua script per request ([`TAKE_TOKEN`]) runs the GCRA
//! step of [`crate::store::rate`] on the key `<prefix>:rl:{<key>}` with Redis's own clock (so
//! replicas with skewed clocks share one bucket exactly), and sets a TTL of the time until the
//! bucket is full again: idle keys vanish by themselves.

use super::RedisStore;
use crate::store::{RateDecision, StoreError};
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// Takes a token. KEYS: the bucket. ARGV: emission interval (ms, 1000 / rate), burst.
/// Returns `{1, 0}` when allowed, `{0, <ms until allowed>}` when limited.
pub static TAKE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, 0}
"#,
    )
});

impl RedisStore {
    /// One GCRA step on the bucket of `key` (see [`crate::store::SessionStore::take_token`]).
    pub(super) async fn take_token_on_redis(
        &self,
        key: &str,
        rate: f64,
        burst: u32,
    ) -> Result<RateDecision, StoreError> {
        let bucket = self.keys.rate(key);
        let interval = 1000.0 / rate.max(f64::MIN_POSITIVE);
        let (allowed, wait_ms): (i64, i64) = self
            .op("rate.take", |mut c| async move {
                TAKE_TOKEN
                    .key(bucket)
                    .arg(interval)
                    .arg(burst.max(1))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after: Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)),
            }
        })
    }
}
