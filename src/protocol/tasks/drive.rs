//! Driving a task's handler once it runs in the background (tasks extension, ext-tasks
//! `tasks.md` §Task Cancellation, §Task Status): stopping it on a cancellation signal from any
//! replica (bus topic `task:<id>`), on a terminal status seen when renewing the runner's lease,
//! at the task's TTL or at shutdown; and recording how the run ended ([`run_end`]) — a result, a
//! JSON-RPC error, cancellation, or input required — with retries while the store is down.

use super::TaskError;
use super::run::Work;
use super::service::{CANCEL_SIGNAL, TaskService};
use super::state::RunEnd;
use crate::protocol::jsonrpc::{ErrorObject, codes};
use crate::protocol::mrtr::{self, Inputs};
use crate::protocol::server::Outcome;
use crate::protocol::stateless::modern_error;
use crate::store::bus::Subscription;
use crate::store::record::now_ms;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, broadcast};
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;

/// What a driver needs besides the handler.
pub(super) struct Run {
    pub(super) service: TaskService,
    pub(super) id: String,
    pub(super) expires_at_ms: u64,
    pub(super) inputs: Arc<Inputs>,
    pub(super) cancel: CancellationToken,
    pub(super) shutdown: CancellationToken,
    /// This run's place among the replica's running tasks (released when the run ends).
    pub(super) _permit: OwnedSemaphorePermit,
}

/// Watches a running handler until it ends, then records how.
pub(super) async fn drive(run: Run, mut work: Work, mut signals: Subscription) {
    let Run {
        service,
        id,
        expires_at_ms,
        inputs,
        cancel,
        shutdown,
        _permit,
    } = run;
    let every = (service.config().lease / 3).max(Duration::from_millis(50));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let expiry = tokio::time::sleep(Duration::from_millis(
        expires_at_ms.saturating_sub(now_ms()),
    ));
    tokio::pin!(expiry);
    let (mut listening, mut stopped): (bool, Option<ErrorObject>) = (true, None);
    let joined = loop {
        tokio::select! {
            joined = work.wait() => break joined,
            signal = signals.recv(), if listening => match signal {
                Ok(s) if &*s == CANCEL_SIGNAL => cancel.cancel(),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => listening = false,
            },
            _ = renew.tick() => match service.renew_lease(&id).await {
                Ok(status) if status.is_terminal() => cancel.cancel(),
                Ok(_) => {}
                Err(TaskError::NotFound) => cancel.cancel(),
                Err(e) => tracing::warn!(task = %id, error = %e, "could not renew a task lease"),
            },
            () = &mut expiry, if stopped.is_none() => {
                stopped = Some(ErrorObject::new(codes::INTERNAL_ERROR, "The task reached its ttlMs before it finished."));
                cancel.cancel();
            }
            () = shutdown.cancelled(), if stopped.is_none() => {
                stopped = Some(ErrorObject::new(codes::INTERNAL_ERROR, "The server shut down before the task finished; start it again."));
                cancel.cancel();
            }
        }
    };
    let end = match stopped {
        Some(e) => RunEnd::Failed(e),
        None => run_end(joined, &inputs),
    };
    record_end(&service, &id, end).await;
}

/// Records how a run ended, retrying a few times while the store is unavailable (if it stays
/// down, the lease lapses and the task is reported failed).
async fn record_end(service: &TaskService, id: &str, end: RunEnd) {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=4 {
        match service.finish(id, end.clone()).await {
            Ok(_) | Err(TaskError::NotFound) => return,
            Err(TaskError::Unavailable(e)) if attempt < 4 => {
                tracing::warn!(task = %id, error = %e, attempt, "task store unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::warn!(task = %id, error = %e, "could not record the end of a task");
                return;
            }
        }
    }
}

pub(super) fn outcome_of(joined: Result<Outcome, JoinError>) -> Outcome {
    match joined {
        Ok(outcome) => outcome,
        Err(e) if e.is_cancelled() => Outcome::Cancelled,
        Err(_) => Outcome::Error(ErrorObject::internal("the handler failed unexpectedly")),
    }
}

/// How a run ended, in the order the lane applies to synchronous replies: cancellation, a
/// missing client capability (`-32021`), outstanding input, then the outcome itself.
pub fn run_end(joined: Result<Outcome, JoinError>, inputs: &Inputs) -> RunEnd {
    let outcome = outcome_of(joined);
    if matches!(outcome, Outcome::Cancelled) {
        return RunEnd::Cancelled;
    }
    let missing = inputs.missing_capabilities();
    if !missing.is_empty() {
        return RunEnd::Failed(mrtr::missing_capability_error(&missing));
    }
    if let Some(requests) = inputs.pending() {
        return RunEnd::InputRequired {
            requests,
            answers: inputs.carried(),
        };
    }
    match outcome {
        Outcome::Result(mut result) => {
            if result.is_object() {
                result["resultType"] = json!("complete");
            }
            RunEnd::Completed(result)
        }
        Outcome::Error(e) => RunEnd::Failed(modern_error(e)),
        Outcome::Cancelled => RunEnd::Cancelled,
    }
}
