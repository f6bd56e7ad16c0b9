//! The session's side of [`ClientPeer`]: messages a running request sends to its client go to
//! the request's SSE stream (or the standalone stream when the request is answered as JSON),
//! and server-to-client requests wait in the session's pending table for the client's POSTed
//! answer.

use crate::protocol::context::{ClientPeer, LogLevel, PeerError};
use crate::protocol::jsonrpc::{ErrorObject, Message, Request, RequestId};
use crate::session::stream::StreamWriter;
use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// A waiting server-to-client request.
pub type PendingReply = oneshot::Sender<Result<Value, ErrorObject>>;

/// Session state shared between the actor and the requests it runs.
pub struct SessionShared {
    /// Minimum log level (a [`LogLevel`] as `u8`).
    pub log_level: AtomicU8,
    /// Subscribed resource URIs.
    pub subscriptions: Mutex<BTreeSet<String>>,
    /// Server-to-client requests awaiting the client's answer, by the id we sent.
    pub pending: Mutex<HashMap<RequestId, PendingReply>>,
    next_request: AtomicI64,
    /// How long to wait for the client's answer.
    pub request_timeout: Duration,
}

impl SessionShared {
    /// Fresh shared state.
    pub fn new(
        log_level: LogLevel,
        subscriptions: BTreeSet<String>,
        request_timeout: Duration,
    ) -> Self {
        Self {
            log_level: AtomicU8::new(log_level.to_u8()),
            subscriptions: Mutex::new(subscriptions),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicI64::new(0),
            request_timeout,
        }
    }

    /// Resolves a pending request with the client's answer; false if no one waits for it.
    pub fn resolve(&self, id: &RequestId, answer: Result<Value, ErrorObject>) -> bool {
        match self.pending.lock().remove(id) {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }
}

/// The peer handed to one running request.
pub struct RequestPeer {
    /// Where the request's related messages go.
    pub writer: StreamWriter,
    /// The session's shared state.
    pub shared: Arc<SessionShared>,
    /// Fires when the request is cancelled or the session ends.
    pub cancellation: CancellationToken,
    /// The session actor, to close the request's connection on demand.
    pub actor: actix::Addr<crate::session::actor::SessionActor>,
}

#[async_trait]
impl ClientPeer for RequestPeer {
    async fn notify(&self, method: &str, params: Value) -> Result<(), PeerError> {
        let msg = crate::protocol::jsonrpc::notification_value(method, params);
        self.writer
            .send(&msg)
            .await
            .map(|_| ())
            .map_err(|e| PeerError::Delivery(e.to_string()))
    }

    async fn request(&self, method: &str, params: Value) -> Result<Value, PeerError> {
        let n = self.shared.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let id = RequestId::String(format!("s{n}"));
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().insert(id.clone(), tx);
        let msg = Message::Request(Request {
            id: id.clone(),
            method: method.to_owned(),
            params,
        })
        .to_value();
        let _cleanup = PendingGuard {
            shared: &self.shared,
            id: &id,
        };
        self.writer
            .send(&msg)
            .await
            .map_err(|e| PeerError::Delivery(e.to_string()))?;
        let timeout = self.shared.request_timeout;
        tokio::select! {
            answer = rx => match answer {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(PeerError::Client(e)),
                Err(_) => Err(PeerError::Cancelled),
            },
            () = self.cancellation.cancelled() => Err(PeerError::Cancelled),
            () = tokio::time::sleep(timeout) => Err(PeerError::Timeout(timeout.as_secs())),
        }
    }

    fn log_level(&self) -> LogLevel {
        LogLevel::from_u8(self.shared.log_level.load(Ordering::Relaxed))
    }

    fn close_connection(&self) {
        self.actor.do_send(crate::session::actor::DropConnection {
            stream: self.writer.stream().to_owned(),
        });
    }
}

struct PendingGuard<'a> {
    shared: &'a SessionShared,
    id: &'a RequestId,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.pending.lock().remove(self.id);
    }
}
