//! `GET /metrics` of a real server: MCP operations by method, tool and outcome
//! (`mcp_server_operation_duration_seconds`), HTTP requests, open SSE streams by kind, events
//! replayed on a `Last-Event-ID` resume, the live-session gauge, Redis operation timings with
//! the Redis store, token-cache hits and introspection calls with auth on, and the exposition
//! itself (OpenMetrics content type, `# EOF`, cumulative buckets, no session id in any label).

mod common;

use common::auth_server::{AuthServer, now};
use common::{Client, RedisServer, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A minimal parser of the text format: `name{k="v",...} value` lines, comments skipped.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
        let value: f64 = value.parse().expect("numeric value");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let mut labels = BTreeMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").expect("label pair");
                    labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
        };
        out.push((name, labels, value));
    }
    out
}

/// The sum of the samples of `name` whose labels include `want`.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(server: &TestServer) -> (String, Vec<Sample>) {
    let res = reqwest::get(format!("{}/metrics", server.base))
        .await
        .expect("scrape");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = res.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    let samples = parse(&text);
    (text, samples)
}

const OPS: &str = "mcp_server_operation_duration_seconds_count";

/// Histogram buckets are cumulative and the `+Inf` bucket equals the count.
fn assert_histograms_consistent(samples: &[Sample]) {
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (name, labels, v) in samples {
        if let Some(base) = name.strip_suffix("_bucket") {
            let mut rest = labels.clone();
            let le = rest.remove("le").expect("le");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("le")
            };
            series
                .entry(format!("{base}{rest:?}"))
                .or_default()
                .push((le, *v));
        }
    }
    assert!(!series.is_empty());
    for (key, mut buckets) in series {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{key}");
        let (base, labels) = key.split_once('{').expect("labels");
        let inf = buckets.last().expect("buckets").1;
        let count: f64 = samples
            .iter()
            .filter(|(n, l, _)| {
                n == &format!("{base}_count") && format!("{l:?}") == format!("{{{labels}")
            })
            .map(|(_, _, v)| *v)
            .sum();
        assert_eq!(inf, count, "{key}: +Inf bucket equals _count");
    }
}

#[tokio::test]
async fn operations_streams_and_replays_are_counted() {
    // A client that goes away is noticed at the next write: keep-alives every second.
    let server = TestServer::start(&[("MCP_HIVE__SSE__KEEP_ALIVE_SECS", "1")]).await;
    let (_, before) = scrape(&server).await;
    assert_eq!(value(&before, OPS, &[]), 0.0, "nothing recorded yet");

    let mut client = Client::new(&server);
    client.initialize("2025-11-25", json!({})).await;
    let sid = client.session.clone().expect("session");
    let (reply, _) = client
        .call(&tool_call(1, "greet", json!({"name": "m"})))
        .await;
    assert!(reply.get("result").is_some(), "{reply}");
    let (status, body) = client
        .call_json(&json!({"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::OK, Some(-32601))
    );
    let (reply, _) = client.call(&tool_call(3, "no-such-tool", json!({}))).await;
    assert!(reply.get("error").is_some(), "{reply}");

    // A tool call over SSE with 3 log messages, then a resume after its first event.
    let mut sse = client
        .post_stream(&tool_call(
            4,
            "count",
            json!({"number": 3, "interval_ms": 0}),
        ))
        .await;
    let events = sse.collect(Duration::from_secs(5)).await;
    let ids: Vec<(String, u64)> = events
        .iter()
        .filter_map(|e| e.id.as_deref())
        .map(split_id)
        .collect();
    let (stream, last) = ids.iter().max_by_key(|(_, n)| *n).cloned().expect("ids");
    assert!(last >= 4, "3 logs and the result: {ids:?}");
    let mut resumed = SseReader::new(
        client
            .get()
            .header("Last-Event-ID", format!("{stream}-1"))
            .send()
            .await
            .expect("resume"),
    );
    let replayed = resumed.collect(Duration::from_secs(3)).await;
    let replayed = replayed.iter().filter(|e| !e.data.is_empty()).count() as u64;
    assert_eq!(replayed, last - 1);

    // The standalone GET stream stays open while we scrape.
    let standalone = client.get().send().await.expect("get");
    assert_eq!(standalone.status(), StatusCode::OK);

    let (text, after) = scrape(&server).await;
    let v = "2025-11-25";
    let op = |method: &str, tool: &str, error: &str| {
        value(
            &after,
            OPS,
            &[
                ("mcp_method_name", method),
                ("gen_ai_tool_name", tool),
                ("error_type", error),
                ("mcp_protocol_version", v),
                ("network_transport", "tcp"),
                ("network_protocol_name", "http"),
            ],
        )
    };
    assert_eq!(op("initialize", "", ""), 1.0);
    assert_eq!(op("notifications/initialized", "", ""), 1.0);
    assert_eq!(op("tools/call", "greet", ""), 1.0);
    assert_eq!(op("tools/call", "count", ""), 1.0);
    assert_eq!(
        op("other", "", "-32601"),
        1.0,
        "unknown methods are `other`"
    );
    assert_eq!(
        op("tools/call", "other", "-32602"),
        1.0,
        "unknown tools are `other`"
    );
    assert_eq!(value(&after, OPS, &[]), 6.0);
    assert_eq!(
        value(&after, "mcp_server_sse_events_replayed_total", &[]),
        (last - 1) as f64
    );
    assert_eq!(
        value(&after, "mcp_server_sse_streams_open", &[("kind", "get")]),
        1.0
    );
    assert_eq!(value(&after, "mcp_server_sessions_active", &[]), 1.0);
    assert_eq!(value(&after, "mcp_server_session_actors", &[]), 1.0);
    assert_eq!(value(&after, "mcp_server_requests_in_flight", &[]), 0.0);
    let posts = value(
        &after,
        "http_server_request_duration_seconds_count",
        &[("http_request_method", "POST"), ("http_route", "/mcp")],
    );
    assert_eq!(
        posts, 6.0,
        "initialize, initialized, 3 calls, the unknown method"
    );
    assert!(!text.contains(&sid), "no session id in the exposition");
    assert_histograms_consistent(&after);

    // Closing the standalone stream closes its gauge.
    drop(standalone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, s) = scrape(&server).await;
        if value(&s, "mcp_server_sse_streams_open", &[("kind", "get")]) == 0.0 {
            assert_eq!(
                value(&s, "mcp_server_sse_streams_open", &[("kind", "post")]),
                0.0
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the get stream gauge never went down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // DELETE ends the session: one session duration observed.
    assert_eq!(client.delete(Some(&sid)).await, StatusCode::OK);
    let (_, s) = scrape(&server).await;
    assert_eq!(
        value(&s, "mcp_server_session_duration_seconds_count", &[]),
        1.0
    );
}

#[tokio::test]
async fn redis_operations_are_timed() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = TestServer::start(&[("REDIS_URL", url.as_str())]).await;
    let other = TestServer::start(&[("REDIS_URL", url.as_str())]).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25", json!({})).await;
    Client::new(&other)
        .initialize("2025-11-25", json!({}))
        .await;
    // A call still running on this replica while we scrape.
    let mut running = client
        .post_stream(&tool_call(
            2,
            "count",
            json!({"number": 5, "intervalMs": 200}),
        ))
        .await;
    running
        .next(Duration::from_secs(5))
        .await
        .expect("the call started");
    client
        .call(&tool_call(1, "greet", json!({"name": "r"})))
        .await;
    let (_, samples) = scrape(&server).await;
    assert_eq!(
        value(&samples, "mcp_server_sessions_active", &[]),
        2.0,
        "sessions in the store, wherever they were created"
    );
    assert_eq!(value(&samples, "mcp_server_session_actors", &[]), 1.0);
    assert_eq!(value(&samples, "mcp_server_requests_in_flight", &[]), 1.0);
    let db = "db_client_operation_duration_seconds_count";
    for op in ["session.create", "events.append"] {
        let n = value(
            &samples,
            db,
            &[("db_system_name", "redis"), ("db_operation_name", op)],
        );
        assert!(n >= 1.0, "{op}: {n}");
    }
    assert_eq!(
        value(&samples, "db_client_operation_errors_total", &[]),
        0.0
    );
    assert_histograms_consistent(&samples);
}

#[tokio::test]
async fn a_repeated_token_hits_the_cache() {
    let auth = AuthServer::start();
    auth.expect_client("metrics-client", "secret");
    let server = TestServer::start(&[
        ("DISABLE_AUTH", "false"),
        ("AUTH_TOKEN_MODE", "introspection"),
        ("OAUTH_SERVER_URL", auth.base.as_str()),
        ("OAUTH_CLIENT_ID", "metrics-client"),
        ("OAUTH_CLIENT_SECRET", "secret"),
    ])
    .await;
    auth.add_token(
        "tok-metrics",
        json!({"active": true, "aud": server.mcp, "scope": "mcp:tools", "sub": "alice",
               "client_id": "c", "exp": now() + 600, "iat": now()}),
    );
    let mut client = Client::new(&server).with_token("tok-metrics");
    client.initialize("2025-11-25", json!({})).await;
    client
        .call(&tool_call(1, "greet", json!({"name": "a"})))
        .await;
    let (text, samples) = scrape(&server).await;
    let cache = "mcp_server_auth_token_cache_requests_total";
    assert_eq!(value(&samples, cache, &[("result", "miss")]), 1.0);
    assert_eq!(value(&samples, cache, &[("result", "hit")]), 2.0);
    assert_eq!(
        value(
            &samples,
            "mcp_server_auth_introspection_requests_total",
            &[("result", "active")]
        ),
        1.0
    );
    assert_eq!(auth.introspections(), 1);
    assert!(!text.contains("alice") && !text.contains("tok-metrics"));
}

#[tokio::test]
async fn disabled_metrics_have_no_endpoint() {
    let server = TestServer::start(&[("MCP_HIVE__METRICS__ENABLED", "false")]).await;
    let res = reqwest::get(format!("{}/metrics", server.base))
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
