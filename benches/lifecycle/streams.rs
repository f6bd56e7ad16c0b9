//! The `streams` part: replica RSS per idle open standalone SSE stream, on sessions whose actors
//! are already live.

use crate::support::{self, Redis, Server};
use crate::{SETUP_CONCURRENCY, server_env};
use futures_util::StreamExt;
use std::path::Path;
use std::time::Duration;

/// Open SSE streams.
pub(crate) const STREAMS: usize = 1000;

pub(crate) struct Streams {
    pub(crate) rss_start_kib: u64,
    pub(crate) rss_sessions_kib: u64,
    pub(crate) rss_streams_kib: u64,
    pub(crate) live_actors: u64,
}

impl Streams {
    pub(crate) fn kib_per_stream(&self) -> f64 {
        (self.rss_streams_kib as f64 - self.rss_sessions_kib as f64) / STREAMS as f64
    }

    pub(crate) fn kib_per_session_and_stream(&self) -> f64 {
        (self.rss_streams_kib as f64 - self.rss_start_kib as f64) / STREAMS as f64
    }
}

pub(crate) async fn stream_memory(bin: &Path, redis: &Redis) -> Streams {
    redis.flushall().await;
    let env = server_env(
        Some(redis),
        &[("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "600")],
    );
    let server = Server::start(bin, &env).await;
    let http = support::http_client();
    let settle = Duration::from_millis(500);
    let warm = support::create_sessions(&http, &server.mcp, 16, SETUP_CONCURRENCY).await;
    let mut warm_streams = Vec::new();
    for sid in &warm {
        warm_streams.push(
            support::open_stream(&http, &server.mcp, sid)
                .await
                .expect("open a warm-up stream"),
        );
    }
    drop(warm_streams);
    tokio::time::sleep(settle).await;
    let rss_start_kib = server.rss_kib();
    let sessions = support::create_sessions(&http, &server.mcp, STREAMS, SETUP_CONCURRENCY).await;
    tokio::time::sleep(settle).await;
    let rss_sessions_kib = server.rss_kib();
    let streams: Vec<reqwest::Response> = futures_util::stream::iter(sessions.iter())
        .map(|sid| support::open_stream(&http, &server.mcp, sid))
        .buffer_unordered(64)
        .map(|r| r.unwrap_or_else(|e| panic!("open a stream: {e}")))
        .collect()
        .await;
    tokio::time::sleep(settle).await;
    let rss_streams_kib = server.rss_kib();
    let live_actors = server.live_actors(&http).await;
    drop(streams);
    server.stop().await;
    Streams {
        rss_start_kib,
        rss_sessions_kib,
        rss_streams_kib,
        live_actors,
    }
}
