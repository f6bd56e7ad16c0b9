//! MCP methods end to end: negotiation, tools with validation and structured output, pagination,
//! resources, prompts, completion and logging levels.

mod common;

use common::{Client, TestServer, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn version_negotiation() {
    let server = TestServer::start(&[]).await;
    for (asked, expected) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2024-11-05"),
        ("2099-01-01", "2025-11-25"),
    ] {
        let mut c = Client::new(&server);
        let init = c.initialize(asked, json!({})).await;
        assert_eq!(init["result"]["protocolVersion"], expected, "{asked}");
        let caps = &init["result"]["capabilities"];
        assert!(
            caps["tools"].is_object()
                && caps["resources"]["subscribe"] == true
                && caps["logging"].is_object()
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "mcp-hive");
    }
    // Bad initialize params: JSON-RPC -32602, and no session is minted.
    let c = Client::new(&server);
    let res = c
        .post(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("mcp-session-id").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn demo_tools() {
    let server = TestServer::start(&[("MCP_CONFORMANCE_FIXTURES", "false")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (list, _) = c
        .call(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["add", "multiply", "greet", "count", "whoami", "notify"]
    );
    let (who, _) = c.call(&tool_call(9, "whoami", json!({}))).await;
    assert_eq!(
        who["result"]["structuredContent"],
        json!({"authenticated": false, "issuer": null, "subject": null, "client_id": null, "scopes": []}),
        "with auth disabled the caller is anonymous: {who}"
    );
    let add = &list["result"]["tools"][0];
    assert_eq!(add["inputSchema"]["type"], "object");
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    assert!(add["outputSchema"]["properties"]["result"].is_object());

    let (r, _) = c
        .call(&tool_call(2, "add", json!({"a": 2, "b": 3.5})))
        .await;
    assert_eq!(r["result"]["structuredContent"], json!({"result": 5.5}));
    assert_eq!(
        r["result"]["content"][0]["text"],
        "The sum of 2 and 3.5 is 5.5"
    );
    let (r, _) = c
        .call(&tool_call(3, "multiply", json!({"a": -4, "b": 2.5})))
        .await;
    assert_eq!(r["result"]["structuredContent"]["result"], -10.0);
    let (r, _) = c
        .call(&tool_call(4, "greet", json!({"name": "Elin"})))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "Hello, Elin!");
    assert!(r["result"].get("isError").is_none());

    let mut body = tool_call(5, "count", json!({"number": 4, "intervalMs": 0}));
    body["params"]["_meta"] = json!({"progressToken": 77});
    let (r, seen) = c.call(&body).await;
    assert_eq!(r["result"]["content"][0]["text"], "Counted to 4");
    let progress: Vec<&Value> = seen
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 4);
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(
            p["params"]["progressToken"], 77,
            "token echoed with its JSON type"
        );
        assert_eq!(p["params"]["progress"], json!(i + 1));
        assert_eq!(p["params"]["total"], json!(4));
    }
    let logs = seen
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .count();
    assert_eq!(logs, 4);
    // Without a progress token there is no progress notification.
    let (_, seen) = c
        .call(&tool_call(
            6,
            "count",
            json!({"number": 2, "intervalMs": 0}),
        ))
        .await;
    assert!(seen.iter().all(|m| m["method"] != "notifications/progress"));
}

#[tokio::test]
async fn tool_input_validation_per_revision() {
    let server = TestServer::start(&[]).await;
    let mut new = Client::new(&server);
    new.initialize("2025-11-25", json!({})).await;
    // 2025-11-25: validation failures are tool errors the model can read (SEP-1303).
    let (r, _) = new
        .call(&tool_call(1, "add", json!({"a": "two", "b": 3})))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Invalid arguments")
    );
    let (r, _) = new.call(&tool_call(2, "count", json!({"number": 0}))).await;
    assert_eq!(r["result"]["isError"], true);
    let (r, _) = new
        .call(&tool_call(3, "greet", json!({"name": "  "})))
        .await;
    assert_eq!(
        r["result"]["isError"], true,
        "execution errors are isError results"
    );

    let mut old = Client::new(&server);
    old.initialize("2025-06-18", json!({})).await;
    let (r, _) = old.call(&tool_call(4, "add", json!({"a": 1}))).await;
    assert_eq!(r["error"]["code"], -32602);
    // Unknown tool and malformed arguments are protocol errors in every revision.
    let (r, _) = new.call(&tool_call(5, "nope", json!({}))).await;
    assert_eq!(r["error"]["code"], -32602);
    let (r, _) = new.call(&json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"add","arguments":[1]}})).await;
    assert_eq!(r["error"]["code"], -32602);

    // 2025-03-26 predates structured output: no outputSchema, no structuredContent.
    let mut oldest = Client::new(&server);
    oldest.initialize("2025-03-26", json!({})).await;
    let (list, _) = oldest
        .call(&json!({"jsonrpc":"2.0","id":7,"method":"tools/list"}))
        .await;
    assert!(list["result"]["tools"][0].get("outputSchema").is_none());
    let (r, _) = oldest
        .call(&tool_call(8, "add", json!({"a": 1, "b": 1})))
        .await;
    assert!(r["result"].get("structuredContent").is_none());
    assert_eq!(r["result"]["content"][0]["text"], "The sum of 1 and 1 is 2");
}

#[tokio::test]
async fn pagination_cursors() {
    let server = TestServer::start(&[("MCP_HIVE__PROTOCOL__PAGE_SIZE", "3")]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut names = Vec::new();
    let mut cursor: Option<Value> = None;
    for id in 1..50 {
        let mut params = json!({});
        if let Some(cur) = &cursor {
            params["cursor"] = cur.clone();
        }
        let (_, body) = c
            .call_json(&json!({"jsonrpc":"2.0","id":id,"method":"tools/list","params":params}))
            .await;
        let page = body["result"]["tools"].as_array().unwrap();
        assert!(page.len() <= 3);
        names.extend(page.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match body["result"].get("nextCursor") {
            Some(n) => cursor = Some(n.clone()),
            None => break,
        }
    }
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "no duplicates across pages");
    assert!(
        total > 3
            && names.contains(&"count".to_owned())
            && names.contains(&"test_simple_text".to_owned())
    );
    let (_, body) = c
        .call_json(
            &json!({"jsonrpc":"2.0","id":99,"method":"tools/list","params":{"cursor":"garbage!"}}),
        )
        .await;
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn resources_prompts_completion() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (r, _) = c.call(&json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://template/123/data"}})).await;
    assert!(
        r["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("123")
    );
    let (r, _) = c.call(&json!({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"test://missing"}})).await;
    assert_eq!(r["error"]["code"], -32002);
    let (_, t) = c
        .call_json(&json!({"jsonrpc":"2.0","id":3,"method":"resources/templates/list"}))
        .await;
    assert_eq!(
        t["result"]["resourceTemplates"][0]["uriTemplate"],
        "test://template/{id}/data"
    );
    let (_, s) = c.call_json(&json!({"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"test://nope"}})).await;
    assert_eq!(s["error"]["code"], -32002);
    let (_, s) = c.call_json(&json!({"jsonrpc":"2.0","id":5,"method":"resources/subscribe","params":{"uri":"demo://clock"}})).await;
    assert_eq!(s["result"], json!({}));

    let (r, _) = c.call(&json!({"jsonrpc":"2.0","id":6,"method":"prompts/get","params":{"name":"test_prompt_with_arguments","arguments":{"arg1":"x1","arg2":"y2"}}})).await;
    let text = r["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("x1") && text.contains("y2"));
    let (r, _) = c.call(&json!({"jsonrpc":"2.0","id":7,"method":"prompts/get","params":{"name":"test_prompt_with_arguments","arguments":{"arg1":"x"}}})).await;
    assert_eq!(r["error"]["code"], -32602, "missing required argument");
    let (_, comp) = c.call_json(&json!({"jsonrpc":"2.0","id":8,"method":"completion/complete","params":{
        "ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"tes"}}})).await;
    assert_eq!(
        comp["result"]["completion"]["values"],
        json!(["test", "testing", "tested"])
    );
}

#[tokio::test]
async fn logging_level_filters_messages() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let (status, body) = c
        .call_json(
            &json!({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"bogus"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["code"], -32602);
    let (_, body) = c.call_json(&json!({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"warning"}})).await;
    assert_eq!(body["result"], json!({}));
    let (_, seen) = c
        .call(&tool_call(3, "test_tool_with_logging", json!({})))
        .await;
    assert_eq!(
        seen.iter()
            .filter(|m| m["method"] == "notifications/message")
            .count(),
        0
    );
    c.call_json(
        &json!({"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"debug"}}),
    )
    .await;
    let (_, seen) = c
        .call(&tool_call(5, "test_tool_with_logging", json!({})))
        .await;
    assert_eq!(
        seen.iter()
            .filter(|m| m["method"] == "notifications/message")
            .count(),
        3
    );
}
