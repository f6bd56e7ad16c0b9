//! The session lifecycle benchmark: what a session costs while it sleeps and while it streams,
//! how fast sessions are created, and how fast a stream resumes on another replica after the
//! replica that held it was killed.
//!
//! Run with `cargo bench --bench lifecycle` (about 12 minutes after the build), or name parts:
//! `cargo bench --bench lifecycle -- memory heap streams init churn resume` (`LIFECYCLE_TRIALS=5`
//! for a quick try of `resume`). It starts its own
//! `redis-server` and release `mcp-hive serve` processes (see `benches/support`), prints the
//! tables and rewrites the parts of `BENCHMARKS.md` between `<!-- lifecycle:begin -->` /
//! `<!-- lifecycle:end -->` (memory, heap, streams, init, churn) and `<!-- resume:begin -->` /
//! `<!-- resume:end -->`.
//!
//! Parts:
//!
//! - `memory`: replica RSS (`VmRSS`) per hibernated session. `ACTOR_IDLE_SECS=1`; 200 warm-up
//!   sessions hibernate, then two batches of 5000 sessions (16 in flight) are created and left to
//!   hibernate (`/readyz` `live_actors` = 0); the RSS delta of each batch / 5000, embedded store
//!   and Redis, and Redis `used_memory` / keys per session. The first batch's delta includes what
//!   the allocator keeps after the peak of live actors; the second batch reuses that memory, so
//!   its delta is the memory that stays per hibernated session.
//! - `heap`: the same batches against a server running *inside* the benchmark process (the
//!   library's `Application`, Redis store), whose global allocator counts live heap bytes: heap
//!   per hibernated session and per live actor, exactly, whatever the allocator keeps; and the
//!   process RSS before and after `malloc_trim(0)`, which tells the allocator's share of the RSS.
//! - `streams`: replica RSS per idle open standalone SSE stream (1000 sessions with live actors,
//!   then one `GET` stream each).
//! - `init`: `initialize` + `notifications/initialized` per second against one replica on Redis,
//!   with 1, 16 and 64 sessions being created at once (3000 sessions each).
//! - `churn`: the soak's load pattern, faster, with the in-process replica's heap counted: it and
//!   an external replica share Redis; 2000 sessions get a call every 10 s (200 calls/s, half
//!   `tools/call` over SSE, half `tools/list` as JSON), the replica alternating per visit, and
//!   actors hibernate after 5 s idle, so nearly every call rehydrates its session. Live heap and
//!   RSS every 10 s for 5 minutes: a leak shows in the heap, allocator fragmentation only in the
//!   RSS.
//! - `resume`: 50 trials on two replicas and one Redis. A session on replica A runs `count`
//!   (150 steps, 20 ms apart: a progress notification and a log message per step, an in-flight
//!   read-only tool call) on a POST stream; the client reads it up to a progress step between 5
//!   and 14, drops the connection, A goes on storing events for 200 ms and is SIGKILLed; the
//!   client at once sends `GET` with `Last-Event-ID` to replica B. Measured: reconnect → first
//!   replayed event (events A stored after the client's last one), kill → B owns the stream
//!   (its runner record, polled in Redis every 10 ms), and kill → the first event the takeover
//!   produced (an id above the last one A stored). The replayed ids must continue the client's.
//!   A is then started again and the roles swap.

mod fleet;
mod support;

use fleet::{Next, Sse};
use futures_util::StreamExt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use support::{Redis, Server};

/// Counts live heap bytes of this process (the in-process server of the `heap` part, and the
/// benchmark's client, whose retained allocations are dropped before every reading).
struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counter only observes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Sessions per memory batch.
const SESSIONS: usize = 5000;
/// Warm-up sessions before the memory baseline.
const WARM_SESSIONS: usize = 200;
/// Open SSE streams.
const STREAMS: usize = 1000;
/// Requests in flight while creating sessions.
const SETUP_CONCURRENCY: usize = 16;
/// Sessions per concurrency level of the initialize rate.
const INIT_SESSIONS: usize = 3000;
/// Resume trials (`LIFECYCLE_TRIALS` overrides it for a quick try).
fn trial_count() -> usize {
    std::env::var("LIFECYCLE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}
/// Goal: replica KiB per hibernated session (Redis store).
const GOAL_HIBERNATED_KIB: f64 = 4.0;
/// Goal: Redis bytes per idle session.
const GOAL_REDIS_BYTES: f64 = 1024.0;

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn store_label(redis: Option<&Redis>) -> &'static str {
    if redis.is_some() { "Redis" } else { "embedded" }
}

fn server_env(
    redis: Option<&Redis>,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> =
        extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    if let Some(r) = redis {
        env.push(("REDIS_URL", r.url()));
    }
    env
}

// ---------------------------------------------------------------------------------------------
// memory: RSS per hibernated session
// ---------------------------------------------------------------------------------------------

struct Hibernation {
    store: &'static str,
    /// RSS after the warm-up, after the first and after the second batch.
    rss_kib: [u64; 3],
    peak_rss_kib: u64,
    /// Seconds to create each batch, and until its actors had all hibernated.
    create_secs: [f64; 2],
    hibernate_secs: [f64; 2],
    /// Redis `used_memory` and keys before / after the first batch.
    redis: Option<(u64, u64, u64, u64)>,
}

impl Hibernation {
    fn kib(&self, batch: usize) -> f64 {
        (self.rss_kib[batch + 1] as f64 - self.rss_kib[batch] as f64) / SESSIONS as f64
    }

    fn redis_bytes_per_session(&self) -> Option<f64> {
        self.redis
            .map(|(before, after, _, _)| (after as f64 - before as f64) / SESSIONS as f64)
    }
}

async fn hibernated(bin: &Path, redis: Option<&Redis>) -> Hibernation {
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

// ---------------------------------------------------------------------------------------------
// heap: live heap bytes of an in-process server
// ---------------------------------------------------------------------------------------------

/// A reading of this process.
#[derive(Debug, Clone, Copy, Default)]
struct Reading {
    heap: i64,
    rss_kib: u64,
}

fn reading() -> Reading {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Reading {
        heap: LIVE_BYTES.load(Ordering::Relaxed),
        rss_kib,
    }
}

struct Heap {
    /// After the warm-up; with each batch's actors live (`live` of them); after each batch
    /// hibernated; after `malloc_trim(0)` at the end.
    warm: Reading,
    live: [(Reading, u64); 2],
    hibernated: [Reading; 2],
    trimmed: Reading,
}

impl Heap {
    fn hibernated_bytes(&self, batch: usize) -> f64 {
        let before = if batch == 0 {
            self.warm
        } else {
            self.hibernated[0]
        };
        (self.hibernated[batch].heap - before.heap) as f64 / SESSIONS as f64
    }

    fn live_actor_bytes(&self, batch: usize) -> f64 {
        let before = if batch == 0 {
            self.warm
        } else {
            self.hibernated[0]
        };
        let (r, live) = self.live[batch];
        (r.heap - before.heap) as f64 / live.max(1) as f64
    }
}

/// Runs `mcp-hive serve`'s `Application` on its own thread and actix system; returns its MCP URL
/// and a handle that stops it.
fn in_process_server(
    redis_url: &str,
    extra: &[(&str, &str)],
) -> (String, actix_web::dev::ServerHandle) {
    let env: std::collections::HashMap<String, String> = [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("DISABLE_AUTH", "true"),
        ("REDIS_URL", redis_url),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let settings = mcp_hive::config::Settings::load_from(&env, None)
        .expect("settings of the in-process server");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let registry = mcp_hive::startup::default_registry(&settings).expect("registry");
            let app = mcp_hive::startup::Application::build(settings, registry)
                .expect("build the in-process server");
            tx.send((app.port(), app.handle()))
                .expect("hand over the port");
            let _ = app.run_until_stopped().await;
        });
    });
    let (port, handle) = rx.recv().expect("the in-process server started");
    (format!("http://127.0.0.1:{port}/mcp"), handle)
}

async fn live_actors(http: &reqwest::Client, mcp: &str) -> u64 {
    let url = mcp.replace("/mcp", "/readyz");
    for _ in 0..100 {
        if let Ok(res) = http.get(&url).send().await
            && let Ok(v) = res.json::<serde_json::Value>().await
            && let Some(n) = v["live_actors"].as_u64()
        {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz of the in-process server did not answer");
}

async fn wait_no_actors(http: &reqwest::Client, mcp: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while live_actors(http, mcp).await > 0 {
        assert!(Instant::now() < deadline, "actors did not hibernate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stopped actors are dropped on their arbiter right after; let freeing finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn heap(redis: &Redis) -> Heap {
    redis.flushall().await;
    let (mcp, handle) =
        in_process_server(&redis.url(), &[("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "2")]);
    let http = support::http_client();
    drop(support::create_sessions(&http, &mcp, WARM_SESSIONS, SETUP_CONCURRENCY).await);
    wait_no_actors(&http, &mcp).await;
    let warm = reading();
    let mut live = [(Reading::default(), 0); 2];
    let mut hibernated = [Reading::default(); 2];
    for batch in 0..2 {
        drop(support::create_sessions(&http, &mcp, SESSIONS, SETUP_CONCURRENCY).await);
        // Read while the actors are still live (ACTOR_IDLE_SECS=2 and 5000 sessions take about a
        // second): the reading counts the actors alive at that moment.
        let r = reading();
        live[batch] = (r, live_actors(&http, &mcp).await);
        wait_no_actors(&http, &mcp).await;
        hibernated[batch] = reading();
    }
    // SAFETY: malloc_trim only releases free memory of glibc's heaps back to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
    let trimmed = reading();
    handle.stop(false).await;
    Heap {
        warm,
        live,
        hibernated,
        trimmed,
    }
}

// ---------------------------------------------------------------------------------------------
// churn: live heap under the soak's load pattern
// ---------------------------------------------------------------------------------------------

/// Sessions, calls per second and seconds of the churn part.
const CHURN_SESSIONS: usize = 2000;
const CHURN_RATE: u64 = 200;
const CHURN_SECS: u64 = 300;

struct Churn {
    /// (seconds, live heap bytes, process RSS KiB, live actors of the in-process replica).
    samples: Vec<(f64, i64, u64, u64)>,
    calls: usize,
    failed: usize,
    first_errors: Vec<String>,
}

/// The soak's pattern, faster: the in-process replica (counted heap) and an external one share
/// Redis; 2000 sessions get a call every 10 s, the replica alternating per visit, and actors
/// hibernate after 5 s idle, so nearly every call rehydrates a session. Live heap and RSS are
/// sampled every 10 s for 5 minutes.
async fn churn(bin: &Path, redis: &Redis) -> Churn {
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

// ---------------------------------------------------------------------------------------------
// streams: RSS per open SSE stream
// ---------------------------------------------------------------------------------------------

struct Streams {
    rss_start_kib: u64,
    rss_sessions_kib: u64,
    rss_streams_kib: u64,
    live_actors: u64,
}

impl Streams {
    fn kib_per_stream(&self) -> f64 {
        (self.rss_streams_kib as f64 - self.rss_sessions_kib as f64) / STREAMS as f64
    }

    fn kib_per_session_and_stream(&self) -> f64 {
        (self.rss_streams_kib as f64 - self.rss_start_kib as f64) / STREAMS as f64
    }
}

async fn stream_memory(bin: &Path, redis: &Redis) -> Streams {
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

// ---------------------------------------------------------------------------------------------
// init: sessions per second
// ---------------------------------------------------------------------------------------------

struct InitRate {
    concurrency: usize,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn init_rate(bin: &Path, redis: &Redis) -> Vec<InitRate> {
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

// ---------------------------------------------------------------------------------------------
// resume: Last-Event-ID on another replica after SIGKILL
// ---------------------------------------------------------------------------------------------

struct Trial {
    /// Reconnect sent → first replayed event.
    replay_ms: f64,
    /// Events replayed (stored by the killed replica after the client's last one).
    replayed: u64,
    /// Kill → the survivor's runner record replaced the dead one's.
    adopt_ms: Option<f64>,
    /// Kill → first event produced by the takeover.
    first_new_ms: f64,
    /// Notifications the rerun had to drop before its first new one (its catch-up).
    skipped: u64,
}

async fn hget(redis: &Redis, key: &str, field: &str) -> Option<String> {
    let client = redis::Client::open(redis.url()).ok()?;
    let mut c = client.get_multiplexed_async_connection().await.ok()?;
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query_async(&mut c)
        .await
        .ok()?
}

fn replica_of(runner: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(runner)
        .ok()?
        .get("replica")?
        .as_str()
        .map(str::to_owned)
}

async fn one_trial(
    http: &reqwest::Client,
    redis: &Redis,
    holder: Server,
    other: &Server,
    stop_at_progress: u64,
) -> Result<Trial, String> {
    let sid = support::initialize(http, &holder.mcp).await?;
    let res = fleet::send_ok(
        fleet::post(
            http,
            &holder.mcp,
            Some(&sid),
            &fleet::count_call(7, 150, 20),
        ),
        "count",
    )
    .await?;
    let mut sse = Sse::new(res);
    let mut last: Option<(String, u64)> = None;
    loop {
        match sse.next(Duration::from_secs(10)).await {
            Next::Event(e) => {
                if let Some(id) = e.seq() {
                    last = Some(id);
                }
                if e.json().and_then(|m| m["params"]["progress"].as_u64()) >= Some(stop_at_progress)
                {
                    break;
                }
            }
            other => return Err(format!("count stream: {other:?}")),
        }
    }
    drop(sse);
    let (stream, seen) = last.ok_or("no event ids")?;
    let key = |what: &str| format!("mcp:{{{sid}}}:{what}");
    let dead = hget(redis, &key("runners"), &stream)
        .await
        .and_then(|r| replica_of(&r))
        .ok_or("no runner record for the stream")?;
    // The holder keeps storing events the client never read.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = Instant::now();
    holder.stop().await;
    let stored: u64 = hget(redis, &key("streams"), &stream)
        .await
        .and_then(|v| v.parse().ok())
        .ok_or("no last sequence number after the kill")?;
    // Who owns the stream, polled in Redis.
    let watch = {
        let (url, key, field) = (redis.url(), key("runners"), stream.clone());
        tokio::spawn(async move {
            let client = redis::Client::open(url).ok()?;
            let mut c = client.get_multiplexed_async_connection().await.ok()?;
            let deadline = killed + Duration::from_secs(15);
            while Instant::now() < deadline {
                let raw: Option<String> = redis::cmd("HGET")
                    .arg(&key)
                    .arg(&field)
                    .query_async(&mut c)
                    .await
                    .ok()?;
                if raw
                    .as_deref()
                    .and_then(replica_of)
                    .is_some_and(|r| r != dead)
                {
                    return Some(killed.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None
        })
    };
    let sent = Instant::now();
    let res = fleet::send_ok(
        fleet::get(http, &other.mcp, &sid, Some(&format!("{stream}-{seen}"))),
        "resume",
    )
    .await?;
    let mut sse = Sse::new(res);
    let (mut replay_ms, mut expected) = (None, seen + 1);
    let first_new_ms = loop {
        match sse.next(Duration::from_secs(15)).await {
            Next::Event(e) => {
                let Some((s, seq)) = e.seq() else { continue };
                if e.data.is_empty() {
                    continue;
                }
                if s != stream || seq != expected {
                    return Err(format!("expected {stream}-{expected}, got {s}-{seq}"));
                }
                expected += 1;
                replay_ms.get_or_insert_with(|| (e.at - sent).as_secs_f64() * 1000.0);
                if seq > stored {
                    break (e.at - killed).as_secs_f64() * 1000.0;
                }
            }
            other => return Err(format!("resumed stream: {other:?}")),
        }
    };
    drop(sse);
    let adopt_ms = watch.await.ok().flatten();
    // Every event the holder stored was a notification (the call had not answered): the rerun
    // drops that many.
    let skipped = stored;
    Ok(Trial {
        replay_ms: replay_ms.ok_or("nothing replayed")?,
        replayed: stored - seen,
        adopt_ms,
        first_new_ms,
        skipped,
    })
}

struct Resume {
    trials: Vec<Trial>,
    failures: Vec<String>,
}

async fn resume(bin: &Path) -> Resume {
    let redis = Redis::start().await;
    let env = server_env(Some(&redis), &[]);
    let http = support::http_client();
    let mut replicas = [
        Some(Server::start(bin, &env).await),
        Some(Server::start(bin, &env).await),
    ];
    let (mut trials, mut failures) = (Vec::new(), Vec::new());
    for t in 0..trial_count() {
        let (h, o) = (t % 2, 1 - t % 2);
        let holder = replicas[h].take().expect("the holder runs");
        let other = replicas[o].as_ref().expect("the other replica runs");
        match one_trial(&http, &redis, holder, other, 5 + (t as u64 % 10)).await {
            Ok(trial) => trials.push(trial),
            Err(e) => failures.push(format!("trial {t}: {e}")),
        }
        replicas[h] = Some(Server::start(bin, &env).await);
        eprintln!("  resume trial {}/{}", t + 1, trial_count());
    }
    for s in replicas.into_iter().flatten() {
        s.stop().await;
    }
    redis.stop().await;
    Resume { trials, failures }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn render_churn(c: &Churn) -> String {
    let mut out = String::new();
    let w = &mut out;
    let mib = |b: f64| b / 1024.0 / 1024.0;
    let late: Vec<&(f64, i64, u64, u64)> = c.samples.iter().filter(|s| s.0 >= 60.0).collect();
    let heap_pts: Vec<(f64, f64)> = late
        .iter()
        .map(|s| (s.0 / 60.0, s.1 as f64 / 1024.0))
        .collect();
    let rss_pts: Vec<(f64, f64)> = late.iter().map(|s| (s.0 / 60.0, s.2 as f64)).collect();
    let (first, last) = (late.first(), c.samples.last());
    let actors: Vec<u64> = late.iter().map(|s| s.3).collect();
    let _ = writeln!(
        w,
        "\n**Churn** ({CHURN_SESSIONS} sessions, {CHURN_RATE} calls/s for {CHURN_SECS} s, two replicas, nearly every call rehydrating its session; {} calls, {} failed{}): from 60 s to the end, live heap of the in-process replica (and the benchmark's client) {:.1} → {:.1} MiB (max {:.1}), slope **{:+.1} KiB/min**; process RSS {:.1} → {:.1} MiB, slope {:+.1} KiB/min; live actors {}..{}.",
        c.calls,
        c.failed,
        if c.first_errors.is_empty() {
            String::new()
        } else {
            format!(": {}", c.first_errors.join("; "))
        },
        first.map_or(0.0, |s| mib(s.1 as f64)),
        last.map_or(0.0, |s| mib(s.1 as f64)),
        late.iter().map(|s| mib(s.1 as f64)).fold(0.0, f64::max),
        fleet::slope(&heap_pts),
        first.map_or(0.0, |s| s.2 as f64 / 1024.0),
        last.map_or(0.0, |s| s.2 as f64 / 1024.0),
        fleet::slope(&rss_pts),
        actors.iter().min().copied().unwrap_or(0),
        actors.iter().max().copied().unwrap_or(0),
    );
    let _ = writeln!(
        w,
        "Samples (s: heap MiB / RSS MiB): {}",
        c.samples
            .iter()
            .step_by(3)
            .map(|s| format!(
                "{:.0}: {:.1} / {:.1}",
                s.0,
                mib(s.1 as f64),
                s.2 as f64 / 1024.0
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

fn render_memory(
    hibernation: &[Hibernation],
    heap: Option<&Heap>,
    streams: Option<&Streams>,
    init: &[InitRate],
    churn: Option<&Churn>,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    if !hibernation.is_empty() || heap.is_some() || streams.is_some() {
        let _ = writeln!(w, "| Measurement | Store | Result | Goal | |");
        let _ = writeln!(w, "|---|---|---|---|---|");
    }
    for h in hibernation {
        let (goal, status) = if h.redis.is_some() {
            (
                format!("≤ {GOAL_HIBERNATED_KIB} KiB"),
                verdict(h.kib(0).max(h.kib(1)) <= GOAL_HIBERNATED_KIB),
            )
        } else {
            ("none (sessions live in the process)".to_owned(), "")
        };
        let _ = writeln!(
            w,
            "| Replica RSS per hibernated session, first batch of {SESSIONS} (second batch) | {} | **{:.2} KiB** ({:.2} KiB) | {goal} | {status} |",
            h.store,
            h.kib(0),
            h.kib(1),
        );
    }
    if let Some(hp) = heap {
        let _ = writeln!(
            w,
            "| Live heap per hibernated session, in-process server (first batch; second batch) | Redis | **{:.0} B** ({:.0} B) | ≤ {GOAL_HIBERNATED_KIB} KiB | {} |",
            hp.hibernated_bytes(0),
            hp.hibernated_bytes(1),
            verdict(
                hp.hibernated_bytes(0).max(hp.hibernated_bytes(1)) <= GOAL_HIBERNATED_KIB * 1024.0
            ),
        );
        let _ = writeln!(
            w,
            "| Live heap per live session actor, in-process server (first batch; second batch) | Redis | {:.2} KiB ({:.2} KiB) | | |",
            hp.live_actor_bytes(0) / 1024.0,
            hp.live_actor_bytes(1) / 1024.0,
        );
    }
    if let Some(s) = streams {
        let _ = writeln!(
            w,
            "| Replica RSS per idle open SSE stream ({STREAMS} streams, actor already live) | Redis | {:.2} KiB | | |",
            s.kib_per_stream()
        );
        let _ = writeln!(
            w,
            "| Replica RSS per session with a live actor and an open SSE stream | Redis | {:.2} KiB | | |",
            s.kib_per_session_and_stream()
        );
    }
    for h in hibernation {
        if let Some(bytes) = h.redis_bytes_per_session() {
            let _ = writeln!(
                w,
                "| Redis `used_memory` per idle session ({SESSIONS} sessions) | Redis | {bytes:.0} B | ≤ {GOAL_REDIS_BYTES:.0} B | {} |",
                verdict(bytes <= GOAL_REDIS_BYTES)
            );
        }
    }
    for h in hibernation {
        let _ = writeln!(
            w,
            "| `initialize` + `initialized` per second ({SESSIONS} sessions, {SETUP_CONCURRENCY} in flight, one replica) | {} | {:.0} sessions/s | | |",
            h.store,
            SESSIONS as f64 / h.create_secs[0]
        );
    }
    if !init.is_empty() {
        let _ = writeln!(
            w,
            "\n| `initialize` + `initialized`, one replica, Redis ({INIT_SESSIONS} sessions) | sessions/s | latency p50 | p99 |"
        );
        let _ = writeln!(w, "|---|---|---|---|");
        for r in init {
            let _ = writeln!(
                w,
                "| {} in flight | **{:.0}** | {:.2} ms | {:.2} ms |",
                r.concurrency, r.per_sec, r.p50_ms, r.p99_ms
            );
        }
    }
    let _ = writeln!(w, "\nRaw numbers:\n");
    for h in hibernation {
        let _ = write!(
            w,
            "- {} store: RSS {} KiB (warm) → {} KiB ({SESSIONS} hibernated sessions) → {} KiB ({} hibernated sessions), peak {} KiB; batches created in {:.1} s and {:.1} s, all hibernated {:.1} s and {:.1} s later",
            h.store,
            h.rss_kib[0],
            h.rss_kib[1],
            h.rss_kib[2],
            2 * SESSIONS,
            h.peak_rss_kib,
            h.create_secs[0],
            h.create_secs[1],
            h.hibernate_secs[0],
            h.hibernate_secs[1],
        );
        if let Some((before, after, keys_before, keys_after)) = h.redis {
            let _ = write!(
                w,
                "; Redis used_memory {before} → {after} B, keys {keys_before} → {keys_after}"
            );
        }
        let _ = writeln!(w);
    }
    if let Some(hp) = heap {
        let mib = |b: i64| b as f64 / 1024.0 / 1024.0;
        let _ = writeln!(
            w,
            "- in-process server (bench process, Redis): live heap {:.1} MiB (warm) → {:.1} MiB ({} live actors) → {:.1} MiB ({SESSIONS} hibernated) → {:.1} MiB ({} live actors) → {:.1} MiB ({} hibernated); process RSS {} → {} → {} KiB after the batches, {} KiB after `malloc_trim(0)`",
            mib(hp.warm.heap),
            mib(hp.live[0].0.heap),
            hp.live[0].1,
            mib(hp.hibernated[0].heap),
            mib(hp.live[1].0.heap),
            hp.live[1].1,
            mib(hp.hibernated[1].heap),
            2 * SESSIONS,
            hp.warm.rss_kib,
            hp.hibernated[0].rss_kib,
            hp.hibernated[1].rss_kib,
            hp.trimmed.rss_kib,
        );
    }
    if let Some(s) = streams {
        let _ = writeln!(
            w,
            "- SSE streams: RSS {} KiB (warm) → {} KiB ({STREAMS} live sessions) → {} KiB ({STREAMS} open streams); {} live actors",
            s.rss_start_kib, s.rss_sessions_kib, s.rss_streams_kib, s.live_actors
        );
    }
    if let Some(c) = churn {
        out.push_str(&render_churn(c));
    }
    out
}

fn render_resume(r: &Resume) -> String {
    let mut out = String::new();
    let w = &mut out;
    let replay: Vec<f64> = r.trials.iter().map(|t| t.replay_ms).collect();
    let adopt: Vec<f64> = r.trials.iter().filter_map(|t| t.adopt_ms).collect();
    let first_new: Vec<f64> = r.trials.iter().map(|t| t.first_new_ms).collect();
    let catch_up: Vec<f64> = r
        .trials
        .iter()
        .map(|t| t.first_new_ms - t.adopt_ms.unwrap_or(f64::NAN))
        .filter(|v| v.is_finite())
        .collect();
    let replayed: Vec<f64> = r.trials.iter().map(|t| t.replayed as f64).collect();
    let skipped: Vec<f64> = r.trials.iter().map(|t| t.skipped as f64).collect();
    let _ = writeln!(
        w,
        "{} trials, {} failed{}.\n",
        r.trials.len() + r.failures.len(),
        r.failures.len(),
        if r.failures.is_empty() {
            String::new()
        } else {
            format!(": {}", r.failures.join("; "))
        }
    );
    let _ = writeln!(
        w,
        "| After SIGKILL of the replica holding the stream | Distribution |"
    );
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| `GET` with `Last-Event-ID` on the other replica → first replayed event | **{}** |",
        fleet::distribution_ms(&replay)
    );
    let _ = writeln!(
        w,
        "| Kill → the other replica owns the stream (runner record replaced; lease 3 s, renewed every 1 s, checked every 1 s) | {} |",
        fleet::distribution_ms(&adopt)
    );
    let _ = writeln!(
        w,
        "| Kill → first new event of the in-flight read-only `count` call (taken over and run again) | **{}** |",
        fleet::distribution_ms(&first_new)
    );
    let _ = writeln!(
        w,
        "| of which the rerun catching up (owning the stream → first new event; the rerun drops the notifications already stored, at the tool's own pace) | {} |",
        fleet::distribution_ms(&catch_up)
    );
    let s = fleet::sorted(&replayed);
    let k = fleet::sorted(&skipped);
    let _ = writeln!(
        w,
        "\nEvents replayed per trial (stored after the client's last event, before the kill): median {:.0}, min {:.0}, max {:.0}; notifications the rerun dropped: median {:.0}. Replayed and new event ids always continued the client's last id by one (checked per event).",
        fleet::quantile(&s, 0.5),
        s.first().copied().unwrap_or(0.0),
        s.last().copied().unwrap_or(0.0),
        fleet::quantile(&k, 0.5),
    );
    out
}

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    let started = Instant::now();
    let load_before = support::load_average();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    let redis = Redis::start().await;

    let mut hibernation = Vec::new();
    if fleet::wants("memory") {
        for store in [None, Some(&redis)] {
            step(&format!(
                "memory per hibernated session, {}",
                store_label(store)
            ));
            hibernation.push(hibernated(&bin, store).await);
        }
    }
    let heap = if fleet::wants("heap") {
        step("live heap of an in-process server");
        Some(heap(&redis).await)
    } else {
        None
    };
    let streams = if fleet::wants("streams") {
        step("memory per open SSE stream");
        Some(stream_memory(&bin, &redis).await)
    } else {
        None
    };
    let init = if fleet::wants("init") {
        step("initialize rate");
        init_rate(&bin, &redis).await
    } else {
        Vec::new()
    };
    let churn = if fleet::wants("churn") {
        step("live heap under churn");
        Some(churn(&bin, &redis).await)
    } else {
        None
    };
    redis.stop().await;
    let memory_ran = !hibernation.is_empty()
        || heap.is_some()
        || streams.is_some()
        || !init.is_empty()
        || churn.is_some();
    if memory_ran {
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load_before),
            render_memory(
                &hibernation,
                heap.as_ref(),
                streams.as_ref(),
                &init,
                churn.as_ref()
            )
        );
        println!("{report}");
        support::write_report("lifecycle", &report);
    }
    if fleet::wants("resume") {
        let resume_started = Instant::now();
        let load_before = support::load_average();
        step("resume after SIGKILL");
        let r = resume(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(resume_started, &load_before),
            render_resume(&r)
        );
        println!("{report}");
        support::write_report("resume", &report);
    }
}
