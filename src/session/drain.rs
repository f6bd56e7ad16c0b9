//! Requests in flight on this replica's session actors, counted so that a graceful shutdown
//! can wait for them before it stops the actors.
//!
//! An HTTP request ends before its MCP request does whenever the client lets go of the response
//! (a POST stream closed at the drain deadline and resumed on another replica with
//! `Last-Event-ID`, a client that went away): the request keeps running on its actor and keeps
//! writing its events to the store, where the resuming replica reads them. Stopping the actors
//! as soon as the HTTP server has stopped would cut those requests off and lose their results;
//! [`InFlight::wait_idle`] is what the shutdown sequence waits on instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// A count of work in flight with a wake-up when it drops to zero: the requests running on a
/// replica's actors, and (one count per actor) an actor's side effects still under way.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by a running request; dropping it (the request finished, failed or was cancelled)
/// takes it off the count.
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    /// An empty count.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Counts one more running request until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(Arc::clone(self))
    }

    /// Requests running now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until no request runs, at most `timeout`; returns whether the count reached zero.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Register before reading the count, so a drop in between still wakes us.
            notified.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_last_guard() {
        let in_flight = InFlight::new();
        let a = in_flight.enter();
        let b = in_flight.enter();
        assert_eq!(in_flight.count(), 2);
        assert!(!in_flight.wait_idle(Duration::from_millis(20)).await);
        drop(a);
        let waiter = {
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move { in_flight.wait_idle(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one request still runs");
        drop(b);
        assert!(matches!(waiter.await, Ok(true)));
        assert_eq!(in_flight.count(), 0);
        assert!(in_flight.wait_idle(Duration::ZERO).await);
    }
}
