//! `[tasks]`: the tasks extension `io.modelcontextprotocol/tasks` (SEP-2663) of the 2026-07-28
//! stateless lane: how long tasks live, the polling interval suggested to clients, how long a
//! task-capable tool call may take before it becomes a task, the memory store's cap and the
//! lease of the replica running a task.
//! Environment: `MCP_HIVE__TASKS__<KEY>` (e.g. `MCP_HIVE__TASKS__TTL_SECS=600`).

use super::{ConfigError, invalid};
use serde::Deserialize;

/// `[tasks]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TaskSettings {
    /// `ttlMs` of new tasks, in seconds: the record is deleted this long after creation.
    pub ttl_secs: u64,
    /// `pollIntervalMs` suggested to clients.
    pub poll_interval_ms: u64,
    /// A task-capable call finishing (or asking for input) within this many milliseconds is
    /// answered synchronously; otherwise, or when its handler detaches, it becomes a task.
    pub sync_window_ms: u64,
    /// Stored tasks the embedded store holds at most (0 = no cap; Redis relies on TTLs).
    pub max_tasks: usize,
    /// Lease of the replica running a task's handler, renewed every third of it; a `working`
    /// task whose lease lapsed (its replica died) is reported `failed`.
    pub lease_secs: u64,
    /// Task handlers one replica runs at once (0 = no cap); beyond it, task-capable calls are
    /// answered synchronously and `tasks/update` that would resume a task gets 503.
    pub max_running: usize,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            ttl_secs: 3600,
            poll_interval_ms: 500,
            sync_window_ms: 100,
            max_tasks: 10_000,
            lease_secs: 30,
            max_running: 1000,
        }
    }
}

impl TaskSettings {
    /// Range checks.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl_secs == 0 {
            return Err(invalid("tasks.ttl_secs", "must be greater than 0"));
        }
        if self.poll_interval_ms == 0 {
            return Err(invalid("tasks.poll_interval_ms", "must be greater than 0"));
        }
        if self.lease_secs == 0 {
            return Err(invalid("tasks.lease_secs", "must be greater than 0"));
        }
        Ok(())
    }
}
