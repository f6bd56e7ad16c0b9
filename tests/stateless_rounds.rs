//! Multi round-trip requests of MCP 2026-07-28 (`basic/patterns/mrtr.mdx`) against real
//! processes: a tool that needs input answers with an input-required result and a sealed
//! `requestState`; the client retries with a new id and its answers, on any replica that shares
//! the state key; states are refused when altered, moved to another call, issued by a replica
//! with another key, or presented by another principal; undeclared client capabilities end the
//! request with -32021 (HTTP 400).

mod common;

use common::auth_server::{AuthServer, SigningKey, now, unique_jti};
use common::modern::{Modern, Reply};
use common::{RedisServer, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

fn accept(content: Value) -> Value {
    json!({"action": "accept", "content": content})
}

fn text_of(r: &Reply) -> String {
    r.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts an input-required result asking exactly `keys`; returns its requestState.
fn asks(r: &Reply, keys: &[&str]) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let result = &r.body["result"];
    assert_eq!(result["resultType"], "input_required", "{}", r.body);
    let mut asked: Vec<&str> = result["inputRequests"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut keys = keys.to_vec();
    asked.sort_unstable();
    keys.sort_unstable();
    assert_eq!(asked, keys, "{}", r.body);
    assert!(result["_meta"]["io.modelcontextprotocol/serverInfo"].is_object());
    result["requestState"]
        .as_str()
        .expect("requestState")
        .to_owned()
}

fn refused(r: &Reply, code: i64) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(
        r.body["id"].is_number(),
        "the error carries the request id: {}",
        r.body
    );
}

#[tokio::test]
async fn rounds_continue_on_any_replica_with_the_shared_key() {
    let redis = RedisServer::start();
    let url = redis.url();
    let shared = [("REDIS_URL", url.as_str()), ("MCP_STATE_KEY", KEY_A)];
    let a = TestServer::start(&shared).await;
    let b = TestServer::start(&shared).await;
    let stranger =
        TestServer::start(&[("REDIS_URL", url.as_str()), ("MCP_STATE_KEY", KEY_B)]).await;
    let caps = json!({"elicitation": {}});
    let (ca, cb) = (
        Modern::new(&a.mcp, caps.clone()),
        Modern::new(&b.mcp, caps.clone()),
    );
    let tool = "test_input_required_result_multi_round";

    let state1 = asks(&ca.tool(1, tool, json!({})).await, &["step1"]);
    let answer1 = json!({"requestState": state1, "inputResponses": {"step1": accept(json!({"name": "Ada"}))}});
    // Replica B continues what A started; the second question depends on the first answer.
    let state2 = asks(&cb.tool(2, tool, answer1.clone()).await, &["step2"]);
    // A replica with another key cannot open the state.
    let foreign = Modern::new(&stranger.mcp, caps)
        .tool(3, tool, answer1)
        .await;
    refused(&foreign, -32602);
    // The second state carries the first answer: only step2 is sent now, on replica A.
    let done = ca
        .tool(4, tool, json!({"requestState": state2, "inputResponses": {"step2": accept(json!({"color": "teal"}))}}))
        .await;
    assert_eq!(
        done.body["result"]["resultType"], "complete",
        "{}",
        done.body
    );
    assert_eq!(
        text_of(&done),
        "Multi-round complete for Ada who likes teal"
    );
}

#[tokio::test]
async fn altered_or_misused_states_are_refused() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(&server.mcp, json!({"elicitation": {}, "sampling": {}}));
    let state = asks(
        &c.tool(1, "test_input_required_result_request_state", json!({}))
            .await,
        &["confirm"],
    );
    let yes = json!({"confirm": accept(json!({"ok": true}))});

    let mut tampered = state.clone();
    tampered.insert(
        5,
        if tampered.as_bytes()[5] == b'A' {
            'B'
        } else {
            'A'
        },
    );
    refused(
        &c.tool(
            2,
            "test_input_required_result_request_state",
            json!({"requestState": tampered, "inputResponses": yes}),
        )
        .await,
        -32602,
    );
    // The state is bound to the call: another tool, or other arguments, cannot use it.
    refused(
        &c.tool(
            3,
            "test_input_required_result_tampered_state",
            json!({"requestState": state, "inputResponses": yes}),
        )
        .await,
        -32602,
    );
    refused(
        &c.tool(
            4,
            "test_input_required_result_request_state",
            json!({"arguments": {"x": 1}, "requestState": state, "inputResponses": yes}),
        )
        .await,
        -32602,
    );
    refused(
        &c.tool(
            5,
            "test_input_required_result_request_state",
            json!({"requestState": 42}),
        )
        .await,
        -32602,
    );
    // Malformed answers are refused, not guessed at.
    refused(
        &c.tool(
            6,
            "test_input_required_result_elicitation",
            json!({"inputResponses": null}),
        )
        .await,
        -32602,
    );
    refused(
        &c.tool(
            7,
            "test_input_required_result_elicitation",
            json!({"inputResponses": {"user_name": 5}}),
        )
        .await,
        -32602,
    );

    let ok = c
        .tool(
            8,
            "test_input_required_result_request_state",
            json!({"requestState": state, "inputResponses": yes}),
        )
        .await;
    assert_eq!(
        text_of(&ok),
        "state-ok: requestState validated",
        "{}",
        ok.body
    );
    // Unknown extra answers are ignored; a wrong key is asked again.
    let extra = c
        .tool(9, "test_input_required_result_elicitation", json!({"inputResponses": {"user_name": accept(json!({"name": "Bo"})), "zzz": {"a": 1}}}))
        .await;
    assert_eq!(text_of(&extra), "Hello, Bo!", "{}", extra.body);
    asks(
        &c.tool(
            10,
            "test_input_required_result_elicitation",
            json!({"inputResponses": {"nope": accept(json!({}))}}),
        )
        .await,
        &["user_name"],
    );
}

#[tokio::test]
async fn one_round_can_ask_several_questions_and_session_era_tools_work_too() {
    let server = TestServer::start(&[]).await;
    let c = Modern::new(
        &server.mcp,
        json!({"elicitation": {}, "sampling": {}, "roots": {}}),
    );
    let tool = "test_input_required_result_multiple_inputs";
    let state = asks(
        &c.tool(1, tool, json!({})).await,
        &["user_name", "greeting", "client_roots"],
    );
    let answers = json!({
        "user_name": accept(json!({"name": "Cy"})),
        "greeting": {"role": "assistant", "content": {"type": "text", "text": "Hi!"}, "model": "m"},
        "client_roots": {"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]},
    });
    let done = c
        .tool(
            2,
            tool,
            json!({"requestState": state, "inputResponses": answers}),
        )
        .await;
    assert_eq!(
        text_of(&done),
        "Name: Cy; Greeting: Hi!; Roots: 2",
        "{}",
        done.body
    );

    // A tool written for the session era (ctx.elicit) is served as a multi round-trip request.
    let args = json!({"arguments": {"message": "Who are you?"}});
    let r = c.tool(3, "test_elicitation", args.clone()).await;
    let state = asks(&r, &["elicitation-1"]);
    assert_eq!(
        r.body["result"]["inputRequests"]["elicitation-1"]["params"]["message"],
        "Who are you?"
    );
    let mut retry = args;
    retry["requestState"] = json!(state);
    retry["inputResponses"] =
        json!({"elicitation-1": accept(json!({"username": "u", "email": "e"}))});
    let done = c.tool(4, "test_elicitation", retry).await;
    assert!(
        text_of(&done).starts_with("User response: action=accept"),
        "{}",
        done.body
    );

    // Prompts may ask too.
    let r = c
        .call(
            5,
            "prompts/get",
            json!({"name": "test_input_required_result_prompt"}),
        )
        .await;
    asks(&r, &["user_context"]);
}

#[tokio::test]
async fn undeclared_client_capabilities_end_with_32021() {
    let server = TestServer::start(&[]).await;
    let bare = Modern::new(&server.mcp, json!({}));
    let r = bare.tool(1, "test_missing_capability", json!({})).await;
    refused(&r, -32021);
    assert_eq!(
        r.body["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
    // A question needing a capability the client lacks is never sent as an inputRequest.
    let r = bare
        .tool(2, "test_input_required_result_sampling", json!({}))
        .await;
    refused(&r, -32021);
    let r = Modern::new(&server.mcp, json!({"sampling": {}}))
        .tool(3, "test_missing_capability", json!({}))
        .await;
    assert_eq!(text_of(&r), "Success", "{}", r.body);
    // Only the declared capabilities are asked about.
    let r = Modern::new(&server.mcp, json!({"elicitation": {}}))
        .tool(4, "test_input_required_result_capabilities", json!({}))
        .await;
    asks(&r, &["elicit_input"]);
}

#[tokio::test]
async fn a_state_belongs_to_the_principal_it_was_issued_to() {
    let auth = AuthServer::start();
    let key = SigningKey::rsa_a();
    auth.set_keys(&[&key]);
    let public = "https://mcp.example.com";
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "jwt"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("PUBLIC_URL", public),
    ])
    .await;
    let token = |sub: &str| {
        key.sign(
            &json!({"iss": auth.base, "aud": format!("{public}/mcp"), "sub": sub,
            "client_id": "app", "scope": "mcp:tools", "exp": now() + 600, "jti": unique_jti()}),
        )
    };
    let caps = json!({"elicitation": {}});
    let alice = Modern::new(&server.mcp, caps.clone()).with_token(&token("alice"));
    // Before the body is read, a 2026-07-28 request gets its 401 without `"id": null`.
    let anonymous = Modern::new(&server.mcp, caps.clone())
        .tool(9, "test_input_required_result_elicitation", json!({}))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.body.get("id").is_none(), "{}", anonymous.body);
    assert!(anonymous.headers.contains_key("www-authenticate"));
    let bob = Modern::new(&server.mcp, caps).with_token(&token("bob"));
    let tool = "test_input_required_result_elicitation";
    let state = asks(&alice.tool(1, tool, json!({})).await, &["user_name"]);
    let retry = json!({"requestState": state, "inputResponses": {"user_name": accept(json!({"name": "Al"}))}});
    refused(&bob.tool(2, tool, retry.clone()).await, -32602);
    // Another token of the same user is the same principal.
    let alice2 = alice.clone().with_token(&token("alice"));
    assert_eq!(text_of(&alice2.tool(3, tool, retry).await), "Hello, Al!");
}
