//! The `memory` part: replica RSS per hibernated session (embedded store and Redis), and Redis
//! `used_memory` and keys per session.

use crate::support::{self, Redis, Server};
use crate::{SESSIONS, SETUP_CONCURRENCY, WARM_SESSIONS, server_env, store_label};
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) struct Hibernation {
    pub(crate) store: &'static str,
    /// RSS after the warm-up, after the first and after the second batch.
    pub(crate) rss_kib: [u64; 3],
    pub(crate) peak_rss_kib: u64,
    /// Seconds to create each batch, and until its actors had all hibernated.
    pub(crate) create_secs: [f64; 2],
    pub(crate) hibernate_secs: [f64; 2],
    /// Redis `used_memory` and keys before / after the first batch.
    pub(crate) redis: Option<(u64, u64, u64, u64)>,
}

impl Hibernation {
    pub(crate) fn kib(&self, batch: usize) -> f64 {
        (self.rss_kib[batch + 1] as f64 - self.rss_kib[batch] as f64) / SESSIONS as f64
    }

    pub(crate) fn redis_bytes_per_session(&self) -> Option<f64> {
        self.redis
            .map(|(before, after, _, _)| (after as f64 - before as f64) / SESSIONS as f64)
    }
}

pub(crate) async fn hibernated(bin: &Path, redis: Option<&Redis>) -> Hibernation {
    if let Some(r) = redis {
        r.flushall().await;
    }
    let env = server_env(redis, &[("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "1")]);
    let server = Server::start(bin, &env).await;
    let http = support::http_client();
    let settle = Duration::from_millis(500);
    support::create_sessions(&http, &server.mcp, WARM_SESSIONS, SETUP_CONCURRENCY).await;
    server.wait_hibernated(&http, Duration::from_secs(30)).await;
    tokio::time::sleep(settle).await;
    let mut rss_kib = [server.rss_kib(), 0, 0];
    let redis_before = match redis {
        Some(r) => Some((r.used_memory().await, r.dbsize().await)),
        None => None,
    };
    let (mut create_secs, mut hibernate_secs) = ([0.0; 2], [0.0; 2]);
    let mut redis_numbers = None;
    for batch in 0..2 {
        let start = Instant::now();
        support::create_sessions(&http, &server.mcp, SESSIONS, SETUP_CONCURRENCY).await;
        create_secs[batch] = start.elapsed().as_secs_f64();
        hibernate_secs[batch] = server
            .wait_hibernated(&http, Duration::from_secs(60))
            .await
            .as_secs_f64();
        tokio::time::sleep(settle).await;
        rss_kib[batch + 1] = server.rss_kib();
        if batch == 0
            && let (Some(r), Some((used, keys))) = (redis, redis_before)
        {
            redis_numbers = Some((used, r.used_memory().await, keys, r.dbsize().await));
        }
    }
    let peak_rss_kib = server.peak_rss_kib();
    server.stop().await;
    Hibernation {
        store: store_label(redis),
        rss_kib,
        peak_rss_kib,
        create_secs,
        hibernate_secs,
        redis: redis_numbers,
    }
}
