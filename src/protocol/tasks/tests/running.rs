//! Running handlers as tasks: the sync window, `detach`, multi round-trip input before a task
//! (synchronous) and inside it (replayed on update), cancellation and panics.

use super::{service, service_with};
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::mrtr::Inputs;
use crate::protocol::server::{McpServer, Outcome, ServerInfo};
use crate::protocol::tasks::run::{Launch, Launched, Reserved, resume};
use crate::protocol::tasks::service::TaskService;
use crate::protocol::tasks::state::{Task, TaskStatus, UpdateEffect};
use crate::protocol::version::ProtocolVersion;
use crate::registry::Registry;
use crate::registry::tool::{CallToolResult, ToolSpec};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct NullPeer;

#[async_trait]
impl ClientPeer for NullPeer {
    async fn notify(&self, _m: &str, _p: Value) -> Result<(), PeerError> {
        Ok(())
    }
    async fn request(&self, _m: &str, _p: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery("none".into()))
    }
    fn log_level(&self) -> LogLevel {
        LogLevel::Emergency
    }
}

/// Sets its flag when dropped (the handler's future was dropped: it stopped).
struct Stopped(Arc<AtomicBool>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn ask(key: &str) -> (String, String, Value) {
    (
        key.to_owned(),
        "elicitation/create".to_owned(),
        json!({"message": key}),
    )
}

fn server(stopped: &Arc<AtomicBool>) -> McpServer {
    let r = Registry::new();
    let tool = |name: &str| ToolSpec::new(name, "test").input_schema(json!({"type": "object"}));
    let add = |def: Result<_, _>| r.add_tool(def.expect("tool"));
    add(tool("quick").build_raw(|_a: Value, _c| async { Ok(CallToolResult::text("quick")) }));
    add(tool("slow").build_raw(|_a: Value, _c| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(CallToolResult::text("slow"))
    }));
    add(
        tool("asks").build_raw(|_a: Value, c: RequestContext| async move {
            c.detach().await?;
            let a = c.inputs(vec![ask("one"), ask("two")]).await?;
            Ok(CallToolResult::text(format!("{}+{}", a[0]["v"], a[1]["v"])))
        }),
    );
    add(
        tool("prelude").build_raw(|_a: Value, c: RequestContext| async move {
            let name = c.input("name", "elicitation/create", json!({})).await?;
            c.detach().await?;
            Ok(CallToolResult::text(format!("hello {}", name["v"])))
        }),
    );
    let flag = Arc::clone(stopped);
    add(
        tool("endless").build_raw(move |_a: Value, c: RequestContext| {
            let guard = Stopped(Arc::clone(&flag));
            async move {
                c.detach().await?;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(guard);
                Ok(CallToolResult::text("never"))
            }
        }),
    );
    add(
        tool("panics").build_raw(|_a: Value, c: RequestContext| async move {
            c.detach().await?;
            panic!("deliberate test panic");
        }),
    );
    McpServer::new(r, ServerInfo::default(), 100)
}

fn launch(s: &TaskService, server: &McpServer, tool: &str, answers: Map<String, Value>) -> Launch {
    let inputs = Arc::new(Inputs::new(answers));
    let params = json!({"name": tool, "arguments": {}});
    let info = RequestInfo {
        request_id: RequestId::Number(1),
        session_id: None,
        protocol_version: ProtocolVersion::LATEST,
        client_capabilities: Arc::new(json!({"elicitation": {}})),
        principal: None,
    };
    let ctx = RequestContext::new(info, &params, CancellationToken::new(), Arc::new(NullPeer))
        .with_inputs(Arc::clone(&inputs));
    Launch {
        service: s.clone(),
        server: server.clone(),
        ctx,
        inputs,
        method: "tools/call".into(),
        params,
        owner: "alice".into(),
        shutdown: CancellationToken::new(),
    }
}

async fn settled(s: &TaskService, id: &str, status: TaskStatus) -> Task {
    for _ in 0..250 {
        let t = s.get("alice", id).await.expect("task");
        if t.status == status || t.status.is_terminal() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {id} never reached {status:?}");
}

fn created(l: Launched) -> Task {
    match l {
        Launched::Created(t) => *t,
        other => panic!("expected a task, got {other:?}"),
    }
}

#[tokio::test]
async fn fast_handlers_answer_synchronously_and_slow_ones_become_tasks() {
    let (s, stopped) = (service(), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    match launch(&s, &srv, "quick", Map::new()).run().await {
        Launched::Finished(Outcome::Result(r)) => assert_eq!(r["content"][0]["text"], "quick"),
        other => panic!("{other:?}"),
    }
    let task = created(launch(&s, &srv, "slow", Map::new()).run().await);
    assert_eq!(task.status, TaskStatus::Working);
    assert_eq!(task.state.params, json!({"name": "slow", "arguments": {}}));
    let done = settled(&s, &task.id, TaskStatus::Completed).await;
    assert_eq!(
        done.state.result.as_ref().map(|r| r["resultType"].clone()),
        Some(json!("complete"))
    );
    assert_eq!(done.detailed()["result"]["content"][0]["text"], "slow");
}

#[tokio::test]
async fn input_before_detach_is_synchronous_and_its_answers_follow_the_task() {
    let (s, stopped) = (service(), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    let l = launch(&s, &srv, "prelude", Map::new());
    let inputs = Arc::clone(&l.inputs);
    assert!(matches!(l.run().await, Launched::Finished(_)));
    assert_eq!(
        inputs
            .pending()
            .map(|p| p.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["name".to_owned()])
    );
    let mut answers = Map::new();
    answers.insert("name".into(), json!({"v": "Ada"}));
    let task = created(launch(&s, &srv, "prelude", answers).run().await);
    assert_eq!(task.state.answers.keys().collect::<Vec<_>>(), ["name"]);
    let done = settled(&s, &task.id, TaskStatus::Completed).await;
    assert_eq!(
        done.detailed()["result"]["content"][0]["text"],
        "hello \"Ada\""
    );
}

#[tokio::test]
async fn input_inside_a_task_is_replayed_after_the_last_answer() {
    let (s, stopped) = (service(), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    let task = created(launch(&s, &srv, "asks", Map::new()).run().await);
    let waiting = settled(&s, &task.id, TaskStatus::InputRequired).await;
    assert_eq!(
        waiting.state.input_requests.keys().collect::<Vec<_>>(),
        ["one", "two"]
    );
    let one: Map<String, Value> = [("one".to_owned(), json!({"v": 1}))].into_iter().collect();
    let (effect, _) = s.update("alice", &task.id, &one).await.unwrap();
    assert_eq!(effect, UpdateEffect::Partial);
    let two: Map<String, Value> = [("two".to_owned(), json!({"v": 2}))].into_iter().collect();
    let reserved = Reserved::take(&s, &task.id).expect("a free place");
    let (effect, working) = s.update("alice", &task.id, &two).await.unwrap();
    assert_eq!(effect, UpdateEffect::Resume);
    resume(
        s.clone(),
        srv.clone(),
        &working,
        None,
        reserved,
        CancellationToken::new(),
    );
    let done = settled(&s, &task.id, TaskStatus::Completed).await;
    assert_eq!(done.detailed()["result"]["content"][0]["text"], "1+2");
}

#[tokio::test]
async fn cancellation_stops_the_running_handler() {
    let (s, stopped) = (service(), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    let task = created(launch(&s, &srv, "endless", Map::new()).run().await);
    assert!(!stopped.load(Ordering::SeqCst));
    s.cancel("alice", &task.id).await.unwrap();
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stopped.load(Ordering::SeqCst), "the handler was dropped");
    assert_eq!(
        s.get("alice", &task.id).await.unwrap().status,
        TaskStatus::Cancelled
    );
}

#[tokio::test]
async fn a_panicking_handler_fails_its_task_and_shutdown_fails_running_ones() {
    let (s, stopped) = (service(), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    let task = created(launch(&s, &srv, "panics", Map::new()).run().await);
    let failed = settled(&s, &task.id, TaskStatus::Failed).await;
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.state.error.map(|e| e.code), Some(-32603));
    let l = launch(&s, &srv, "endless", Map::new());
    let shutdown = l.shutdown.clone();
    let task = created(l.run().await);
    shutdown.cancel();
    let failed = settled(&s, &task.id, TaskStatus::Failed).await;
    assert!(
        failed
            .state
            .status_message
            .unwrap_or_default()
            .contains("shut down")
    );
}

#[tokio::test]
async fn beyond_max_running_calls_run_synchronously_and_updates_wait() {
    let (s, stopped) = (service_with(1), Arc::new(AtomicBool::new(false)));
    let srv = server(&stopped);
    let first = created(launch(&s, &srv, "endless", Map::new()).run().await);
    // The only place is taken: a slow call is answered synchronously, and no resume can start.
    match launch(&s, &srv, "slow", Map::new()).run().await {
        Launched::Finished(Outcome::Result(r)) => assert_eq!(r["content"][0]["text"], "slow"),
        other => panic!("expected a synchronous answer, got {other:?}"),
    }
    assert!(Reserved::take(&s, &first.id).is_none());
    s.cancel("alice", &first.id).await.unwrap();
    for _ in 0..100 {
        if Reserved::take(&s, &first.id).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the place was not released when the run ended");
}
