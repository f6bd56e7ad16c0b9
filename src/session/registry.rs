//! [`SessionRegistry`]: creates sessions at `initialize` (Streamable HTTP) or before it
//! ([`SessionRegistry::open`]: `GET /sse` of the 2024-11-05 HTTP+SSE transport, stdio), finds
//! the live actor of a session id on this replica, and rehydrates one from the store when there
//! is none (after hibernation, or when another replica created the session).
//!
//! Session ids are 128 random bits from the OS CSPRNG, hex-encoded (32 visible ASCII
//! characters), as 2025-11-25 `basic/transports.mdx` "Session Management" requires. A session
//! presented by a principal other than its creator is reported exactly like an unknown one.
//!
//! With a shared store and `session.verify_each_request`, a request reaching a live actor must
//! not be served once another replica deleted the session (its deletion signal may still be on
//! the way). [`Check`] says how that is confirmed: before the request runs (one `EXISTS`), or,
//! for a request that changes nothing and is answered over SSE, by the store's write of its
//! reply, which refuses a deleted session in the same round trip. The transport then sends no
//! response head before a stored message or [`SessionRegistry::confirm`] vouched for the
//! session (`crate::http::sse`).

use crate::principal::Principal;
use crate::protocol::server::McpServer;
use crate::protocol::version::ProtocolVersion;
use crate::session::actor::{SessionActor, SessionFacts, default_log_level};
use crate::session::deps::{Backends, Live, SessionDeps, SessionSettings};
use crate::session::drain::InFlight;
use crate::session::handle::{SessionError, SessionHandle};
use crate::session::home::Homes;
use crate::session::peer::SessionShared;
use crate::session::relocate::Crossings;
use crate::store::bus::Subscription;
use crate::store::{EventStore, SessionPatch, SessionRecord, SessionStore, record::now_ms};
use actix::{Actor, Addr, ArbiterHandle};
use parking_lot::Mutex;
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a request to a live actor confirms that its session still exists in a shared store
/// (`session.verify_each_request`; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Before the request runs: one `EXISTS`.
    First,
    /// By the store's write of the reply, which refuses a deleted session: only for requests
    /// that change nothing ([`crate::protocol::effects::reads_only`]) and whose reply is
    /// stored (an SSE stream). Whoever answers before any reply was stored calls
    /// [`SessionRegistry::confirm`] first.
    ByReply,
}

/// A session found by [`SessionRegistry::find`].
pub struct Found {
    /// Its actor.
    pub handle: SessionHandle,
    /// Nothing confirmed yet that the session still exists ([`Check::ByReply`] on a live
    /// actor): no response may be sent for it before a stored reply or
    /// [`SessionRegistry::confirm`] does.
    pub unconfirmed: bool,
}

/// What `initialize` brought.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Negotiated version.
    pub version: ProtocolVersion,
    /// `clientInfo`.
    pub client_info: Value,
    /// `capabilities`.
    pub client_capabilities: Value,
    /// The authenticated caller.
    pub principal: Option<Principal>,
}

/// Creates, finds and rehydrates session actors.
///
/// An actor started by a request on an HTTP worker lives on that worker's thread; others live
/// on dedicated arbiters (threads with their own event loop) that outlive the HTTP server. A
/// graceful shutdown evacuates the workers first ([`SessionRegistry::evacuate`], see
/// [`crate::session::home`]).
#[derive(Clone)]
pub struct SessionRegistry {
    deps: Arc<SessionDeps>,
    generation: Arc<AtomicU64>,
    arbiters: Arc<Vec<ArbiterHandle>>,
}

impl SessionRegistry {
    /// A registry over the given core and stores.
    pub fn new(
        server: McpServer,
        backends: Backends,
        settings: SessionSettings,
        arbiters: Vec<ArbiterHandle>,
    ) -> Self {
        let mut replica = [0u8; 6];
        rand::rng().fill_bytes(&mut replica);
        let replica = hex::encode(replica);
        Self {
            arbiters: Arc::new(arbiters),
            deps: Arc::new(SessionDeps {
                server,
                sessions: backends.sessions,
                events: backends.events,
                bus: backends.bus,
                runners: backends.runners,
                shared_store: backends.shared,
                replica: Arc::from(replica),
                homes: Homes::new(settings.actors_on_http_workers),
                settings,
                in_flight: InFlight::new(),
                live: Mutex::new(HashMap::new()),
                relocations: AtomicU64::new(0),
            }),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The protocol core.
    pub fn server(&self) -> &McpServer {
        &self.deps.server
    }

    /// The event store (for SSE readers).
    pub fn events(&self) -> &Arc<dyn EventStore> {
        &self.deps.events
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.deps.sessions
    }

    /// Whether other replicas share the store (Redis): every event is then a round trip away.
    pub fn shared_store(&self) -> bool {
        self.deps.shared_store
    }

    /// Number of live actors on this replica.
    pub fn live_actors(&self) -> usize {
        self.deps.live.lock().len()
    }

    /// Requests running on this replica's actors (including those whose client has let go of
    /// the response and will resume elsewhere).
    pub fn in_flight(&self) -> usize {
        self.deps.in_flight.count()
    }

    /// Actors that moved to the HTTP worker their requests arrive on since the replica
    /// started ([`crate::session::relocate`]).
    pub fn relocations(&self) -> u64 {
        self.deps.relocations.load(Ordering::Relaxed)
    }

    /// Starts renewing this replica's liveness lease (shared store only), which tells other
    /// replicas not to take over the streams it writes (see `session::actor::takeover`).
    pub fn spawn_heartbeat(&self) {
        if self.deps.shared_store {
            crate::session::actor::takeover::spawn_heartbeat(Arc::clone(&self.deps));
        }
    }

    /// Moves session actors off the HTTP workers (graceful shutdown): new actors start on the
    /// dedicated arbiters, and each actor living on a worker leaves the live table and stops
    /// once nothing runs on it (see [`crate::session::home`]).
    pub fn evacuate(&self) {
        self.deps.homes.evacuate();
        let live = self.deps.live.lock();
        for l in live.values() {
            l.handle.evacuate();
        }
    }

    /// Actors still living on HTTP workers.
    pub fn actors_on_workers(&self) -> usize {
        self.deps.homes.on_workers()
    }

    /// Waits until no actor lives on an HTTP worker any more, at most `timeout`.
    pub async fn wait_evacuated(&self, timeout: Duration) -> bool {
        self.deps.homes.wait_evacuated(timeout).await
    }

    /// Waits until no request runs on this replica's actors, at most `timeout` (graceful
    /// shutdown: their events must reach the store before the actors stop).
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.deps.in_flight.wait_idle(timeout).await
    }

    /// Creates a session: stores its record and starts its actor.
    pub async fn create(&self, new: NewSession) -> Result<SessionHandle, SessionError> {
        let record = SessionRecord {
            id: mint_session_id(),
            protocol_version: new.version.as_str().to_owned(),
            client_info: new.client_info,
            client_capabilities: new.client_capabilities,
            log_level: self.deps.settings.default_log_level.as_str().to_owned(),
            subscriptions: Default::default(),
            principal: new.principal,
            created_at_ms: now_ms(),
        };
        let signals = self.deps.bus.subscribe(&record.id);
        self.deps.sessions.create_session(&record).await?;
        Ok(self.start(record, signals))
    }

    /// Opens a session before `initialize` (HTTP+SSE `GET /sse`, stdio): it is stored with an
    /// empty protocol version, and its actor answers the `initialize` message when it arrives.
    pub async fn open(&self, principal: Option<Principal>) -> Result<SessionHandle, SessionError> {
        let record = SessionRecord {
            id: mint_session_id(),
            protocol_version: String::new(),
            client_info: Value::Null,
            client_capabilities: Value::Null,
            log_level: self.deps.settings.default_log_level.as_str().to_owned(),
            subscriptions: Default::default(),
            principal,
            created_at_ms: now_ms(),
        };
        let signals = self.deps.bus.subscribe(&record.id);
        self.deps.sessions.create_session(&record).await?;
        Ok(self.start(record, signals))
    }

    /// Finds the session, rehydrating its actor if needed; `NotFound` when it does not exist or
    /// belongs to another principal. A live actor's session is confirmed to still exist before
    /// this returns ([`Check::First`]).
    pub async fn get(
        &self,
        id: &str,
        principal: Option<&Principal>,
    ) -> Result<SessionHandle, SessionError> {
        Ok(self.find(id, principal, Check::First).await?.handle)
    }

    /// [`SessionRegistry::get`], confirming that a live actor's session still exists as
    /// `check` says: with [`Check::ByReply`] the result may be [`Found::unconfirmed`].
    pub async fn find(
        &self,
        id: &str,
        principal: Option<&Principal>,
        check: Check,
    ) -> Result<Found, SessionError> {
        if !is_valid_session_id(id) {
            return Err(SessionError::NotFound);
        }
        let live = self.deps.live.lock().get_mut(id).map(|l| {
            let after = self.deps.settings.relocate_after;
            let moves = l.crossings.arrive(crate::threads::http_worker(), after);
            (l.handle.clone(), moves)
        });
        let mut unconfirmed = false;
        let handle = match live {
            Some((h, moves)) if h.is_alive() => {
                if moves && self.deps.homes.placing_on_workers() {
                    // The actor stops if idle, and this request's message finds it gone and
                    // rehydrates the session here (`with_retry`); a busy actor stays.
                    h.relocate();
                }
                // With a shared store another replica may have deleted the session moments ago
                // (its Ended signal is still on the way): confirm. Only confirm: the actor
                // slides the TTL every `touch_every` (a script of six commands per request
                // cost Redis more CPU than the rest of the request).
                let verify = self.deps.verifies_each_request();
                if verify && check == Check::First && !self.deps.sessions.session_exists(id).await?
                {
                    h.end();
                    return Err(SessionError::NotFound);
                }
                if h.initialized() {
                    unconfirmed = verify && check == Check::ByReply;
                    h
                } else {
                    // The refresh reads the record: that confirms it.
                    self.refresh(h).await?
                }
            }
            _ => {
                // Listen before reading: a signal another replica sends while the record is
                // read (say `resources/subscribe` landing there while this replica answers the
                // session's GET) reaches the new actor instead of being lost.
                let signals = self.deps.bus.subscribe(id);
                let record = self
                    .deps
                    .sessions
                    .load_session(id)
                    .await?
                    .ok_or(SessionError::NotFound)?;
                if !same_principal(record.principal.as_ref(), principal) {
                    return Err(SessionError::NotFound);
                }
                // A request that rehydrates the actor is activity like any other: slide the TTL
                // here (the new actor counts itself as just touched). Without this, a session
                // whose requests keep landing where its actor has hibernated (round-robin,
                // requests further apart than `actor_idle_secs`) expired `idle_timeout_secs`
                // after its last touch despite steady use. Only the owner's requests slide it.
                if !self.deps.sessions.touch_session(id).await? {
                    return Err(SessionError::NotFound);
                }
                self.start(record, signals)
            }
        };
        if !same_principal(handle.principal(), principal) {
            return Err(SessionError::NotFound);
        }
        Ok(Found {
            handle,
            unconfirmed,
        })
    }

    /// Confirms that a session found [`Found::unconfirmed`] still exists (one `EXISTS`); when
    /// it does not, its live actor here ends, and its requests with it.
    pub async fn confirm(&self, id: &str) -> Result<bool, SessionError> {
        if self.deps.sessions.session_exists(id).await? {
            return Ok(true);
        }
        let live = self.deps.live.lock().get(id).map(|l| l.handle.clone());
        if let Some(handle) = live {
            handle.end();
        }
        Ok(false)
    }

    /// A live actor of a session opened before `initialize` may have missed the `initialize`
    /// that another replica ran (its signal still on the way): read the record and hand its
    /// facts to the actor.
    async fn refresh(&self, handle: SessionHandle) -> Result<SessionHandle, SessionError> {
        let Some(record) = self.deps.sessions.load_session(handle.id()).await? else {
            handle.end();
            return Err(SessionError::NotFound);
        };
        if !record.is_initialized() {
            return Ok(handle);
        }
        let patch = SessionPatch::Initialized {
            protocol_version: record.protocol_version,
            client_info: record.client_info,
            client_capabilities: record.client_capabilities,
        };
        handle.refresh(patch).await
    }

    /// Runs `op` on the session's actor; if that actor stopped in between (hibernation racing
    /// the request), rehydrates the session once and runs `op` again.
    pub async fn with_retry<T, F, Fut>(
        &self,
        handle: SessionHandle,
        op: F,
    ) -> Result<T, SessionError>
    where
        F: Fn(SessionHandle) -> Fut,
        Fut: std::future::Future<Output = Result<T, SessionError>>,
    {
        let (id, principal) = (handle.shared_id(), handle.shared_principal());
        match op(handle).await {
            Err(SessionError::Gone) => op(self.get(&id, principal.as_deref()).await?).await,
            other => other,
        }
    }

    /// Starts the actor of `record` (or returns the live one another request started
    /// meanwhile); `signals` is the session's topic, subscribed before `record` was read.
    fn start(&self, record: SessionRecord, signals: Subscription) -> SessionHandle {
        let mut live = self.deps.live.lock();
        if let Some(l) = live.get(&record.id)
            && l.handle.is_alive()
        {
            return l.handle.clone();
        }
        let version = record
            .protocol_version
            .parse()
            .unwrap_or(ProtocolVersion::HEADERLESS_DEFAULT);
        let facts = SessionFacts {
            id: Arc::from(record.id.as_str()),
            version,
            initialized: record.is_initialized(),
            client_capabilities: Arc::new(record.client_capabilities),
            principal: record.principal.map(Arc::new),
        };
        let shared = Arc::new(SessionShared::new(
            default_log_level(&record.log_level),
            record.subscriptions,
            self.deps.settings.request_timeout,
        ));
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let actor = SessionActor::new(
            facts.clone(),
            generation,
            Arc::clone(&self.deps),
            shared,
            signals,
        );
        // Read under the live table's lock: `evacuate` sets its flag, then takes the lock.
        let home = self.deps.homes.place();
        let worker = home.as_ref().and_then(|_| crate::threads::http_worker());
        let addr: Addr<SessionActor> = if home.is_some() || self.arbiters.is_empty() {
            actor.homed(home).start()
        } else {
            let arbiter = &self.arbiters[generation as usize % self.arbiters.len()];
            SessionActor::start_in_arbiter(arbiter, move |_ctx| actor)
        };
        let handle = SessionHandle::new(facts, addr);
        live.insert(
            record.id,
            Live {
                generation,
                handle: handle.clone(),
                crossings: Crossings::new(worker),
            },
        );
        handle
    }
}

fn same_principal(owner: Option<&Principal>, caller: Option<&Principal>) -> bool {
    match (owner, caller) {
        (None, _) => true,
        (Some(o), Some(c)) => o.same_binding(c),
        (Some(_), None) => false,
    }
}

/// A new session id: 128 bits from the OS CSPRNG as 32 lowercase hex characters.
pub fn mint_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a client-supplied session id is syntactically acceptable (visible ASCII, bounded).
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}
