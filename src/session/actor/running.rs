//! The requests running on a session actor: each one a local task of its own, on the actor's
//! thread, listed in a table the actor shares with them.
//!
//! A request used to be a future spawned into the actor's context. actix polls every item of a
//! context each time the actor wakes, so with `n` requests in flight every message to the
//! session (each new POST, each answer) cost `n` polls: a client that started a few thousand
//! slow calls on one session made each of its further calls pay for all of them
//! (`load inflight` in BENCHMARKS.md measures it). A task of its own is polled only when its
//! own timer or channel wakes it.
//!
//! The table holds each running request's cancellation token (for `notifications/cancelled`,
//! here or relayed from another replica, MCP 2025-11-25 `basic/utilities/cancellation.mdx`)
//! and an abort handle. A task removes its own entry as soon as its answer is delivered, in
//! the same poll, so a client that reuses a request id after reading the answer finds it free
//! (JSON-RPC ids must be unique only among a session's requests in flight). When the actor
//! stops, [`Running::abort_all`] drops every task still running, as dropping the context's
//! futures did.

use crate::protocol::jsonrpc::RequestId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// One running request.
struct Entry {
    /// Cancelled by `notifications/cancelled` or when the session ends.
    cancel: CancellationToken,
    /// Drops the task when the actor stops.
    abort: AbortHandle,
}

#[derive(Default)]
struct Table {
    requests: HashMap<RequestId, Entry>,
    /// When the last request finished (the actor's idle clock counts from it).
    last_finished: Option<Instant>,
}

/// The table of a session actor's running requests (cheap to clone: one shared table).
#[derive(Clone, Default)]
pub(super) struct Running {
    table: Arc<Mutex<Table>>,
}

impl Running {
    /// Whether a request with this id is running.
    pub(super) fn contains(&self, id: &RequestId) -> bool {
        self.table.lock().requests.contains_key(id)
    }

    /// How many requests are running.
    pub(super) fn len(&self) -> usize {
        self.table.lock().requests.len()
    }

    /// Whether no request is running.
    pub(super) fn is_empty(&self) -> bool {
        self.table.lock().requests.is_empty()
    }

    /// Cancels the running request `id`; false when none runs here.
    pub(super) fn cancel(&self, id: &RequestId) -> bool {
        match self.table.lock().requests.get(id) {
            Some(entry) => {
                entry.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// When the last request finished, if any did.
    pub(super) fn last_finished(&self) -> Option<Instant> {
        self.table.lock().last_finished
    }

    /// Runs `work` (the request and the delivery of its answer) as a local task on this
    /// thread, listed under `id` until it finishes. The caller checked that `id` is free.
    /// Must be called on a thread with a local task set (an actix arbiter or HTTP worker, where
    /// session actors live).
    pub(super) fn spawn<F>(&self, id: RequestId, cancel: CancellationToken, work: F)
    where
        F: Future<Output = ()> + 'static,
    {
        let table = Arc::clone(&self.table);
        let key = id.clone();
        let task = tokio::task::spawn_local(async move {
            work.await;
            let mut table = table.lock();
            table.requests.remove(&key);
            table.last_finished = Some(Instant::now());
        });
        // A local task first runs when this thread next yields: its entry is in place before.
        let abort = task.abort_handle();
        self.table
            .lock()
            .requests
            .insert(id, Entry { cancel, abort });
    }

    /// Drops every running request (the actor stopped): their futures are dropped, with
    /// whatever they hold (reply channels, drain guards), and the table is emptied.
    pub(super) fn abort_all(&self) {
        let requests = std::mem::take(&mut self.table.lock().requests);
        for (_, entry) in requests {
            entry.cancel.cancel();
            entry.abort.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(n: i64) -> RequestId {
        RequestId::Number(n)
    }

    /// Runs `f` on a current-thread runtime inside a local task set, like an actix arbiter.
    fn local<F: Future<Output = ()>>(f: F) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f);
    }

    #[test]
    fn a_request_is_listed_until_its_work_is_done() {
        local(async {
            let running = Running::default();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            running.spawn(id(1), CancellationToken::new(), async move {
                let _ = rx.await;
            });
            tokio::task::yield_now().await;
            assert!(running.contains(&id(1)));
            assert!(!running.is_empty());
            assert!(running.last_finished().is_none());
            tx.send(()).unwrap();
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            assert!(
                !running.contains(&id(1)),
                "the finished request left the table"
            );
            assert!(running.is_empty());
            assert!(running.last_finished().is_some());
        });
    }

    #[test]
    fn cancel_reaches_the_running_request_only() {
        local(async {
            let running = Running::default();
            let token = CancellationToken::new();
            let seen = token.clone();
            running.spawn(id(7), token, async move { seen.cancelled().await });
            assert!(!running.cancel(&id(8)), "no request 8 runs");
            assert!(running.cancel(&id(7)));
            tokio::time::timeout(Duration::from_secs(5), async {
                while !running.is_empty() {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the cancelled request finished");
        });
    }

    #[test]
    fn abort_all_drops_the_running_futures() {
        local(async {
            let running = Running::default();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let token = CancellationToken::new();
            // The future holds the sender: dropping the future closes the channel.
            running.spawn(id(1), token.clone(), async move {
                std::future::pending::<()>().await;
                drop(tx);
            });
            tokio::task::yield_now().await;
            running.abort_all();
            assert!(running.is_empty());
            assert!(token.is_cancelled());
            let closed = tokio::time::timeout(Duration::from_secs(5), rx).await;
            assert!(
                matches!(closed, Ok(Err(_))),
                "the aborted future was dropped with its sender"
            );
        });
    }
}
