//! Requests in flight: `notifications/cancelled` stops one without a response, and
//! server-to-client requests (elicitation, sampling) are answered by POST.

use super::*;

#[tokio::test]
async fn cancellation_stops_the_request_without_a_response() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({})).await;
    let mut body = tool_call(42, "count", json!({"number": 1000, "intervalMs": 50}));
    body["params"]["_meta"] = json!({"progressToken": 1});
    let mut sse = c.post_stream(&body).await;
    sse.next(WAIT).await.unwrap();
    sse.next(WAIT).await.unwrap();
    let res = c
        .post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":42,"reason":"test"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let rest = sse.collect(Duration::from_secs(3)).await;
    assert!(
        rest.len() < 20,
        "work stopped promptly ({} more events)",
        rest.len()
    );
    assert!(
        rest.iter()
            .filter_map(|e| e.json())
            .all(|m| m.get("result").is_none() && m.get("error").is_none()),
        "no response for a cancelled request"
    );
    // The id is free again and the session still works.
    let (r, _) = c
        .call(&tool_call(42, "greet", json!({"name": "again"})))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "Hello, again!");
}

#[tokio::test]
async fn server_to_client_requests_are_answered_by_post() {
    let server = TestServer::start(&[]).await;
    let mut c = Client::new(&server);
    c.initialize("2025-11-25", json!({"elicitation": {}, "sampling": {}}))
        .await;
    for (tool, args, method, answer, expect) in [
        (
            "test_elicitation",
            json!({"message": "Who?"}),
            "elicitation/create",
            json!({"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}),
            "action=accept",
        ),
        (
            "test_sampling",
            json!({"prompt": "Hi"}),
            "sampling/createMessage",
            json!({"role": "assistant", "content": {"type": "text", "text": "Hello from the model"}, "model": "m"}),
            "Hello from the model",
        ),
    ] {
        let mut sse = c.post_stream(&tool_call(7, tool, args)).await;
        let request = sse.until(WAIT, |m| m["method"] == method).await;
        let id = request["id"].clone();
        assert!(id.is_string() || id.is_i64());
        let res = c
            .post(&json!({"jsonrpc":"2.0","id":id,"result":answer}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let result = sse.until(WAIT, |m| m["id"] == 7).await;
        let text = result["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(expect), "{text}");
    }

    // A client without the capability gets a tool error, never a request it cannot answer.
    let mut plain = Client::new(&server);
    plain.initialize("2025-11-25", json!({})).await;
    let (r, seen) = plain
        .call(&tool_call(1, "test_elicitation", json!({"message": "x"})))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(seen.iter().all(|m| m["method"] != "elicitation/create"));

    // An error answer from the client reaches the tool too.
    let mut sse = c
        .post_stream(&tool_call(8, "test_sampling", json!({"prompt": "x"})))
        .await;
    let request = sse
        .until(WAIT, |m| m["method"] == "sampling/createMessage")
        .await;
    let res = c.post(&json!({"jsonrpc":"2.0","id":request["id"],"error":{"code":-1,"message":"user refused"}})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let result = sse.until(WAIT, |m| m["id"] == 8).await;
    assert_eq!(result["result"]["isError"], true);
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("user refused")
    );
}
