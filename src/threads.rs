//! Which kind of thread code is running on.
//!
//! actix-web runs each HTTP worker on its own thread with its own event loop, and a worker
//! stops with the HTTP server. Work that stays on the thread that serves its request avoids a
//! cross-thread wake-up each way (measured: about a fifth of the CPU per call for session
//! actors, a third for Redis operations; BENCHMARKS.md, 2026-12-06), so two things live on the
//! worker when they can: session actors ([`crate::session::home`]) and the Redis connection an
//! operation uses ([`crate::store::redis`]). Both fall back to threads that outlive the HTTP
//! server everywhere else (stdio, background tasks, actors moved off the workers at shutdown).

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

thread_local! {
    /// The number [`mark_http_worker`] gave this thread (0: not an HTTP worker).
    static HTTP_WORKER: Cell<u32> = const { Cell::new(0) };
}

/// The last worker number handed out (numbers start at 1 and are unique in the process).
static WORKERS: AtomicU32 = AtomicU32::new(0);

/// Marks the current thread as an HTTP worker with a number of its own. Called by the
/// application factory, which actix-web runs once on each worker thread (a second call on the
/// same thread keeps its number).
pub fn mark_http_worker() {
    HTTP_WORKER.with(|w| {
        if w.get() == 0 {
            w.set(
                WORKERS
                    .fetch_add(1, Ordering::Relaxed)
                    .wrapping_add(1)
                    .max(1),
            );
        }
    });
}

/// Whether the current thread is an HTTP worker.
pub fn on_http_worker() -> bool {
    http_worker().is_some()
}

/// The number of the HTTP worker running the current thread (`None` elsewhere): which worker
/// a session actor lives on, and which one a request for it arrives on
/// ([`crate::session::relocate`]).
pub fn http_worker() -> Option<u32> {
    Some(HTTP_WORKER.with(Cell::get)).filter(|&n| n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_threads_are_workers() {
        let marked = std::thread::spawn(|| {
            let before = on_http_worker();
            mark_http_worker();
            (before, on_http_worker())
        })
        .join()
        .unwrap();
        assert_eq!(marked, (false, true));
        let other = std::thread::spawn(on_http_worker).join().unwrap();
        assert!(!other, "the mark is per thread");
    }

    #[test]
    fn each_worker_has_its_own_number() {
        let number = || {
            std::thread::spawn(|| {
                mark_http_worker();
                let first = http_worker();
                mark_http_worker();
                assert_eq!(http_worker(), first, "marking again keeps the number");
                first
            })
            .join()
            .unwrap()
        };
        let (a, b) = (number(), number());
        assert!(a.is_some() && b.is_some());
        assert_ne!(a, b);
        assert_eq!(std::thread::spawn(http_worker).join().unwrap(), None);
    }
}
