//! The messages a [`SessionActor`] accepts from its [`SessionHandle`] and from the connections
//! attached to it: deliver a POST's messages, attach or detach a connection, close one, refresh
//! the facts after another replica ran `initialize`, and end the session (locally, or everywhere
//! with its stored state). Replies go where the transport wants them ([`ReplyMode`]): a JSON body
//! or a POST's SSE stream (Streamable HTTP, 2025-03-26 … 2025-11-25 `basic/transports.mdx`), or
//! the standalone stream read by the `/sse` connection (HTTP+SSE, 2024-11-05) or by stdout.

use super::SessionActor;
use super::takeover::{RecordedRequests, RunnerRecord};
use crate::protocol::jsonrpc::Message;
use crate::session::event_id::{STANDALONE_STREAM, new_stream_id};
use crate::session::handle::{Connection, PostReply, ReplyMode, SessionError, SessionHandle};
use crate::session::request::{PostStream, ReplyTarget};
use crate::session::runner_gate::{RunnerGate, store_later};
use crate::session::signal::Signal;
use crate::store::{SessionPatch, StoreError};
use actix::prelude::*;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Deliver the messages of one POST (or one line of stdio).
#[derive(Message)]
#[rtype(result = "Result<PostReply, SessionError>")]
pub struct Post {
    /// The decoded messages, in order (taken out by the handler).
    pub parcel: crate::session::Parcel,
    /// JSON, SSE, or the standalone stream for the responses.
    pub mode: ReplyMode,
    /// The authenticated caller of this POST.
    pub principal: Option<Arc<crate::principal::Principal>>,
}

impl Handler<Post> for SessionActor {
    type Result = Result<PostReply, SessionError>;

    fn handle(&mut self, msg: Post, ctx: &mut Self::Context) -> Self::Result {
        if self.ended.is_cancelled() {
            return Err(SessionError::Gone);
        }
        // Taken only by an actor that handles them. `None`: an earlier actor took them and
        // stopped before its answer arrived (the session ended); they ran there and are not
        // run twice.
        let Some(messages) = msg.parcel.take() else {
            return Err(SessionError::Gone);
        };
        self.mark_active(ctx);
        let requests = messages.iter().filter(|m| m.is_request()).count();
        let mut json_replies = Vec::new();
        let post_stream = if requests > 0 && msg.mode == ReplyMode::Sse {
            let stream = new_stream_id();
            self.deps.events.opened(&self.facts.id, &stream);
            let mut writer = self.writer(&stream);
            if let Some(runner) = self.record_runner(&stream, &messages, &msg) {
                writer = writer.with_runner(runner);
            }
            Some(Arc::new(PostStream::new(writer, requests)))
        } else {
            None
        };
        let standalone = self.writer(STANDALONE_STREAM);
        for message in messages {
            match message {
                Message::Request(req) => {
                    let (target, related) = match (&post_stream, msg.mode) {
                        (Some(ps), _) => (ReplyTarget::Stream(Arc::clone(ps)), ps.writer.clone()),
                        (None, ReplyMode::Standalone) => {
                            (ReplyTarget::Log(standalone.clone()), standalone.clone())
                        }
                        (None, _) => {
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
                let connection = self.attach(ctx, &stream, false, false);
                PostReply::Stream { stream, connection }
            }
            None if requests > 0 && msg.mode != ReplyMode::Standalone => {
                PostReply::Json(json_replies)
            }
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
    /// End the session when this connection detaches (the `/sse` connection of HTTP+SSE and
    /// stdout of stdio: without them the session cannot reach its client any more).
    pub ends_session: bool,
}

impl Handler<Attach> for SessionActor {
    type Result = Result<Connection, SessionError>;
    fn handle(&mut self, msg: Attach, ctx: &mut Self::Context) -> Self::Result {
        if self.ended.is_cancelled() {
            return Err(SessionError::Gone);
        }
        self.mark_active(ctx);
        let connection = self.attach(ctx, &msg.stream, true, msg.ends_session);
        if self.deps.shared_store && msg.stream != STANDALONE_STREAM {
            // A POST stream resumed here: finish it if its replica died.
            let id = self.next_connection;
            self.watch_runner(ctx, msg.stream, id);
        }
        Ok(connection)
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
    fn handle(&mut self, msg: Detach, ctx: &mut Self::Context) {
        self.last_activity = std::time::Instant::now();
        if self
            .connections
            .get(&msg.stream)
            .is_none_or(|c| c.id != msg.id)
        {
            return;
        }
        let ends_session = self
            .connections
            .remove(&msg.stream)
            .is_some_and(|c| c.ends_session);
        if ends_session && !self.ended.is_cancelled() {
            tracing::info!(session = %self.facts.id, "session connection closed; ending the session");
            let done = self.terminate_stored();
            ctx.wait(done.into_actor(self).map(|res, _act, ctx| {
                if let Err(e) = res {
                    tracing::warn!(error = %e, "could not delete the session after its connection closed");
                }
                ctx.stop();
            }));
        }
    }
}

/// Close the connection attached to a stream, keeping the stream (SSE polling). The carrier of
/// an HTTP+SSE or stdio session stays: those transports cannot reconnect to a stream.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropConnection {
    pub(crate) stream: String,
}

impl Handler<DropConnection> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: DropConnection, _ctx: &mut Self::Context) {
        if self
            .connections
            .get(&msg.stream)
            .is_some_and(|c| c.ends_session)
        {
            return;
        }
        if let Some(c) = self.connections.remove(&msg.stream) {
            c.ticket.cancel();
        }
    }
}

/// Take the facts of a record that another replica initialized; answers the refreshed handle.
#[derive(Message)]
#[rtype(result = "SessionHandle")]
pub struct Refresh(pub(crate) SessionPatch);

impl Handler<Refresh> for SessionActor {
    type Result = MessageResult<Refresh>;
    fn handle(&mut self, msg: Refresh, ctx: &mut Self::Context) -> Self::Result {
        self.apply_initialized(ctx, &msg.0);
        MessageResult(SessionHandle::new(self.facts.clone(), ctx.address()))
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

/// Leave the HTTP worker thread (graceful shutdown, see [`crate::session::home`]): an actor
/// living on a worker leaves the live-actor table at once, so the session's next request
/// rehydrates it on a dedicated arbiter, and stops as soon as nothing runs on it. Actors on the
/// arbiters ignore it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evacuate;

/// How often an evacuating actor checks whether it can stop.
const EVACUATE_CHECK: std::time::Duration = std::time::Duration::from_millis(20);

impl Handler<Evacuate> for SessionActor {
    type Result = ();
    fn handle(&mut self, _msg: Evacuate, ctx: &mut Self::Context) {
        if self.home.is_none() {
            return;
        }
        self.deps.forget(&self.facts.id, self.generation);
        if !self.busy() {
            ctx.stop();
            return;
        }
        ctx.run_interval(EVACUATE_CHECK, |act, ctx| {
            if !act.busy() {
                tracing::debug!(session = %act.facts.id, "session actor left its HTTP worker");
                ctx.stop();
            }
        });
    }
}

/// Move to the HTTP worker the session's requests arrive on (see
/// [`crate::session::relocate`]): an actor with nothing running on it (see `busy`) leaves the
/// live table and stops, so the next request rehydrates the session on its own worker; a busy
/// actor stays.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Relocate;

impl Handler<Relocate> for SessionActor {
    type Result = ();
    fn handle(&mut self, _msg: Relocate, ctx: &mut Self::Context) {
        if self.busy() {
            return;
        }
        tracing::debug!(session = %self.facts.id, "session actor moving to the worker its requests arrive on");
        self.deps.forget(&self.facts.id, self.generation);
        self.deps.relocated();
        ctx.stop();
    }
}

/// End the session (HTTP DELETE): cancel everything, delete the stored state, stop.
#[derive(Message)]
#[rtype(result = "Result<(), SessionError>")]
pub struct Terminate;

impl Handler<Terminate> for SessionActor {
    type Result = ResponseActFuture<Self, Result<(), SessionError>>;
    fn handle(&mut self, _msg: Terminate, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(
            self.terminate_stored()
                .into_actor(self)
                .map(|res, _act, ctx| {
                    ctx.stop();
                    res.map(|_| ()).map_err(SessionError::Store)
                }),
        )
    }
}

impl SessionActor {
    /// Cancels every request and connection, then (in the returned future) deletes the stored
    /// session and tells the session's actors on other replicas. Resolves to whether the
    /// session existed.
    fn terminate_stored(
        &mut self,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + use<> {
        let sessions = Arc::clone(&self.deps.sessions);
        let bus = Arc::clone(&self.deps.bus);
        let id = Arc::clone(&self.facts.id);
        self.ended.cancel();
        for (_, c) in self.connections.drain() {
            c.ticket.cancel();
        }
        async move {
            let deleted = sessions.delete_session(&id).await;
            // Actors and connections of this session on other replicas end too.
            if let Err(e) = bus.publish(&id, Signal::Ended.encode()).await {
                tracing::warn!(session = %id, error = %e, "could not announce the deletion");
            }
            deleted
        }
    }
}

impl SessionActor {
    /// The runner record of a new POST stream (shared store only), stored before the stream's
    /// first non-final event or after
    /// [`RECORD_AFTER`](crate::session::runner_gate::RECORD_AFTER), never once the stream ended
    /// ([`RunnerGate`]).
    fn record_runner(
        &self,
        stream: &str,
        messages: &[Message],
        msg: &Post,
    ) -> Option<Arc<RunnerGate>> {
        if !self.deps.shared_store {
            return None;
        }
        // Built when it is stored, if ever: most streams end first.
        let requests = RecordedRequests::of(msg.parcel.body(), messages);
        let (replica, principal) = (Arc::clone(&self.deps.replica), msg.principal.clone());
        let runners = Arc::clone(&self.deps.runners);
        let (session, stream) = (Arc::clone(&self.facts.id), stream.to_owned());
        let store = async move {
            let record = RunnerRecord {
                replica: replica.to_string(),
                requests: requests.into_values(),
                principal: principal.as_deref().cloned(),
            };
            if let Err(e) = runners.set_runner(&session, &stream, record.encode()).await {
                tracing::warn!(session = %session, stream = %stream, error = %e, "could not store a runner record");
            }
        };
        let gate = Arc::new(RunnerGate::new(Box::pin(store)));
        // Not an item of this actor's context: the context polls every item each time the
        // actor wakes, and at a thousand calls a second a session would keep some fifty of
        // these 50 ms deadlines alive. The thread's queue holds the gate weakly: a stream that
        // ended (its writers dropped) leaves nothing to store, and neither does an actor that
        // ended.
        store_later(&gate, &self.ended);
        Some(gate)
    }
}
