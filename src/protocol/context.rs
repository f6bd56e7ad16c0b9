//! What a tool, resource or prompt handler sees of the request it serves: ids, the negotiated
//! version, client capabilities, the principal, cancellation, and a [`ClientPeer`] through which
//! it sends progress, log messages and server-to-client requests (sampling, elicitation, roots).
//!
//! The peer is a trait so the core stays free of HTTP and storage: the session actor implements
//! it by appending to the request's SSE stream, a stateless lane can implement it differently.

use crate::principal::Principal;
use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::protocol::mrtr::Inputs;
use crate::protocol::version::ProtocolVersion;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Syslog severities used by MCP logging (RFC 5424 §6.2.1; MCP `server/utilities/logging.mdx`),
/// ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// General informational messages.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// System is unusable.
    Emergency,
}

impl LogLevel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    /// Compact encoding for atomics.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// Inverse of [`LogLevel::to_u8`]; out-of-range values saturate to `Emergency`.
    pub fn from_u8(v: u8) -> Self {
        const ALL: [LogLevel; 8] = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Notice,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
            LogLevel::Alert,
            LogLevel::Emergency,
        ];
        ALL.get(v as usize).copied().unwrap_or(LogLevel::Emergency)
    }
}

impl FromStr for LogLevel {
    type Err = ErrorObject;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(json!(s))
            .map_err(|_| ErrorObject::invalid_params(format!("unknown log level {s:?}")))
    }
}

/// A JSON number that prints whole values as integers (`3`, not `3.0`).
pub fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// Failure of a server-to-client interaction.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PeerError {
    /// The client did not declare the capability this call needs.
    #[error("the client did not declare the {0} capability")]
    MissingCapability(&'static str),
    /// The client answered with a JSON-RPC error.
    #[error("the client answered with an error: {0}")]
    Client(ErrorObject),
    /// No answer arrived in time.
    #[error("the client did not answer within {0} seconds")]
    Timeout(u64),
    /// The request or its session ended first.
    #[error("the request was cancelled")]
    Cancelled,
    /// The message could not be stored or delivered.
    #[error("could not deliver the message: {0}")]
    Delivery(String),
    /// Stateless era (2026-07-28 MRTR): the client has not answered yet; the request ends with
    /// an input-required result and runs again with the answers. Handlers just propagate it.
    #[error("waiting for the client's input (multi round-trip request)")]
    InputRequired,
}

impl From<PeerError> for ErrorObject {
    /// For handlers whose errors are JSON-RPC errors (prompts, resources). In the stateless era
    /// an [`PeerError::InputRequired`] outcome is replaced by the input-required result.
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Client(e) => e,
            other => ErrorObject::internal(other.to_string()),
        }
    }
}

/// The channel from a running request back to the client.
#[async_trait]
pub trait ClientPeer: Send + Sync {
    /// Sends a notification related to the current request.
    async fn notify(&self, method: &str, params: Value) -> Result<(), PeerError>;
    /// Sends a request to the client and waits for its answer.
    async fn request(&self, method: &str, params: Value) -> Result<Value, PeerError>;
    /// The minimum log level the client asked for (`logging/setLevel`).
    fn log_level(&self) -> LogLevel;
    /// Closes the connection carrying this request's stream without ending the stream
    /// (2025-11-25 SSE polling); the client resumes with `Last-Event-ID`. No-op by default.
    fn close_connection(&self) {}
}

/// Who and what a request is about, as known to the transport before it runs.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The JSON-RPC id of the request.
    pub request_id: RequestId,
    /// The MCP session, in the session era.
    pub session_id: Option<String>,
    /// The negotiated protocol revision.
    pub protocol_version: ProtocolVersion,
    /// The client's declared capabilities.
    pub client_capabilities: Arc<Value>,
    /// The authenticated caller, when auth is on.
    pub principal: Option<Arc<Principal>>,
}

/// Everything a handler knows about the request it serves.
#[derive(Clone)]
pub struct RequestContext {
    /// The JSON-RPC id of the request.
    pub request_id: RequestId,
    /// The MCP session, in the session era.
    pub session_id: Option<String>,
    /// The negotiated protocol revision.
    pub protocol_version: ProtocolVersion,
    /// The client's declared capabilities from `initialize`.
    pub client_capabilities: Arc<Value>,
    /// The authenticated caller, when auth is on (shared with the request's token: no copy).
    pub principal: Option<Arc<Principal>>,
    /// `params._meta.progressToken`, if the client asked for progress.
    pub progress_token: Option<Value>,
    /// Fires when the client cancels the request or the session ends.
    pub cancellation: CancellationToken,
    peer: Arc<dyn ClientPeer>,
    inputs: Option<Arc<Inputs>>,
    task: Option<Arc<crate::protocol::tasks::run::Detach>>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.request_id)
            .field("session_id", &self.session_id)
            .field("protocol_version", &self.protocol_version)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// Builds a context; `params` is the request's params, from which the progress token is read.
    pub fn new(
        info: RequestInfo,
        params: &Value,
        cancellation: CancellationToken,
        peer: Arc<dyn ClientPeer>,
    ) -> Self {
        let progress_token = crate::protocol::jsonrpc::member(params, &["_meta", "progressToken"])
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
            .cloned();
        Self {
            request_id: info.request_id,
            session_id: info.session_id,
            protocol_version: info.protocol_version,
            client_capabilities: info.client_capabilities,
            principal: info.principal,
            progress_token,
            cancellation,
            peer,
            inputs: None,
            task: None,
        }
    }

    /// Stateless era: server-to-client requests are answered from `inputs` (multi round-trip
    /// requests, [`crate::protocol::mrtr`]) instead of being sent to the client.
    pub fn with_inputs(mut self, inputs: Arc<Inputs>) -> Self {
        self.inputs = Some(inputs);
        self
    }

    /// Tasks extension (`io.modelcontextprotocol/tasks`): this request may become a task
    /// through `slot` ([`RequestContext::detach`]).
    pub fn with_task_slot(mut self, slot: Arc<crate::protocol::tasks::run::Detach>) -> Self {
        self.task = Some(slot);
        self
    }

    /// Tasks extension (SEP-2663 §Task Creation): from here on the request runs as a task. When
    /// the request may become one (a 2026-07-28 `tools/call` of a tool declaring
    /// `execution.taskSupport`, from a client that declared the extension), the client gets a
    /// `CreateTaskResult` as soon as the task is stored and this returns; the rest of the
    /// handler runs in the background and its outcome becomes the task's. Input the handler
    /// asked for *before* this point was gathered synchronously (multi round-trip). Everywhere
    /// else (session era, other clients, a replay of a task) it returns at once.
    pub async fn detach(&self) -> Result<(), PeerError> {
        match &self.task {
            Some(slot) => slot.request().await,
            None => Ok(()),
        }
    }

    /// True once the request is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// Whether the client declared a capability (a top-level key of `capabilities`).
    pub fn client_supports(&self, capability: &str) -> bool {
        self.client_capabilities
            .get(capability)
            .is_some_and(|v| !v.is_null())
    }

    /// Sends `notifications/progress` (`basic/utilities/progress.mdx`) when the client supplied
    /// a progress token; a no-op otherwise. `progress` must increase between calls.
    pub async fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), PeerError> {
        let Some(token) = &self.progress_token else {
            return Ok(());
        };
        let mut params = json!({"progressToken": token, "progress": json_number(progress)});
        if let Some(total) = total {
            params["total"] = json_number(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.peer.notify("notifications/progress", params).await
    }

    /// Sends `notifications/message` (`server/utilities/logging.mdx`) if `level` is at or above
    /// the level the client set.
    pub async fn log(
        &self,
        level: LogLevel,
        logger: Option<&str>,
        data: Value,
    ) -> Result<(), PeerError> {
        if level < self.peer.log_level() {
            return Ok(());
        }
        let mut params = json!({"level": level.as_str(), "data": data});
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.peer.notify("notifications/message", params).await
    }

    /// Closes the HTTP connection of this request's SSE stream (not the stream): the client
    /// reconnects with `Last-Event-ID` and receives the rest (2025-11-25 "SSE polling").
    pub fn close_sse_connection(&self) {
        self.peer.close_connection();
    }

    /// Sends any notification related to this request.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), PeerError> {
        self.peer.notify(method, params).await
    }

    /// `sampling/createMessage` (`client/sampling.mdx`); needs the client's `sampling` capability.
    pub async fn create_message(&self, params: Value) -> Result<Value, PeerError> {
        self.ask(None, "sampling/createMessage", params).await
    }

    /// `elicitation/create` (2025-06-18+ `client/elicitation.mdx`); needs `elicitation`.
    pub async fn elicit(&self, params: Value) -> Result<Value, PeerError> {
        self.ask(None, "elicitation/create", params).await
    }

    /// `roots/list` (`client/roots.mdx`); needs the client's `roots` capability.
    pub async fn list_roots(&self) -> Result<Value, PeerError> {
        self.ask(None, "roots/list", json!({})).await
    }

    /// A server-to-client request under a key of the handler's choosing: sent to the client in
    /// the session era; in the stateless era (2026-07-28 `mrtr.mdx`) answered from the
    /// request's `inputResponses` under `key`, or asked for in an `inputRequests` entry named
    /// `key` ([`PeerError::InputRequired`]).
    pub async fn input(&self, key: &str, method: &str, params: Value) -> Result<Value, PeerError> {
        self.ask(Some(key), method, params).await
    }

    /// Several questions at once: in the stateless era every unanswered one goes into the same
    /// input-required result; in the session era they are sent one after another. Answers come
    /// back in the order asked.
    pub async fn inputs(
        &self,
        questions: Vec<(String, String, Value)>,
    ) -> Result<Vec<Value>, PeerError> {
        let mut missing = None;
        for (_, method, _) in &questions {
            if let Some(cap) = crate::protocol::mrtr::capability_of(method)
                && let Err(e) = self.require(cap)
            {
                missing = Some(e);
            }
        }
        if let Some(e) = missing {
            return Err(e);
        }
        match &self.inputs {
            Some(inputs) => {
                let answers: Vec<Option<Value>> = questions
                    .into_iter()
                    .map(|(key, method, params)| inputs.answer_or_ask(&key, &method, params))
                    .collect();
                answers
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .ok_or(PeerError::InputRequired)
            }
            None => {
                let mut out = Vec::with_capacity(questions.len());
                for (_, method, params) in questions {
                    out.push(self.peer.request(&method, params).await?);
                }
                Ok(out)
            }
        }
    }

    async fn ask(
        &self,
        key: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, PeerError> {
        if let Some(cap) = crate::protocol::mrtr::capability_of(method) {
            self.require(cap)?;
        }
        match &self.inputs {
            Some(inputs) => {
                let key = key.map_or_else(|| inputs.next_key(method), str::to_owned);
                inputs
                    .answer_or_ask(&key, method, params)
                    .ok_or(PeerError::InputRequired)
            }
            None => self.peer.request(method, params).await,
        }
    }

    /// Fails unless the client declared `capability`. In the stateless era the request then
    /// ends with `-32021` (`MissingRequiredClientCapabilityError`, 2026-07-28 `basic/index.mdx`)
    /// naming it, whatever the handler does with the error.
    pub fn require_client_capability(&self, capability: &'static str) -> Result<(), PeerError> {
        self.require(capability)
    }

    fn require(&self, capability: &'static str) -> Result<(), PeerError> {
        if self.client_supports(capability) {
            return Ok(());
        }
        if let Some(inputs) = &self.inputs {
            inputs.missing_capability(capability);
        }
        Err(PeerError::MissingCapability(capability))
    }
}
