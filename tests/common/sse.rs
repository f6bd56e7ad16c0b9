//! SSE on the client side: whether a response is an event stream, an incremental parser of
//! its events ([`SseReader`]), and splitting `<stream>-<seq>` event ids.

use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::pin::Pin;
use std::time::Duration;

/// Whether a response is an SSE stream.
pub fn is_sse(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// One SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    /// The `event:` field (`None`: the default, `message`).
    pub event: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The data as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Incremental SSE parser over a response body.
pub struct SseReader {
    stream: ByteStream,
    buf: String,
    pub retry: Option<u64>,
    /// Comment lines (keep-alives) seen so far.
    pub comments: usize,
}

impl SseReader {
    /// Wraps a streaming response.
    pub fn new(res: Response) -> Self {
        Self {
            stream: Box::pin(res.bytes_stream()),
            buf: String::new(),
            retry: None,
            comments: 0,
        }
    }

    /// The next event with data, `None` when the stream ends or `timeout` passes.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = SseEvent::default();
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if has_data {
                            ev.data.push('\n');
                        }
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        has_data = true;
                    } else if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("retry:") {
                        self.retry = v.trim().parse().ok();
                        ev.retry = self.retry;
                    }
                }
                if has_data {
                    return Some(ev);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            let chunk = chunk.ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next JSON message matching `pred` (skipping others); panics on end or timeout.
    pub async fn until(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let ev = self
                .next(timeout)
                .await
                .expect("stream ended or timed out before the expected message");
            if let Some(m) = ev.json()
                && pred(&m)
            {
                return m;
            }
        }
    }

    /// Collects events until the stream ends or `timeout` passes without one.
    pub async fn collect(&mut self, timeout: Duration) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(ev) = self.next(timeout).await {
            out.push(ev);
        }
        out
    }

    /// Whether the stream has ended (within `timeout`): no more bytes and EOF.
    pub async fn ended(&mut self, timeout: Duration) -> bool {
        loop {
            match tokio::time::timeout(timeout, self.stream.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }
}

/// Splits `<stream>-<seq>`.
pub fn split_id(id: &str) -> (String, u64) {
    let (s, n) = id.rsplit_once('-').expect("event id");
    (s.to_owned(), n.parse().expect("seq"))
}
