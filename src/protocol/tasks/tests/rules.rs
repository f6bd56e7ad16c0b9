//! Parameters, negotiation, the status machine and the wire shapes.

use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::tasks::listen::requested_task_ids;
use crate::protocol::tasks::state::{RunEnd, Task, TaskState, TaskStatus, UpdateEffect, iso8601};
use crate::protocol::tasks::{
    EXTENSION_ID, TaskError, TaskParams, TaskSupport, ToolSpecTasks as _, advertise,
    client_opted_in, missing_extension,
};
use crate::registry::tool::{CallToolResult, ToolSpec};
use serde_json::{Map, Value, json};

fn task() -> Task {
    Task::new(
        "t1".into(),
        "alice".into(),
        TaskState::default(),
        1_000,
        60_000,
    )
}

fn requests(keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .map(|k| {
            (
                (*k).to_owned(),
                json!({"method": "elicitation/create", "params": {}}),
            )
        })
        .collect()
}

#[test]
fn params_need_a_task_id_and_updates_need_input_responses() {
    let ok = TaskParams::parse("tasks/get", &json!({"taskId": "abc"}));
    assert_eq!(ok.map(|p| p.task_id), Ok("abc".to_owned()));
    for bad in [
        json!({}),
        json!({"taskId": 5}),
        json!({"taskId": ""}),
        json!({"taskId": "x".repeat(129)}),
    ] {
        assert!(
            matches!(
                TaskParams::parse("tasks/get", &bad),
                Err(TaskError::InvalidParams(_))
            ),
            "{bad}"
        );
    }
    assert!(TaskParams::parse("tasks/update", &json!({"taskId": "a"})).is_err());
    assert!(
        TaskParams::parse(
            "tasks/update",
            &json!({"taskId": "a", "inputResponses": []})
        )
        .is_err()
    );
    let p = TaskParams::parse(
        "tasks/update",
        &json!({"taskId": "a", "inputResponses": {"k": {"action": "accept"}}}),
    );
    assert_eq!(p.map(|p| p.input_responses.len()), Ok(1));
    // Not found and invalid params are -32602; the missing extension is -32021 with data.
    assert_eq!(ErrorObject::from(TaskError::NotFound).code, -32602);
    let e = missing_extension();
    assert_eq!(e.code, -32021);
    assert_eq!(
        e.data,
        Some(json!({"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}))
    );
}

#[test]
fn negotiation_reads_the_request_capabilities_and_advertises_under_extensions() {
    assert!(client_opted_in(&json!({"extensions": {EXTENSION_ID: {}}})));
    assert!(!client_opted_in(
        &json!({"extensions": {EXTENSION_ID: true}})
    ));
    assert!(!client_opted_in(&json!({"tasks": {}})));
    let mut discover = json!({"capabilities": {"tools": {}}});
    advertise(&mut discover);
    assert_eq!(
        discover["capabilities"]["extensions"],
        json!({EXTENSION_ID: {}})
    );
    assert!(discover["capabilities"].get("tasks").is_none());
}

#[test]
fn tools_declare_task_support_in_their_listing() {
    let def = ToolSpec::new("t", "d")
        .task_support(TaskSupport::Required)
        .build_raw(|_a: Value, _c| async { Ok(CallToolResult::text("x")) });
    let def = def.expect("tool");
    assert_eq!(TaskSupport::of(&def), TaskSupport::Required);
    assert_eq!(
        def.listing(true)["execution"],
        json!({"taskSupport": "required"})
    );
    let plain =
        ToolSpec::new("p", "d").build_raw(|_a: Value, _c| async { Ok(CallToolResult::text("x")) });
    assert_eq!(
        plain.map(|d| TaskSupport::of(&d)).ok(),
        Some(TaskSupport::Forbidden)
    );
}

#[test]
fn timestamps_are_iso_8601_utc() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso8601(1_795_321_747_421), "2026-11-22T04:29:07.421Z");
    assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
}

#[test]
fn terminal_states_never_change_and_cancel_is_idempotent() {
    let mut t = task();
    assert!(t.finish(RunEnd::Completed(json!({"content": []})), 2_000));
    assert_eq!((t.status, t.updated_at_ms), (TaskStatus::Completed, 2_000));
    assert!(!t.finish(RunEnd::Failed(ErrorObject::internal("late")), 3_000));
    assert!(!t.cancel(3_000));
    assert_eq!(t.status, TaskStatus::Completed);
    let mut c = task();
    assert!(c.cancel(2_000));
    assert!(!c.cancel(2_500));
    assert!(
        !c.finish(RunEnd::Completed(json!({})), 3_000),
        "a cancelled task stays cancelled"
    );
    assert_eq!(c.status, TaskStatus::Cancelled);
}

#[test]
fn updates_take_outstanding_answers_only_and_resume_when_none_is_left() {
    let mut t = task();
    let mut answers = Map::new();
    answers.insert("early".into(), json!({"action": "accept"}));
    t.finish(
        RunEnd::InputRequired {
            requests: requests(&["a", "b"]),
            answers,
        },
        2_000,
    );
    assert_eq!(t.status, TaskStatus::InputRequired);
    let unknown = json!({"zzz": {"ignored": true}});
    assert_eq!(
        t.update(unknown.as_object().unwrap_or(&Map::new()), 3_000, 500),
        UpdateEffect::Ignored
    );
    let first = json!({"a": {"action": "accept", "content": {"x": 1}}});
    assert_eq!(
        t.update(first.as_object().unwrap_or(&Map::new()), 3_000, 500),
        UpdateEffect::Partial
    );
    assert_eq!(t.status, TaskStatus::InputRequired);
    assert_eq!(t.state.input_requests.keys().collect::<Vec<_>>(), ["b"]);
    // An answer to an already answered key is ignored, not overwritten.
    let again = json!({"a": {"action": "decline"}});
    assert_eq!(
        t.update(again.as_object().unwrap_or(&Map::new()), 3_100, 500),
        UpdateEffect::Ignored
    );
    let second = json!({"b": {"action": "accept"}});
    assert_eq!(
        t.update(second.as_object().unwrap_or(&Map::new()), 3_200, 500),
        UpdateEffect::Resume
    );
    assert_eq!(t.status, TaskStatus::Working);
    assert_eq!(t.state.lease_until_ms, Some(3_700));
    assert_eq!(
        t.state.answers.keys().collect::<Vec<_>>(),
        ["a", "b", "early"]
    );
    assert_eq!(t.state.answers["a"]["content"]["x"], 1);
    assert!(t.state.input_requests.is_empty());
    // Updates of a working or terminal task change nothing.
    assert_eq!(
        t.update(second.as_object().unwrap_or(&Map::new()), 3_300, 500),
        UpdateEffect::Ignored
    );
    t.finish(RunEnd::Completed(json!({})), 4_000);
    assert!(
        t.state.answers.is_empty(),
        "answers are dropped once the task is over"
    );
}

#[test]
fn a_lapsed_lease_fails_a_working_task() {
    let mut t = task();
    t.state.lease_until_ms = Some(5_000);
    assert!(!t.is_orphaned(4_999));
    assert!(!t.fail_orphaned(4_999));
    assert!(t.fail_orphaned(5_001));
    assert_eq!(t.status, TaskStatus::Failed);
    assert_eq!(t.state.error.as_ref().map(|e| e.code), Some(-32603));
    assert_eq!(t.state.lease_until_ms, None);
}

#[test]
fn wire_shapes_inline_only_the_field_of_the_status() {
    let mut t = task();
    t.state.poll_interval_ms = 250;
    let created = t.create_result();
    assert_eq!(created["resultType"], "task");
    assert_eq!(
        (created["taskId"].clone(), created["status"].clone()),
        (json!("t1"), json!("working"))
    );
    assert_eq!(
        (created["ttlMs"].clone(), created["pollIntervalMs"].clone()),
        (json!(60_000), json!(250))
    );
    assert_eq!(created["createdAt"], "1970-01-01T00:00:01.000Z");
    for absent in [
        "result",
        "error",
        "inputRequests",
        "requestState",
        "ttl",
        "pollInterval",
        "task",
    ] {
        assert!(created.get(absent).is_none(), "{absent}");
    }
    let mut waiting = task();
    waiting.finish(
        RunEnd::InputRequired {
            requests: requests(&["k"]),
            answers: Map::new(),
        },
        2_000,
    );
    let d = waiting.detailed();
    assert_eq!(d["status"], "input_required");
    assert_eq!(d["inputRequests"]["k"]["method"], "elicitation/create");
    assert!(d.get("result").is_none() && d.get("error").is_none() && d.get("resultType").is_none());
    let mut failed = task();
    failed.finish(RunEnd::Failed(ErrorObject::internal("boom")), 2_000);
    let d = failed.detailed();
    assert_eq!(
        (d["error"]["code"].clone(), d["statusMessage"].clone()),
        (json!(-32603), json!("Internal error: boom"))
    );
    assert!(d.get("result").is_none() && d.get("inputRequests").is_none());
    let mut done = task();
    done.finish(
        RunEnd::Completed(json!({"content": [], "isError": true})),
        2_000,
    );
    let d = done.detailed();
    assert_eq!(d["result"]["isError"], true);
    assert!(d.get("error").is_none());
}

#[test]
fn stored_records_round_trip() {
    let mut t = task();
    t.finish(
        RunEnd::InputRequired {
            requests: requests(&["k"]),
            answers: Map::new(),
        },
        2_000,
    );
    let back = Task::from_record(t.to_record());
    assert_eq!(back, Ok(t.clone()));
    let mut bad = t.to_record();
    bad.status = "sleeping".into();
    assert!(matches!(
        Task::from_record(bad),
        Err(TaskError::Internal(_))
    ));
}

#[test]
fn listen_task_ids_are_an_array_of_ids() {
    assert_eq!(requested_task_ids(&json!({})), Ok(None));
    assert_eq!(
        requested_task_ids(&json!({"notifications": {"toolsListChanged": true}})),
        Ok(None)
    );
    assert_eq!(
        requested_task_ids(&json!({"notifications": {"taskIds": ["a", "b", "a"]}})),
        Ok(Some(vec!["a".to_owned(), "b".to_owned()]))
    );
    for bad in [json!("a"), json!([1]), json!([""]), json!(vec!["x"; 65])] {
        assert!(requested_task_ids(&json!({"notifications": {"taskIds": bad}})).is_err());
    }
}
