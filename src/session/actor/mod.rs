//! [`SessionActor`]: one actix actor per live `Mcp-Session-Id` on this replica.
//!
//! It owns the session's state (negotiated version, client capabilities, log level and resource
//! subscriptions through [`SessionShared`]), the requests in flight (for
//! `notifications/cancelled`), the server-to-client requests awaiting answers, and the SSE
//! connections attached to its streams (at most one per stream: a newer connection takes over,
//! so every message reaches exactly one connection). Requests run as futures on the actor's
//! context; their results go to a JSON reply or to the POST's SSE stream.
//!
//! The actor is a cache of the stored record: when idle it stops (hibernates) and the next
//! request rehydrates a new one from the store, on this or any other replica.

use crate::protocol::context::{LogLevel, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId};
use crate::protocol::server::Outcome;
use crate::session::event_id::{STANDALONE_STREAM, new_stream_id};
use crate::session::handle::{Connection, ConnectionGuard, PostReply, ReplyMode, SessionError};
use crate::session::peer::{RequestPeer, SessionShared};
use crate::session::registry::SessionDeps;
use crate::session::request::{PostStream, ReplyTarget, run_request};
use crate::session::signal::Signal;

mod inbound;
use crate::session::stream::StreamWriter;
use actix::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Immutable facts about a session, fixed at `initialize`.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    /// The session id.
    pub id: Arc<str>,
    /// Negotiated protocol revision.
    pub version: crate::protocol::version::ProtocolVersion,
    /// Client capabilities.
    pub client_capabilities: Arc<Value>,
    /// Creator.
    pub principal: Option<crate::principal::Principal>,
}

/// The actor behind one session.
pub struct SessionActor {
    facts: SessionFacts,
    generation: u64,
    deps: Arc<SessionDeps>,
    shared: Arc<SessionShared>,
    /// Cancelled when the session ends: stops every request and connection.
    ended: CancellationToken,
    in_flight: HashMap<RequestId, CancellationToken>,
    /// Attached connections by stream: (connection id, ticket).
    connections: HashMap<String, (u64, CancellationToken)>,
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
    ) -> Self {
        let now = Instant::now();
        Self {
            facts,
            generation,
            deps,
            shared,
            ended: CancellationToken::new(),
            in_flight: HashMap::new(),
            connections: HashMap::new(),
            next_connection: 0,
            last_activity: now,
            last_touch: now,
        }
    }

    fn writer(&self, stream: &str) -> StreamWriter {
        StreamWriter::new(
            Arc::clone(&self.deps.events),
            Arc::clone(&self.facts.id),
            stream,
        )
    }

    /// Records activity and slides the stored TTL at most every `touch_every`. A request that
    /// came through the registry's per-request verification has slid it already.
    fn mark_active(&mut self, ctx: &mut Context<Self>, request_verified: bool) {
        self.last_activity = Instant::now();
        if request_verified {
            self.last_touch = self.last_activity;
        } else if self.last_touch.elapsed() >= self.deps.settings.touch_every {
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
        ctx.spawn(
            async move {
                if let Err(e) = bus.publish(&id, signal.encode()).await {
                    tracing::warn!(session = %id, error = %e, "could not publish a session signal");
                }
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
        for (_, (_, ticket)) in self.connections.drain() {
            ticket.cancel();
        }
        ctx.stop();
    }

    /// Attaches a connection to a stream; `announce` tells other replicas to close theirs (not
    /// needed for a stream this POST just created).
    fn attach(&mut self, ctx: &mut Context<Self>, stream: &str, announce: bool) -> Connection {
        self.next_connection += 1;
        let id = self.next_connection;
        let ticket = self.ended.child_token();
        if let Some((_, previous)) = self
            .connections
            .insert(stream.to_owned(), (id, ticket.clone()))
        {
            previous.cancel();
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
        Connection {
            ticket,
            guard: ConnectionGuard::new(ctx.address(), stream.to_owned(), id),
        }
    }

    fn handle_notification(&mut self, ctx: &mut Context<Self>, n: Notification) {
        match n.method.as_str() {
            "notifications/cancelled" => {
                let Some(id) = n.params.get("requestId").and_then(RequestId::from_value) else {
                    return;
                };
                if let Some(token) = self.in_flight.get(&id) {
                    tracing::debug!(session = %self.facts.id, request = %id, "request cancelled by client");
                    token.cancel();
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
        principal: Option<crate::principal::Principal>,
    ) {
        if req.method == "initialize" {
            let err = ErrorObject::invalid_request("the session is already initialized");
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        if self.in_flight.contains_key(&req.id) {
            let err =
                ErrorObject::invalid_request(format!("request id {} is already in use", req.id));
            ctx.spawn(
                target
                    .deliver(req.id.clone(), Outcome::Error(err))
                    .into_actor(self),
            );
            return;
        }
        let cancel = self.ended.child_token();
        self.in_flight.insert(req.id.clone(), cancel.clone());
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
        let rctx = RequestContext::new(info, &req.params, cancel, peer);
        let deps = Arc::clone(&self.deps);
        let shared = Arc::clone(&self.shared);
        let session = Arc::clone(&self.facts.id);
        let id = req.id.clone();
        let fut = async move {
            let outcome = run_request(&deps, &shared, &session, rctx, req).await;
            target.deliver(id.clone(), outcome).await;
            id
        };
        ctx.spawn(fut.into_actor(self).map(|id, act, ctx| {
            act.in_flight.remove(&id);
            act.mark_active(ctx, false);
        }));
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
        let rx = self.deps.server.registry.subscribe();
        let events = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((ev, rx)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        ctx.add_stream(events);
        let signals = futures_util::stream::unfold(
            self.deps.bus.subscribe(&self.facts.id),
            |mut rx| async move {
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
            },
        );
        ctx.add_stream(signals);
        let period = self.deps.settings.idle_check;
        ctx.run_interval(period, |act, ctx| {
            let busy = !act.in_flight.is_empty()
                || !act.connections.is_empty()
                || !act.shared.pending.lock().is_empty();
            if busy {
                act.last_activity = Instant::now();
                if act.last_touch.elapsed() >= act.deps.settings.touch_every {
                    act.touch(ctx);
                }
            } else if act.last_activity.elapsed() >= act.deps.settings.actor_idle {
                tracing::debug!(session = %act.facts.id, "session actor idle; hibernating");
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.ended.cancel();
        self.deps.forget(&self.facts.id, self.generation);
    }
}

/// Deliver the messages of one POST.
#[derive(Message)]
#[rtype(result = "Result<PostReply, SessionError>")]
pub struct Post {
    /// The decoded messages, in order.
    pub messages: Vec<Message>,
    /// JSON or SSE for the responses.
    pub mode: ReplyMode,
    /// The authenticated caller of this POST.
    pub principal: Option<crate::principal::Principal>,
}

impl Handler<Post> for SessionActor {
    type Result = Result<PostReply, SessionError>;

    fn handle(&mut self, msg: Post, ctx: &mut Self::Context) -> Self::Result {
        if self.ended.is_cancelled() {
            return Err(SessionError::Gone);
        }
        let verified = self.deps.requests_slide_ttl();
        self.mark_active(ctx, verified);
        let requests = msg.messages.iter().filter(|m| m.is_request()).count();
        let mut json_replies = Vec::new();
        let post_stream = (requests > 0 && msg.mode == ReplyMode::Sse)
            .then(|| Arc::new(PostStream::new(self.writer(&new_stream_id()), requests)));
        let standalone = self.writer(STANDALONE_STREAM);
        for message in msg.messages {
            match message {
                Message::Request(req) => {
                    let (target, related) = match &post_stream {
                        Some(ps) => (ReplyTarget::Stream(Arc::clone(ps)), ps.writer.clone()),
                        None => {
                            let (tx, rx) = oneshot::channel();
                            json_replies.push(rx);
                            (ReplyTarget::Json(tx), standalone.clone())
                        }
                    };
                    self.start_request(ctx, req, target, related, msg.principal.clone());
                }
                Message::Notification(n) => self.handle_notification(ctx, n),
                Message::Response(r) => {
                    if !self.shared.resolve(&r.id, Ok(r.result.clone())) {
                        // The waiting tool may run on another replica.
                        let signal = Signal::Answer {
                            id: r.id,
                            result: Some(r.result),
                            error: None,
                        };
                        self.signal(ctx, signal);
                    }
                }
                Message::Error(e) => {
                    if let Some(id) = e.id
                        && !self.shared.resolve(&id, Err(e.error.clone()))
                    {
                        let signal = Signal::Answer {
                            id,
                            result: None,
                            error: Some(e.error),
                        };
                        self.signal(ctx, signal);
                    }
                }
            }
        }
        Ok(match post_stream {
            Some(ps) => {
                let stream = ps.writer.stream().to_owned();
                let connection = self.attach(ctx, &stream, false);
                PostReply::Stream { stream, connection }
            }
            None if requests > 0 => PostReply::Json(json_replies),
            None => PostReply::Accepted,
        })
    }
}

/// Attach a new connection to a stream (GET: the standalone stream or a resumed one).
#[derive(Message)]
#[rtype(result = "Result<Connection, SessionError>")]
pub struct Attach {
    /// The stream id.
    pub stream: String,
}

impl Handler<Attach> for SessionActor {
    type Result = Result<Connection, SessionError>;
    fn handle(&mut self, msg: Attach, ctx: &mut Self::Context) -> Self::Result {
        if self.ended.is_cancelled() {
            return Err(SessionError::Gone);
        }
        let verified = self.deps.requests_slide_ttl();
        self.mark_active(ctx, verified);
        Ok(self.attach(ctx, &msg.stream, true))
    }
}

/// A connection ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub(crate) stream: String,
    pub(crate) id: u64,
}

impl Handler<Detach> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: Detach, _ctx: &mut Self::Context) {
        if self
            .connections
            .get(&msg.stream)
            .is_some_and(|(id, _)| *id == msg.id)
        {
            self.connections.remove(&msg.stream);
        }
        self.last_activity = Instant::now();
    }
}

/// Close the connection attached to a stream, keeping the stream (SSE polling).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropConnection {
    pub(crate) stream: String,
}

impl Handler<DropConnection> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: DropConnection, _ctx: &mut Self::Context) {
        if let Some((_, ticket)) = self.connections.remove(&msg.stream) {
            ticket.cancel();
        }
    }
}

/// Stop this actor and its connections: the session no longer exists in the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EndLocally;

impl Handler<EndLocally> for SessionActor {
    type Result = ();
    fn handle(&mut self, _msg: EndLocally, ctx: &mut Self::Context) {
        self.end(ctx);
    }
}

/// End the session (HTTP DELETE): cancel everything, delete the stored state, stop.
#[derive(Message)]
#[rtype(result = "Result<(), SessionError>")]
pub struct Terminate;

impl Handler<Terminate> for SessionActor {
    type Result = ResponseActFuture<Self, Result<(), SessionError>>;
    fn handle(&mut self, _msg: Terminate, ctx: &mut Self::Context) -> Self::Result {
        let sessions = Arc::clone(&self.deps.sessions);
        let bus = Arc::clone(&self.deps.bus);
        let id = Arc::clone(&self.facts.id);
        self.ended.cancel();
        for (_, (_, ticket)) in self.connections.drain() {
            ticket.cancel();
        }
        let _ = ctx;
        Box::pin(
            async move {
                let deleted = sessions.delete_session(&id).await;
                // Actors and connections of this session on other replicas end too.
                if let Err(e) = bus.publish(&id, Signal::Ended.encode()).await {
                    tracing::warn!(session = %id, error = %e, "could not announce the deletion");
                }
                deleted
            }
            .into_actor(self)
            .map(|res, _act, ctx| {
                ctx.stop();
                res.map(|_| ()).map_err(SessionError::Store)
            }),
        )
    }
}

/// The default log level for new sessions.
pub fn default_log_level(s: &str) -> LogLevel {
    s.parse().unwrap_or(LogLevel::Info)
}
