//! One round of a multi round-trip request, transport-free: [`Round::begin`] collects the
//! answers (the opened `requestState` plus this request's `inputResponses`) before the handler
//! runs, [`Round::end`] decides after it: `-32021` when the handler needed an undeclared client
//! capability, an input-required result (with a freshly sealed state) when questions are still
//! open, or nothing, and the handler's own outcome stands. Used by every transport of the
//! 2026-07-28 lane.

use super::state::{Sealer, request_digest};
use super::{Inputs, METHODS, input_required_result, input_responses, missing_capability_error};
use crate::protocol::jsonrpc::ErrorObject;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The multi round-trip part of one request.
#[derive(Debug)]
pub struct Round {
    /// Answers so far and the questions of this run; hand to `RequestContext::with_inputs`.
    pub inputs: Arc<Inputs>,
    sub: String,
    digest: String,
}

impl Round {
    /// `None` for methods that cannot ask for input; `-32602` for an unusable state or
    /// malformed answers. `sub` is the caller's binding key (empty without auth).
    pub fn begin(
        sealer: &Sealer,
        method: &str,
        params: &Value,
        sub: String,
        now: u64,
    ) -> Result<Option<Self>, ErrorObject> {
        if !METHODS.contains(&method) {
            return Ok(None);
        }
        let digest = request_digest(method, params);
        let mut answers = Map::new();
        match params.get("requestState") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => answers = sealer.open(s, &sub, &digest, now)?.ans,
            Some(_) => return Err(ErrorObject::invalid_params("requestState must be a string")),
        }
        answers.extend(input_responses(params)?);
        Ok(Some(Self {
            inputs: Arc::new(Inputs::new(answers)),
            sub,
            digest,
        }))
    }

    /// The caller's binding key the state is bound to.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// What replaces the handler's outcome, if anything: `Err` is the `-32021` error, `Ok` the
    /// input-required result (before the lane's `_meta` envelope).
    pub fn end(&self, sealer: &Sealer, now: u64) -> Option<Result<Value, ErrorObject>> {
        let missing = self.inputs.missing_capabilities();
        if !missing.is_empty() {
            return Some(Err(missing_capability_error(&missing)));
        }
        let requests = self.inputs.pending()?;
        let state = sealer.seal(&self.sub, &self.digest, &self.inputs.carried(), now);
        Some(Ok(input_required_result(requests, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_round_asks_then_carries_its_answers_into_the_next() {
        let sealer = Sealer::new([3; 32], 60);
        let params = json!({"name": "t", "arguments": {}});
        let first = Round::begin(&sealer, "tools/call", &params, "u".into(), 10);
        let first = first.ok().flatten().expect("a round");
        assert!(
            first
                .inputs
                .answer_or_ask("a", "roots/list", json!({}))
                .is_none()
        );
        let Some(Ok(result)) = first.end(&sealer, 10) else {
            panic!("input required");
        };
        assert_eq!(result["resultType"], "input_required");
        let mut retry = params.clone();
        retry["requestState"] = result["requestState"].clone();
        retry["inputResponses"] = json!({"a": {"roots": []}});
        let second = Round::begin(&sealer, "tools/call", &retry, "u".into(), 11);
        let second = second.ok().flatten().expect("a round");
        assert!(
            second
                .inputs
                .answer_or_ask("a", "roots/list", json!({}))
                .is_some()
        );
        assert!(second.end(&sealer, 11).is_none(), "nothing left to ask");
        assert!(
            Round::begin(&sealer, "tools/list", &params, "u".into(), 11).is_ok_and(|r| r.is_none())
        );
    }
}
