//! Task operations over a [`TaskStore`] and the [`Bus`] (tasks extension, ext-tasks
//! `tasks.md` §Task Creation, §Task Polling, §Task Update Requests, §Task Cancellation,
//! §Security Considerations).
//!
//! - Every change is read, decide ([`super::state`]), compare-and-set; a concurrent writer makes
//!   the loser reload and decide again, so replicas never overwrite each other.
//! - Tasks are bound to the binding key of the principal that created them: any other caller
//!   gets [`TaskError::NotFound`], exactly as for an unknown or expired id. Ids are UUID v4
//!   (122 random bits).
//! - `create` returns once the record is in the store, so a `tasks/get` on any replica resolves
//!   right after the `CreateTaskResult` (the spec's durable-create rule).
//! - `tasks/cancel` writes `cancelled` itself (the task settles at once, even if the replica
//!   running it is gone) and then publishes a signal on the bus topic `task:<id>`; the replica
//!   running the handler listens there and stops it. A lost signal only costs work: the
//!   runner also sees the terminal status when it renews its lease, and its final write is
//!   refused because the task is no longer `working`.
//! - Every other visible change publishes `changed` on the same topic, for the
//!   `subscriptions/listen` streams that watch the task (`notifications/tasks`).

use super::TaskError;
use super::state::{RunEnd, Task, TaskState, TaskStatus, UpdateEffect};
use crate::store::bus::{Bus, Subscription};
use crate::store::record::now_ms;
use crate::store::task::TaskStore;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Signal on a task's topic: the task was cancelled (its runner stops the handler).
pub const CANCEL_SIGNAL: &str = "cancel";
/// Signal on a task's topic: the task changed (`subscriptions/listen` streams reload it).
pub const CHANGED_SIGNAL: &str = "changed";
/// Attempts of one compare-and-set loop before giving up.
const MAX_ATTEMPTS: usize = 16;

/// Settings of the tasks extension.
#[derive(Debug, Clone)]
pub struct TaskConfig {
    /// `ttlMs` of new tasks: the record is deleted this long after creation.
    pub ttl: Duration,
    /// `pollIntervalMs` suggested to clients.
    pub poll_interval: Duration,
    /// A task-capable call that finishes (or asks for input) within this time is answered
    /// synchronously; otherwise it becomes a task.
    pub sync_window: Duration,
    /// Lease of the replica running a handler; renewed every third of it.
    pub lease: Duration,
    /// Task handlers this replica runs at once (0 = no cap); beyond it, task-capable calls are
    /// answered synchronously and updates that would resume a task get "unavailable".
    pub max_running: usize,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(500),
            sync_window: Duration::from_millis(100),
            lease: Duration::from_secs(30),
            max_running: 1000,
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

/// The bus topic of a task.
pub fn topic(id: &str) -> String {
    format!("task:{id}")
}

/// A fresh, unguessable task id.
pub fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Task operations shared by every request of a replica.
#[derive(Clone)]
pub struct TaskService {
    store: Arc<dyn TaskStore>,
    bus: Arc<dyn Bus>,
    config: TaskConfig,
    running: Arc<Semaphore>,
}

impl TaskService {
    /// A service over a store and a bus.
    pub fn new(store: Arc<dyn TaskStore>, bus: Arc<dyn Bus>, config: TaskConfig) -> Self {
        let permits = match config.max_running {
            0 => Semaphore::MAX_PERMITS,
            n => n.min(Semaphore::MAX_PERMITS),
        };
        Self {
            store,
            bus,
            config,
            running: Arc::new(Semaphore::new(permits)),
        }
    }

    /// A place for one more task handler on this replica, if `max_running` allows it; the
    /// handler's driver holds it until the run ends.
    pub fn permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.running).try_acquire_owned().ok()
    }

    /// The settings.
    pub fn config(&self) -> &TaskConfig {
        &self.config
    }

    /// Lease length in milliseconds.
    pub fn lease_ms(&self) -> u64 {
        millis(self.config.lease)
    }

    /// Listens to a task's signals (subscribe before the task becomes visible).
    pub fn signals(&self, id: &str) -> Subscription {
        self.bus.subscribe(&topic(id))
    }

    /// Stores a new `working` task under a lease; returns once it is readable everywhere.
    pub async fn create(
        &self,
        id: String,
        owner: String,
        mut state: TaskState,
    ) -> Result<Task, TaskError> {
        let now = now_ms();
        state.poll_interval_ms = millis(self.config.poll_interval).max(1);
        state.lease_until_ms = Some(now.saturating_add(self.lease_ms()));
        let task = Task::new(id, owner, state, now, millis(self.config.ttl).max(1));
        self.store.create_task(&task.to_record()).await?;
        Ok(task)
    }

    /// `tasks/get`: the task as its owner sees it (an orphaned task is failed first).
    pub async fn get(&self, owner: &str, id: &str) -> Result<Task, TaskError> {
        let task = self.load(id, Some(owner)).await?;
        if !task.is_orphaned(now_ms()) {
            return Ok(task);
        }
        let (task, changed) = self
            .modify(id, Some(owner), |t, now| {
                let changed = t.fail_orphaned(now);
                (changed, changed)
            })
            .await?;
        if changed {
            self.announce(id, CHANGED_SIGNAL).await;
        }
        Ok(task)
    }

    /// `tasks/update`: records the answers; [`UpdateEffect::Resume`] means the caller must run
    /// the handler again (the returned task is `working` under a fresh lease).
    pub async fn update(
        &self,
        owner: &str,
        id: &str,
        responses: &Map<String, Value>,
    ) -> Result<(UpdateEffect, Task), TaskError> {
        let lease = self.lease_ms();
        let (task, effect) = self
            .modify(id, Some(owner), |t, now| {
                let effect = t.update(responses, now, lease);
                (effect != UpdateEffect::Ignored, effect)
            })
            .await?;
        if effect != UpdateEffect::Ignored {
            self.announce(id, CHANGED_SIGNAL).await;
        }
        Ok((effect, task))
    }

    /// `tasks/cancel`: settles a non-terminal task as `cancelled` and signals its runner.
    pub async fn cancel(&self, owner: &str, id: &str) -> Result<(), TaskError> {
        let (_, changed) = self
            .modify(id, Some(owner), |t, now| {
                let changed = t.cancel(now);
                (changed, changed)
            })
            .await?;
        if changed {
            self.announce(id, CANCEL_SIGNAL).await;
        }
        Ok(())
    }

    /// Records the end of a run; false if the task was no longer `working` (cancelled).
    pub async fn finish(&self, id: &str, end: RunEnd) -> Result<bool, TaskError> {
        let (_, changed) = self
            .modify(id, None, |t, now| {
                let changed = t.finish(end.clone(), now);
                (changed, changed)
            })
            .await?;
        if changed {
            self.announce(id, CHANGED_SIGNAL).await;
        }
        Ok(changed)
    }

    /// Publishes a signal on the task's topic (at most once: a lost signal only delays a
    /// listener until the client polls, or a runner until its next lease renewal).
    async fn announce(&self, id: &str, signal: &str) {
        if let Err(e) = self.bus.publish(&topic(id), Arc::from(signal)).await {
            tracing::warn!(task = %id, error = %e, signal, "could not publish a task signal");
        }
    }

    /// Extends the lease of a running task; returns its status (a terminal one tells the
    /// runner to stop).
    pub async fn renew_lease(&self, id: &str) -> Result<TaskStatus, TaskError> {
        let lease = self.lease_ms();
        let (task, ()) = self
            .modify(id, None, |t, now| {
                if t.status != TaskStatus::Working {
                    return (false, ());
                }
                t.state.lease_until_ms = Some(now.saturating_add(lease));
                (true, ())
            })
            .await?;
        Ok(task.status)
    }

    async fn load(&self, id: &str, owner: Option<&str>) -> Result<Task, TaskError> {
        let record = self.store.load_task(id).await?.ok_or(TaskError::NotFound)?;
        if owner.is_some_and(|o| o != record.owner) {
            return Err(TaskError::NotFound);
        }
        Task::from_record(record)
    }

    /// Read, apply `f` (which says whether it changed the task), compare-and-set, retry.
    async fn modify<T>(
        &self,
        id: &str,
        owner: Option<&str>,
        mut f: impl FnMut(&mut Task, u64) -> (bool, T),
    ) -> Result<(Task, T), TaskError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut task = self.load(id, owner).await?;
            let (changed, out) = f(&mut task, now_ms());
            if !changed {
                return Ok((task, out));
            }
            if self.store.update_task(&task.to_record()).await? {
                task.version += 1;
                return Ok((task, out));
            }
        }
        Err(TaskError::Internal(format!(
            "task {id} kept changing under concurrent writers"
        )))
    }
}
