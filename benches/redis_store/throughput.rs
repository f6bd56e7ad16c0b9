//! Measurements 2 and 3: `tools/call` throughput, embedded against Redis, and what the calls of
//! one replica cost idle replicas on the same Redis (their CPU and the `PUBLISH`es per call).

use super::*;

pub(crate) struct Throughput {
    pub(crate) store: &'static str,
    /// `session.verify_each_request` (only matters with Redis).
    pub(crate) verify: bool,
    pub(crate) mode: Mode,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) secs: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// CPU time of the replica and of Redis per measured call, in µs.
    pub(crate) server_cpu_us: f64,
    pub(crate) redis_cpu_us: Option<f64>,
    /// Replicas running beside the serving one, serving nothing (measurement 3).
    pub(crate) idle: usize,
    /// Their CPU time per measured call, summed, in µs.
    pub(crate) idle_cpu_us: f64,
    /// `PUBLISH` commands per measured call (with Redis).
    pub(crate) publish_per_call: Option<f64>,
}

impl Throughput {
    pub(crate) fn store_label(&self) -> String {
        if self.verify {
            self.store.to_owned()
        } else {
            format!("{}, `verify_each_request=false`", self.store)
        }
    }

    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Measures `tools/call` throughput on one replica, with `idle` more replicas on the same
/// store serving nothing.
pub(crate) async fn throughput(
    bin: &Path,
    redis: Option<&Redis>,
    mode: Mode,
    verify: bool,
    idle: usize,
) -> Throughput {
    let store = store_label(redis);
    if let Some(r) = redis {
        r.flushall().await;
    }
    let env = server_env(redis, mode, &verify_env(verify));
    let server = Server::start(bin, &env).await;
    let mut others = Vec::with_capacity(idle);
    for _ in 0..idle {
        others.push(Server::start(bin, &env).await);
    }
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let http = support::http_client();
        let sid = support::initialize(&http, &server.mcp)
            .await
            .expect("initialize a throughput session");
        clients.push((http, sid));
    }
    let start = Instant::now();
    let (measure_from, until) = (start + WARMUP, start + WARMUP + RUN);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|(http, sid)| {
            let url = server.mcp.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0u64, None);
                let mut id = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    id += 1;
                    let result = support::call_add(&http, &url, &sid, id).await;
                    if sent < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = (server.cpu_secs(), cpu_of(redis).await);
    let idle_before: f64 = others.iter().map(Server::cpu_secs).sum();
    let publish_before = publishes(redis).await;
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for worker in workers {
        let (l, e, f) = worker.await.expect("a throughput worker panicked");
        latencies.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let secs = measure_from.elapsed().as_secs_f64();
    let calls = (latencies.len() as u64 + errors).max(1) as f64;
    let server_cpu_us = (server.cpu_secs() - cpu_before.0) * 1e6 / calls;
    let redis_cpu_us = match (cpu_of(redis).await, cpu_before.1) {
        (Some(after), Some(before)) => Some((after - before) * 1e6 / calls),
        _ => None,
    };
    let idle_cpu_us =
        (others.iter().map(Server::cpu_secs).sum::<f64>() - idle_before) * 1e6 / calls;
    let publish_per_call = match (publishes(redis).await, publish_before) {
        (Some(after), Some(before)) => Some(after.saturating_sub(before) as f64 / calls),
        _ => None,
    };
    server.stop().await;
    for other in others {
        other.stop().await;
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Throughput {
        store,
        verify,
        mode,
        requests: latencies.len() as u64,
        errors,
        first_error,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        server_cpu_us,
        redis_cpu_us,
        idle,
        idle_cpu_us,
        publish_per_call,
    }
}

/// `PUBLISH` commands Redis ran so far (`commandstats`, scripts' included).
async fn publishes(redis: Option<&Redis>) -> Option<u64> {
    let r = redis?;
    Some(
        r.counters()
            .await
            .calls
            .get("publish")
            .copied()
            .unwrap_or(0),
    )
}

async fn cpu_of(redis: Option<&Redis>) -> Option<f64> {
    match redis {
        Some(r) => Some(r.cpu_secs().await),
        None => None,
    }
}
