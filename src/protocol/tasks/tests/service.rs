//! Store-backed operations: owner binding, compare-and-set between writers, cancellation
//! signals on the bus, orphaned runs.

use super::service;
use crate::protocol::tasks::TaskError;
use crate::protocol::tasks::service::{CANCEL_SIGNAL, CHANGED_SIGNAL, new_task_id};
use crate::protocol::tasks::state::{RunEnd, TaskState, TaskStatus, UpdateEffect};
use serde_json::{Map, Value, json};

fn state() -> TaskState {
    TaskState {
        method: "tools/call".into(),
        params: json!({"name": "t", "arguments": {}}),
        ..TaskState::default()
    }
}

fn responses(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn tasks_are_visible_to_their_owner_only() {
    let s = service();
    let id = new_task_id();
    let created = s.create(id.clone(), "alice".into(), state()).await.unwrap();
    assert_eq!(created.status, TaskStatus::Working);
    assert_eq!(created.ttl_ms, 60_000);
    assert_eq!(created.state.poll_interval_ms, 100);
    assert!(created.state.lease_until_ms.is_some());
    assert_eq!(s.get("alice", &id).await.unwrap().id, id);
    // Another principal gets exactly what an unknown id gets, for every operation.
    assert_eq!(s.get("bob", &id).await, Err(TaskError::NotFound));
    assert_eq!(s.get("alice", "nope").await, Err(TaskError::NotFound));
    assert_eq!(s.cancel("bob", &id).await, Err(TaskError::NotFound));
    let r = responses(json!({"k": {}}));
    assert_eq!(
        s.update("bob", &id, &r).await.map(|(e, _)| e),
        Err(TaskError::NotFound)
    );
    assert_eq!(
        s.get("alice", &id).await.unwrap().status,
        TaskStatus::Working
    );
    assert_ne!(new_task_id(), new_task_id());
}

#[tokio::test]
async fn cancel_settles_the_task_and_signals_its_runner() {
    let s = service();
    let id = new_task_id();
    let mut signals = s.signals(&id);
    s.create(id.clone(), "alice".into(), state()).await.unwrap();
    s.cancel("alice", &id).await.unwrap();
    assert_eq!(&*signals.recv().await.unwrap(), CANCEL_SIGNAL);
    assert_eq!(
        s.get("alice", &id).await.unwrap().status,
        TaskStatus::Cancelled
    );
    // The runner's late outcome is refused; cancelling again is an idempotent no-op.
    assert_eq!(s.finish(&id, RunEnd::Completed(json!({}))).await, Ok(false));
    s.cancel("alice", &id).await.unwrap();
    assert!(signals.try_recv().is_err(), "no second signal");
    assert_eq!(
        s.get("alice", &id).await.unwrap().status,
        TaskStatus::Cancelled
    );
}

#[tokio::test]
async fn input_rounds_go_through_the_store() {
    let s = service();
    let id = new_task_id();
    let mut signals = s.signals(&id);
    s.create(id.clone(), "alice".into(), state()).await.unwrap();
    let mut requests = Map::new();
    requests.insert(
        "a".into(),
        json!({"method": "elicitation/create", "params": {}}),
    );
    requests.insert(
        "b".into(),
        json!({"method": "elicitation/create", "params": {}}),
    );
    let end = RunEnd::InputRequired {
        requests,
        answers: Map::new(),
    };
    assert_eq!(s.finish(&id, end).await, Ok(true));
    assert_eq!(&*signals.recv().await.unwrap(), CHANGED_SIGNAL);
    let got = s.get("alice", &id).await.unwrap();
    assert_eq!(got.status, TaskStatus::InputRequired);
    assert_eq!(
        got.detailed()["inputRequests"].as_object().map(Map::len),
        Some(2)
    );
    let (effect, _) = s
        .update("alice", &id, &responses(json!({"x": {}})))
        .await
        .unwrap();
    assert_eq!(effect, UpdateEffect::Ignored);
    let (effect, _) = s
        .update("alice", &id, &responses(json!({"a": {"v": 1}})))
        .await
        .unwrap();
    assert_eq!(effect, UpdateEffect::Partial);
    let (effect, task) = s
        .update("alice", &id, &responses(json!({"b": {"v": 2}})))
        .await
        .unwrap();
    assert_eq!(effect, UpdateEffect::Resume);
    assert_eq!(task.status, TaskStatus::Working);
    assert_eq!(task.state.answers.len(), 2);
    // A second, concurrent update of the same answers does not resume it again.
    let (effect, _) = s
        .update("alice", &id, &responses(json!({"b": {"v": 2}})))
        .await
        .unwrap();
    assert_eq!(effect, UpdateEffect::Ignored);
}

#[tokio::test]
async fn concurrent_writers_never_lose_a_change() {
    let s = service();
    let id = new_task_id();
    s.create(id.clone(), "alice".into(), state()).await.unwrap();
    // Lease renewals race a cancellation: the cancellation always sticks.
    let renewals = (0..20).map(|_| {
        let (s, id) = (s.clone(), id.clone());
        tokio::spawn(async move { s.renew_lease(&id).await })
    });
    let cancel = {
        let (s, id) = (s.clone(), id.clone());
        tokio::spawn(async move { s.cancel("alice", &id).await })
    };
    for r in renewals {
        assert!(r.await.unwrap().is_ok());
    }
    assert_eq!(cancel.await.unwrap(), Ok(()));
    assert_eq!(
        s.get("alice", &id).await.unwrap().status,
        TaskStatus::Cancelled
    );
    assert_eq!(s.renew_lease(&id).await, Ok(TaskStatus::Cancelled));
}

#[tokio::test]
async fn a_task_whose_runner_vanished_fails_when_read() {
    let s = service();
    let id = new_task_id();
    s.create(id.clone(), "alice".into(), state()).await.unwrap();
    // Nobody renews the lease (600 ms in these tests).
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let got = s.get("alice", &id).await.unwrap();
    assert_eq!(got.status, TaskStatus::Failed);
    assert_eq!(got.state.error.map(|e| e.code), Some(-32603));
}
