//! A task as the protocol sees it (tasks extension, ext-tasks `tasks.md` §Tasks, §Task Status):
//! its status machine, what a stored record's payload holds, the changes every operation makes,
//! and the wire shapes (`CreateTaskResult`, `DetailedTask`). Pure: no I/O, no clock reads (the
//! caller passes `now`), so every rule here is unit-tested.
//!
//! ```text
//! working ──► input_required ──► working ──► completed | failed | cancelled
//!    └──────────────────────────────────────► completed | failed | cancelled
//! ```
//! Terminal states never change again; `tasks/cancel` of a terminal task is a no-op.

use super::TaskError;
use crate::protocol::jsonrpc::{ErrorObject, codes};
use crate::store::task::TaskRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// `Task.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Being processed.
    Working,
    /// Waiting for `tasks/update` with the answers to `inputRequests`.
    InputRequired,
    /// Finished with a result (also a tool result with `isError: true`).
    Completed,
    /// Finished with a JSON-RPC error.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl TaskStatus {
    /// The wire value (also the store's status label).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Working => "working",
            TaskStatus::InputRequired => "input_required",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored label.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(json!(s)).ok()
    }

    /// Completed, failed or cancelled.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// The payload of a stored task record: the request to replay and what the task produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// The augmented request's method (`tools/call`).
    pub method: String,
    /// Its params without `_meta` and the multi round-trip fields (`name`, `arguments`).
    pub params: Value,
    /// The client capabilities the request declared (the replay runs with them).
    pub client_capabilities: Value,
    /// Every input answered so far, keyed like `inputRequests`.
    #[serde(default)]
    pub answers: Map<String, Value>,
    /// Outstanding input requests (status `input_required`).
    #[serde(default)]
    pub input_requests: Map<String, Value>,
    /// The final result (status `completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The JSON-RPC error (status `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// `statusMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `pollIntervalMs`.
    pub poll_interval_ms: u64,
    /// While `working`: until when the replica running the handler vouches for it (it renews
    /// the lease while it runs); a lapsed lease means that replica is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<u64>,
}

/// How a run of the handler ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// A result (`isError` results included).
    Completed(Value),
    /// A JSON-RPC error.
    Failed(ErrorObject),
    /// The handler stopped because the task was cancelled.
    Cancelled,
    /// The handler asked for input: the outstanding requests and every answer it used.
    InputRequired {
        /// `inputRequests`.
        requests: Map<String, Value>,
        /// Answers to carry into the next run.
        answers: Map<String, Value>,
    },
}

/// What `tasks/update` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateEffect {
    /// No answer matched an outstanding request: nothing changed.
    Ignored,
    /// Some requests are still outstanding.
    Partial,
    /// Every request is answered: the handler must run again (status is `working`).
    Resume,
}

/// A decoded task record.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `taskId`.
    pub id: String,
    /// Binding key of the owner.
    pub owner: String,
    /// `status`.
    pub status: TaskStatus,
    /// The payload.
    pub state: TaskState,
    /// Creation, Unix ms.
    pub created_at_ms: u64,
    /// Last change, Unix ms.
    pub updated_at_ms: u64,
    /// `ttlMs`.
    pub ttl_ms: u64,
    /// Store version (compare-and-set).
    pub version: u64,
}

impl Task {
    /// A new `working` task.
    pub fn new(id: String, owner: String, state: TaskState, now: u64, ttl_ms: u64) -> Self {
        Self {
            id,
            owner,
            status: TaskStatus::Working,
            state,
            created_at_ms: now,
            updated_at_ms: now,
            ttl_ms,
            version: 1,
        }
    }

    /// Decodes a stored record.
    pub fn from_record(r: TaskRecord) -> Result<Self, TaskError> {
        let status = TaskStatus::parse(&r.status)
            .ok_or_else(|| TaskError::Internal(format!("unknown task status {:?}", r.status)))?;
        let state = serde_json::from_value(r.payload)
            .map_err(|e| TaskError::Internal(format!("unreadable task payload: {e}")))?;
        Ok(Self {
            id: r.id,
            owner: r.owner,
            status,
            state,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
            ttl_ms: r.ttl_ms,
            version: r.version,
        })
    }

    /// The record to store.
    pub fn to_record(&self) -> TaskRecord {
        TaskRecord {
            id: self.id.clone(),
            owner: self.owner.clone(),
            status: self.status.as_str().to_owned(),
            payload: serde_json::to_value(&self.state).unwrap_or(Value::Null),
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            ttl_ms: self.ttl_ms,
            version: self.version,
        }
    }

    fn set(&mut self, status: TaskStatus, now: u64) {
        self.status = status;
        self.updated_at_ms = now;
        if status != TaskStatus::InputRequired {
            self.state.input_requests.clear();
        }
        if status != TaskStatus::Working {
            self.state.lease_until_ms = None;
        }
        if status.is_terminal() {
            // What the user typed is not kept longer than the work needs it.
            self.state.answers.clear();
        }
    }

    /// Records the end of a run; false (nothing changes) unless the task is `working`.
    pub fn finish(&mut self, end: RunEnd, now: u64) -> bool {
        if self.status != TaskStatus::Working {
            return false;
        }
        match end {
            RunEnd::Completed(result) => {
                self.state.result = Some(result);
                self.state.status_message = None;
                self.set(TaskStatus::Completed, now);
            }
            RunEnd::Failed(error) => {
                self.state.status_message = Some(error.message.clone());
                self.state.error = Some(error);
                self.set(TaskStatus::Failed, now);
            }
            RunEnd::Cancelled => {
                self.state.status_message = Some("The task was cancelled.".into());
                self.set(TaskStatus::Cancelled, now);
            }
            RunEnd::InputRequired { requests, answers } => {
                self.state.answers = answers;
                self.state.status_message = Some("Waiting for input from the client.".into());
                self.set(TaskStatus::InputRequired, now);
                self.state.input_requests = requests;
            }
        }
        true
    }

    /// `tasks/cancel`: a non-terminal task becomes `cancelled`; returns whether it changed.
    pub fn cancel(&mut self, now: u64) -> bool {
        if self.status.is_terminal() {
            return false;
        }
        self.state.status_message = Some("The task was cancelled at the client's request.".into());
        self.set(TaskStatus::Cancelled, now);
        true
    }

    /// `tasks/update`: takes the answers to outstanding requests (others are ignored, §Task
    /// Update Requests); when none is left the task goes back to `working` with a lease.
    pub fn update(
        &mut self,
        responses: &Map<String, Value>,
        now: u64,
        lease_ms: u64,
    ) -> UpdateEffect {
        if self.status != TaskStatus::InputRequired {
            return UpdateEffect::Ignored;
        }
        let mut taken = false;
        for (key, answer) in responses {
            if self.state.input_requests.remove(key).is_some() {
                self.state.answers.insert(key.clone(), answer.clone());
                taken = true;
            }
        }
        if !taken {
            return UpdateEffect::Ignored;
        }
        self.updated_at_ms = now;
        if !self.state.input_requests.is_empty() {
            return UpdateEffect::Partial;
        }
        self.state.status_message = None;
        self.set(TaskStatus::Working, now);
        self.state.lease_until_ms = Some(now.saturating_add(lease_ms));
        UpdateEffect::Resume
    }

    /// Whether the task is `working` under a lease that lapsed (its replica stopped).
    pub fn is_orphaned(&self, now: u64) -> bool {
        self.status == TaskStatus::Working && self.state.lease_until_ms.is_some_and(|t| t < now)
    }

    /// Marks an orphaned task `failed`; returns whether it changed.
    pub fn fail_orphaned(&mut self, now: u64) -> bool {
        if !self.is_orphaned(now) {
            return false;
        }
        self.finish(
            RunEnd::Failed(ErrorObject::new(
                codes::INTERNAL_ERROR,
                "The server running this task stopped before it finished.",
            )),
            now,
        )
    }

    /// The `Task` fields shared by every shape.
    fn base(&self) -> Value {
        let mut v = json!({
            "taskId": self.id,
            "status": self.status.as_str(),
            "createdAt": iso8601(self.created_at_ms),
            "lastUpdatedAt": iso8601(self.updated_at_ms),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.state.poll_interval_ms,
        });
        if let Some(m) = &self.state.status_message {
            v["statusMessage"] = json!(m);
        }
        v
    }

    /// `CreateTaskResult` (before the lane's `_meta`): `resultType: "task"` and the task fields,
    /// flat, without `result`, `error` or `inputRequests` (§Task Creation).
    pub fn create_result(&self) -> Value {
        let mut v = self.base();
        v["resultType"] = json!(super::RESULT_TYPE_TASK);
        v
    }

    /// `DetailedTask` (`tasks/get`, §Task Polling): the status-specific field inlined.
    pub fn detailed(&self) -> Value {
        let mut v = self.base();
        match self.status {
            TaskStatus::InputRequired => v["inputRequests"] = json!(self.state.input_requests),
            TaskStatus::Completed => v["result"] = json!(self.state.result),
            TaskStatus::Failed => v["error"] = json!(self.state.error),
            TaskStatus::Working | TaskStatus::Cancelled => {}
        }
        v
    }
}

/// Unix milliseconds as an ISO 8601 UTC timestamp (`2026-07-28T10:30:00.000Z`).
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}
