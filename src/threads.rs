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

thread_local! {
    /// Set on the threads of the HTTP workers by [`mark_http_worker`].
    static HTTP_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as an HTTP worker. Called by the application factory, which
/// actix-web runs once on each worker thread.
pub fn mark_http_worker() {
    HTTP_WORKER.with(|w| w.set(true));
}

/// Whether the current thread is an HTTP worker.
pub fn on_http_worker() -> bool {
    HTTP_WORKER.with(Cell::get)
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
}
