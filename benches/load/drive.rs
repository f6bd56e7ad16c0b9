//! The two load models, both recording latencies in an HdrHistogram (µs, 3 significant digits):
//!
//! - **closed loop** ([`closed_loop`]): `clients` connections, each sending its next request as
//!   soon as the previous one is answered: the maximum throughput at that concurrency.
//! - **open loop** ([`open_loop`]): requests are scheduled by the clock at a fixed rate (request
//!   `i` is due at `t0 + i / rate`) by a dispatcher thread, and taken by the first free
//!   connection of a pool. Latency runs from the *intended* send time, so a stalled server (or
//!   a full pool) is charged for the requests that waited behind it: the coordinated-omission
//!   correction of wrk2. The dispatcher's own lateness is measured too and reported.
//!
//! Only requests intended after the warm-up are recorded. The server's CPU time over the
//! measured interval is sampled through an optional callback.

use crate::http::Conn;
use crate::mcp::Endpoint;
use futures_util::future::BoxFuture;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One unit of work on a connection (a `tools/call`, an `initialize` pair, ...).
pub trait Op: Send + Sync + 'static {
    /// Runs unit `seq` for client `client` on `conn`.
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        client: usize,
        seq: u64,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Reads a process's CPU time so far (seconds).
pub type CpuProbe = Arc<dyn Fn() -> f64 + Send + Sync>;

/// What a measurement produced.
#[derive(Clone)]
pub struct Outcome {
    /// Successful units in the measured interval.
    pub ok: u64,
    /// Failed units in the measured interval.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// Length of the measured interval (s).
    pub secs: f64,
    /// Latencies of successful units (µs).
    pub hist: Histogram<u64>,
    /// Server CPU seconds over the measured interval, when a probe was given.
    pub server_cpu: Option<f64>,
    /// Open loop: the rate asked for (units/s).
    pub target_rate: Option<f64>,
    /// Open loop: p99 of the dispatcher's lateness (µs), the generator's own error.
    pub dispatch_p99_us: Option<u64>,
}

impl Outcome {
    /// Units per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }

    /// A latency percentile in ms.
    pub fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// The maximum latency in ms.
    pub fn max_ms(&self) -> f64 {
        self.hist.max() as f64 / 1000.0
    }

    /// Server CPU µs per successful unit.
    pub fn cpu_us_per_op(&self) -> Option<f64> {
        self.server_cpu.map(|c| c * 1e6 / (self.ok.max(1) as f64))
    }
}

/// A histogram for latencies from 1 µs to 5 min.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 300_000_000, 3).expect("valid histogram bounds")
}

struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    hist: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            ok: 0,
            errors: 0,
            first_error: None,
            hist: histogram(),
        }
    }

    fn record(&mut self, result: Result<(), String>, latency: Duration) {
        match result {
            Ok(()) => {
                self.ok += 1;
                let us = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.hist.saturating_record(us);
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.hist
            .add(&other.hist)
            .expect("histograms with the same bounds");
    }
}

/// Samples the probe at `at` and returns a handle to the value.
fn probe_at(probe: Option<CpuProbe>, at: Instant) -> tokio::task::JoinHandle<Option<f64>> {
    tokio::spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        probe.map(|p| p())
    })
}

/// Closed loop: `clients` connections back to back for `warmup + duration`.
pub async fn closed_loop(
    ep: &Endpoint,
    op: Arc<dyn Op>,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    probe: Option<CpuProbe>,
) -> Outcome {
    let start = Instant::now();
    let (measure_from, until) = (start + warmup, start + warmup + duration);
    let cpu_start = probe_at(probe.clone(), measure_from);
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (op, mut conn) = (Arc::clone(&op), ep.conn());
            tokio::spawn(async move {
                let mut tally = Tally::new();
                let mut seq = 0u64;
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    seq += 1;
                    let result = op.run(&mut conn, client, seq).await;
                    if sent >= measure_from {
                        tally.record(result, sent.elapsed());
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::new();
    for t in tasks {
        total.merge(t.await.expect("a load task panicked"));
    }
    let end = Instant::now();
    let server_cpu = match (cpu_start.await.ok().flatten(), probe) {
        (Some(c0), Some(p)) => Some(p() - c0),
        _ => None,
    };
    Outcome {
        ok: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        secs: (end - measure_from).as_secs_f64(),
        hist: total.hist,
        server_cpu,
        target_rate: None,
        dispatch_p99_us: None,
    }
}

/// Open loop: `rate` units per second for `warmup + duration` over a pool of `conns`
/// connections; latency from each unit's intended start.
pub async fn open_loop(
    ep: &Endpoint,
    op: Arc<dyn Op>,
    conns: usize,
    rate: f64,
    warmup: Duration,
    duration: Duration,
    probe: Option<CpuProbe>,
) -> Outcome {
    let period = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let total_units = (rate * (warmup + duration).as_secs_f64()).ceil() as u64;
    let t0 = Instant::now() + Duration::from_millis(20);
    let measure_from = t0 + warmup;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let stop = Arc::new(AtomicBool::new(false));
    let dispatcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut late = histogram();
            for i in 0..total_units {
                let due = t0 + period * u32::try_from(i).unwrap_or(u32::MAX);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let lateness = Instant::now().saturating_duration_since(due);
                late.saturating_record(u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX));
                if stop.load(Ordering::Relaxed) || tx.send(i).is_err() {
                    break;
                }
            }
            late
        })
    };
    let cpu_start = probe_at(probe.clone(), measure_from);
    let tasks: Vec<_> = (0..conns)
        .map(|client| {
            let (op, mut conn, rx) = (Arc::clone(&op), ep.conn(), Arc::clone(&rx));
            tokio::spawn(async move {
                let mut tally = Tally::new();
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some(i) = next else { break };
                    let intended = t0 + period * u32::try_from(i).unwrap_or(u32::MAX);
                    let result = op.run(&mut conn, client, i).await;
                    if intended >= measure_from {
                        tally.record(result, intended.elapsed());
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::new();
    for t in tasks {
        total.merge(t.await.expect("a load task panicked"));
    }
    stop.store(true, Ordering::Relaxed);
    let late = dispatcher.join().expect("the dispatcher panicked");
    let end = Instant::now();
    let server_cpu = match (cpu_start.await.ok().flatten(), probe) {
        (Some(c0), Some(p)) => Some(p() - c0),
        _ => None,
    };
    Outcome {
        ok: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        secs: (end - measure_from).as_secs_f64(),
        hist: total.hist,
        server_cpu,
        target_rate: Some(rate),
        dispatch_p99_us: Some(late.value_at_quantile(0.99)),
    }
}

/// Where the sessions of a `tools/call` run come from, relative to the connections that call
/// them. mcp-hive runs a session's actor on the HTTP worker thread that served its
/// `initialize`, and a call is served by the worker of its connection, so this decides how
/// the actors spread over the workers and how many calls cross to another worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Placement {
    /// All sessions started one after the other on one set-up connection, client `c` calling
    /// session `c`: every actor on one worker, the calls of about half the clients crossing to
    /// it (the worst case, and what `all` measures).
    Setup,
    /// Each connection starts its own session with its first call and keeps calling it: a
    /// client talking to the server directly. Actors spread like connections; no call crosses.
    Own,
    /// Each connection starts its own session, but clients call in pairs each other's
    /// (`c` calls the session started on connection `c ^ 1`): calls arriving through a load
    /// balancer's pooled connections. Actors spread like connections; a call crosses whenever
    /// the pair's connections landed on different workers.
    Swapped,
}

/// `tools/call` of `add` over a set of sessions.
pub struct AddCall {
    /// The endpoint.
    pub ep: Endpoint,
    /// The set-up sessions (client `c` uses `c % len` with [`Placement::Setup`]; the others
    /// take their `Authorization` from the first).
    pub sessions: Vec<crate::mcp::Session>,
    /// Which session each call goes to.
    pub placement: Placement,
    /// [`Placement::Swapped`]: the session started on each client's connection.
    pub started: Vec<std::sync::OnceLock<crate::mcp::Session>>,
}

impl AddCall {
    /// Calls over `sessions` placed by `placement`, for up to `clients` connections.
    pub fn new(
        ep: Endpoint,
        sessions: Vec<crate::mcp::Session>,
        placement: Placement,
        clients: usize,
    ) -> Self {
        Self {
            ep,
            sessions,
            placement,
            started: (0..clients).map(|_| std::sync::OnceLock::new()).collect(),
        }
    }
}

impl Op for AddCall {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        client: usize,
        seq: u64,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if self.placement != Placement::Setup && conn.session.is_none() {
                let auth = self.sessions.first().and_then(|s| s.auth.as_deref());
                let own = crate::mcp::initialize(conn, &self.ep, auth).await?;
                if let Some(slot) = self.started.get(client) {
                    // A connection opened again (a later loop) keeps the first session.
                    let _ = slot.set(own.clone());
                }
                conn.session = Some(own);
            }
            let session = match (self.placement, &conn.session) {
                (Placement::Setup, _) | (_, None) => &self.sessions[client % self.sessions.len()],
                (Placement::Own, Some(own)) => own,
                // Until the partner's first call started its session, a client calls its own.
                (Placement::Swapped, Some(own)) => self
                    .started
                    .get(client ^ 1)
                    .and_then(|slot| slot.get())
                    .unwrap_or(own),
            };
            // Unique among all connections: several may call one session at once.
            let id = ((client as u64) << 40) | seq;
            let req = crate::mcp::add_request(&self.ep, session, id);
            let res = conn
                .request(&req, crate::mcp::REQUEST_LIMIT)
                .await
                .map_err(|e| e.to_string())?;
            if crate::mcp::add_ok(&res) {
                Ok(())
            } else {
                Err(format!(
                    "tools/call: HTTP {}: {}",
                    res.head.status,
                    String::from_utf8_lossy(&res.body)
                ))
            }
        })
    }
}

/// `initialize` + `notifications/initialized`: one new session per unit.
pub struct Initialize {
    /// The endpoint.
    pub ep: Endpoint,
}

impl Op for Initialize {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        _client: usize,
        _seq: u64,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            crate::mcp::initialize(conn, &self.ep, None)
                .await
                .map(|_| ())
        })
    }
}
