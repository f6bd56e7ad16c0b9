//! `mcp-hive serve --stdio` as a real child process: the session lifecycle over stdin/stdout
//! (initialize, tools, log notifications and `logging/setLevel`, progress), server-to-client
//! requests (sampling, elicitation, roots) answered on stdin, cancellation, malformed lines,
//! the 2026-07-28 stateless lane, and end of input (answers still due are written, then exit 0).

mod common;

use common::stdio::StdioServer;
use common::tool_call;
use serde_json::{Value, json};
use std::time::Duration;

fn ping(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

#[tokio::test]
async fn session_round_trip_with_tools_logs_and_progress() {
    let mut s = StdioServer::start(&[]);
    let (early, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(early["error"]["code"], -32600, "before initialize: {early}");
    let result = s.initialize("2025-11-25", json!({})).await;
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert_eq!(result["serverInfo"]["name"], "mcp-hive");

    let (list, _) = s
        .call(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in ["add", "count", "test_sampling", "test_elicitation"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let (sum, _) = s.call(&tool_call(3, "add", json!({"a": 2, "b": 40}))).await;
    assert_eq!(sum["result"]["structuredContent"]["result"], 42, "{sum}");

    // Progress (the client asked for it) and log messages come before the result.
    let count = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "count", "arguments": {"number": 3, "intervalMs": 0},
        "_meta": {"progressToken": "p4"}}});
    let (done, seen) = s.call(&count).await;
    assert_eq!(done["result"]["content"][0]["text"], "Counted to 3");
    let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(
        methods
            .iter()
            .filter(|m| **m == "notifications/progress")
            .count(),
        3
    );
    assert_eq!(
        methods
            .iter()
            .filter(|m| **m == "notifications/message")
            .count(),
        3
    );

    // logging/setLevel applies to the session: no info messages at "error".
    let (set, _) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel",
            "params": {"level": "error"}}),
        )
        .await;
    assert_eq!(set["result"], json!({}));
    let (_, seen) = s.call(&count.clone()).await;
    assert!(
        seen.iter().all(|m| m["method"] != "notifications/message"),
        "{seen:?}"
    );
    // A tool closing "its SSE connection" (2025-11-25 polling) does not cut stdout.
    let (res, _) = s.call(&tool_call(6, "test_reconnection", json!({}))).await;
    assert!(res["result"]["content"].is_array(), "{res}");
    let (pong, _) = s.call(&ping(7)).await;
    assert_eq!(pong["result"], json!({}));
}

#[tokio::test]
async fn server_to_client_requests_are_answered_on_stdin() {
    let mut s = StdioServer::start(&[]);
    s.initialize(
        "2025-06-18",
        json!({"sampling": {}, "elicitation": {}, "roots": {}}),
    )
    .await;

    s.send(&tool_call(1, "test_sampling", json!({"prompt": "Hi?"})))
        .await;
    let ask = s.next().await.expect("sampling request");
    assert_eq!(ask["method"], "sampling/createMessage", "{ask}");
    assert_eq!(
        ask["params"]["messages"][0]["content"]["text"], "Hi?",
        "{ask}"
    );
    s.send(
        &json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"role": "assistant",
        "content": {"type": "text", "text": "Hello from the model"}, "model": "test"}}),
    )
    .await;
    let (res, _) = s.response(json!(1)).await;
    assert_eq!(
        res["result"]["content"][0]["text"],
        "LLM response: Hello from the model"
    );

    s.send(&tool_call(
        2,
        "test_elicitation",
        json!({"message": "Who?"}),
    ))
    .await;
    let ask = s.next().await.expect("elicitation request");
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    s.send(
        &json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept",
        "content": {"username": "ada", "email": "ada@example.com"}}}),
    )
    .await;
    let (res, _) = s.response(json!(2)).await;
    let text = res["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("ada"), "{res}");

    // A client error answer reaches the tool as well.
    s.send(&tool_call(3, "test_sampling", json!({"prompt": "again"})))
        .await;
    let ask = s.next().await.expect("sampling request");
    s.send(&json!({"jsonrpc": "2.0", "id": ask["id"],
        "error": {"code": -1, "message": "user rejected"}}))
        .await;
    let (res, _) = s.response(json!(3)).await;
    assert!(
        res["result"]["isError"] == true || res["error"].is_object(),
        "{res}"
    );
}

#[tokio::test]
async fn cancellation_stops_a_request_without_a_response() {
    let mut s = StdioServer::start(&[]);
    s.initialize("2025-11-25", json!({})).await;
    s.send(
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "count", "arguments": {"number": 50, "intervalMs": 200}}}),
    )
    .await;
    let first = s.next().await.expect("a log message of count");
    assert_eq!(first["method"], "notifications/message", "{first}");
    s.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "test"}}),
    )
    .await;
    let (pong, seen) = s.call(&ping(8)).await;
    assert_eq!(pong["result"], json!({}));
    assert!(
        seen.iter().all(|m| m.get("id") != Some(&json!(7))),
        "{seen:?}"
    );
    // Nothing more for request 7, and end of input does not wait for it.
    s.close_stdin();
    let mut rest = Vec::new();
    while let Some(m) = s.next().await {
        rest.push(m);
    }
    assert!(
        rest.iter()
            .all(|m| m.get("id") != Some(&json!(7)) && m["method"] != "notifications/message"),
        "{rest:?}"
    );
    let status = s.wait(Duration::from_secs(5)).await.expect("exits");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn malformed_lines_get_errors_and_the_server_keeps_reading() {
    let mut s = StdioServer::start(&[]);
    s.write_line("this is not json").await;
    let err = s.next().await.expect("parse error");
    assert_eq!(err["error"]["code"], -32700, "{err}");
    assert_eq!(err["id"], Value::Null);
    s.write_line(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#)
        .await;
    assert_eq!(s.next().await.expect("error")["error"]["code"], -32700);
    s.write_line(r#"[{"jsonrpc":"2.0","id":2,"method":"ping"}]"#)
        .await;
    assert_eq!(s.next().await.expect("error")["error"]["code"], -32600);
    s.write_line(r#"{"jsonrpc":"2.0","id":3}"#).await;
    let err = s.next().await.expect("invalid request");
    assert_eq!(err["error"]["code"], -32600, "{err}");
    s.write_line("").await;
    let result = s.initialize("2025-03-26", json!({})).await;
    assert_eq!(result["protocolVersion"], "2025-03-26");
    let (pong, seen) = s.call(&ping(4)).await;
    assert_eq!(pong["result"], json!({}));
    assert!(seen.is_empty(), "the blank line got no answer: {seen:?}");
}

#[tokio::test]
async fn end_of_input_writes_the_answers_due_and_exits_zero() {
    let mut s = StdioServer::start(&[]);
    // Pipelined without waiting, then stdin closes at once.
    s.send(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "pipe", "version": "1"}}}),
    )
    .await;
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    s.send(&tool_call(2, "add", json!({"a": 1, "b": 1}))).await;
    s.send(
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "count", "arguments": {"number": 3, "intervalMs": 100}}}),
    )
    .await;
    s.close_stdin();
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        out.push(m);
    }
    let ids: Vec<&Value> = out
        .iter()
        .filter(|m| m.get("method").is_none())
        .filter_map(|m| m.get("id"))
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2), &json!(3)], "{out:?}");
    assert!(out.iter().all(|m| m["jsonrpc"] == "2.0"));
    let status = s.wait(Duration::from_secs(5)).await.expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn stateless_requests_are_served_without_the_session() {
    let mut s = StdioServer::start(&[]);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    let (discover, _) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
            "params": {"_meta": meta}}),
        )
        .await;
    assert!(
        discover["result"]["supportedVersions"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("2026-07-28"))),
        "{discover}"
    );
    assert_eq!(discover["result"]["resultType"], "complete");
    let (sum, _) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "add", "arguments": {"a": 3, "b": 4}, "_meta": meta}}),
        )
        .await;
    assert_eq!(sum["result"]["structuredContent"]["result"], 7, "{sum}");
    let (bad, _) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01",
                "io.modelcontextprotocol/clientCapabilities": {}}}}),
        )
        .await;
    assert_eq!(bad["error"]["code"], -32022, "{bad}");
    // The session era still works in the same process.
    let result = s.initialize("2025-11-25", json!({})).await;
    assert_eq!(result["protocolVersion"], "2025-11-25");
}

#[tokio::test]
async fn stateless_rounds_and_subscriptions_over_stdio() {
    let mut s = StdioServer::start(&[]);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}});
    // A subscription shares stdout with everything else: its messages carry its id.
    s.send(
        &json!({"jsonrpc": "2.0", "id": "sub", "method": "subscriptions/listen",
        "params": {"_meta": meta, "notifications": {"toolsListChanged": true}}}),
    )
    .await;
    let ack = s.next().await.expect("acknowledgment");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "sub"
    );

    let tool = "test_input_required_result_multi_round";
    let call = |id: i64, extra: Value| {
        let mut params = json!({"name": tool, "arguments": {}, "_meta": meta});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    };
    let (r1, _) = s.call(&call(1, json!({}))).await;
    assert_eq!(r1["result"]["resultType"], "input_required", "{r1}");
    let state = r1["result"]["requestState"].clone();
    let (r2, _) = s
        .call(&call(
            2,
            json!({"requestState": state,
            "inputResponses": {"step1": {"action": "accept", "content": {"name": "Ada"}}}}),
        ))
        .await;
    let state = r2["result"]["requestState"].clone();
    assert!(r2["result"]["inputRequests"]["step2"].is_object(), "{r2}");
    let (r3, _) = s
        .call(&call(
            3,
            json!({"requestState": state,
            "inputResponses": {"step2": {"action": "accept", "content": {"color": "red"}}}}),
        ))
        .await;
    assert_eq!(
        r3["result"]["content"][0]["text"], "Multi-round complete for Ada who likes red",
        "{r3}"
    );
    let (bad, _) = s
        .call(&call(
            4,
            json!({"requestState": "v1.forged", "inputResponses": {}}),
        ))
        .await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");

    // A change reaches the subscription; end of input ends it with its completion result.
    let (t, seen) = s
        .call(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "test_trigger_tool_change", "arguments": {}, "_meta": meta}}),
        )
        .await;
    assert_eq!(t["result"]["resultType"], "complete");
    let mut all = seen;
    s.close_stdin();
    while let Some(m) = s.next().await {
        all.push(m);
    }
    let changed = all
        .iter()
        .find(|m| m["method"] == "notifications/tools/list_changed")
        .expect("tools/list_changed on the subscription");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "sub"
    );
    let done = all
        .iter()
        .find(|m| m["id"] == "sub")
        .expect("completion result");
    assert_eq!(done["result"]["resultType"], "complete");
    assert!(
        s.wait(Duration::from_secs(15))
            .await
            .is_some_and(|st| st.success())
    );
}
