//! Measurement 1: Redis round trips and commands per warm `tools/call` (socket reads from
//! `INFO stats`, and a `MONITOR` tally of the commands sent and run inside scripts).

use super::*;

pub(crate) struct RoundTrips {
    pub(crate) mode: Mode,
    /// `session.verify_each_request` (the default is true).
    pub(crate) verify: bool,
    /// Socket reads by Redis on the replica's connections (`total_reads_processed` delta without
    /// the benchmark's own commands): network round trips.
    pub(crate) round_trips: u64,
    /// From MONITOR, between the markers.
    pub(crate) monitor: MonitorCounts,
    /// `INFO commandstats` delta, without the measurement's own commands.
    pub(crate) stats: BTreeMap<String, u64>,
    /// `used_memory` and key-count deltas over the measured calls.
    pub(crate) memory_delta: i64,
    pub(crate) keys_delta: i64,
    /// The session's keys at the end: count, total bytes, and the largest (name, bytes).
    pub(crate) session_keys: (usize, u64, Option<(String, u64)>),
    /// Moves of the session's actor to another HTTP worker during the measured calls (each
    /// rehydrates the session from Redis).
    pub(crate) relocations: u64,
}

impl RoundTrips {
    pub(crate) fn per_call(&self) -> f64 {
        self.round_trips as f64 / RT_CALLS as f64
    }

    pub(crate) fn sent_per_call(&self) -> f64 {
        self.monitor.client.values().sum::<u64>() as f64 / RT_CALLS as f64
    }

    pub(crate) fn stats_per_call(&self) -> f64 {
        self.stats.values().sum::<u64>() as f64 / RT_CALLS as f64
    }

    pub(crate) fn label(&self) -> String {
        if self.verify {
            self.mode.label().to_owned()
        } else {
            format!("{}, `verify_each_request=false`", self.mode.label())
        }
    }
}

pub(crate) async fn round_trips(bin: &Path, redis: &Redis, mode: Mode, verify: bool) -> RoundTrips {
    redis.flushall().await;
    // The actor stays on its HTTP worker: reqwest's pool sends runs of calls over a second
    // connection now and then, and with the default `relocate_after` the actor followed each
    // run (8 to 20 moves in 2000 calls, each rehydrating the session: not a warm call).
    let mut env = verify_env(verify);
    env.push(("MCP_HIVE__SESSION__RELOCATE_AFTER", "0".to_owned()));
    let server = Server::start(bin, &server_env(Some(redis), mode, &env)).await;
    let http = support::http_client();
    let sid = support::initialize(&http, &server.mcp)
        .await
        .expect("initialize the round-trip session");
    // Warm: actor live, scripts loaded, connections open.
    for id in 1..=50 {
        support::call_add(&http, &server.mcp, &sid, id)
            .await
            .expect("warm-up tools/call");
    }
    let relocations_before = server.actor_relocations(&http).await;
    let memory_before = (redis.used_memory().await, redis.dbsize().await);
    let monitor = redis.monitor().await;
    let before = redis.counters().await;
    redis.echo(Monitor::BEGIN).await;
    for id in 0..RT_CALLS {
        support::call_add(&http, &server.mcp, &sid, 1000 + id)
            .await
            .expect("measured tools/call");
    }
    // Let work spawned after the last reply reach Redis.
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.echo(Monitor::END).await;
    let after = redis.counters().await;
    let monitor = monitor.finish().await;
    let relocations = server.actor_relocations(&http).await - relocations_before;
    let memory_delta = redis.used_memory().await as i64 - memory_before.0 as i64;
    let keys_delta = redis.dbsize().await as i64 - memory_before.1 as i64;
    let keys = redis.keys_matching(&format!("*{sid}*")).await;
    let (mut total, mut largest) = (0, None::<(String, u64)>);
    for key in &keys {
        let bytes = redis.memory_usage(key).await;
        total += bytes;
        if largest.as_ref().is_none_or(|(_, b)| bytes > *b) {
            largest = Some((key.clone(), bytes));
        }
    }
    server.stop().await;
    let stats = after
        .calls
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "echo" | "monitor"))
        .filter_map(|(name, n)| {
            let delta = n - before.calls.get(&name).copied().unwrap_or(0);
            (delta > 0).then_some((name, delta))
        })
        .collect();
    // Our own reads in between: the two ECHOs and the second INFO.
    let round_trips = (after.reads - before.reads).saturating_sub(3);
    RoundTrips {
        mode,
        verify,
        round_trips,
        monitor,
        stats,
        memory_delta,
        keys_delta,
        session_keys: (keys.len(), total, largest),
        relocations,
    }
}
