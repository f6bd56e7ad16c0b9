//! The actix middleware that measures every request of the listener: the HTTP duration (to the
//! response head), and for requests whose handler recorded a JSON-RPC method in the
//! [`RequestTag`], the MCP operation, timed until its result is sent:
//!
//! - a JSON reply: when its body has been handed to the connection; its `error.type` is the
//!   JSON-RPC error code of the reply (`tool_error` for a `CallToolResult` with `isError`);
//! - an SSE reply to a POST: when the stream ends, with the outcome of its last event (the
//!   response); a stream that closes before its response has `error.type = stream_closed`;
//! - `subscriptions/listen`, notifications, client responses (202): at the response head;
//! - an HTTP failure (status ≥ 400): at the response head, `error.type` = the status class.
//!
//! HTTP+SSE messages (`POST /messages`) are acknowledged with 202 and their result travels on
//! the `/sse` stream, so their duration is the acknowledgement's. Batches (2025-03-26) and
//! client responses only appear in the HTTP histogram. The same body wrapper counts open SSE
//! connections by kind and, for HTTP+SSE, the session's lifetime (the `/sse` connection's).

use super::Metrics;
use super::labels::{
    HttpLabels, OperationLabels, http_method_label, method_label, status_class, version_label,
};
use super::probe::{Outcome, json_outcome, last_sse_data};
use crate::http::McpState;
use crate::http::access_log::RequestTag;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpMessage, HttpRequest};
use prometheus_client::metrics::gauge::Gauge;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Tags that name transport actions rather than JSON-RPC methods.
const NOT_OPERATIONS: [&str; 5] = ["GET", "DELETE", "GET /sse", "batch", "response"];

/// The middleware; a no-op when no [`Metrics`] is in the app data.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<ObservedBody>, Error> {
    let Some(metrics) = req.app_data::<Data<Metrics>>().cloned() else {
        let res = next.call(req).await?.map_into_boxed_body();
        return Ok(res.map_body(|_, b| ObservedBody::plain(b)));
    };
    let start = Instant::now();
    let http_method = http_method_label(req.method().as_str());
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status().as_u16();
    let http = HttpLabels {
        http_request_method: http_method,
        http_response_status_code: status,
        http_route: res.request().match_pattern().unwrap_or_default(),
    };
    metrics.http_request(&http, start.elapsed());
    let sse = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    // What the handler tagged, read in place (the body wrapper below takes `res`).
    let (kind, op) = {
        let extensions = res.request().extensions();
        let tag = extensions.get::<RequestTag>();
        let version = header_version(res.request(), tag);
        if status < 400 {
            if let Some(n) = tag.and_then(|t| t.replayed) {
                metrics.events_replayed(n);
            }
            if let Some(lifetime) = tag.and_then(|t| t.session_lifetime) {
                metrics.session_ended(version, lifetime);
            }
        }
        let tagged = tag.and_then(|t| t.mcp_method.as_deref());
        let method = tagged.filter(|m| !NOT_OPERATIONS.contains(m));
        let kind = sse.then_some(match (method, tagged) {
            (Some("subscriptions/listen"), _) => "listen",
            (Some(_), _) => "post",
            (None, Some("GET /sse")) => "legacy",
            (None, _) => "get",
        });
        let op = method.map(|method| {
            let labels = OperationLabels {
                mcp_method_name: method_label(method),
                gen_ai_tool_name: tool_label(
                    res.request(),
                    method,
                    tag.and_then(|t| t.tool.as_deref()),
                ),
                error_type: String::new(),
                mcp_protocol_version: version,
                network_transport: "tcp",
                network_protocol_name: "http",
            };
            (labels, method == "subscriptions/listen")
        });
        (kind, op)
    };
    let mut watch = Watch {
        metrics: metrics.clone(),
        op: None,
        sse,
        last: None,
        chunks: 0,
        stream: kind.map(|k| metrics.stream_opened(k)),
        legacy_since: (kind == Some("legacy")).then_some(start),
    };
    if let Some((labels, listen)) = op {
        let deferred = status < 400 && (sse && !listen || is_json(&res) && !sse);
        if deferred {
            watch.op = Some((labels, start));
        } else {
            let error_type = status_class(status).to_owned();
            metrics.operation(
                &OperationLabels {
                    error_type,
                    ..labels
                },
                start.elapsed(),
            );
        }
    }
    Ok(res.map_body(|_, body| ObservedBody {
        inner: body,
        watch: Some(watch),
    }))
}

fn is_json(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The protocol revision: the handler's (initialize) or the request header's, bounded.
fn header_version(req: &HttpRequest, tag: Option<&RequestTag>) -> &'static str {
    let header = req
        .headers()
        .get(&crate::http::headers::PROTOCOL_VERSION_NAME)
        .and_then(|v| v.to_str().ok());
    version_label(tag.and_then(|t| t.protocol_version.as_deref()).or(header))
}

/// The tool label of a `tools/call`: the tool when registered, `other` otherwise.
fn tool_label(req: &HttpRequest, method: &str, tool: Option<&str>) -> String {
    if method != "tools/call" {
        return String::new();
    }
    let registered = tool.filter(|name| {
        req.app_data::<Data<McpState>>()
            .is_some_and(|s| s.sessions.server().registry.tool(name).is_some())
    });
    registered.unwrap_or("other").to_owned()
}

/// What the body wrapper still has to record.
struct Watch {
    metrics: Data<Metrics>,
    /// An operation timed until the body ends, and when it started.
    op: Option<(OperationLabels, Instant)>,
    sse: bool,
    /// The last chunk that carried SSE data, or the JSON body.
    last: Option<Bytes>,
    chunks: usize,
    /// The open-stream gauge to decrement when the connection ends.
    stream: Option<Gauge>,
    /// An HTTP+SSE session's start: it ends with this connection.
    legacy_since: Option<Instant>,
}

impl Watch {
    fn saw(&mut self, chunk: &Bytes) {
        if self.op.is_none() {
            return;
        }
        self.chunks += 1;
        if !self.sse || memchr::memmem::find(chunk, b"data:").is_some() {
            self.last = Some(chunk.clone());
        }
    }

    fn finish(self) {
        if let Some((labels, start)) = self.op {
            let outcome = match (&self.last, self.sse) {
                (Some(chunk), true) => last_sse_data(chunk)
                    .map_or(Outcome::NotAResponse, |d| json_outcome(d.as_bytes())),
                (Some(body), false) if self.chunks == 1 => json_outcome(body),
                _ => Outcome::NotAResponse,
            };
            let error_type = match outcome {
                Outcome::Failed(e) => e,
                Outcome::NotAResponse if self.sse => "stream_closed".to_owned(),
                Outcome::Success | Outcome::NotAResponse => String::new(),
            };
            self.metrics.operation(
                &OperationLabels {
                    error_type,
                    ..labels
                },
                start.elapsed(),
            );
        }
        if let Some(gauge) = self.stream {
            gauge.dec();
        }
        if let Some(since) = self.legacy_since {
            self.metrics.session_ended("", since.elapsed());
        }
    }
}

/// A response body that records what [`Watch`] waits for when it ends or is dropped.
pub struct ObservedBody {
    inner: BoxBody,
    watch: Option<Watch>,
}

impl ObservedBody {
    fn plain(inner: BoxBody) -> Self {
        Self { inner, watch: None }
    }

    fn finish(&mut self) {
        if let Some(w) = self.watch.take() {
            w.finish();
        }
    }
}

impl MessageBody for ObservedBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(w) = this.watch.as_mut() {
                    w.saw(chunk);
                }
            }
            Poll::Ready(None | Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        self.finish();
    }
}
