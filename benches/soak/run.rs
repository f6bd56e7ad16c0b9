//! The soak run: the processes, the sessions and their `GET` streams, the steady load with its
//! samples, and the wait for the session keys to expire once the load stops.

use crate::sample::{Sample, key_kinds, keyspace};
use crate::streams::hold_stream;
use crate::support::{self, Redis, Server};
use crate::{GET_STREAMS, IDLE_TIMEOUT_SECS, MAX_IN_FLIGHT, RETENTION_SECS, SAMPLE_EVERY, fleet};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(crate) struct Soak {
    pub(crate) sessions: usize,
    pub(crate) rate: u64,
    pub(crate) secs: u64,
    pub(crate) create_secs: f64,
    pub(crate) samples: Vec<Sample>,
    pub(crate) kinds: Vec<(f64, BTreeMap<String, u64>)>,
    pub(crate) results: Vec<(f32, f32, bool)>,
    pub(crate) not_sent: u64,
    pub(crate) first_errors: Vec<String>,
    pub(crate) reconnects: u64,
    /// After the load: (seconds, DBSIZE, session keys) every second, the time the last session
    /// key went, the keys left, and RSS of the replicas at the end.
    pub(crate) expiry: Vec<(f64, u64, u64)>,
    pub(crate) expired_after: Option<f64>,
    pub(crate) left: BTreeMap<String, u64>,
    pub(crate) rss_end_kib: [u64; 2],
    pub(crate) last_call_to_stop: f64,
    pub(crate) limits: String,
}

pub(crate) async fn soak() -> Soak {
    let sessions_n = setting("SOAK_SESSIONS", 10_000) as usize;
    let rate = setting("SOAK_RATE", 200);
    let secs = setting("SOAK_SECS", 600);
    let limits = fleet::ensure_open_files(4 * (MAX_IN_FLIGHT + GET_STREAMS) as u64 + 1024);
    let bin = support::server_binary();
    let redis = Redis::start().await;
    let env = vec![
        ("REDIS_URL", redis.url()),
        ("SESSION_IDLE_TIMEOUT_SECS", IDLE_TIMEOUT_SECS.to_string()),
        (
            "MCP_HIVE__SSE__CLOSED_STREAM_RETENTION_SECS",
            RETENTION_SECS.to_string(),
        ),
    ];
    let replicas = [
        Server::start(&bin, &env).await,
        Server::start(&bin, &env).await,
    ];
    let urls: Arc<Vec<String>> = Arc::new(replicas.iter().map(|r| r.mcp.clone()).collect());
    let http = support::http_client();
    eprintln!("soak: creating {sessions_n} sessions");
    let start = Instant::now();
    let (a, b) = tokio::join!(
        support::create_sessions(&http, &urls[0], sessions_n / 2, 16),
        support::create_sessions(&http, &urls[1], sessions_n - sessions_n / 2, 16),
    );
    let create_secs = start.elapsed().as_secs_f64();
    // Interleave, so that consecutive sessions were created on different replicas.
    let sessions: Arc<Vec<String>> =
        Arc::new(a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect());
    let stop_streams = CancellationToken::new();
    let reconnects = Arc::new(AtomicU64::new(0));
    let mut holders = Vec::new();
    for (i, sid) in sessions.iter().take(GET_STREAMS).enumerate() {
        let replica = i % 2;
        let res = support::open_stream(&http, &urls[replica], sid)
            .await
            .expect("open a GET stream");
        holders.push(hold_stream(
            http.clone(),
            Arc::clone(&urls),
            sid.clone(),
            replica,
            res,
            stop_streams.clone(),
            Arc::clone(&reconnects),
        ));
    }
    eprintln!("soak: {secs} s of load at {rate} calls/s");
    let stop_load = CancellationToken::new();
    let load_start = Instant::now();
    let (results, load) = fleet::steady_load(
        http.clone(),
        Arc::clone(&urls),
        Arc::clone(&sessions),
        rate,
        MAX_IN_FLIGHT,
        stop_load.clone(),
    );
    let mut samples = Vec::new();
    let mut kinds = Vec::new();
    let mut next_sample = load_start;
    let mut sample_no = 0u64;
    while load_start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep_until(next_sample.into()).await;
        next_sample += SAMPLE_EVERY;
        let (keys, expires) = keyspace(&redis).await;
        let (ok, failed) = {
            let r = results.calls.lock();
            let ok = r.iter().filter(|x| x.2).count() as u64;
            (ok, r.len() as u64 - ok)
        };
        let s = Sample {
            t: load_start.elapsed().as_secs_f64(),
            rss_kib: [replicas[0].rss_kib(), replicas[1].rss_kib()],
            cpu_secs: [replicas[0].cpu_secs(), replicas[1].cpu_secs()],
            live_actors: [
                replicas[0].live_actors(&http).await,
                replicas[1].live_actors(&http).await,
            ],
            redis_used: redis.used_memory().await,
            keys,
            keys_without_ttl: keys.saturating_sub(expires),
            ok,
            failed,
        };
        eprintln!(
            "  t={:>5.0} s rss {} / {} KiB, actors {} / {}, redis {:.1} MiB, {} keys ({} without TTL), {} ok, {} failed",
            s.t,
            s.rss_kib[0],
            s.rss_kib[1],
            s.live_actors[0],
            s.live_actors[1],
            s.redis_used as f64 / 1048576.0,
            s.keys,
            s.keys_without_ttl,
            s.ok,
            s.failed
        );
        samples.push(s);
        if sample_no % 6 == 0 {
            kinds.push((load_start.elapsed().as_secs_f64(), key_kinds(&redis).await));
        }
        sample_no += 1;
    }
    stop_load.cancel();
    let not_sent = load.await.expect("the load task");
    let stopped = Instant::now();
    let last_call_to_stop = (stopped - load_start).as_secs_f64() - secs as f64;
    stop_streams.cancel();
    for h in holders {
        let _ = h.await;
    }
    kinds.push((load_start.elapsed().as_secs_f64(), key_kinds(&redis).await));
    eprintln!("soak: load stopped; waiting for the TTLs");
    let mut expiry = Vec::new();
    let mut expired_after = None;
    let limit = Duration::from_secs(IDLE_TIMEOUT_SECS + RETENTION_SECS + 120);
    while stopped.elapsed() < limit {
        let session_keys = redis.keys_matching("mcp:{*").await.len() as u64;
        let t = stopped.elapsed().as_secs_f64();
        expiry.push((t, redis.dbsize().await, session_keys));
        if session_keys == 0 {
            expired_after = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The index goes with its last session (same expiry); give Redis's expiry cycle a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = key_kinds(&redis).await;
    let rss_end_kib = [replicas[0].rss_kib(), replicas[1].rss_kib()];
    let first_errors = results.first_errors.lock().clone();
    let results = std::mem::take(&mut *results.calls.lock());
    for r in replicas {
        r.stop().await;
    }
    redis.stop().await;
    Soak {
        sessions: sessions_n,
        rate,
        secs,
        create_secs,
        samples,
        kinds,
        results,
        not_sent,
        first_errors,
        reconnects: reconnects.load(Ordering::Relaxed),
        expiry,
        expired_after,
        left,
        rss_end_kib,
        last_call_to_stop,
        limits,
    }
}
