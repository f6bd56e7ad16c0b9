//! Session lifecycle and SSE streams: the standalone GET stream, priming, `Last-Event-ID`
//! replay of GET- and POST-opened streams, takeover, SSE polling, DELETE, cancellation,
//! server-to-client requests answered by POST, hibernation and expiry, graceful shutdown.
//!
//! - [`standalone_stream`]: the GET stream's priming event, exact `Last-Event-ID` replay,
//!   keep-alives, no priming before 2025-11-25, and takeover by a newer GET.
//! - [`post_streams`]: a POST stream's head and priming event at once, its resumption on GET,
//!   and SSE polling (connections closed with `retry`, then resumed).
//! - [`in_flight_requests`]: cancellation, and server-to-client requests answered by POST.
//! - [`session_lifecycle`]: DELETE, hibernation and rehydration, expiry, the session cap.
//! - [`shutdown`]: SIGTERM closes streams and drains in-flight requests.

#[path = "../common/mod.rs"]
mod common;

mod in_flight_requests;
mod post_streams;
mod session_lifecycle;
mod shutdown;
mod standalone_stream;

use common::{Client, SseReader, TestServer, split_id, tool_call};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn subscribe_clock(c: &Client) {
    let (_, body) = c
        .call_json(&json!({"jsonrpc":"2.0","id":100,"method":"resources/subscribe","params":{"uri":"demo://clock"}}))
        .await;
    assert_eq!(body["result"], json!({}));
}
