//! The `churn` part: the soak's load pattern, faster, on an in-process replica and an external
//! one sharing Redis, with the in-process replica's live heap and the process RSS sampled.

use crate::counting::reading;
use crate::fleet;
use crate::in_process::{in_process_server, live_actors};
use crate::support::{self, Redis, Server};
use crate::{SETUP_CONCURRENCY, server_env};
use std::path::Path;
use std::time::{Duration, Instant};

/// Sessions, calls per second and seconds of the churn part.
pub(crate) const CHURN_SESSIONS: usize = 2000;
pub(crate) const CHURN_RATE: u64 = 200;
pub(crate) const CHURN_SECS: u64 = 300;

pub(crate) struct Churn {
    /// (seconds, live heap bytes, process RSS KiB, live actors of the in-process replica).
    pub(crate) samples: Vec<(f64, i64, u64, u64)>,
    pub(crate) calls: usize,
    pub(crate) failed: usize,
    pub(crate) first_errors: Vec<String>,
}

/// The soak's pattern, faster: the in-process replica (counted heap) and an external one share
/// Redis; 2000 sessions get a call every 10 s, the replica alternating per visit, and actors
/// hibernate after 5 s idle, so nearly every call rehydrates a session. Live heap and RSS are
/// sampled every 10 s for 5 minutes.
pub(crate) async fn churn(bin: &Path, redis: &Redis) -> Churn {
    redis.flushall().await;
    let settings = [
        ("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "5"),
        ("SESSION_IDLE_TIMEOUT_SECS", "60"),
        ("MCP_HIVE__SSE__CLOSED_STREAM_RETENTION_SECS", "10"),
    ];
    let (mcp, handle) = in_process_server(&redis.url(), &settings);
    let external = Server::start(bin, &server_env(Some(redis), &settings)).await;
    let http = support::http_client();
    let urls = std::sync::Arc::new(vec![mcp.clone(), external.mcp.clone()]);
    let (a, b) = tokio::join!(
        support::create_sessions(&http, &urls[0], CHURN_SESSIONS / 2, SETUP_CONCURRENCY),
        support::create_sessions(&http, &urls[1], CHURN_SESSIONS / 2, SETUP_CONCURRENCY),
    );
    let sessions = std::sync::Arc::new(a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect());
    let stop = tokio_util::sync::CancellationToken::new();
    let (results, load) =
        fleet::steady_load(http.clone(), urls, sessions, CHURN_RATE, 512, stop.clone());
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(CHURN_SECS) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let r = reading();
        samples.push((
            start.elapsed().as_secs_f64(),
            r.heap,
            r.rss_kib,
            live_actors(&http, &mcp).await,
        ));
    }
    stop.cancel();
    let _ = load.await;
    let (calls, failed) = {
        let calls = results.calls.lock();
        (calls.len(), calls.iter().filter(|c| !c.2).count())
    };
    let out = Churn {
        samples,
        calls,
        failed,
        first_errors: results.first_errors.lock().clone(),
    };
    external.stop().await;
    handle.stop(false).await;
    out
}
