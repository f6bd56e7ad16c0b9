//! [`SessionActor`]: one actix actor per live `Mcp-Session-Id` on this replica.
//!
//! It owns the session's state (negotiated version, client capabilities, log level and resource
//! subscriptions through [`SessionShared`]), the requests in flight (for
//! `notifications/cancelled`), the server-to-client requests awaiting answers, and the SSE
//! connections attached to its streams (at most one per stream: a newer connection takes over,
//! so every message reaches exactly one connection). Requests run as local tasks of their own
//! on the actor's thread ([`running`]); their results go to a JSON reply or to the POST's SSE
//! stream.
//!
//! The actor is a cache of the stored record: when idle it stops (hibernates) and the next
//! request rehydrates a new one from the store, on this or any other replica.
//!
//! Sessions of the HTTP+SSE transport (MCP 2024-11-05 `basic/transports.mdx`) and of stdio are
//! opened before `initialize`: their actor starts uninitialized, answers `initialize` itself
//! ([`init`]), refuses other requests but `ping` until then, and sends every reply to the
//! standalone stream ([`crate::session::ReplyMode::Standalone`]). The connection carrying that
//! stream ends the session when it closes.

use crate::protocol::context::{LogLevel, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{ErrorObject, Notification, Request, RequestId, codes};
use crate::protocol::server::Outcome;
use crate::session::deps::SessionDeps;
use crate::session::drain::{InFlight, InFlightGuard};
use crate::session::event_id::STANDALONE_STREAM;
use crate::session::handle::{Connection, ConnectionGuard};
use crate::session::peer::{RequestPeer, SessionShared};
use crate::session::request::{ReplyTarget, run_request};
use crate::session::signal::Signal;

mod inbound;
mod init;
mod messages;
mod running;
pub(crate) mod takeover;
pub use messages::{
    Attach, Detach, DropConnection, EndLocally, Evacuate, Post, Refresh, Relocate, Terminate,
};

use crate::session::stream::StreamWriter;
use crate::store::bus::Subscription;
use actix::prelude::*;
use running::Running;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// `connections` is never pruned below this size (see [`SessionActor::prune`]).
const PRUNE_MIN: usize = 16;

/// Immutable facts about a session, fixed at `initialize`.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    /// The session id.
    pub id: Arc<str>,
    /// Negotiated protocol revision.
    pub version: crate::protocol::version::ProtocolVersion,
    /// Client capabilities.
    pub client_capabilities: Arc<Value>,
    /// Creator (shared: handles are cloned per request).
    pub principal: Option<Arc<crate::principal::Principal>>,
    /// Whether `initialize` was processed (false for a session opened by GET `/sse` or stdio
    /// until its `initialize` message arrives; `version` and `client_capabilities` are
    /// placeholders until then).
    pub initialized: bool,
}

/// A connection attached to one of the actor's streams.
struct Attached {
    /// Connection id within this actor.
    id: u64,
    /// Cancelled to end the connection.
    ticket: CancellationToken,
    /// The session ends when this connection detaches (HTTP+SSE, stdio).
    ends_session: bool,
}

impl Attached {
    /// Whether the connection is still attached. A POST stream's connection detaches by
    /// cancelling its own ticket (no message to the actor); the actor removes an entry it
    /// cancels itself, so a cancelled ticket in the map always means "gone".
    fn live(&self) -> bool {
        !self.ticket.is_cancelled()
    }
}

/// The actor behind one session.
pub struct SessionActor {
    facts: SessionFacts,
    generation: u64,
    deps: Arc<SessionDeps>,
    shared: Arc<SessionShared>,
    /// Cancelled when the session ends: stops every request and connection.
    ended: CancellationToken,
    /// The requests running here (for cancellation, duplicate ids and `busy`).
    running: Running,
    /// Attached connections by stream (see [`Attached::live`]; pruned by [`Self::prune`]).
    connections: HashMap<String, Attached>,
    /// Prune detached entries when `connections` reaches this size.
    prune_at: usize,
    /// An `initialize` of a session opened before it is being stored.
    initializing: bool,
    /// Held while the actor lives on an HTTP worker thread (see [`crate::session::home`]).
    home: Option<InFlightGuard>,
    /// Notifications for the standalone stream, stored in order by one writer (created on the
    /// first server event; see `inbound`).
    outbox: Option<tokio::sync::mpsc::Sender<(Arc<str>, InFlightGuard)>>,
    /// Side effects spawned on the actor's context and not finished: notifications queued in
    /// `outbox` and not yet stored, signals to other replicas being published. The actor
    /// does not stop for hibernation, evacuation or a move while any remain (stopping drops
    /// them: a cancellation would be lost).
    settling: Arc<InFlight>,
    /// The session's signal topic, subscribed before its record was read (taken in `started`).
    signals: Option<Subscription>,
    /// The registry's server events, listened to only while a standalone stream is attached
    /// (see `inbound`): the other live sessions are not woken by every announcement.
    events: Option<SpawnHandle>,
    next_connection: u64,
    last_activity: Instant,
    last_touch: Instant,
}

impl SessionActor {
    pub(crate) fn new(
        facts: SessionFacts,
        generation: u64,
        deps: Arc<SessionDeps>,
        shared: Arc<SessionShared>,
        signals: Subscription,
    ) -> Self {
        let now = Instant::now();
        Self {
            facts,
            generation,
            deps,
            shared,
            ended: CancellationToken::new(),
            running: Running::default(),
            connections: HashMap::new(),
            prune_at: PRUNE_MIN,
            initializing: false,
            outbox: None,
            settling: InFlight::new(),
            signals: Some(signals),
            events: None,
            home: None,
            next_connection: 0,
            last_activity: now,
            last_touch: now,
        }
    }

    /// The same actor, living on the current HTTP worker thread while it holds `home`.
    pub(crate) fn homed(mut self, home: Option<InFlightGuard>) -> Self {
        self.home = home;
        self
    }

    /// The live connection attached to `stream`.
    fn attached(&self, stream: &str) -> Option<&Attached> {
        self.connections.get(stream).filter(|c| c.live())
    }

    /// Whether anything runs on the actor: a request, an attached connection, a
    /// server-to-client request awaiting its answer, a notification still being stored or a
    /// signal still being published (prunes detached connections first).
    fn busy(&mut self) -> bool {
        self.prune();
        !self.running.is_empty()
            || !self.connections.is_empty()
            || !self.shared.pending.lock().is_empty()
            || self.settling.count() > 0
    }

    /// Drops the entries of connections that detached by cancelling their ticket.
    fn prune(&mut self) {
        self.connections.retain(|_, c| c.live());
        self.prune_at = (self.connections.len() * 2).max(PRUNE_MIN);
    }

    fn writer(&self, stream: &str) -> StreamWriter {
        StreamWriter::new(
            Arc::clone(&self.deps.events),
            Arc::clone(&self.facts.id),
            stream,
        )
    }

    /// Records activity and slides the stored TTL at most every `touch_every` (the registry's
    /// per-request verification only confirms the session exists).
    fn mark_active(&mut self, ctx: &mut Context<Self>) {
        self.last_activity = Instant::now();
        if self.last_touch.elapsed() >= self.deps.settings.touch_every {
            self.touch(ctx);
        }
    }

    fn touch(&mut self, ctx: &mut Context<Self>) {
        self.last_touch = Instant::now();
        let sessions = Arc::clone(&self.deps.sessions);
        let id = Arc::clone(&self.facts.id);
        ctx.spawn(
            async move { sessions.touch_session(&id).await }
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!(session = %act.facts.id, "session gone from the store; ending actor");
                        act.end(ctx);
                    }
                    Err(e) => tracing::warn!(session = %act.facts.id, error = %e, "could not refresh session TTL"),
                }),
        );
    }

    /// Publishes a signal to this session's actors on every replica (this one included).
    fn signal(&self, ctx: &mut Context<Self>, signal: Signal) {
        let bus = Arc::clone(&self.deps.bus);
        let id = Arc::clone(&self.facts.id);
        let settled = self.settling.enter();
        ctx.spawn(
            async move {
                if let Err(e) = bus.publish(&id, signal.encode()).await {
                    tracing::warn!(session = %id, error = %e, "could not publish a session signal");
                }
                drop(settled);
            }
            .into_actor(self),
        );
    }

    /// The cluster-wide id of one of this actor's connections.
    fn owner(&self, connection: u64) -> String {
        format!("{}:{}:{connection}", self.deps.replica, self.generation)
    }

    fn end(&mut self, ctx: &mut Context<Self>) {
        self.ended.cancel();
        for (_, c) in self.connections.drain() {
            c.ticket.cancel();
        }
        ctx.stop();
    }

    /// Attaches a connection to a stream; `announce` tells other replicas to close theirs (not
    /// needed for a stream this POST just created); `ends_session` ends the session when the
    /// connection detaches.
    fn attach(
        &mut self,
        ctx: &mut Context<Self>,
        stream: &str,
        announce: bool,
        ends_session: bool,
    ) -> Connection {
        self.next_connection += 1;
        let id = self.next_connection;
        let ticket = self.ended.child_token();
        let entry = Attached {
            id,
            ticket: ticket.clone(),
            ends_session,
        };
        if self.connections.len() >= self.prune_at {
            self.prune();
        }
        if let Some(previous) = self.connections.insert(stream.to_owned(), entry) {
            previous.ticket.cancel();
        }
        if stream == STANDALONE_STREAM {
            self.listen(ctx);
        }
        if announce {
            let owner = self.owner(id);
            self.signal(
                ctx,
                Signal::Taken {
                    stream: stream.to_owned(),
                    owner,
                },
            );
        }
        // A POST stream (neither announced nor ending the session) detaches by cancelling its
        // ticket: one message less to this actor per call.
        let guard = if announce || ends_session {
            ConnectionGuard::new(ctx.address(), stream.to_owned(), id)
        } else {
            ConnectionGuard::cancelling(ticket.clone())
        };
        Connection { ticket, guard }
    }

    fn handle_notification(&mut self, ctx: &mut Context<Self>, n: Notification) {
        match n.method.as_str() {
            "notifications/cancelled" => {
                let Some(id) = n.params.get("requestId").and_then(RequestId::from_value) else {
                    return;
                };
                if self.running.cancel(&id) {
                    tracing::debug!(session = %self.facts.id, request = %id, "request cancelled by client");
                } else {
                    // Running on another replica, perhaps.
                    self.signal(ctx, Signal::Cancel { request_id: id });
                }
            }
            "notifications/initialized"
            | "notifications/roots/list_changed"
            | "notifications/progress" => {}
            other => {
                tracing::debug!(session = %self.facts.id, method = other, "ignored notification")
            }
        }
    }

    fn start_request(
        &mut self,
        ctx: &mut Context<Self>,
        req: Request,
        target: ReplyTarget,
        related: StreamWriter,
        principal: Option<Arc<crate::principal::Principal>>,
    ) {
        if req.method == "initialize" && !self.facts.initialized && !self.initializing {
            self.initialize(ctx, req, target);
            return;
        }
        if !self.facts.initialized && req.method != "ping" && req.method != "initialize" {
            let err = ErrorObject::invalid_request(
                "the session is not initialized: send initialize first",
            );
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        if req.method == "initialize" {
            let err = ErrorObject::invalid_request("the session is already initialized");
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        if self.running.contains(&req.id) {
            let err =
                ErrorObject::invalid_request(format!("request id {} is already in use", req.id));
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        let cap = self.deps.settings.max_requests_in_flight;
        if cap > 0 && self.running.len() >= cap {
            let err = ErrorObject::new(
                codes::SERVER_ERROR,
                format!(
                    "too many requests in flight on this session (limit {cap}): wait for some \
                     to finish"
                ),
            )
            .with_data(serde_json::json!({"limit": cap}));
            tracing::debug!(session = %self.facts.id, request = %req.id, limit = cap, "request refused: too many in flight");
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        let cancel = self.ended.child_token();
        let peer = Arc::new(RequestPeer {
            writer: related,
            shared: Arc::clone(&self.shared),
            cancellation: cancel.clone(),
            actor: ctx.address(),
        });
        let info = RequestInfo {
            request_id: req.id.clone(),
            session_id: Some(self.facts.id.to_string()),
            protocol_version: self.facts.version,
            client_capabilities: Arc::clone(&self.facts.client_capabilities),
            // The principal of this request's token (same subject as the session's creator,
            // perhaps with more scopes after a step-up); the creator's when auth is off.
            principal: principal.or_else(|| self.facts.principal.clone()),
        };
        let rctx = RequestContext::new(info, &req.params, cancel.clone(), peer);
        let deps = Arc::clone(&self.deps);
        let shared = Arc::clone(&self.shared);
        let session = Arc::clone(&self.facts.id);
        let (id, key) = (req.id.clone(), req.id.clone());
        let running = self.deps.in_flight.enter();
        let work = async move {
            let outcome = run_request(&deps, &shared, &session, rctx, req).await;
            target.deliver(id, outcome).await;
            drop(running);
        };
        self.running.spawn(key, cancel, work);
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
        // Subscribed by the registry before it read the session's record: a signal sent in
        // between (another replica's `resources/subscribe`, `logging/setLevel`, deletion) waits
        // in the subscription instead of being lost. Applying one the record already reflects
        // is harmless: patches are applied in order and each sets a value.
        let subscription = self
            .signals
            .take()
            .unwrap_or_else(|| self.deps.bus.subscribe(&self.facts.id));
        let signals = futures_util::stream::unfold(subscription, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(payload) => match Signal::decode(&payload) {
                        Some(signal) => return Some((signal, rx)),
                        None => tracing::warn!("ignored an undecodable session signal"),
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "session signals lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        ctx.add_stream(signals);
        let period = self.deps.settings.idle_check;
        ctx.run_interval(period, |act, ctx| {
            if let Some(finished) = act.running.last_finished() {
                act.last_activity = act.last_activity.max(finished);
            }
            if act.busy() {
                act.mark_active(ctx);
            } else if act.last_activity.elapsed() >= act.deps.settings.actor_idle {
                tracing::debug!(session = %act.facts.id, "session actor idle; hibernating");
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.ended.cancel();
        self.running.abort_all();
        self.deps.forget(&self.facts.id, self.generation);
    }
}

/// The default log level for new sessions.
pub fn default_log_level(s: &str) -> LogLevel {
    s.parse().unwrap_or(LogLevel::Info)
}
