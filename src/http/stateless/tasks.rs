//! The tasks extension `io.modelcontextprotocol/tasks` (SEP-2663, ext-tasks `tasks.md`) on the
//! stateless lane's HTTP side; the rules are in [`crate::protocol::tasks`].
//!
//! - `server/discover` advertises the extension ([`advertise`]);
//! - `tools/call` of a tool whose `execution.taskSupport` is `required`, from a request that
//!   did not declare the extension, gets `-32021` ([`refuse_required`]); a tool declaring
//!   `optional` or `required`, called by a request that declared it, runs through
//!   [`tasks::run::Launch`] ([`launch`]) and may be answered with a `CreateTaskResult`;
//! - `tasks/get`, `tasks/update`, `tasks/cancel` are served here ([`serve`]), on any replica:
//!   the task lives in the store. An update that answers the last outstanding input request
//!   runs the handler again on this replica;
//! - `subscriptions/listen` with `notifications.taskIds` watches the caller's tasks
//!   ([`watch`]).
//!
//! Status codes: 200 with the result; 400 with `-32602` (unknown, expired or foreign task,
//! malformed params) or `-32021` (the request did not declare the extension); 503 with
//! `Retry-After` when the task store is unavailable; 500 with `-32603` otherwise.

use super::{McpState, reply};
use crate::auth::Caller;
use crate::http::error::RETRY_AFTER_SECS;
use crate::protocol::context::RequestContext;
use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::protocol::mrtr::Inputs;
use crate::protocol::server::{Outcome, ServerInfo};
use crate::protocol::stateless::{self, META_SERVER_INFO, StatelessRequest};
use crate::protocol::tasks::run::{self, Launch, Launched};
use crate::protocol::tasks::service::TaskService;
use crate::protocol::tasks::state::UpdateEffect;
use crate::protocol::tasks::{self, TaskError, TaskParams, TaskSupport};
use crate::registry::tool::ToolDef;
use crate::store::bus::Subscription;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures_util::stream::{BoxStream, SelectAll, StreamExt as _};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Adds the extension to a `server/discover` result.
pub fn advertise(result: &mut Value) {
    tasks::advertise(result);
}

/// `-32021` for a tool that only runs as a task, called without the extension.
pub fn refuse_required(def: &ToolDef, valid: &StatelessRequest) -> Option<HttpResponse> {
    (TaskSupport::of(def) == TaskSupport::Required
        && !tasks::client_opted_in(&valid.client_capabilities))
    .then(|| super::bad_request(Some(&valid.request.id), &tasks::missing_extension()))
}

/// Whether a validated request may become a task: a `tools/call` of a tool that supports tasks,
/// from a request that declared the extension.
fn launchable(state: &McpState, valid: &StatelessRequest) -> bool {
    valid.request.method == "tools/call"
        && tasks::client_opted_in(&valid.client_capabilities)
        && valid
            .request
            .params
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| state.sessions.server().registry.tool(n))
            .is_some_and(|def| TaskSupport::of(&def) != TaskSupport::Forbidden)
}

/// How a run of the lane ended, before it becomes a reply.
pub(super) enum Ran {
    /// The ordinary outcome (result, error, or multi round-trip input required).
    Outcome(Outcome),
    /// A ready reply (a `CreateTaskResult`, or the error of a failed task creation).
    Reply(StatusCode, Value),
}

/// The task launch of a request, when it may become a task.
pub(super) fn launch(
    state: &McpState,
    valid: &StatelessRequest,
    ctx: &RequestContext,
    inputs: &Arc<Inputs>,
    owner: &str,
) -> Option<Launch> {
    launchable(state, valid).then(|| Launch {
        service: state.stateless.tasks.clone(),
        server: state.sessions.server().clone(),
        ctx: ctx.clone(),
        inputs: Arc::clone(inputs),
        method: valid.request.method.clone(),
        params: valid.request.params.clone(),
        owner: owner.to_owned(),
        shutdown: state.shutdown.clone(),
    })
}

/// Runs a launch and turns a created task (or a failed creation) into a reply.
pub(super) async fn run_launch(launch: Launch, id: &RequestId, server: &ServerInfo) -> Ran {
    match launch.run().await {
        Launched::Finished(outcome) => Ran::Outcome(outcome),
        Launched::Created(task) => {
            let result = with_server_info(task.create_result(), server);
            Ran::Reply(
                StatusCode::OK,
                json!({"jsonrpc": "2.0", "id": id, "result": result}),
            )
        }
        Launched::Failed(e) => {
            let status = status_of(&e);
            Ran::Reply(status, stateless::error_message(Some(id), &e.into()))
        }
    }
}

fn with_server_info(mut result: Value, server: &ServerInfo) -> Value {
    result["_meta"] = json!({ META_SERVER_INFO: {"name": server.name, "version": server.version} });
    result
}

fn status_of(e: &TaskError) -> StatusCode {
    match e {
        TaskError::NotFound | TaskError::InvalidParams(_) | TaskError::MissingExtension => {
            StatusCode::BAD_REQUEST
        }
        TaskError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        TaskError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Serves `tasks/get`, `tasks/update` or `tasks/cancel`.
pub async fn serve(state: &McpState, caller: Caller, valid: StatelessRequest) -> HttpResponse {
    let id = valid.request.id.clone();
    let method = valid.request.method.clone();
    match handle(state, caller, &valid).await {
        Ok(result) => {
            let info = &state.sessions.server().info;
            let result = stateless::complete(&method, result, &info.name, &info.version);
            reply(
                StatusCode::OK,
                json!({"jsonrpc": "2.0", "id": id, "result": result}),
            )
        }
        Err(e) => {
            let status = status_of(&e);
            if let TaskError::Internal(m) = &e {
                tracing::error!(method = %method, error = %m, "task operation failed");
            }
            let error: ErrorObject = e.into();
            let mut response = reply(status, stateless::error_message(Some(&id), &error));
            if status == StatusCode::SERVICE_UNAVAILABLE
                && let Ok(v) = RETRY_AFTER_SECS.to_string().parse()
            {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            response
        }
    }
}

async fn handle(
    state: &McpState,
    caller: Caller,
    valid: &StatelessRequest,
) -> Result<Value, TaskError> {
    if !tasks::client_opted_in(&valid.client_capabilities) {
        return Err(TaskError::MissingExtension);
    }
    let method = valid.request.method.as_str();
    let params = TaskParams::parse(method, &valid.request.params)?;
    let principal = caller.into_principal();
    let owner = principal
        .as_ref()
        .map(|p| p.binding_key())
        .unwrap_or_default();
    let service = &state.stateless.tasks;
    match method {
        "tasks/get" => Ok(service.get(&owner, &params.task_id).await?.detailed()),
        "tasks/update" => {
            // Reserved before the update: the answers are only taken if the run can start.
            let reserved = run::Reserved::take(service, &params.task_id).ok_or_else(|| {
                TaskError::Unavailable("this replica runs too many tasks; retry".into())
            })?;
            let (effect, task) = service
                .update(&owner, &params.task_id, &params.input_responses)
                .await?;
            if effect == UpdateEffect::Resume {
                run::resume(
                    service.clone(),
                    state.sessions.server().clone(),
                    &task,
                    principal,
                    reserved,
                    state.shutdown.clone(),
                );
            }
            Ok(json!({}))
        }
        _ => {
            service.cancel(&owner, &params.task_id).await?;
            Ok(json!({}))
        }
    }
}

/// The tasks a `subscriptions/listen` stream watches.
pub struct Watched {
    service: TaskService,
    owner: String,
    /// `None` when the subscription did not ask for task notifications.
    granted: Option<Vec<String>>,
    /// One item per change announced on a watched task's topic: the task id.
    pub changes: SelectAll<BoxStream<'static, String>>,
}

impl Watched {
    /// Whether any task is watched.
    pub fn is_active(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Lists the granted task ids in the acknowledgment (when task notifications were asked).
    pub fn acknowledge(&self, ack: &mut Value) {
        if let Some(ids) = &self.granted {
            ack["params"]["notifications"]["taskIds"] = json!(ids);
        }
    }

    /// The current state of every watched task, as notifications.
    pub async fn current(&self, subscription: &RequestId) -> Vec<Value> {
        let mut out = Vec::new();
        for id in self.granted.iter().flatten() {
            if let Some(n) = self.notification(id, subscription).await {
                out.push(n);
            }
        }
        out
    }

    /// `notifications/tasks` for a task that changed (`None` if it is gone or unreadable).
    pub async fn notification(&self, task_id: &str, subscription: &RequestId) -> Option<Value> {
        let task = self.service.get(&self.owner, task_id).await.ok()?;
        Some(tasks::listen::notification(&task, subscription))
    }
}

fn changes_of(task_id: String, signals: Subscription) -> BoxStream<'static, String> {
    futures_util::stream::unfold((task_id, signals), |(task_id, mut signals)| async move {
        match signals.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                Some((task_id.clone(), (task_id, signals)))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
    .boxed()
}

/// The task notifications a `subscriptions/listen` request asks for: `-32021` without the
/// extension, `-32602` for a malformed `taskIds`; ids that are unknown, expired or not the
/// caller's are simply not granted.
pub async fn watch(
    state: &McpState,
    valid: &StatelessRequest,
    owner: String,
) -> Result<Watched, HttpResponse> {
    let service = state.stateless.tasks.clone();
    let mut watched = Watched {
        service,
        owner,
        granted: None,
        changes: SelectAll::new(),
    };
    let id = &valid.request.id;
    let requested = match tasks::listen::requested_task_ids(&valid.request.params) {
        Ok(Some(ids)) => ids,
        Ok(None) => return Ok(watched),
        Err(e) => return Err(super::bad_request(Some(id), &e.into())),
    };
    if !tasks::client_opted_in(&valid.client_capabilities) {
        return Err(super::bad_request(Some(id), &tasks::missing_extension()));
    }
    let mut granted = Vec::new();
    for task_id in requested {
        // Subscribed before the check: a change right after it is not missed.
        let signals = watched.service.signals(&task_id);
        match watched.service.get(&watched.owner, &task_id).await {
            Ok(_) => {
                watched.changes.push(changes_of(task_id.clone(), signals));
                granted.push(task_id);
            }
            Err(TaskError::NotFound) => {}
            Err(e) => {
                let status = status_of(&e);
                return Err(reply(status, stateless::error_message(Some(id), &e.into())));
            }
        }
    }
    watched.granted = Some(granted);
    Ok(watched)
}
