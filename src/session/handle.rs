//! [`SessionHandle`]: the only way route handlers talk to a session actor.
//!
//! It hides `actix::Addr` and the actor's message types, turns mailbox failures into
//! [`SessionError::Gone`] (the caller re-resolves the session, which rehydrates a new actor),
//! and carries the session facts the transport needs (version, principal, whether the session
//! is initialized).

use crate::principal::Principal;
use crate::protocol::jsonrpc::Message;
use crate::protocol::version::ProtocolVersion;
use crate::session::actor::{Attach, Detach, Post, Refresh, SessionActor, SessionFacts, Terminate};
use crate::session::event_id::STANDALONE_STREAM;
use crate::store::SessionPatch;
use crate::store::StoreError;
use actix::Addr;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The messages of one POST on their way to a session actor, which takes them out when it
/// handles the POST. When the actor stopped first (its mailbox closed, or it was ending) they
/// stay here, so [`crate::session::SessionRegistry::with_retry`] hands the same parcel to the
/// rehydrated actor: a request's messages are never copied for the retry.
#[derive(Clone)]
pub struct Parcel {
    messages: Arc<Mutex<Option<Vec<Message>>>>,
    /// The body the messages were decoded from, when the transport has one (Streamable HTTP):
    /// what a runner record decodes its requests from, only if it is ever stored
    /// ([`crate::session::runner_gate`]).
    body: Option<Bytes>,
}

impl Parcel {
    /// A parcel holding `messages`.
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages: Arc::new(Mutex::new(Some(messages))),
            body: None,
        }
    }

    /// A parcel holding `messages`, decoded from the JSON `body` (a message or a batch).
    pub fn decoded_from(messages: Vec<Message>, body: Bytes) -> Self {
        Self {
            body: Some(body),
            ..Self::new(messages)
        }
    }

    /// The messages, once: `None` after an actor took them.
    pub(crate) fn take(&self) -> Option<Vec<Message>> {
        self.messages.lock().take()
    }

    /// The body the messages were decoded from, if the transport gave it.
    pub(crate) fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }
}

/// Session-level failures, mapped to HTTP by the transport.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// Unknown, expired, deleted, or owned by another principal (HTTP 404).
    #[error("session not found")]
    NotFound,
    /// The actor stopped while the request was on its way; resolve the session again.
    #[error("session actor stopped")]
    Gone,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the responses of a POST are returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// One `application/json` body.
    Json,
    /// A `text/event-stream` carrying related messages and then the responses.
    Sse,
    /// Everything on the session's standalone stream; the POST itself gets 202 (the HTTP+SSE
    /// transport of 2024-11-05, and stdio).
    Standalone,
}

/// What the session did with a POST.
pub enum PostReply {
    /// Only notifications and responses: HTTP 202.
    Accepted,
    /// JSON replies, one per request, in order.
    Json(Vec<oneshot::Receiver<Value>>),
    /// An SSE stream was opened for the responses; `connection` is attached to it.
    Stream {
        /// The new stream's id.
        stream: String,
        /// The attached connection.
        connection: Connection,
    },
}

/// A connection attached to a stream. Cancelling `ticket` (DELETE, takeover, shutdown) ends the
/// connection; dropping `guard` detaches it from the session.
pub struct Connection {
    /// Fires when the connection must end.
    pub ticket: CancellationToken,
    /// Detaches on drop.
    pub guard: ConnectionGuard,
}

/// Detaches a connection from its session when dropped.
pub struct ConnectionGuard(Release);

/// How a dropped guard tells its actor.
enum Release {
    /// A [`Detach`] message: GET connections, whose detaching the actor acts on.
    Message {
        addr: Addr<SessionActor>,
        stream: String,
        id: u64,
    },
    /// Cancelling the connection's ticket, which the actor reads as "detached" when it next
    /// looks at its connections: POST streams, one per call, whose end needs no action, so
    /// the actor's thread is not woken once more per call.
    Cancel(CancellationToken),
}

impl ConnectionGuard {
    /// A guard that sends [`Detach`] when dropped.
    pub(crate) fn new(addr: Addr<SessionActor>, stream: String, id: u64) -> Self {
        Self(Release::Message { addr, stream, id })
    }

    /// A guard that cancels `ticket` when dropped.
    pub(crate) fn cancelling(ticket: CancellationToken) -> Self {
        Self(Release::Cancel(ticket))
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        match &mut self.0 {
            Release::Message { addr, stream, id } => addr.do_send(Detach {
                stream: std::mem::take(stream),
                id: *id,
            }),
            Release::Cancel(ticket) => ticket.cancel(),
        }
    }
}

/// A reference to a live session actor.
#[derive(Clone)]
pub struct SessionHandle {
    facts: SessionFacts,
    addr: Addr<SessionActor>,
}

impl SessionHandle {
    pub(crate) fn new(facts: SessionFacts, addr: Addr<SessionActor>) -> Self {
        Self { facts, addr }
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.facts.id
    }

    /// The negotiated protocol revision.
    pub fn version(&self) -> ProtocolVersion {
        self.facts.version
    }

    /// The principal that created the session.
    pub fn principal(&self) -> Option<&Principal> {
        self.facts.principal.as_deref()
    }

    /// The principal that created the session, shared.
    pub fn shared_principal(&self) -> Option<Arc<Principal>> {
        self.facts.principal.clone()
    }

    /// The session id, shared.
    pub fn shared_id(&self) -> Arc<str> {
        Arc::clone(&self.facts.id)
    }

    /// Whether `initialize` was processed (always true for Streamable HTTP sessions, which
    /// `initialize` creates).
    pub fn initialized(&self) -> bool {
        self.facts.initialized
    }

    /// Whether the actor is still running.
    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }

    /// Delivers the messages of one POST.
    pub async fn post(
        &self,
        parcel: Parcel,
        mode: ReplyMode,
        principal: Option<Arc<Principal>>,
    ) -> Result<PostReply, SessionError> {
        self.addr
            .send(Post {
                parcel,
                mode,
                principal,
            })
            .await
            .map_err(|_| SessionError::Gone)?
    }

    /// Attaches a connection to a stream.
    pub async fn attach(&self, stream: &str) -> Result<Connection, SessionError> {
        self.addr
            .send(Attach {
                stream: stream.to_owned(),
                ends_session: false,
            })
            .await
            .map_err(|_| SessionError::Gone)?
    }

    /// Attaches the connection that carries every message of an HTTP+SSE or stdio session to
    /// the standalone stream; the session ends when this connection detaches.
    pub async fn attach_carrier(&self) -> Result<Connection, SessionError> {
        self.addr
            .send(Attach {
                stream: STANDALONE_STREAM.to_owned(),
                ends_session: true,
            })
            .await
            .map_err(|_| SessionError::Gone)?
    }

    /// Makes the actor take the facts of an `Initialized` patch; returns the refreshed handle.
    pub(crate) async fn refresh(&self, patch: SessionPatch) -> Result<SessionHandle, SessionError> {
        self.addr
            .send(Refresh(patch))
            .await
            .map_err(|_| SessionError::Gone)
    }

    /// Stops the actor without touching the store (the session is already gone).
    pub fn end(&self) {
        self.addr.do_send(crate::session::actor::EndLocally);
    }

    /// Asks the actor to leave its HTTP worker thread (graceful shutdown).
    pub(crate) fn evacuate(&self) {
        self.addr.do_send(crate::session::actor::Evacuate);
    }

    /// Asks the actor to move to the worker its requests arrive on: it stops if nothing runs
    /// on it (see [`crate::session::relocate`]). Sent before the request's own message, which
    /// then finds the actor gone and rehydrates the session on the calling worker.
    pub(crate) fn relocate(&self) {
        self.addr.do_send(crate::session::actor::Relocate);
    }

    /// Ends the session and deletes its stored state.
    pub async fn terminate(&self) -> Result<(), SessionError> {
        self.addr
            .send(Terminate)
            .await
            .map_err(|_| SessionError::Gone)?
    }
}
