//! The embedded [`TaskStore`]: task records of the tasks extension (SEP-2663) in one
//! mutex-protected map, for a single replica without Redis. Same contract as the Redis store:
//! expiry fixed at creation (`created_at_ms + ttl_ms`), compare-and-set updates on `version`,
//! and a cap on stored tasks so that one process cannot be made to hold unbounded state.

use super::StoreError;
use super::record::now_ms;
use super::task::{TaskRecord, TaskStore};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// In-process task records.
pub struct MemoryTaskStore {
    tasks: Mutex<HashMap<String, TaskRecord>>,
    max_tasks: usize,
}

impl MemoryTaskStore {
    /// An empty store holding at most `max_tasks` live records (0 = no cap).
    pub fn new(max_tasks: usize) -> Arc<Self> {
        Arc::new(Self {
            tasks: Mutex::new(HashMap::new()),
            max_tasks,
        })
    }

    /// Starts a background task that drops expired records every `period`; it stops when the
    /// store is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, period: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(store) = weak.upgrade() else { break };
                store.sweep();
            }
        });
    }

    /// Drops expired records.
    pub fn sweep(&self) {
        let now = now_ms();
        self.tasks.lock().retain(|_, r| r.expires_at_ms() > now);
    }

    /// Number of live records.
    pub fn len(&self) -> usize {
        let now = now_ms();
        self.tasks
            .lock()
            .values()
            .filter(|r| r.expires_at_ms() > now)
            .count()
    }

    /// Whether no live record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl TaskStore for MemoryTaskStore {
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tasks = self.tasks.lock();
        if tasks
            .get(&record.id)
            .is_some_and(|r| r.expires_at_ms() > now)
        {
            return Err(StoreError::AlreadyExists);
        }
        if self.max_tasks > 0 && tasks.len() >= self.max_tasks {
            tasks.retain(|_, r| r.expires_at_ms() > now);
            if tasks.len() >= self.max_tasks {
                return Err(StoreError::Full(self.max_tasks));
            }
        }
        let mut stored = record.clone();
        stored.version = 1;
        tasks.insert(record.id.clone(), stored);
        Ok(())
    }

    async fn load_task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let now = now_ms();
        let mut tasks = self.tasks.lock();
        match tasks.get(id) {
            Some(r) if r.expires_at_ms() > now => Ok(Some(r.clone())),
            Some(_) => {
                tasks.remove(id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn update_task(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tasks = self.tasks.lock();
        let Some(stored) = tasks
            .get_mut(&record.id)
            .filter(|r| r.expires_at_ms() > now)
        else {
            return Err(StoreError::NotFound);
        };
        if stored.version != record.version {
            return Ok(false);
        }
        stored.status.clone_from(&record.status);
        stored.payload = record.payload.clone();
        stored.updated_at_ms = record.updated_at_ms;
        stored.version = record.version + 1;
        Ok(true)
    }

    async fn delete_task(&self, id: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(self
            .tasks
            .lock()
            .remove(id)
            .is_some_and(|r| r.expires_at_ms() > now))
    }
}
