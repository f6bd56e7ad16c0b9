//! Task records: the storage seam of the MCP tasks extension (`io.modelcontextprotocol/tasks`,
//! SEP-2663, ext-tasks `specification/draft/tasks.md` §Tasks) as the store sees it.
//!
//! The store knows no MCP method and no task status rule: a record is an id, the binding key of
//! the principal that owns it, a status label, an opaque JSON payload, timestamps, a time to
//! live and a version. The protocol layer (`crate::protocol::tasks`) reads a record, decides,
//! and writes it back with [`TaskStore::update_task`], which only applies if nobody wrote the
//! record in between (compare-and-set on `version`); it then reloads and decides again. That is
//! what lets any replica change any task while another replica is running it.
//!
//! Contract (checked for every backend by `tests/task_store_suite.rs`):
//! - a record expires `ttl_ms` after `created_at_ms` (the task's `ttlMs`, measured from
//!   creation); updates never extend it;
//! - `create_task` stores version 1 and fails with [`StoreError::AlreadyExists`] for a live id;
//! - `update_task` applies status, payload and `updated_at_ms` only when the stored version
//!   equals `record.version` (the stored version becomes `record.version + 1`), returns `false`
//!   when it does not, and [`StoreError::NotFound`] when the record is gone.

use super::StoreError;
use async_trait::async_trait;
use serde_json::Value;

/// One stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The task id (unguessable; chosen by the caller of `create_task`).
    pub id: String,
    /// Binding key of the principal that created it (empty without authentication).
    pub owner: String,
    /// Status label (readable by operators; meaning owned by the protocol layer).
    pub status: String,
    /// Everything else the protocol layer keeps about the task.
    pub payload: Value,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: u64,
    /// Time of the last change, Unix milliseconds.
    pub updated_at_ms: u64,
    /// Lifetime from creation, milliseconds.
    pub ttl_ms: u64,
    /// Write counter for compare-and-set (1 after creation).
    pub version: u64,
}

impl TaskRecord {
    /// Unix milliseconds at which the record expires.
    pub fn expires_at_ms(&self) -> u64 {
        self.created_at_ms.saturating_add(self.ttl_ms)
    }
}

/// Task records with compare-and-set updates.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Stores a new record (its `version` is stored as 1); `AlreadyExists` if the id is live,
    /// `Full` when the backend's cap on stored tasks is reached.
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError>;
    /// Loads a live (not expired) record.
    async fn load_task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError>;
    /// Writes `status`, `payload` and `updated_at_ms` if the stored version is still
    /// `record.version`; returns whether it did. `NotFound` if the record is gone.
    async fn update_task(&self, record: &TaskRecord) -> Result<bool, StoreError>;
    /// Deletes a record; returns whether it existed.
    async fn delete_task(&self, id: &str) -> Result<bool, StoreError>;
}
