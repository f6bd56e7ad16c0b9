//! Server lifecycle: bind the listener first (so port 0 works and the bound port is known),
//! build stores, registry and session registry, run actix-web, and shut down gracefully.
//!
//! Shutdown (SIGTERM or SIGINT), see [`Application::run_until_stopped`]:
//! 1. the replica turns not-ready (`/readyz` 503) and closes its GET-like SSE connections
//!    (standalone, listen, HTTP+SSE; clients got a `retry` hint and resume with `Last-Event-ID`
//!    on another replica), and moves session actors off the HTTP worker threads: each one living
//!    on a worker stops once nothing runs on it, and sessions continue on actors on dedicated
//!    threads (`session::home`);
//! 2. it keeps serving for `server.drain_delay_secs` so load balancers stop routing to it;
//! 3. once no session actor lives on an HTTP worker any more (or the budget runs out: a worker
//!    takes its actors with it when it stops), the listener stops accepting; in-flight POSTs
//!    finish on their own connection, except that
//!    POST streams still open one second before `server.shutdown_timeout_secs` runs out close
//!    with the retry hint (their clients resume elsewhere);
//! 4. requests still running on session actors (their clients resumed elsewhere and read their
//!    events from the store) get what is left of the budget; only then do the actors stop.
//!
//! Open SSE streams therefore never hold the process hostage, and no response is lost.

use crate::auth::Authenticator;
use crate::config::{Settings, TokenMode};
use crate::http::{self, McpState, origin::OriginPolicy};
use crate::metrics::Metrics;
use crate::protocol::mrtr::state::Sealer;
use crate::protocol::server::{McpServer, ServerInfo};
use crate::protocol::tasks::service::{TaskConfig, TaskService};
use crate::ratelimit::RateLimiter;
use crate::registry::Registry;
use crate::registry::ServerEvent;
use crate::session::{Backends, SessionRegistry, SessionSettings};
use crate::store::StoreObserver;
use crate::store::bus::{Bus, GLOBAL_TOPIC, LocalBus};
use crate::store::memory::{MemoryStore, MemoryStoreConfig};
use crate::store::memory_tasks::MemoryTaskStore;
use crate::store::redis::watchers::WATCH_LEASE;
use crate::store::redis::{RedisConfig, RedisStore};
use crate::store::task::TaskStore;
use crate::tools;
use actix::Arbiter;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    shutdown: CancellationToken,
    drain_deadline: CancellationToken,
    sessions: SessionRegistry,
    drain_delay: Duration,
    budget: Duration,
    arbiters: Vec<Arbiter>,
}

/// Builds the registry with the demo tools (and the conformance fixtures when enabled) and
/// starts the demo clock; call inside the runtime.
pub fn default_registry(settings: &Settings) -> anyhow::Result<Registry> {
    let registry = Registry::new();
    tools::demo::register(&registry)?;
    tools::demo::spawn_clock(registry.clone(), Duration::from_secs(1));
    if settings.protocol.conformance_fixtures {
        tools::conformance::register(&registry)?;
    }
    Ok(registry)
}

/// The embedded store, or Redis when `store.redis_url` / `REDIS_URL` is set.
pub fn build_backends(settings: &Settings) -> anyhow::Result<Backends> {
    build_stores(settings).map(|(backends, _)| backends)
}

/// The session backends and the task store of the tasks extension, on the same backend.
pub fn build_stores(settings: &Settings) -> anyhow::Result<(Backends, Arc<dyn TaskStore>)> {
    build_stores_observed(settings, None)
}

/// [`build_stores`], with the Redis store reporting its operations to `observer` (metrics).
pub fn build_stores_observed(
    settings: &Settings,
    observer: Option<Arc<dyn StoreObserver>>,
) -> anyhow::Result<(Backends, Arc<dyn TaskStore>)> {
    let ttl = Duration::from_secs(settings.session.idle_timeout_secs);
    let age = Duration::from_secs(settings.sse.event_log_max_age_secs);
    if settings.store.redis_url.is_empty() {
        let store = MemoryStore::new(MemoryStoreConfig {
            session_ttl: ttl,
            max_sessions: settings.session.max_sessions,
            event_max_len: settings.sse.event_log_max_len,
            event_max_age: age,
            closed_retention: Duration::from_secs(settings.sse.closed_stream_retention_secs),
        });
        store.spawn_sweeper(Duration::from_secs(1));
        let tasks = MemoryTaskStore::new(settings.tasks.max_tasks);
        tasks.spawn_sweeper(Duration::from_secs(30));
        let backends = Backends {
            sessions: store.clone(),
            events: store.clone(),
            runners: store,
            bus: LocalBus::new(),
            shared: false,
        };
        return Ok((backends, tasks));
    }
    let store = RedisStore::new(RedisConfig {
        url: settings.store.redis_url.clone(),
        prefix: settings.store.key_prefix.clone(),
        pool_size: settings.store.pool_size,
        timeout: Duration::from_millis(settings.store.timeout_ms),
        session_ttl: ttl,
        max_sessions: settings.session.max_sessions,
        event_max_len: settings.sse.event_log_max_len,
        event_max_age: age,
        closed_retention: Duration::from_secs(settings.sse.closed_stream_retention_secs),
        watch_lease: WATCH_LEASE,
    })
    .map_err(|e| anyhow::anyhow!("store.redis_url (REDIS_URL): {e}"))?;
    if let Some(observer) = observer {
        store.set_observer(observer);
    }
    store.spawn_listener();
    tracing::info!(prefix = %settings.store.key_prefix, "using the Redis store");
    let backends = Backends {
        sessions: store.clone(),
        events: store.clone(),
        runners: store.clone(),
        bus: store.clone(),
        shared: true,
    };
    Ok((backends, store))
}

/// With a shared store, resource updates announced on one replica reach the sessions of every
/// replica: they travel on the bus's global topic and each replica announces them locally.
fn fan_out_resource_updates(registry: &Registry, bus: &Arc<dyn Bus>) {
    let publisher = Arc::clone(bus);
    registry.set_fanout(Arc::new(move |event| {
        let bus = Arc::clone(&publisher);
        let payload: Arc<str> = Arc::from(serde_json::to_string(&event).unwrap_or_default());
        tokio::spawn(async move {
            if let Err(e) = bus.publish(GLOBAL_TOPIC, payload).await {
                tracing::warn!(error = %e, "could not publish a resource update");
            }
        });
    }));
    let mut rx = bus.subscribe(GLOBAL_TOPIC);
    let local = registry.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(payload) => match serde_json::from_str::<ServerEvent>(&payload) {
                    Ok(event) => local.announce_local(event),
                    Err(e) => tracing::warn!(error = %e, "ignored an undecodable server event"),
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "server events lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The sealer of 2026-07-28 `requestState`: the configured key, or a random one (then a state
/// only opens on the replica that issued it, which is worth a warning with a shared store).
pub fn state_sealer(settings: &Settings) -> anyhow::Result<Sealer> {
    let ttl = settings.protocol.state_ttl_secs;
    if settings.protocol.state_key.trim().is_empty() {
        if !settings.store.redis_url.is_empty() {
            tracing::warn!(
                "protocol.state_key (MCP_STATE_KEY) is not set: multi round-trip requests of \
                 2026-07-28 clients only continue on the replica that started them; give every \
                 replica the same key"
            );
        }
        return Ok(Sealer::random(ttl));
    }
    let key = crate::protocol::mrtr::state::decode_key(&settings.protocol.state_key)
        .map_err(|e| anyhow::anyhow!("protocol.state_key (MCP_STATE_KEY): {e}"))?;
    Ok(Sealer::new(key, ttl))
}

/// The tasks extension's operations over the task store and the bus.
fn task_service(settings: &Settings, store: Arc<dyn TaskStore>, bus: &Arc<dyn Bus>) -> TaskService {
    let t = &settings.tasks;
    let config = TaskConfig {
        ttl: Duration::from_secs(t.ttl_secs),
        poll_interval: Duration::from_millis(t.poll_interval_ms),
        sync_window: Duration::from_millis(t.sync_window_ms),
        lease: Duration::from_secs(t.lease_secs),
        max_running: t.max_running,
    };
    TaskService::new(store, Arc::clone(bus), config)
}

impl Application {
    /// Binds the listener and prepares the server; must run inside an actix system.
    pub fn build(settings: Settings, registry: Registry) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot bind {}:{} (HOST/PORT): {e}",
                    settings.server.host,
                    settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let metrics = (settings.metrics.enabled).then(|| web::Data::new(Metrics::new()));
        let observer = metrics
            .as_ref()
            .map(|m| m.clone().into_inner() as Arc<dyn StoreObserver>);
        let (backends, task_store) = build_stores_observed(&settings, observer)?;
        let limiter = RateLimiter::new(&settings.rate_limit, Arc::clone(&backends.sessions))?
            .map(web::Data::new);
        if backends.shared {
            fan_out_resource_updates(&registry, &backends.bus);
        }
        let tasks = task_service(&settings, task_store, &backends.bus);
        let info = ServerInfo {
            instructions: (!settings.protocol.instructions.is_empty())
                .then(|| settings.protocol.instructions.clone()),
            ..ServerInfo::default()
        };
        let core = McpServer::new(registry, info, settings.protocol.page_size);
        let session_settings = SessionSettings::from_config(&settings);
        // Actors not started on an HTTP worker (and all of them while a shutdown evacuates the
        // workers) live on these arbiters, which outlive the HTTP server (`session::home`).
        let workers = if settings.server.workers > 0 {
            settings.server.workers
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        };
        let arbiters: Vec<Arbiter> = (0..workers).map(|_| Arbiter::new()).collect();
        let handles = arbiters.iter().map(Arbiter::handle).collect();
        let registry = SessionRegistry::new(core, backends, session_settings, handles);
        let shutdown = CancellationToken::new();
        let drain_deadline = CancellationToken::new();
        registry.spawn_heartbeat();
        let sessions = registry.clone();
        let policy = OriginPolicy::new(&settings.security);
        let settings = Arc::new(settings);
        let state = web::Data::new(McpState {
            sessions: registry,
            settings: Arc::clone(&settings),
            shutdown: shutdown.clone(),
            drain_deadline: drain_deadline.clone(),
            stateless: http::stateless::StatelessLane {
                sealer: Arc::new(state_sealer(&settings)?),
                tasks,
            },
        });
        let auth = web::Data::new(Authenticator::new(
            &settings.auth,
            &settings.public_base_url(port),
            &settings.server.mcp_path,
        ));
        if let Some(m) = &metrics {
            auth.observe(m.clone().into_inner());
        }
        log_auth(&settings, &auth);
        let prefetch = auth.clone();
        actix_web::rt::spawn(async move { prefetch.prefetch().await });
        let mcp_path = settings.server.mcp_path.clone();
        let metrics_path = settings.metrics.path.clone();
        let legacy =
            (settings.transports.sse).then(|| http::legacy_sse::LegacyRoutes::new(&settings));
        let mut server = HttpServer::new(move || {
            // Runs once on each worker thread: session actors may live here.
            crate::threads::mark_http_worker();
            let policy = policy.clone();
            let path = mcp_path.clone();
            let legacy = legacy.clone();
            let (metrics, limiter, metrics_path) =
                (metrics.clone(), limiter.clone(), metrics_path.clone());
            App::new()
                .app_data(state.clone())
                .app_data(auth.clone())
                .configure(move |cfg| {
                    if let Some(m) = metrics {
                        cfg.app_data(m);
                        crate::metrics::endpoint::configure(cfg, &metrics_path);
                    }
                    if let Some(l) = limiter {
                        cfg.app_data(l);
                    }
                })
                .wrap(from_fn(http::access_log::log))
                .wrap(from_fn(crate::metrics::middleware::observe))
                .configure(move |cfg| http::configure(cfg, &path, policy, legacy.as_ref()))
        })
        .disable_signals()
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .on_connect(|conn, _ext| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .listen(listener)?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self {
            server: server.run(),
            port,
            shutdown,
            drain_deadline,
            sessions,
            drain_delay: Duration::from_secs(settings.server.drain_delay_secs),
            budget: Duration::from_secs(settings.server.shutdown_timeout_secs),
            arbiters,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs until stopped by SIGTERM/SIGINT (or a [`ServerHandle`]), then drains as the module
    /// docs describe.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown.clone();
        let deadline = self.drain_deadline.clone();
        let (delay, budget) = (self.drain_delay, self.budget);
        let sessions = self.sessions.clone();
        let started = actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!(
                drain_delay_secs = delay.as_secs(),
                budget_secs = budget.as_secs(),
                "shutdown signal received: not ready, closing GET streams, draining"
            );
            let began = tokio::time::Instant::now();
            shutdown.cancel();
            sessions.evacuate();
            tokio::time::sleep(delay).await;
            // POST streams close one second before actix would cut their connections.
            let cut = budget.saturating_sub(Duration::from_secs(1));
            actix_web::rt::spawn(async move {
                tokio::time::sleep(cut).await;
                deadline.cancel();
            });
            // Actors living on an HTTP worker stop with it: wait until they have left.
            if !sessions.wait_evacuated(budget).await {
                tracing::warn!(
                    actors = sessions.actors_on_workers(),
                    "shutdown budget exhausted: stopping HTTP workers with session actors on them"
                );
            }
            handle.stop(true).await;
            began
        });
        let result = self.server.await;
        // The HTTP server has stopped (or was stopped through a handle): requests whose clients
        // resumed elsewhere may still run on the actors; give them the rest of the budget.
        self.drain_deadline.cancel();
        let left = match tokio::time::timeout(Duration::from_millis(50), started).await {
            Ok(Ok(began)) => (self.drain_delay + self.budget).saturating_sub(began.elapsed()),
            _ => self.budget,
        };
        let running = self.sessions.in_flight();
        if running > 0 {
            tracing::info!(
                running,
                "waiting for requests still running on session actors"
            );
            if !self.sessions.wait_idle(left).await {
                tracing::warn!(
                    running = self.sessions.in_flight(),
                    "shutdown budget exhausted: stopping session actors with requests running"
                );
            }
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        result
    }
}

/// States at start-up how requests are authenticated (never any secret).
fn log_auth(settings: &Settings, auth: &Authenticator) {
    let a = &settings.auth;
    if !auth.is_enabled() {
        let loopback = matches!(
            settings.server.host.as_str(),
            "127.0.0.1" | "localhost" | "::1"
        );
        if loopback {
            tracing::warn!(
                "authentication is DISABLED (DISABLE_AUTH=true): any local client may use this server"
            );
        } else {
            tracing::error!(host = %settings.server.host, "authentication is DISABLED (DISABLE_AUTH=true) on a non-loopback address: anyone who can reach this port may use this server");
        }
        return;
    }
    match a.mode {
        TokenMode::Introspection => tracing::info!(
            mode = "introspection",
            introspection_url = %a.introspection_url(),
            client_id = %a.introspection.client_id,
            resource = %auth.resource(),
            required_scope = %a.required_scope,
            "bearer tokens are checked by RFC 7662 introspection"
        ),
        TokenMode::Jwt => tracing::info!(
            mode = "jwt",
            issuer = %a.issuer(),
            jwks_url = %if a.jwt.jwks_url.is_empty() { "(discovered)" } else { a.jwt.jwks_url.as_str() },
            resource = %auth.resource(),
            required_scope = %a.required_scope,
            "bearer tokens are checked as JWTs against the issuer's keys"
        ),
    }
    tracing::info!(url = %auth.resource_metadata_url(), authorization_server = %a.server_url, "protected resource metadata");
}

/// Resolves on SIGTERM or SIGINT.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
