//! Running one client request inside a session: the session-state methods (`logging/setLevel`,
//! `resources/subscribe`, `resources/unsubscribe`) that change the stored record, everything
//! else through the protocol core, and delivery of the outcome to its reply target (a JSON reply,
//! the POST's SSE stream, which ends after the last response of its POST, or the session's
//! standalone stream for the HTTP+SSE and stdio transports).

use crate::protocol::context::RequestContext;
use crate::protocol::jsonrpc::{
    ErrorObject, Request, RequestId, codes, error_value, response_value,
};
use crate::protocol::server::{Outcome, parse_set_level, parse_subscription};
use crate::session::deps::SessionDeps;
use crate::session::peer::SessionShared;
use crate::session::stream::StreamWriter;
use crate::store::{SessionPatch, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// Runs one request: session-state methods here, everything else in the protocol core.
pub(crate) async fn run_request(
    deps: &SessionDeps,
    shared: &SessionShared,
    session: &str,
    ctx: RequestContext,
    req: Request,
) -> Outcome {
    let registry = &deps.server.registry;
    match req.method.as_str() {
        "logging/setLevel" => {
            let level = match parse_set_level(&req.params) {
                Ok(l) => l,
                Err(e) => return Outcome::Error(e),
            };
            let patch = SessionPatch::LogLevel(level.as_str().to_owned());
            match deps.sessions.update_session(session, &patch).await {
                Ok(()) => {
                    shared.log_level.store(level.to_u8(), Ordering::Relaxed);
                    announce(deps, session, patch).await;
                    Outcome::Result(json!({}))
                }
                Err(e) => Outcome::Error(ErrorObject::internal(e)),
            }
        }
        "resources/subscribe" | "resources/unsubscribe" => {
            let uri = match parse_subscription(registry, &req.params) {
                Ok(u) => u,
                Err(e) => return Outcome::Error(e),
            };
            let subscribe = req.method == "resources/subscribe";
            let patch = if subscribe {
                SessionPatch::Subscribe(uri.clone())
            } else {
                SessionPatch::Unsubscribe(uri.clone())
            };
            match deps.sessions.update_session(session, &patch).await {
                Ok(()) => {
                    {
                        let mut subs = shared.subscriptions.lock();
                        if subscribe {
                            subs.insert(uri);
                        } else {
                            subs.remove(&uri);
                        }
                    }
                    announce(deps, session, patch).await;
                    Outcome::Result(json!({}))
                }
                Err(e) => Outcome::Error(ErrorObject::internal(e)),
            }
        }
        _ => deps.server.handle(ctx, &req.method, req.params).await,
    }
}

/// Tells the session's actors on other replicas that the stored state changed.
async fn announce(deps: &SessionDeps, session: &str, patch: SessionPatch) {
    let signal = crate::session::signal::Signal::State { patch };
    if let Err(e) = deps.bus.publish(session, signal.encode()).await {
        tracing::warn!(session, error = %e, "could not announce a state change");
    }
}

/// Where a request's response goes.
pub(crate) enum ReplyTarget {
    /// A JSON reply awaited by the HTTP handler.
    Json(oneshot::Sender<Value>),
    /// The POST's SSE stream; closed after the last response of the POST.
    Stream(Arc<PostStream>),
    /// The session's standalone stream, which carries every message of an HTTP+SSE or stdio
    /// session; a cancelled request gets no response (`basic/utilities/cancellation.mdx`).
    Log(StreamWriter),
}

/// An SSE stream opened by one POST, shared by the requests of that POST. It ends after the
/// last response: a single request's response is stored and closes the stream in one store
/// operation; in a batch each response is stored, and the last one to finish closes it.
pub(crate) struct PostStream {
    pub(crate) writer: StreamWriter,
    pub(crate) remaining: AtomicUsize,
}

impl PostStream {
    /// A stream for `requests` requests.
    pub(crate) fn new(writer: StreamWriter, requests: usize) -> Self {
        Self {
            writer,
            remaining: AtomicUsize::new(requests),
        }
    }

    async fn deliver(&self, value: Option<Value>) {
        let stream = self.writer.stream();
        if self.remaining.load(Ordering::Acquire) == 1
            && let Some(value) = &value
        {
            if let Err(e) = self.writer.send_final(value).await {
                not_stored(stream, &e, "the final response");
            }
            self.remaining.store(0, Ordering::Release);
            return;
        }
        if let Some(value) = &value
            && let Err(e) = self.writer.send(value).await
        {
            not_stored(stream, &e, "a response");
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1
            && let Err(e) = self.writer.close().await
        {
            not_stored(stream, &e, "the stream's end");
        }
    }
}

/// Logs a write the store refused. A session deleted meanwhile (perhaps on another replica) is
/// an expected end, not an operator's concern: the client that deleted it, or the 404 of a
/// request whose session check rode on this write, already says so.
fn not_stored(stream: &str, error: &StoreError, what: &str) {
    if matches!(error, StoreError::NotFound) {
        tracing::debug!(stream, "session gone: {what} was not stored");
    } else {
        tracing::warn!(stream, error = %error, "could not store {what}");
    }
}

impl ReplyTarget {
    pub(crate) async fn deliver(self, id: RequestId, outcome: Outcome) {
        let id = &id;
        let value = match outcome {
            Outcome::Result(v) => Some(response_value(id, v)),
            Outcome::Error(e) => Some(error_value(Some(id), &e)),
            Outcome::Cancelled => None,
        };
        match self {
            ReplyTarget::Json(tx) => {
                let value = value.unwrap_or_else(|| {
                    error_value(
                        Some(id),
                        &ErrorObject::new(codes::REQUEST_CANCELLED, "Request cancelled"),
                    )
                });
                let _ = tx.send(value);
            }
            ReplyTarget::Stream(post) => post.deliver(value).await,
            ReplyTarget::Log(writer) => {
                if let Some(value) = value
                    && let Err(e) = writer.send(&value).await
                {
                    not_stored(writer.stream(), &e, "a response");
                }
            }
        }
    }
}
