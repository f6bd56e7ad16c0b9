//! When the runner record of a POST stream is stored (shared store only; see
//! [`crate::session::actor::takeover`] for what the record is for).
//!
//! A record matters only if this replica dies while the stream is open, and most POST streams
//! close within a millisecond with their only event (a trivial `tools/call` answered over SSE).
//! Storing the record at once cost every SSE call a Redis round trip of its own
//! (`MULTI`/`HSET`/`PEXPIRE`/`EXEC`), and the append that closes the stream deletes it again. So
//! the record is stored when it can first matter: before the stream's first event that does not
//! end it (a progress notification, a log message, a server-to-client request), or once the
//! stream has stayed open for [`RECORD_AFTER`] (checked by one timer per thread,
//! [`store_later`]), whichever comes first. A stream whose only event is its final response
//! never has one.
//!
//! The gate orders the writers: an event waits for the record being stored (so a client that saw
//! the event can always have the stream taken over), the final append waits for it too (that
//! append deletes the record; a record stored after it would outlive its stream), and a record
//! not yet started when the stream ends is never stored.
//!
//! Cost of the delay: a replica that dies within [`RECORD_AFTER`] of accepting a POST, before
//! storing any event of its stream, leaves a stream without a record, which no other replica
//! takes over. The client saw nothing of that stream but the priming event.

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a POST stream stays open without events before its runner record is stored.
pub const RECORD_AFTER: Duration = Duration::from_millis(50);

/// How late a due record may be stored, so that one wake-up of a thread's timer serves all the
/// records due within it (at 20,000 SSE calls a second a timer per deadline would wake every
/// 100 µs).
const DUE_SLACK: Duration = Duration::from_millis(2);

/// Where a POST stream's runner record stands.
enum State {
    /// Not stored yet; holds the write that stores it.
    Pending(BoxFuture<'static, ()>),
    /// Being stored; the receiver turns true once it is.
    Storing(watch::Receiver<bool>),
    /// The record is stored (or its write, which logs its own errors, is done).
    Stored,
    /// The stream ended first: the record never will be stored.
    Dropped,
}

/// Orders the storing of a runner record and the events of its stream (see the module docs).
pub struct RunnerGate {
    state: Mutex<State>,
}

impl std::fmt::Debug for RunnerGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.state.lock() {
            State::Pending(_) => "pending",
            State::Storing(_) => "storing",
            State::Stored => "stored",
            State::Dropped => "dropped",
        };
        f.debug_struct("RunnerGate").field("state", &state).finish()
    }
}

impl RunnerGate {
    /// A gate holding `store`, the write of the record (it should log its own errors).
    pub fn new(store: BoxFuture<'static, ()>) -> Self {
        Self {
            state: Mutex::new(State::Pending(store)),
        }
    }

    /// Stores the record unless the stream ended or it is stored already, and waits until it
    /// is: called before an event that does not end the stream, and at [`RECORD_AFTER`].
    /// Returns whether this call wrote it.
    pub async fn store_now(&self) -> bool {
        let step = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut *state, State::Dropped) {
                State::Pending(store) => {
                    let (done, stored) = watch::channel(false);
                    *state = State::Storing(stored);
                    Ok((store, done))
                }
                State::Storing(stored) => {
                    *state = State::Storing(stored.clone());
                    Err(Some(stored))
                }
                settled @ (State::Stored | State::Dropped) => {
                    *state = settled;
                    Err(None)
                }
            }
        };
        match step {
            Ok((store, done)) => {
                store.await;
                *self.state.lock() = State::Stored;
                let _ = done.send(true);
                true
            }
            Err(storing) => {
                wait(storing).await;
                false
            }
        }
    }

    /// Called before the stream's final append: a record not started yet never will be, and a
    /// record being stored is waited for. Returns whether the record was stored: when it was
    /// not, no event went before this one (each waits for the record) and no other replica can
    /// know the stream, which [`crate::store::EventStore::append_sole`] relies on.
    pub async fn closing(&self) -> bool {
        let storing = {
            let mut state = self.state.lock();
            match &*state {
                State::Storing(stored) => stored.clone(),
                State::Stored => return true,
                State::Pending(_) | State::Dropped => {
                    *state = State::Dropped;
                    return false;
                }
            }
        };
        wait(Some(storing)).await;
        true
    }
}

/// The gates of one thread waiting for [`RECORD_AFTER`], oldest first (every deadline is
/// now + the same delay, so the queue is in deadline order), and whether the thread's timer
/// task runs.
struct Due {
    queue: VecDeque<(Instant, Weak<RunnerGate>, CancellationToken)>,
    ticking: bool,
}

thread_local! {
    static DUE: RefCell<Due> = const {
        RefCell::new(Due {
            queue: VecDeque::new(),
            ticking: false,
        })
    };
}

/// Stores `gate`'s record [`RECORD_AFTER`] from now (at most [`DUE_SLACK`] later), unless its
/// stream ended first (the gate was dropped or settled) or `ended` (its session actor) was
/// cancelled. Call it on a thread of an actix or tokio local runtime (a session actor's).
///
/// One queue and one timer task per thread rather than a task with a timer per stream: the
/// stream almost always ends first, and then a queued entry costs a push and a pop where a
/// task cost an allocation, a timer registration and a wake-up (BENCHMARKS.md, "Instructions
/// per call").
pub fn store_later(gate: &Arc<RunnerGate>, ended: &CancellationToken) {
    let at = Instant::now() + RECORD_AFTER;
    let start = DUE.with_borrow_mut(|due| {
        due.queue
            .push_back((at, Arc::downgrade(gate), ended.clone()));
        !std::mem::replace(&mut due.ticking, true)
    });
    if start {
        actix::spawn(tick());
    }
}

/// The timer task of one thread: stores the records that fell due, sleeps until the next
/// deadline, and ends when the queue is empty (the next [`store_later`] starts another).
async fn tick() {
    /// Marks the timer as stopped when the task ends or is dropped (its runtime shut down).
    struct Stopped;
    impl Drop for Stopped {
        fn drop(&mut self) {
            // `try_with`: the thread's locals may be gone already when its runtime drops.
            let _ = DUE.try_with(|due| due.borrow_mut().ticking = false);
        }
    }
    let _stopped = Stopped;
    loop {
        let now = Instant::now();
        let (ready, next) = DUE.with_borrow_mut(|due| {
            let mut ready = Vec::new();
            while let Some((at, gate, ended)) = due.queue.pop_front() {
                if at > now {
                    due.queue.push_front((at, gate, ended));
                    break;
                }
                if let Some(gate) = gate.upgrade()
                    && !ended.is_cancelled()
                {
                    ready.push(gate);
                }
            }
            (ready, due.queue.front().map(|(at, ..)| *at))
        });
        for gate in ready {
            actix::spawn(async move {
                gate.store_now().await;
            });
        }
        let Some(next) = next else { return };
        tokio::time::sleep_until(next + DUE_SLACK).await;
    }
}

async fn wait(storing: Option<watch::Receiver<bool>>) {
    if let Some(mut stored) = storing {
        // An error means the storing side was dropped (its actor stopped): nothing to wait for.
        let _ = stored.wait_for(|done| *done).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;
    use std::sync::Arc;

    /// A gate whose write waits for `release`, then logs "stored".
    fn gate(
        order: &Arc<Mutex<Vec<&'static str>>>,
    ) -> (Arc<RunnerGate>, tokio::sync::oneshot::Sender<()>) {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let order = Arc::clone(order);
        let store = async move {
            let _ = released.await;
            order.lock().push("stored");
        };
        (Arc::new(RunnerGate::new(store.boxed())), release)
    }

    #[tokio::test]
    async fn a_stream_that_ends_first_never_stores_its_record() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let (gate, release) = gate(&order);
        assert!(!gate.closing().await, "no record was stored");
        assert!(!gate.closing().await, "nor will one be");
        let _ = release.send(());
        assert!(!gate.store_now().await);
        assert!(order.lock().is_empty());
    }

    #[tokio::test]
    async fn events_and_the_end_wait_for_a_record_being_stored() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let (gate, release) = gate(&order);
        let timer = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.store_now().await }
        });
        tokio::task::yield_now().await;
        let event = tokio::spawn({
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            async move {
                let wrote = gate.store_now().await;
                order.lock().push("event");
                wrote
            }
        });
        let end = tokio::spawn({
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            async move {
                let stored = gate.closing().await;
                order.lock().push("end");
                stored
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(order.lock().is_empty(), "both wait for the record");
        let _ = release.send(());
        assert!(timer.await.unwrap(), "the first caller writes");
        assert!(!event.await.unwrap(), "the record is written once");
        assert!(end.await.unwrap(), "the end saw the record stored");
        assert_eq!(order.lock()[0], "stored");
        assert_eq!(order.lock().len(), 3);
    }

    /// A gate whose write logs `label` at once.
    fn labelled(order: &Arc<Mutex<Vec<&'static str>>>, label: &'static str) -> Arc<RunnerGate> {
        let order = Arc::clone(order);
        let store = async move { order.lock().push(label) };
        Arc::new(RunnerGate::new(store.boxed()))
    }

    /// Waits (at most 2 s) until `order` holds `n` entries.
    async fn until_stored(order: &Mutex<Vec<&'static str>>, n: usize) {
        for _ in 0..2000 {
            if order.lock().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn due_records_are_stored_unless_their_stream_or_actor_ended() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let order = Arc::new(Mutex::new(Vec::new()));
                let live = CancellationToken::new();
                let started = std::time::Instant::now();
                let kept = labelled(&order, "kept");
                store_later(&kept, &live);
                let dropped = labelled(&order, "dropped");
                store_later(&dropped, &live);
                drop(dropped);
                let closed = labelled(&order, "closed");
                store_later(&closed, &live);
                assert!(!closed.closing().await);
                let ended = CancellationToken::new();
                let orphan = labelled(&order, "actor ended");
                store_later(&orphan, &ended);
                ended.cancel();
                until_stored(&order, 1).await;
                assert!(started.elapsed() >= RECORD_AFTER, "stored early");
                // All four fell due together: the others would have been stored by now.
                tokio::time::sleep(Duration::from_millis(20)).await;
                assert_eq!(*order.lock(), ["kept"]);
                assert!(kept.closing().await, "the end sees the record stored");
                assert!(DUE.with_borrow(|due| due.queue.is_empty() && !due.ticking));
                // The timer ended with its queue; the next gate starts another.
                let restarted = std::time::Instant::now();
                let later = labelled(&order, "later");
                store_later(&later, &live);
                until_stored(&order, 2).await;
                assert!(restarted.elapsed() >= RECORD_AFTER, "stored early");
                assert_eq!(*order.lock(), ["kept", "later"]);
                drop(orphan);
            })
            .await;
    }

    #[tokio::test]
    async fn once_stored_nothing_waits() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let (gate, release) = gate(&order);
        let _ = release.send(());
        assert!(gate.store_now().await);
        let quick = async {
            assert!(!gate.store_now().await);
            assert!(gate.closing().await);
        };
        tokio::time::timeout(Duration::from_secs(1), quick)
            .await
            .unwrap();
        assert_eq!(*order.lock(), ["stored"]);
    }
}
