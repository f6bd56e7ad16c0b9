//! What reaches a session actor from outside its HTTP requests: server events from the registry
//! (turned into `list_changed` / `resources/updated` notifications on the standalone stream,
//! listened to only while one is attached) and
//! signals from the same session's actors on other replicas (answers, cancellations, takeovers,
//! state changes including `initialize` of an HTTP+SSE session, deletion).

use super::{SessionActor, default_log_level};
use crate::protocol::jsonrpc::notification_value;
use crate::registry::ServerEvent;
use crate::session::drain::InFlightGuard;
use crate::session::event_id::STANDALONE_STREAM;
use crate::session::signal::Signal;
use crate::session::stream::{StreamWriter, encode};
use crate::store::SessionPatch;
use actix::prelude::*;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

impl StreamHandler<ServerEvent> for SessionActor {
    /// Turns a server event into a notification on the standalone stream. Only the actor that
    /// holds the standalone connection does so: a session may have live actors on several
    /// replicas, and each notification must be written once. An actor whose standalone
    /// connection went away stops listening here (the connection may detach without a message
    /// to the actor), so it is woken by at most one event after that.
    fn handle(&mut self, event: ServerEvent, ctx: &mut Self::Context) {
        if self.attached(STANDALONE_STREAM).is_none() {
            if let Some(events) = self.events.take() {
                ctx.cancel_future(events);
            }
            return;
        }
        if let ServerEvent::ResourceUpdated(uri) = &event
            && !self.shared.subscriptions.lock().contains(uri)
        {
            return;
        }
        self.notify_standalone(ctx, encoded(&event));
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// The notification of a server event.
fn message(event: &ServerEvent) -> Value {
    match event {
        ServerEvent::ToolsChanged => {
            notification_value("notifications/tools/list_changed", Value::Null)
        }
        ServerEvent::PromptsChanged => {
            notification_value("notifications/prompts/list_changed", Value::Null)
        }
        ServerEvent::ResourcesChanged => {
            notification_value("notifications/resources/list_changed", Value::Null)
        }
        ServerEvent::ResourceUpdated(uri) => {
            notification_value("notifications/resources/updated", json!({"uri": uri}))
        }
    }
}

thread_local! {
    /// The last server event this worker thread encoded, and its encoding.
    static LAST_ENCODED: RefCell<Option<(ServerEvent, Arc<str>)>> = const { RefCell::new(None) };
}

/// The encoded notification of `event`. Every listening actor of a worker thread receives the
/// same event one after another: the first encodes it, the others share its text (one
/// encoding and one allocation per thread instead of one per stream, and one copy in memory
/// for all the logs that keep it).
fn encoded(event: &ServerEvent) -> Arc<str> {
    LAST_ENCODED.with_borrow_mut(|last| match last {
        Some((seen, data)) if seen == event => Arc::clone(data),
        _ => {
            let data = encode(&message(event));
            *last = Some((event.clone(), Arc::clone(&data)));
            data
        }
    })
}

impl SessionActor {
    /// Listens to the registry's server events (a standalone stream was attached), unless it
    /// already does. The receiver is taken now, so every event announced after the attach
    /// reaches the stream. Live sessions without a standalone stream do not listen: an
    /// announcement wakes only the actors that can deliver it, not every live session.
    pub(super) fn listen(&mut self, ctx: &mut Context<Self>) {
        if self.events.is_some() {
            return;
        }
        let rx = self.deps.server.registry.subscribe();
        let events = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((ev, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "server events lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        self.events = Some(ctx.add_stream(events));
    }

    /// Stores a notification on the standalone stream: at once if the store never waits,
    /// otherwise through a queue that one writer per actor stores in order. Appends spawned one
    /// by one could overtake each other (each is a separate Redis round trip), and the client
    /// would see `list_changed` notifications out of order.
    /// The queue is bounded ([`OUTBOX_CAPACITY`]); when the store cannot keep up, further
    /// notifications are dropped with a warning rather than held without limit.
    fn notify_standalone(&mut self, ctx: &mut Context<Self>, message: Arc<str>) {
        // A store that never waits (the embedded one) takes the notification at once, in order,
        // without a writer task to wake for each. Only while no outbox exists: once one does,
        // everything goes through it, so nothing overtakes what it still holds.
        if self.outbox.is_none()
            && let Some(stored) =
                self.deps
                    .events
                    .append_now(&self.facts.id, STANDALONE_STREAM, &message)
        {
            if let Err(e) = stored {
                tracing::debug!(error = %e, "could not store notification");
            }
            return;
        }
        let outbox = match &self.outbox {
            Some(outbox) if !outbox.is_closed() => outbox.clone(),
            _ => {
                let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
                let writer = self.writer(STANDALONE_STREAM);
                ctx.spawn(drain_outbox(writer, rx).into_actor(self));
                self.outbox = Some(tx.clone());
                tx
            }
        };
        // The guard travels with the message and is dropped once it is stored (or refused).
        if let Err(mpsc::error::TrySendError::Full(_)) =
            outbox.try_send((message, self.settling.enter()))
        {
            tracing::warn!(session = %self.facts.id, "notification queue full; notification dropped");
        }
    }
}

/// Notifications a session's standalone stream may have queued for the store at once.
pub(super) const OUTBOX_CAPACITY: usize = 256;

/// Stores queued notifications one after another until the actor stops; each one's guard
/// keeps the actor from stopping until it is stored (see `SessionActor::busy`).
async fn drain_outbox(writer: StreamWriter, mut rx: mpsc::Receiver<(Arc<str>, InFlightGuard)>) {
    while let Some((message, _settled)) = rx.recv().await {
        if let Err(e) = writer.send_encoded_notification(message).await {
            tracing::debug!(error = %e, "could not store notification");
        }
    }
}

impl StreamHandler<Signal> for SessionActor {
    fn handle(&mut self, signal: Signal, ctx: &mut Self::Context) {
        match signal {
            Signal::Answer { id, result, error } => {
                let answer = match (result, error) {
                    (_, Some(e)) => Err(e),
                    (r, None) => Ok(r.unwrap_or(Value::Null)),
                };
                self.shared.resolve(&id, answer);
            }
            Signal::Cancel { request_id } => {
                if self.running.cancel(&request_id) {
                    tracing::debug!(session = %self.facts.id, request = %request_id, "request cancelled via another replica");
                }
            }
            Signal::Taken { stream, owner } => {
                // Takeovers between this actor's own connections are handled in `attach`.
                let prefix = format!("{}:{}:", self.deps.replica, self.generation);
                if owner.starts_with(&prefix) {
                    return;
                }
                let mine = self.attached(&stream).map(|c| self.owner(c.id));
                if mine.is_some_and(|m| m != owner)
                    && let Some(c) = self.connections.remove(&stream)
                {
                    c.ticket.cancel();
                }
            }
            Signal::State { patch } => match patch {
                SessionPatch::LogLevel(level) => {
                    let level = default_log_level(&level);
                    self.shared
                        .log_level
                        .store(level.to_u8(), std::sync::atomic::Ordering::Relaxed);
                }
                SessionPatch::Subscribe(uri) => {
                    self.shared.subscriptions.lock().insert(uri);
                }
                SessionPatch::Unsubscribe(uri) => {
                    self.shared.subscriptions.lock().remove(&uri);
                }
                // `initialize` ran on another replica (HTTP+SSE sessions).
                patch @ SessionPatch::Initialized { .. } => self.apply_initialized(ctx, &patch),
            },
            Signal::Ended => {
                if self.ended.is_cancelled() {
                    // Our own Terminate published it; its reply is still on the way.
                    return;
                }
                tracing::debug!(session = %self.facts.id, "session deleted on another replica");
                self.end(ctx);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_event_is_encoded_once_per_thread_while_it_repeats() {
        let a = ServerEvent::ResourceUpdated("file:///a".into());
        let first = encoded(&a);
        let again = encoded(&a);
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same event shares its text"
        );
        let value: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(
            value,
            json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                "params": {"uri": "file:///a"}})
        );
        let b = encoded(&ServerEvent::ResourceUpdated("file:///b".into()));
        assert!(b.contains("file:///b"));
        let tools = encoded(&ServerEvent::ToolsChanged);
        assert!(tools.contains("notifications/tools/list_changed"));
        assert!(!tools.contains("params"), "{tools}");
        let third = encoded(&a);
        assert!(!Arc::ptr_eq(&first, &third), "only the last event is kept");
        assert_eq!(first, third);
    }
}
