//! What reaches a session actor from outside its HTTP requests: server events from the registry
//! (turned into `list_changed` / `resources/updated` notifications on the standalone stream) and
//! signals from the same session's actors on other replicas (answers, cancellations, takeovers,
//! state changes including `initialize` of an HTTP+SSE session, deletion).

use super::{SessionActor, default_log_level};
use crate::protocol::jsonrpc::notification_value;
use crate::registry::ServerEvent;
use crate::session::event_id::STANDALONE_STREAM;
use crate::session::signal::Signal;
use crate::store::SessionPatch;
use actix::prelude::*;
use serde_json::{Value, json};

impl StreamHandler<ServerEvent> for SessionActor {
    /// Turns a server event into a notification on the standalone stream. Only the actor that
    /// holds the standalone connection does so: a session may have live actors on several
    /// replicas, and each notification must be written once.
    fn handle(&mut self, event: ServerEvent, ctx: &mut Self::Context) {
        if self.attached(STANDALONE_STREAM).is_none() {
            return;
        }
        let message = match event {
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
                if !self.shared.subscriptions.lock().contains(&uri) {
                    return;
                }
                notification_value("notifications/resources/updated", json!({"uri": uri}))
            }
        };
        let writer = self.writer(STANDALONE_STREAM);
        ctx.spawn(
            async move {
                if let Err(e) = writer.send(&message).await {
                    tracing::debug!(error = %e, "could not store notification");
                }
            }
            .into_actor(self),
        );
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
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
                if let Some(token) = self.in_flight.get(&request_id) {
                    tracing::debug!(session = %self.facts.id, request = %request_id, "request cancelled via another replica");
                    token.cancel();
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
