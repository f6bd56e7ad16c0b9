//! Unit tests of the tasks extension: the pure rules ([`rules`]: parameters, negotiation, the
//! status machine, wire shapes), the store-backed operations ([`service`]: owner binding,
//! compare-and-set, cancellation signals, orphaned runs) and running handlers as tasks
//! ([`running`]: the sync window, `detach`, multi round-trip before and inside a task,
//! cancellation, panics, the cap on running tasks), all on the embedded store and the local
//! bus.

mod rules;
mod running;
mod service;

use super::service::{TaskConfig, TaskService};
use crate::store::bus::LocalBus;
use crate::store::memory_tasks::MemoryTaskStore;
use std::time::Duration;

/// A service on a fresh embedded store with short timings.
fn service() -> TaskService {
    service_with(0)
}

/// The same, running at most `max_running` task handlers (0 = no cap).
fn service_with(max_running: usize) -> TaskService {
    TaskService::new(
        MemoryTaskStore::new(100),
        LocalBus::new(),
        TaskConfig {
            ttl: Duration::from_secs(60),
            poll_interval: Duration::from_millis(100),
            sync_window: Duration::from_millis(50),
            lease: Duration::from_millis(600),
            max_running,
        },
    )
}
