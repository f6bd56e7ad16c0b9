//! Unit tests of the tasks extension: the pure rules ([`rules`]: parameters, negotiation, the
//! status machine, wire shapes), the store-backed operations ([`service`]: owner binding,
//! compare-and-set, cancellation signals, orphaned runs) and running handlers as tasks
//! ([`running`]: the sync window, `detach`, multi round-trip before and inside a task,
//! cancellation, panics), all on the embedded store and the local bus.

mod rules;
mod running;
mod service;

use super::service::{TaskConfig, TaskService};
use crate::store::bus::LocalBus;
use crate::store::memory_tasks::MemoryTaskStore;
use std::time::Duration;

/// A service on a fresh embedded store with short timings.
fn service() -> TaskService {
    TaskService::new(
        MemoryTaskStore::new(100),
        LocalBus::new(),
        TaskConfig {
            ttl: Duration::from_secs(60),
            poll_interval: Duration::from_millis(100),
            sync_window: Duration::from_millis(50),
            lease: Duration::from_millis(600),
        },
    )
}
