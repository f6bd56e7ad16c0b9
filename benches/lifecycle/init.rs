//! The `init` part: `initialize` + `notifications/initialized` per second against one replica on
//! Redis, at several numbers of sessions created at once, with the latency of each.

use crate::fleet;
use crate::server_env;
use crate::support::{self, Redis, Server};
use futures_util::StreamExt;
use std::path::Path;
use std::time::Instant;

/// Sessions per concurrency level of the initialize rate.
pub(crate) const INIT_SESSIONS: usize = 3000;

pub(crate) struct InitRate {
    pub(crate) concurrency: usize,
    pub(crate) per_sec: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

pub(crate) async fn init_rate(bin: &Path, redis: &Redis) -> Vec<InitRate> {
    let mut out = Vec::new();
    for concurrency in [1, 16, 64] {
        redis.flushall().await;
        let server = Server::start(bin, &server_env(Some(redis), &[])).await;
        let http = support::http_client();
        drop(support::create_sessions(&http, &server.mcp, 100, concurrency).await);
        let start = Instant::now();
        let latencies: Vec<f64> = futures_util::stream::iter(0..INIT_SESSIONS)
            .map(|_| {
                let (http, url) = (&http, &server.mcp);
                async move {
                    let t = Instant::now();
                    support::initialize(http, url)
                        .await
                        .unwrap_or_else(|e| panic!("create a session: {e}"));
                    t.elapsed().as_secs_f64() * 1000.0
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let secs = start.elapsed().as_secs_f64();
        server.stop().await;
        let s = fleet::sorted(&latencies);
        out.push(InitRate {
            concurrency,
            per_sec: INIT_SESSIONS as f64 / secs,
            p50_ms: fleet::quantile(&s, 0.5),
            p99_ms: fleet::quantile(&s, 0.99),
        });
    }
    out
}
