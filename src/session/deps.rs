//! What every session actor of a replica shares ([`SessionDeps`]): the protocol core, the
//! stores ([`Backends`]), the timings of `[session]` ([`SessionSettings`]), the count of running
//! requests, where actors live, and the table of live actors that
//! [`crate::session::registry::SessionRegistry`] keeps.

use crate::protocol::context::LogLevel;
use crate::protocol::server::McpServer;
use crate::session::drain::InFlight;
use crate::session::handle::SessionHandle;
use crate::session::home::Homes;
use crate::session::relocate::Crossings;
use crate::store::bus::Bus;
use crate::store::runner::RunnerStore;
use crate::store::{EventStore, SessionStore};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Timings of session actors.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Idle time after which an actor hibernates.
    pub actor_idle: Duration,
    /// How often actors check for idleness.
    pub idle_check: Duration,
    /// Minimum time between TTL refreshes of an active session.
    pub touch_every: Duration,
    /// How long a server-to-client request waits for the answer.
    pub request_timeout: Duration,
    /// Log level of new sessions.
    pub default_log_level: LogLevel,
    /// With a shared store, confirm a cached session still exists for each request: before it
    /// runs (one `EXISTS`), or, for a request that changes nothing and is answered over SSE, by
    /// the store's write of its reply (see [`crate::session::registry::Check`]). Without it, a
    /// request landing within a few milliseconds of a DELETE on another replica may still be
    /// served.
    pub verify_each_request: bool,
    /// Start actors on the HTTP worker thread whose request starts them (see
    /// [`crate::session::home`]); otherwise always on the dedicated arbiters.
    pub actors_on_http_workers: bool,
    /// Requests in a row arriving on one other HTTP worker after which an idle actor moves
    /// there ([`crate::session::relocate`]); 0 = never. Actors never move while new ones are
    /// not placed on the workers (the setting above off, or the replica evacuating).
    pub relocate_after: u32,
    /// Requests a session may have running at once on this replica (0 = no cap); beyond it a
    /// request is answered with -32000 and does not run.
    pub max_requests_in_flight: usize,
}

impl SessionSettings {
    /// The timings configured in `[session]` (shared by the HTTP server and stdio).
    pub fn from_config(settings: &crate::config::Settings) -> Self {
        let s = &settings.session;
        // An actor must hibernate before its record can expire, so that an expired session is
        // always answered from the store (404), never from a stale actor.
        let idle = Duration::from_secs(s.actor_idle_secs.min(s.idle_timeout_secs));
        Self {
            actor_idle: idle,
            idle_check: (idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5)),
            touch_every: Duration::from_secs((s.idle_timeout_secs / 10).clamp(1, 60)),
            request_timeout: Duration::from_secs(s.request_timeout_secs),
            verify_each_request: s.verify_each_request,
            actors_on_http_workers: s.actors_on_http_workers,
            relocate_after: s.relocate_after,
            max_requests_in_flight: s.max_requests_in_flight,
            default_log_level: crate::session::actor::default_log_level(&s.default_log_level),
        }
    }
}

/// What every session actor on this replica shares.
pub struct SessionDeps {
    /// The protocol core.
    pub server: McpServer,
    /// Session records.
    pub sessions: Arc<dyn SessionStore>,
    /// Event logs.
    pub events: Arc<dyn EventStore>,
    /// Signals between replicas.
    pub bus: Arc<dyn Bus>,
    /// Runner records and replica leases.
    pub runners: Arc<dyn RunnerStore>,
    /// This replica's random id (tells its connections from other replicas').
    pub replica: Arc<str>,
    /// Whether other replicas share the store (Redis).
    pub shared_store: bool,
    /// Timings.
    pub settings: SessionSettings,
    /// Requests running on this replica's actors (a graceful shutdown waits for them).
    pub in_flight: Arc<InFlight>,
    /// Which thread new actors live on; the actors living on HTTP workers.
    pub homes: Homes,
    /// The live actors of this replica, by session id (kept by the registry).
    pub(super) live: Mutex<HashMap<String, Live>>,
    /// Actors that moved to the worker their requests arrive on (see
    /// [`crate::session::relocate`]).
    pub(super) relocations: AtomicU64,
}

/// A live actor in the registry's table.
pub(super) struct Live {
    /// Tells this actor from a later one of the same session.
    pub(super) generation: u64,
    /// How to reach it.
    pub(super) handle: SessionHandle,
    /// Requests arriving on another worker than the actor's (see [`Crossings`]).
    pub(super) crossings: Crossings,
}

/// The storage a registry works with: records, event logs and the bus between replicas.
#[derive(Clone)]
pub struct Backends {
    /// Session records.
    pub sessions: Arc<dyn SessionStore>,
    /// Event logs.
    pub events: Arc<dyn EventStore>,
    /// Signals between replicas.
    pub bus: Arc<dyn Bus>,
    /// Runner records and replica leases (taking over streams of dead replicas).
    pub runners: Arc<dyn RunnerStore>,
    /// Whether the bus reaches other replicas (a shared store), not just this process.
    pub shared: bool,
}

impl SessionDeps {
    /// Whether every request reaching a live actor first confirms in the store that the
    /// session still exists (the per-request verification of
    /// [`crate::session::registry::SessionRegistry::get`]).
    pub(crate) fn verifies_each_request(&self) -> bool {
        self.shared_store && self.settings.verify_each_request
    }

    /// Replaces the handle of a live actor (only if it is still the registered one), after its
    /// facts changed at `initialize`.
    pub(crate) fn replace_live(&self, id: &str, generation: u64, handle: SessionHandle) {
        if let Some(live) = self.live.lock().get_mut(id)
            && live.generation == generation
        {
            live.handle = handle;
        }
    }

    /// Removes a stopped actor from the live table (only if it is still the registered one).
    pub(crate) fn forget(&self, id: &str, generation: u64) {
        let mut live = self.live.lock();
        if live.get(id).is_some_and(|l| l.generation == generation) {
            live.remove(id);
        }
    }

    /// Counts an actor that left its worker for the one its requests arrive on.
    pub(crate) fn relocated(&self) {
        self.relocations.fetch_add(1, Ordering::Relaxed);
    }
}
