//! Prometheus metrics of one replica: [`Metrics`] owns the registry and the typed recorders,
//! [`middleware`] observes HTTP requests and MCP operations, [`endpoint`] serves `GET /metrics`.
//!
//! Crate: `prometheus-client`, the Prometheus project's own Rust client. Registries are plain
//! values (one per [`crate::startup::Application`], so servers started in one process, as the
//! library tests do, never share counts), label sets are typed structs (so no call site can
//! invent a label), histograms take explicit buckets, and the output is the OpenMetrics text
//! format, which Prometheus scrapes natively. (`prometheus`, the TiKV crate, would fit too;
//! `metrics` + `metrics-exporter-prometheus` centre on a process-global recorder.)
//!
//! Names follow the OpenTelemetry semantic conventions where they define one, converted as
//! Prometheus does (dots → underscores, unit suffix): `mcp.server.operation.duration` →
//! `mcp_server_operation_duration_seconds`, `http.server.request.duration` →
//! `http_server_request_duration_seconds`, `db.client.operation.duration` →
//! `db_client_operation_duration_seconds`. The others are `mcp_server_*`. Labels are bounded
//! (see [`labels`]) and never carry session ids, principals or tokens.
//!
//! The store and the auth layer report through their own small traits
//! ([`crate::store::StoreObserver`], [`crate::auth::observe::AuthObserver`]); the protocol core
//! knows nothing of metrics.

pub mod endpoint;
pub mod labels;
pub mod middleware;
mod probe;

use labels::{
    BackendLabels, DbErrorLabels, DbLabels, HttpLabels, OperationLabels, ResultLabels,
    SessionLabels, StreamLabels,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::OnceLock;
use std::time::Duration;

/// Buckets of MCP operations: sub-millisecond answers to the conventions' 300 s.
const OPERATION_BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];
/// Buckets of HTTP requests (the HTTP conventions' set, with sub-millisecond buckets first).
const HTTP_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0,
];
/// Buckets of Redis round trips.
const DB_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets of session lifetimes: one second to a day.
const SESSION_BUCKETS: [f64; 14] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
    86400.0,
];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn operation_histogram() -> Histogram {
    Histogram::new(OPERATION_BUCKETS)
}
fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}
fn db_histogram() -> Histogram {
    Histogram::new(DB_BUCKETS)
}
fn session_histogram() -> Histogram {
    Histogram::new(SESSION_BUCKETS)
}

/// The metrics of one replica.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    operations: Histograms<OperationLabels>,
    sessions_ended: Histograms<SessionLabels>,
    http: Histograms<HttpLabels>,
    db: Histograms<DbLabels>,
    db_errors: Family<DbErrorLabels, Counter>,
    sessions_active: Gauge,
    session_actors: Gauge,
    in_flight: Gauge,
    relocations: Counter,
    streams: Family<StreamLabels, Gauge>,
    replayed: Counter,
    token_cache: Family<ResultLabels, Counter>,
    /// The `hit` and `miss` series of `token_cache`, taken from the family at their first use:
    /// every authenticated request counts one, and a family lookup hashes its labels (SipHash,
    /// fixed by the crate) under a read lock shared by the workers.
    token_cache_hit: OnceLock<Counter>,
    token_cache_miss: OnceLock<Counter>,
    introspections: Family<ResultLabels, Counter>,
    jwks_fetches: Family<ResultLabels, Counter>,
    rate_limited: Family<BackendLabels, Counter>,
    rate_limit_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered (and no series until first use).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            operations: Family::new_with_constructor(operation_histogram),
            sessions_ended: Family::new_with_constructor(session_histogram),
            http: Family::new_with_constructor(http_histogram),
            db: Family::new_with_constructor(db_histogram),
            db_errors: Family::default(),
            sessions_active: Gauge::default(),
            session_actors: Gauge::default(),
            in_flight: Gauge::default(),
            relocations: Counter::default(),
            streams: Family::default(),
            replayed: Counter::default(),
            token_cache: Family::default(),
            token_cache_hit: OnceLock::new(),
            token_cache_miss: OnceLock::new(),
            introspections: Family::default(),
            jwks_fetches: Family::default(),
            rate_limited: Family::default(),
            rate_limit_errors: Counter::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register_with_unit(
            "mcp_server_operation_duration",
            "MCP request or notification duration from its arrival until its result (the end of its SSE reply) or its acknowledgement is sent",
            Unit::Seconds,
            m.operations.clone(),
        );
        r.register_with_unit(
            "mcp_server_session_duration",
            "Lifetime of MCP sessions ended on this replica (DELETE, or the HTTP+SSE connection closing)",
            Unit::Seconds,
            m.sessions_ended.clone(),
        );
        r.register_with_unit(
            "http_server_request_duration",
            "HTTP request duration until the response head (SSE streams: until the stream starts)",
            Unit::Seconds,
            m.http.clone(),
        );
        r.register_with_unit(
            "db_client_operation_duration",
            "Redis operations of the store (one round trip or script each)",
            Unit::Seconds,
            m.db.clone(),
        );
        r.register(
            "db_client_operation_errors",
            "Redis operations of the store that failed",
            m.db_errors.clone(),
        );
        r.register(
            "mcp_server_sessions_active",
            "Live (not expired) sessions in the store, for all replicas sharing it: the same value on every replica, do not sum across replicas",
            m.sessions_active.clone(),
        );
        r.register(
            "mcp_server_session_actors",
            "Session actors live on this replica (sessions it is serving now; hibernated sessions and sessions only other replicas serve are not counted)",
            m.session_actors.clone(),
        );
        r.register(
            "mcp_server_requests_in_flight",
            "MCP requests running on this replica's session actors",
            m.in_flight.clone(),
        );
        r.register(
            "mcp_server_session_actor_relocations",
            "Session actors that moved to the HTTP worker their requests arrive on (session.relocate_after)",
            m.relocations.clone(),
        );
        r.register(
            "mcp_server_sse_streams_open",
            "Open SSE connections by kind",
            m.streams.clone(),
        );
        r.register(
            "mcp_server_sse_events_replayed",
            "Events stored after Last-Event-ID when a stream was resumed (sent first on the new connection)",
            m.replayed.clone(),
        );
        r.register(
            "mcp_server_auth_token_cache_requests",
            "Bearer token checks answered from the token cache (hit) or verified anew (miss)",
            m.token_cache.clone(),
        );
        r.register(
            "mcp_server_auth_introspection_requests",
            "RFC 7662 introspection calls by outcome",
            m.introspections.clone(),
        );
        r.register(
            "mcp_server_auth_jwks_fetches",
            "Fetches of the issuer's key set by outcome",
            m.jwks_fetches.clone(),
        );
        r.register(
            "mcp_server_rate_limited_requests",
            "Requests refused with 429 by the rate limiter",
            m.rate_limited.clone(),
        );
        r.register(
            "mcp_server_rate_limit_store_errors",
            "Rate-limit checks the store could not answer (the request was let through)",
            m.rate_limit_errors.clone(),
        );
        Self { registry, ..m }
    }

    /// Records one MCP operation.
    pub fn operation(&self, labels: &OperationLabels, elapsed: Duration) {
        self.operations
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records the end of a session that lived `lifetime`.
    pub fn session_ended(&self, protocol_version: &'static str, lifetime: Duration) {
        let labels = SessionLabels {
            mcp_protocol_version: protocol_version,
            network_transport: "tcp",
            network_protocol_name: "http",
        };
        self.sessions_ended
            .get_or_create(&labels)
            .observe(lifetime.as_secs_f64());
    }

    /// Records one HTTP request.
    pub fn http_request(&self, labels: &HttpLabels, elapsed: Duration) {
        self.http
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// An SSE connection of `kind` opened; the returned guard closes it when dropped.
    pub fn stream_opened(&self, kind: &'static str) -> Gauge {
        let gauge = self.streams.get_or_create_owned(&StreamLabels { kind });
        gauge.inc();
        gauge
    }

    /// `count` events were replayed to a resumed stream.
    pub fn events_replayed(&self, count: u64) {
        self.replayed.inc_by(count);
    }

    /// Sets the gauges read at scrape time: live sessions in the store (`None` when the store
    /// did not answer: the gauge keeps its last value), live actors and running requests here;
    /// and the count of actor relocations, which the session registry keeps.
    pub fn set_session_gauges(
        &self,
        stored: Option<u64>,
        actors: usize,
        in_flight: usize,
        relocations: u64,
    ) {
        self.relocations
            .inner()
            .store(relocations, std::sync::atomic::Ordering::Relaxed);
        if let Some(stored) = stored {
            self.sessions_active
                .set(i64::try_from(stored).unwrap_or(i64::MAX));
        }
        self.session_actors
            .set(i64::try_from(actors).unwrap_or(i64::MAX));
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    /// A request was refused by the rate limiter's `backend` (`local` or `store`).
    pub fn rate_limited(&self, backend: &'static str) {
        self.rate_limited
            .get_or_create(&BackendLabels { backend })
            .inc();
    }

    /// The store could not answer a rate-limit check.
    pub fn rate_limit_store_error(&self) {
        self.rate_limit_errors.inc();
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl crate::store::StoreObserver for Metrics {
    fn operation(
        &self,
        operation: &'static str,
        elapsed: Duration,
        error: Option<&crate::store::StoreError>,
    ) {
        let labels = DbLabels {
            db_system_name: "redis",
            db_operation_name: operation,
        };
        self.db
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        let error_type = match error {
            Some(crate::store::StoreError::Unavailable(_)) => "unavailable",
            Some(crate::store::StoreError::Corrupt(_)) => "corrupt",
            // NotFound, AlreadyExists, Full: answers, not failures.
            _ => return,
        };
        self.db_errors
            .get_or_create(&DbErrorLabels {
                db_system_name: "redis",
                db_operation_name: operation,
                error_type,
            })
            .inc();
    }
}

impl crate::auth::observe::AuthObserver for Metrics {
    fn token_cache(&self, hit: bool) {
        let (series, result) = if hit {
            (&self.token_cache_hit, "hit")
        } else {
            (&self.token_cache_miss, "miss")
        };
        series
            .get_or_init(|| {
                self.token_cache
                    .get_or_create(&ResultLabels { result })
                    .clone()
            })
            .inc();
    }

    fn introspection(&self, outcome: &'static str) {
        self.introspections
            .get_or_create(&ResultLabels { result: outcome })
            .inc();
    }

    fn jwks_fetch(&self, outcome: &'static str) {
        self.jwks_fetches
            .get_or_create(&ResultLabels { result: outcome })
            .inc();
    }
}
