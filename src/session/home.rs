//! Where session actors run, and how a graceful shutdown moves them off the HTTP workers.
//!
//! An actor started while serving a request on an HTTP worker thread runs on that thread
//! (`session.actors_on_http_workers`, on by default): most of a session's requests then reach
//! their actor without waking another thread, which measured about a fifth less CPU per call
//! (BENCHMARKS.md, "2026-12-06"). Every other actor — started on a non-worker thread (stdio, a
//! background task), while the replica is evacuating, or with the setting off — runs on the
//! registry's dedicated arbiters, which outlive the HTTP server.
//!
//! A worker thread ends with the HTTP server: once its own connections are finished it stops,
//! and every actor on it stops too, even one running a request whose connection is served by
//! another worker, or whose client already resumed on another replica. So a graceful shutdown
//! *evacuates* first ([`Homes::evacuate`], called when the shutdown signal arrives): new actors
//! start on the dedicated arbiters, and each actor living on a worker leaves the table of live
//! actors at once (the session's next request rehydrates it on an arbiter) and stops as soon
//! as nothing runs on it any more (no request, connection or server-to-client request). The
//! HTTP server is stopped only after every such actor has stopped ([`Homes::wait_evacuated`]),
//! or when the shutdown budget runs out.

use crate::session::drain::{InFlight, InFlightGuard};
use crate::threads::on_http_worker;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The placement policy and the count of actors living on HTTP workers.
#[derive(Debug)]
pub struct Homes {
    /// `session.actors_on_http_workers`.
    enabled: bool,
    /// Set by [`Homes::evacuate`]; never cleared (a replica evacuates once, at shutdown).
    evacuating: AtomicBool,
    /// Actors living on HTTP workers (each holds a guard while it exists).
    on_workers: Arc<InFlight>,
}

impl Homes {
    /// A policy; `enabled` lets actors live on the HTTP worker that starts them.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            evacuating: AtomicBool::new(false),
            on_workers: InFlight::new(),
        }
    }

    /// Where an actor started now on this thread lives: `Some(guard)` to start it right here
    /// (an HTTP worker; the actor holds the guard until it is dropped), `None` for the
    /// dedicated arbiters. The caller holds the live-actor table's lock, which
    /// [`Homes::evacuate`] takes after setting its flag, so no actor lands on a worker unseen.
    pub(crate) fn place(&self) -> Option<InFlightGuard> {
        (self.enabled && !self.evacuating.load(Ordering::Acquire) && on_http_worker())
            .then(|| self.on_workers.enter())
    }

    /// Whether a new actor started on an HTTP worker would live there (the policy is on and
    /// the replica is not evacuating).
    pub(crate) fn placing_on_workers(&self) -> bool {
        self.enabled && !self.evacuating.load(Ordering::Acquire)
    }

    /// Stops placing actors on HTTP workers. The caller then asks each live actor to evacuate
    /// (only those living on a worker act on it).
    pub(crate) fn evacuate(&self) {
        self.evacuating.store(true, Ordering::Release);
    }

    /// Actors still living on HTTP workers.
    pub fn on_workers(&self) -> usize {
        self.on_workers.count()
    }

    /// Waits until no actor lives on an HTTP worker, at most `timeout`; returns whether none
    /// is left.
    pub async fn wait_evacuated(&self, timeout: Duration) -> bool {
        self.on_workers.wait_idle(timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_on_workers_only_when_enabled_on_a_worker_and_not_evacuating() {
        let std_thread = std::thread::spawn(|| {
            let homes = Homes::new(true);
            let off_worker = homes.place().is_none();
            crate::threads::mark_http_worker();
            let guard = homes.place();
            let counted = homes.on_workers();
            homes.evacuate();
            let after = homes.place().is_none();
            let disabled = Homes::new(false).place().is_none();
            drop(guard);
            (off_worker, counted, after, disabled, homes.on_workers())
        });
        let (off_worker, counted, after, disabled, left) = std_thread.join().unwrap();
        assert!(off_worker, "a thread that is not an HTTP worker");
        assert_eq!(counted, 1, "an actor on a worker is counted");
        assert!(after, "evacuating: new actors go to the arbiters");
        assert!(disabled, "the setting turns placement off");
        assert_eq!(left, 0, "dropping the guard uncounts the actor");
    }

    #[tokio::test]
    async fn waits_until_the_last_actor_on_a_worker_is_gone() {
        let homes = Arc::new(Homes::new(true));
        let guard = homes.on_workers.enter();
        assert!(!homes.wait_evacuated(Duration::from_millis(20)).await);
        let waiter = {
            let homes = Arc::clone(&homes);
            tokio::spawn(async move { homes.wait_evacuated(Duration::from_secs(5)).await })
        };
        drop(guard);
        assert!(waiter.await.unwrap());
    }
}
