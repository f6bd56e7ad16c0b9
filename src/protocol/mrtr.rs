//! Multi round-trip requests (MCP 2026-07-28 `basic/patterns/mrtr.mdx`, SEP-2322): in the
//! stateless era a server never sends a request to the client. A handler that needs
//! elicitation, sampling or roots instead ends its run with an `InputRequiredResult`
//! (`resultType: "input_required"`, `inputRequests`, `requestState`); the client fulfils the
//! requests and retries with a new JSON-RPC id, `inputResponses` and the echoed `requestState`.
//!
//! mcp-hive runs MRTR by *replay*: the handler runs again from the start on every round, and
//! each input it asks for through [`crate::protocol::context::RequestContext`] is answered from
//! [`Inputs`] — the responses of this round plus those of earlier rounds, carried inside the
//! sealed `requestState` ([`state`]). A question without an answer is recorded as pending; when
//! the handler returns with pending questions, its outcome is discarded and the lane answers
//! with the input-required result instead. Handlers must therefore be deterministic up to their
//! inputs and keep side effects after their last question (as a session-era handler awaiting an
//! answer would anyway).
//!
//! Session-era handlers are unaffected: there the same calls go to the client as requests.

pub mod round;
pub mod state;

use crate::protocol::jsonrpc::ErrorObject;
use indexmap::IndexMap;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `resultType` of an input-required result.
pub const INPUT_REQUIRED: &str = "input_required";

/// Methods that may answer with an input-required result (`mrtr.mdx`: "only in response to
/// `tools/call`, `resources/read` and `prompts/get`").
pub const METHODS: [&str; 3] = ["tools/call", "resources/read", "prompts/get"];

/// The client capability a server-to-client method needs.
pub fn capability_of(method: &str) -> Option<&'static str> {
    match method {
        "elicitation/create" => Some("elicitation"),
        "sampling/createMessage" => Some("sampling"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// The inputs of one run of a handler: what the client answered, and what the handler asked
/// for that is still unanswered.
#[derive(Debug, Default)]
pub struct Inputs {
    answered: Map<String, Value>,
    pending: Mutex<IndexMap<String, Value>>,
    used: Mutex<BTreeSet<String>>,
    missing_capabilities: Mutex<BTreeSet<&'static str>>,
    counter: AtomicUsize,
}

impl Inputs {
    /// Inputs answered so far (earlier rounds and this one).
    pub fn new(answered: Map<String, Value>) -> Self {
        Self {
            answered,
            ..Self::default()
        }
    }

    /// The answer to `key`, or records `{method, params}` as pending and returns `None`.
    pub fn answer_or_ask(&self, key: &str, method: &str, params: Value) -> Option<Value> {
        if let Some(v) = self.answered.get(key) {
            self.used.lock().insert(key.to_owned());
            return Some(v.clone());
        }
        self.pending
            .lock()
            .insert(key.to_owned(), json!({"method": method, "params": params}));
        None
    }

    /// A key for a question asked without one: `<method>-<n>`, `n` counting this run's
    /// questions, so the same question gets the same key on every replay.
    pub fn next_key(&self, method: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let short = method.split('/').next().unwrap_or(method);
        format!("{short}-{n}")
    }

    /// Records that the handler needed a capability the client did not declare.
    pub fn missing_capability(&self, capability: &'static str) {
        self.missing_capabilities.lock().insert(capability);
    }

    /// Capabilities the handler needed and the client lacks.
    pub fn missing_capabilities(&self) -> Vec<&'static str> {
        self.missing_capabilities.lock().iter().copied().collect()
    }

    /// The unanswered questions, in the order they were asked (`inputRequests`).
    pub fn pending(&self) -> Option<Map<String, Value>> {
        let pending = self.pending.lock();
        if pending.is_empty() {
            return None;
        }
        Some(
            pending
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The answers this run used: carried to the next round in `requestState` (answers to
    /// questions nobody asked are dropped, `mrtr.mdx`: servers ignore what they do not know).
    pub fn carried(&self) -> Map<String, Value> {
        let used = self.used.lock();
        self.answered
            .iter()
            .filter(|(k, _)| used.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The `-32021` error of a request that needs client capabilities it did not declare
/// (2026-07-28 `MissingRequiredClientCapabilityError`; `data.requiredCapabilities` is a
/// `ClientCapabilities` object).
pub fn missing_capability_error(capabilities: &[&str]) -> ErrorObject {
    let required: Map<String, Value> = capabilities
        .iter()
        .map(|c| ((*c).to_owned(), json!({})))
        .collect();
    ErrorObject::new(
        crate::protocol::stateless::errors::MISSING_CAPABILITY,
        format!(
            "this request needs the client capabilities {}",
            capabilities.join(", ")
        ),
    )
    .with_data(json!({"requiredCapabilities": required}))
}

/// Reads `params.inputResponses`: absent is no answers; otherwise an object whose values are
/// objects (each a client result: `ElicitResult`, `CreateMessageResult`, `ListRootsResult`).
/// Anything else is `-32602`.
pub fn input_responses(params: &Value) -> Result<Map<String, Value>, ErrorObject> {
    match params.get("inputResponses") {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => {
            if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_object()) {
                return Err(ErrorObject::invalid_params(format!(
                    "inputResponses.{k} must be an object (the client's result)"
                )));
            }
            Ok(m.clone())
        }
        Some(_) => Err(ErrorObject::invalid_params(
            "inputResponses must be an object keyed by the inputRequests keys",
        )),
    }
}

/// Builds an `InputRequiredResult` (before the lane's envelope).
pub fn input_required_result(input_requests: Map<String, Value>, request_state: String) -> Value {
    json!({
        "resultType": INPUT_REQUIRED,
        "inputRequests": input_requests,
        "requestState": request_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_questions_are_not_pending_and_keys_repeat_across_replays() {
        let mut answered = Map::new();
        answered.insert("elicitation-1".into(), json!({"action": "accept"}));
        let run = Inputs::new(answered);
        let k1 = run.next_key("elicitation/create");
        assert_eq!(
            run.answer_or_ask(&k1, "elicitation/create", json!({})),
            Some(json!({"action": "accept"}))
        );
        let k2 = run.next_key("sampling/createMessage");
        assert_eq!(k2, "sampling-2");
        assert!(
            run.answer_or_ask(&k2, "sampling/createMessage", json!({"maxTokens": 5}))
                .is_none()
        );
        let pending = run.pending().unwrap_or_default();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending["sampling-2"]["method"], "sampling/createMessage");
    }

    #[test]
    fn malformed_input_responses_are_invalid_params() {
        assert!(input_responses(&json!({})).is_ok_and(|m| m.is_empty()));
        assert!(input_responses(&json!({"inputResponses": null})).is_err());
        assert!(input_responses(&json!({"inputResponses": {"a": 5}})).is_err());
        assert!(input_responses(&json!({"inputResponses": {"a": {"action": "decline"}}})).is_ok());
    }

    #[test]
    fn missing_capability_error_names_capabilities_as_an_object() {
        let e = missing_capability_error(&["sampling"]);
        assert_eq!(e.code, -32021);
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(v["data"]["requiredCapabilities"], json!({"sampling": {}}));
    }
}
