//! `subscriptions/listen` over Streamable HTTP (MCP 2026-07-28
//! `basic/patterns/subscriptions.mdx`): the response is a `text/event-stream` that opens with
//! `notifications/subscriptions/acknowledged` and then carries the list-changed and
//! resource-updated notifications the filter asked for, each tagged with the subscription id.
//!
//! Events come from the registry's broadcast, which with a shared store also carries the events
//! of every other replica (the bus's global topic, see `startup`), so a listener on one replica
//! hears a change announced on another. The stream ends with the completion result when this
//! replica shuts down, when `sse.max_connection_secs` passes, or when the caller's token
//! expires (the client re-issues the request, with a fresh token); closing the connection ends
//! the subscription. Keep-alive comments flow every `sse.keep_alive_secs`.
//!
//! Task status notifications (tasks extension, [`super::tasks::watch`]): the caller's own live
//! tasks among `notifications.taskIds` are granted (listed in the acknowledgment), their current
//! state follows it, and every change announced on a task's bus topic (from any replica) sends
//! `notifications/tasks` again. Asking for them without declaring the extension is `-32021`.

use super::{McpState, bad_request, tasks};
use crate::protocol::stateless::StatelessRequest;
use crate::protocol::stateless::listen::{Filter, completion};
use actix_web::{HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse::{Data, Event, Sse};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Opens the subscription stream (or answers 400 for a malformed filter).
pub async fn open(
    req: &HttpRequest,
    state: &McpState,
    valid: &StatelessRequest,
    owner: String,
    token_lifetime: Option<Duration>,
) -> HttpResponse {
    let request = &valid.request;
    let filter = match Filter::parse(&request.params) {
        Ok(f) => f,
        Err(e) => return bad_request(Some(&request.id), &e),
    };
    let id = request.id.clone();
    // Subscribe before acknowledging: nothing announced after the acknowledgment is missed.
    let mut watched = match tasks::watch(state, valid, owner).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let mut events = state.sessions.server().registry.subscribe();
    let shutdown = state.shutdown.clone();
    let keep_alive = state.settings.keep_alive();
    let max = [
        (state.settings.sse.max_connection_secs > 0)
            .then(|| Duration::from_secs(state.settings.sse.max_connection_secs)),
        token_lifetime,
    ]
    .into_iter()
    .flatten()
    .min();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let mut ack = filter.acknowledgment(&id);
    watched.acknowledge(&mut ack);
    let ack: Event = Data::new(ack.to_string()).event("message").into();
    actix_web::rt::spawn(async move {
        if tx.send(ack).await.is_err() {
            return;
        }
        for n in watched.current(&id).await {
            if tx
                .send(Data::new(n.to_string()).event("message").into())
                .await
                .is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(max.unwrap_or(Duration::from_secs(u64::from(u32::MAX))));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(keep_alive.max(Duration::from_millis(100)));
        tick.tick().await;
        loop {
            let event: Event = tokio::select! {
                () = tx.closed() => return,
                () = shutdown.cancelled() => break,
                () = &mut deadline => break,
                _ = tick.tick() => Event::Comment("keep-alive".into()),
                Some(task_id) = watched.changes.next(), if watched.is_active() => {
                    match watched.notification(&task_id, &id).await {
                        Some(n) => Data::new(n.to_string()).event("message").into(),
                        None => continue,
                    }
                }
                received = events.recv() => match received {
                    Ok(e) => match filter.notification(&e, &id) {
                        Some(n) => Data::new(n.to_string()).event("message").into(),
                        None => continue,
                    },
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "a subscriptions/listen stream lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                },
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        let done: Event = Data::new(completion(&id).to_string())
            .event("message")
            .into();
        let _ = tx.send(done).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = rx.recv().await?;
        Some((event, rx))
    });
    Sse::from_infallible_stream(stream)
        .customize()
        .insert_header(("X-Accel-Buffering", "no"))
        .respond_to(req)
        .map_into_boxed_body()
}
