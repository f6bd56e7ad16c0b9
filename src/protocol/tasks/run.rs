//! Running handlers as tasks (tasks extension, ext-tasks `tasks.md` §Task Creation, §Task
//! Update Requests, §Task Cancellation; composition with multi round-trip requests, SEP-2663
//! "MRTR and tasks").
//!
//! A task-capable `tools/call` ([`Launch`]) starts its handler at once. It is answered
//! synchronously if the handler finishes, or stops to ask for input, before either the handler
//! calls [`RequestContext::detach`] or the sync window passes — so input needed *before* a task
//! exists goes through the ordinary multi round-trip flow (`InputRequiredResult`), as the spec
//! recommends. Otherwise the task record is created (durably, before the `CreateTaskResult`
//! goes out) and the handler keeps running in the background under a driver
//! ([`super::drive`]) that stops it when the task is cancelled and records how the run ended.
//!
//! Input inside a task uses the replay model of [`crate::protocol::mrtr`]: the run ends with the
//! outstanding questions stored as `inputRequests` and the answers so far in the record; when a
//! `tasks/update` answers the last of them, the replica that received it runs the handler again
//! from the start ([`resume`]), every question answered from the record.

use super::TaskError;
use super::drive::{Run, drive, outcome_of};
use super::service::{TaskService, new_task_id};
use super::state::{Task, TaskState};
use crate::principal::Principal;
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::mrtr::Inputs;
use crate::protocol::server::{McpServer, Outcome};
use crate::protocol::version::ProtocolVersion;
use crate::store::bus::Subscription;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// The handler's side of the switch to a task ([`RequestContext::detach`]).
#[derive(Debug)]
pub struct Detach {
    requested: watch::Sender<bool>,
    settled: watch::Sender<Option<bool>>,
}

impl Default for Detach {
    fn default() -> Self {
        Self {
            requested: watch::channel(false).0,
            settled: watch::channel(None).0,
        }
    }
}

impl Detach {
    /// Asks for the task and waits until the lane decided: `Ok` once the task exists (or when
    /// the replica runs too many tasks and the request goes on synchronously), `Err(Cancelled)`
    /// if the task could not be stored.
    pub async fn request(&self) -> Result<(), PeerError> {
        self.requested.send_replace(true);
        let mut rx = self.settled.subscribe();
        let created = rx.wait_for(Option::is_some).await.map(|v| *v);
        match created {
            Ok(Some(true)) => Ok(()),
            _ => Err(PeerError::Cancelled),
        }
    }

    async fn wanted(&self) {
        let mut rx = self.requested.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }

    fn settle(&self, created: bool) {
        self.settled.send_replace(Some(created));
    }
}

/// A spawned handler, aborted if dropped before it is handed to a driver.
pub(super) struct Work(pub(super) Option<JoinHandle<Outcome>>);

impl Work {
    /// The handler's outcome (pending forever once taken).
    pub(super) async fn wait(&mut self) -> Result<Outcome, JoinError> {
        match self.0.as_mut() {
            Some(handle) => {
                let joined = handle.await;
                self.0 = None;
                joined
            }
            None => std::future::pending().await,
        }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// Notifications of a task run go nowhere (the extension does not carry progress or log
/// messages for tasks) and it has no client to send requests to.
struct SilentPeer;

#[async_trait]
impl ClientPeer for SilentPeer {
    async fn notify(&self, _method: &str, _params: Value) -> Result<(), PeerError> {
        Ok(())
    }

    async fn request(&self, method: &str, _params: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery(format!(
            "{method} cannot be sent from a task; ask through inputRequests"
        )))
    }

    fn log_level(&self) -> LogLevel {
        LogLevel::Emergency
    }
}

/// How a synchronous start ended.
#[derive(Debug)]
pub enum Launched {
    /// The handler finished (or asked for input) before becoming a task: answer as usual.
    Finished(Outcome),
    /// The task exists and the handler goes on in the background.
    Created(Box<Task>),
    /// The task could not be created (the handler was stopped).
    Failed(TaskError),
}

/// A task-capable request about to run.
pub struct Launch {
    /// Task operations.
    pub service: TaskService,
    /// The dispatcher.
    pub server: McpServer,
    /// The request's context, with the multi round-trip inputs of this round.
    pub ctx: RequestContext,
    /// Those inputs.
    pub inputs: Arc<Inputs>,
    /// The method (`tools/call`).
    pub method: String,
    /// Its params.
    pub params: Value,
    /// Binding key of the caller.
    pub owner: String,
    /// Fires when the replica shuts down.
    pub shutdown: CancellationToken,
}

impl Launch {
    /// Runs the handler until it finishes or becomes a task. Dropping the returned future
    /// before it resolves stops the handler.
    pub async fn run(self) -> Launched {
        let slot = Arc::new(Detach::default());
        // The handler gets its own token: the request's (a client disconnect) only stops it
        // while it has not become a task.
        let request_cancel = self.ctx.cancellation.clone();
        let cancel = CancellationToken::new();
        let mut ctx = self.ctx.with_task_slot(Arc::clone(&slot));
        ctx.cancellation = cancel.clone();
        let capabilities = (*ctx.client_capabilities).clone();
        let (server, method, params) = (self.server, self.method.clone(), self.params.clone());
        let mut work = Work(Some(tokio::spawn(async move {
            server.handle(ctx, &method, params).await
        })));
        tokio::select! {
            joined = work.wait() => return Launched::Finished(outcome_of(joined)),
            () = request_cancel.cancelled() => {
                cancel.cancel();
                return Launched::Finished(Outcome::Cancelled);
            }
            () = slot.wanted() => {}
            () = tokio::time::sleep(self.service.config().sync_window) => {}
        }
        let Some(permit) = self.service.permit() else {
            // This replica runs as many tasks as it may: the call goes on synchronously.
            tracing::warn!("tasks.max_running reached: a task-capable call runs synchronously");
            slot.settle(true);
            return tokio::select! {
                joined = work.wait() => Launched::Finished(outcome_of(joined)),
                () = request_cancel.cancelled() => {
                    cancel.cancel();
                    Launched::Finished(Outcome::Cancelled)
                }
            };
        };
        let id = new_task_id();
        let signals = self.service.signals(&id);
        let state = TaskState {
            method: self.method,
            params: replay_params(&self.params),
            client_capabilities: capabilities,
            answers: self.inputs.carried(),
            ..TaskState::default()
        };
        match self.service.create(id, self.owner, state).await {
            Ok(task) => {
                slot.settle(true);
                let run = Run {
                    service: self.service,
                    id: task.id.clone(),
                    expires_at_ms: task.created_at_ms.saturating_add(task.ttl_ms),
                    inputs: self.inputs,
                    cancel,
                    shutdown: self.shutdown,
                    _permit: permit,
                };
                tokio::spawn(drive(run, work, signals));
                Launched::Created(Box::new(task))
            }
            Err(e) => {
                cancel.cancel();
                slot.settle(false);
                Launched::Failed(e)
            }
        }
    }
}

/// What a resumed run needs from before the `tasks/update` that triggers it: its place among
/// the replica's running tasks and the task's signals (subscribed before the update, so a
/// cancellation right after it is not missed).
pub struct Reserved {
    permit: OwnedSemaphorePermit,
    signals: Subscription,
}

impl Reserved {
    /// Reserves a run of task `id`; `None` when this replica runs `max_running` tasks already.
    pub fn take(service: &TaskService, id: &str) -> Option<Self> {
        let permit = service.permit()?;
        Some(Self {
            permit,
            signals: service.signals(id),
        })
    }
}

/// Runs a task's handler again after `tasks/update` answered its last input request
/// (`task` is `working` under the lease that update took).
pub fn resume(
    service: TaskService,
    server: McpServer,
    task: &Task,
    principal: Option<Arc<Principal>>,
    reserved: Reserved,
    shutdown: CancellationToken,
) {
    let inputs = Arc::new(Inputs::new(task.state.answers.clone()));
    let cancel = CancellationToken::new();
    let info = RequestInfo {
        request_id: RequestId::String(format!("task-{}", task.id)),
        session_id: None,
        protocol_version: ProtocolVersion::LATEST,
        client_capabilities: Arc::new(task.state.client_capabilities.clone()),
        principal,
    };
    let params = task.state.params.clone();
    let ctx = RequestContext::new(info, &params, cancel.clone(), Arc::new(SilentPeer))
        .with_inputs(Arc::clone(&inputs));
    let method = task.state.method.clone();
    let work = Work(Some(tokio::spawn(async move {
        server.handle(ctx, &method, params).await
    })));
    let run = Run {
        service,
        id: task.id.clone(),
        expires_at_ms: task.created_at_ms.saturating_add(task.ttl_ms),
        inputs,
        cancel,
        shutdown,
        _permit: reserved.permit,
    };
    tokio::spawn(drive(run, work, reserved.signals));
}

/// The params a replay needs: the request's own, without `_meta` and the multi round-trip
/// fields (answers live in the task record) or a legacy `task` hint.
fn replay_params(params: &Value) -> Value {
    let mut p = params.clone();
    if let Some(m) = p.as_object_mut() {
        for k in ["_meta", "inputResponses", "requestState", "task"] {
            m.remove(k);
        }
    }
    p
}
