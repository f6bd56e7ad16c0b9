//! The tasks extension `io.modelcontextprotocol/tasks` (SEP-2663) black-box, against real
//! `mcp-hive serve` processes speaking 2026-07-28: a whole lifecycle on one server (creation,
//! polling, input inside a task, multi round-trip before a task, cancellation, tool and
//! protocol errors), the error codes, two replicas on one `redis-server` (get, update, cancel
//! and notifications on the other replica; a killed replica's task fails when its lease lapses),
//! and the binding of tasks to their principal. `tests/tasks_cross_replica.rs` shows, through
//! the library, a cancellation on one replica stopping the handler running on another.

mod common;

use common::auth_server::{AuthServer, SigningKey, now, unique_jti};
use common::modern::{Modern, Reply, send};
use common::{RedisServer, SseReader, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const EXT: &str = "io.modelcontextprotocol/tasks";

fn opted_in(url: &str) -> Modern {
    Modern::new(url, json!({"elicitation": {}, "extensions": {EXT: {}}}))
}

/// `tasks/get|update|cancel` with `Mcp-Name: <taskId>`.
async fn task_call(m: &Modern, method: &str, task_id: &str, extra: Value) -> Reply {
    let mut params = json!({"taskId": task_id});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    send(
        m.request(7, method, params, json!({}))
            .header("Mcp-Name", task_id),
    )
    .await
}

/// Polls `tasks/get` until the status is `want` (or terminal); returns the task.
async fn wait_for(m: &Modern, task_id: &str, want: &str) -> Value {
    for _ in 0..150 {
        let r = task_call(m, "tasks/get", task_id, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let task = r.body["result"].clone();
        let status = task["status"].as_str().unwrap_or_default().to_owned();
        if status == want || ["completed", "failed", "cancelled"].contains(&status.as_str()) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {task_id} never reached {want}");
}

/// Creates a task with a tool call and returns its id.
async fn create(m: &Modern, tool: &str, arguments: Value) -> String {
    let r = m.tool(1, tool, json!({"arguments": arguments})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let result = &r.body["result"];
    assert_eq!(result["resultType"], "task", "{result}");
    result["taskId"].as_str().expect("taskId").to_owned()
}

fn code(r: &Reply) -> i64 {
    r.body["error"]["code"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn tasks_run_their_lifecycle_on_one_server() {
    let server = TestServer::start(&[]).await;
    let m = opted_in(&server.mcp);
    let discovered = m.call(1, "server/discover", json!({})).await;
    assert_eq!(
        discovered.body["result"]["capabilities"]["extensions"][EXT],
        json!({})
    );

    // Creation: a flat CreateTaskResult, readable at once, completed later.
    let r = m
        .tool(2, "slow_compute", json!({"arguments": {"seconds": 1}}))
        .await;
    let created = &r.body["result"];
    assert_eq!(
        (created["resultType"].clone(), created["status"].clone()),
        (json!("task"), json!("working"))
    );
    assert_eq!(
        (created["ttlMs"].clone(), created["pollIntervalMs"].clone()),
        (json!(3_600_000), json!(500))
    );
    let id = created["taskId"].as_str().expect("taskId").to_owned();
    assert_eq!(id.len(), 36, "a UUID");
    let got = task_call(&m, "tasks/get", &id, json!({})).await;
    assert_eq!(
        (
            got.body["result"]["status"].clone(),
            got.body["result"]["resultType"].clone()
        ),
        (json!("working"), json!("complete"))
    );
    let done = wait_for(&m, &id, "completed").await;
    assert_eq!(done["status"], "completed");
    assert!(
        done["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("done after 1")
    );
    // A quick call is answered at once.
    let quick = m
        .tool(3, "slow_compute", json!({"arguments": {"seconds": 0}}))
        .await;
    assert_eq!(quick.body["result"]["resultType"], "complete");

    // Input inside a task: input_required, tasks/update, replay, completed.
    let id = create(&m, "confirm_delete", json!({"filename": "a.txt"})).await;
    let waiting = wait_for(&m, &id, "input_required").await;
    assert_eq!(
        waiting["inputRequests"]["confirm_delete"]["method"],
        "elicitation/create"
    );
    let answer = json!({"inputResponses": {"confirm_delete": {"action": "accept", "content": {"confirm": true}}}});
    let ack = task_call(&m, "tasks/update", &id, answer).await;
    assert_eq!(ack.status, StatusCode::OK);
    assert_eq!(ack.body["result"]["resultType"], "complete");
    assert!(ack.body["result"].get("status").is_none());
    let done = wait_for(&m, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "Deleted a.txt");

    // Tool errors complete with isError; protocol errors fail with the JSON-RPC error.
    let id = create(&m, "failing_job", json!({})).await;
    assert_eq!(
        wait_for(&m, &id, "completed").await["result"]["isError"],
        true
    );
    let id = create(&m, "protocol_error_job", json!({})).await;
    let failed = wait_for(&m, &id, "failed").await;
    assert_eq!(
        (failed["status"].clone(), failed["error"]["code"].clone()),
        (json!("failed"), json!(-32603))
    );

    // Cancellation settles at once; cancelling again is an idempotent ack.
    let id = create(&m, "slow_compute", json!({"seconds": 60})).await;
    for _ in 0..2 {
        let ack = task_call(&m, "tasks/cancel", &id, json!({})).await;
        assert_eq!(
            (ack.status, ack.body["result"]["resultType"].clone()),
            (StatusCode::OK, json!("complete"))
        );
    }
    assert_eq!(wait_for(&m, &id, "cancelled").await["status"], "cancelled");

    // Multi round-trip before the task, then the task carries the answer.
    let r1 = m.tool(4, "test_tool_with_task", json!({})).await;
    assert_eq!(r1.body["result"]["resultType"], "input_required");
    assert!(r1.body["result"].get("taskId").is_none());
    let r2 = m
        .tool(
            5,
            "test_tool_with_task",
            json!({
            "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
            "requestState": r1.body["result"]["requestState"]}),
        )
        .await;
    assert_eq!(r2.body["result"]["resultType"], "task", "{}", r2.body);
    assert!(r2.body["result"].get("requestState").is_none());
    let id = r2.body["result"]["taskId"]
        .as_str()
        .expect("taskId")
        .to_owned();
    let done = wait_for(&m, &id, "completed").await;
    assert!(
        done["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Alice")
    );
}

#[tokio::test]
async fn task_errors_carry_the_spec_codes() {
    let server = TestServer::start(&[]).await;
    let m = opted_in(&server.mcp);
    let plain = Modern::new(&server.mcp, json!({"elicitation": {}}));
    let unknown = task_call(&m, "tasks/get", "no-such-task", json!({})).await;
    assert_eq!(
        (unknown.status, code(&unknown)),
        (StatusCode::BAD_REQUEST, -32602)
    );
    for method in ["tasks/get", "tasks/cancel"] {
        let r = task_call(&plain, method, "no-such-task", json!({})).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::BAD_REQUEST, -32021),
            "{method}"
        );
        assert_eq!(
            r.body["error"]["data"]["requiredCapabilities"]["extensions"][EXT],
            json!({})
        );
    }
    // A tool that requires tasks refuses clients without the extension; an optional one runs.
    let r = plain.tool(1, "failing_job", json!({})).await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, -32021));
    let r = plain
        .tool(2, "slow_compute", json!({"arguments": {"seconds": 0.2}}))
        .await;
    assert_eq!(r.body["result"]["resultType"], "complete");
    assert!(r.body["result"].get("taskId").is_none());
    // Routing headers: Mcp-Name must mirror taskId.
    let id = create(&m, "slow_compute", json!({"seconds": 30})).await;
    let params = json!({"taskId": id});
    let wrong = send(
        m.request(3, "tasks/get", params.clone(), json!({}))
            .header("Mcp-Name", "other"),
    )
    .await;
    assert_eq!(
        (wrong.status, code(&wrong)),
        (StatusCode::BAD_REQUEST, -32020)
    );
    let missing = send(m.request(4, "tasks/get", params, json!({}))).await;
    assert_eq!(
        (missing.status, code(&missing)),
        (StatusCode::BAD_REQUEST, -32020)
    );
    let r = task_call(&m, "tasks/update", &id, json!({})).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, -32602),
        "inputResponses required"
    );
    // Removed v1 methods.
    for method in ["tasks/list", "tasks/result"] {
        let r = task_call(&m, method, &id, json!({})).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::NOT_FOUND, -32601),
            "{method}"
        );
    }
    let listen = plain
        .call(
            5,
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
        )
        .await;
    assert_eq!(
        (listen.status, code(&listen)),
        (StatusCode::BAD_REQUEST, -32021)
    );
    task_call(&m, "tasks/cancel", &id, json!({})).await;
}

fn replica_env(redis: &RedisServer, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", redis.url()),
        ("MCP_STATE_KEY", key.to_owned()),
        ("MCP_HIVE__STORE__POOL_SIZE", "4".to_owned()),
        ("MCP_HIVE__TASKS__LEASE_SECS", "1".to_owned()),
    ]
}

async fn start(env: &[(&'static str, String)]) -> TestServer {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestServer::start(&env).await
}

#[tokio::test]
async fn replicas_share_tasks_through_redis() {
    let redis = RedisServer::start();
    let env = replica_env(&redis, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let (r1, r2) = (start(&env).await, start(&env).await);
    let (m1, m2) = (opted_in(&r1.mcp), opted_in(&r2.mcp));

    // Created on replica 1, read at once on replica 2.
    let id = create(&m1, "slow_compute", json!({"seconds": 1})).await;
    let got = task_call(&m2, "tasks/get", &id, json!({})).await;
    assert_eq!(got.body["result"]["status"], "working");
    // Replica 2 listens; the change made by replica 1's run reaches it over the bus.
    let mut listen: SseReader = m2
        .stream(
            9,
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
            json!({}),
        )
        .await;
    let ack = listen
        .until(Duration::from_secs(5), |m| {
            m["method"] == "notifications/subscriptions/acknowledged"
        })
        .await;
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([id]));
    let done = listen
        .until(Duration::from_secs(10), |m| {
            m["method"] == "notifications/tasks" && m["params"]["status"] == "completed"
        })
        .await;
    assert_eq!(
        done["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        9
    );
    drop(listen);

    // Input asked on replica 1, answered on replica 2 (which replays the handler), seen on 1.
    let id = create(&m1, "multi_input", json!({})).await;
    let waiting = wait_for(&m2, &id, "input_required").await;
    assert_eq!(
        waiting["inputRequests"].as_object().map(|o| o.len()),
        Some(2)
    );
    let answers = json!({"inputResponses": {
        "multi_name": {"action": "accept", "content": {"name": "Ada"}},
        "multi_confirm": {"action": "accept", "content": {"confirm": true}}}});
    assert_eq!(
        task_call(&m2, "tasks/update", &id, answers).await.status,
        StatusCode::OK
    );
    let done = wait_for(&m1, &id, "completed").await;
    assert_eq!(
        done["result"]["content"][0]["text"],
        "name: Ada, confirmed: true"
    );

    // Cancelled on replica 2 while running on replica 1.
    let id = create(&m1, "slow_compute", json!({"seconds": 60})).await;
    assert_eq!(
        task_call(&m2, "tasks/cancel", &id, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(wait_for(&m1, &id, "cancelled").await["status"], "cancelled");

    // Replica 1 dies mid-task: once its lease (1 s here) lapses, replica 2 reports the failure.
    let id = create(&m1, "slow_compute", json!({"seconds": 60})).await;
    r1.kill().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let failed = wait_for(&m2, &id, "failed").await;
    assert_eq!(
        (failed["status"].clone(), failed["error"]["code"].clone()),
        (json!("failed"), json!(-32603))
    );
}

#[tokio::test]
async fn tasks_are_bound_to_their_principal_on_every_replica() {
    const PUBLIC_URL: &str = "https://mcp.example.com";
    let redis = RedisServer::start();
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let mut env = replica_env(&redis, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    env.extend([
        ("DISABLE_AUTH", "false".to_owned()),
        ("AUTH_TOKEN_MODE", "jwt".to_owned()),
        ("OAUTH_SERVER_URL", auth.base.clone()),
        ("PUBLIC_URL", PUBLIC_URL.to_owned()),
    ]);
    let (r1, r2) = (start(&env).await, start(&env).await);
    let token = |sub: &str| {
        key.sign(
            &json!({"iss": auth.base, "aud": format!("{PUBLIC_URL}/mcp"), "sub": sub,
            "client_id": "app-1", "scope": "mcp:tools", "exp": now() + 600, "jti": unique_jti()}),
        )
    };
    let alice1 = opted_in(&r1.mcp).with_token(&token("alice"));
    let alice2 = opted_in(&r2.mcp).with_token(&token("alice"));
    let bob2 = opted_in(&r2.mcp).with_token(&token("bob"));

    let id = create(&alice1, "confirm_delete", json!({"filename": "secret.txt"})).await;
    wait_for(&alice2, &id, "input_required").await;
    let unknown = task_call(&bob2, "tasks/get", "no-such-task", json!({})).await;
    let answer = json!({"inputResponses": {"confirm_delete": {"action": "accept", "content": {"confirm": true}}}});
    for (method, extra) in [
        ("tasks/get", json!({})),
        ("tasks/update", answer.clone()),
        ("tasks/cancel", json!({})),
    ] {
        let r = task_call(&bob2, method, &id, extra).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method}");
        assert_eq!(
            r.body["error"], unknown.body["error"],
            "{method}: same answer as an unknown task"
        );
    }
    // Bob could not listen to it either (not granted), and his attempts changed nothing.
    let mut listen = bob2
        .stream(
            3,
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
            json!({}),
        )
        .await;
    let ack = listen
        .until(Duration::from_secs(5), |m| {
            m["method"] == "notifications/subscriptions/acknowledged"
        })
        .await;
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([]));
    drop(listen);
    assert_eq!(
        wait_for(&alice2, &id, "input_required").await["status"],
        "input_required"
    );
    assert_eq!(
        task_call(&alice2, "tasks/update", &id, answer).await.status,
        StatusCode::OK
    );
    assert_eq!(
        wait_for(&alice1, &id, "completed").await["result"]["content"][0]["text"],
        "Deleted secret.txt"
    );
}
