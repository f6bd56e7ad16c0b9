//! An SSE reader that keeps each event's id and arrival time ([`Sse`], [`Event`]), and the
//! parts of an event id ([`split_id`]).

use super::*;

/// One SSE event as received.
#[derive(Debug, Clone)]
pub struct Event {
    /// `id:` (`<stream>-<seq>`), if any.
    pub id: Option<String>,
    /// `data:` lines joined with newlines; empty for the priming event.
    pub data: String,
    /// When the event's last byte arrived.
    pub at: Instant,
}

impl Event {
    /// The stream and sequence number of the id.
    pub fn seq(&self) -> Option<(String, u64)> {
        split_id(self.id.as_deref()?)
    }

    /// The JSON-RPC message, if the event carries one.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// `<stream>-<seq>` split in two.
pub fn split_id(id: &str) -> Option<(String, u64)> {
    let (stream, seq) = id.rsplit_once('-')?;
    Some((stream.to_owned(), seq.parse().ok()?))
}

/// What reading a stream gave.
#[derive(Debug)]
pub enum Next {
    /// An event (with or without data).
    Event(Event),
    /// The server ended the response.
    Ended,
    /// Nothing within the time limit.
    Timeout,
    /// The connection failed (reset by a killed replica, ...).
    Broken(String),
}

/// Reads SSE events from a streaming response.
pub struct Sse {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl Sse {
    /// Wraps a response whose body is `text/event-stream`.
    pub fn new(res: Response) -> Self {
        Self {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event (comments such as keep-alives are skipped).
    pub async fn next(&mut self, timeout: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let (mut id, mut data, mut fields) = (None, String::new(), 0);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                        fields += 1;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if fields > 0 && !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        fields += 1;
                    }
                }
                if id.is_some() || !data.is_empty() {
                    return Next::Event(Event {
                        id,
                        data,
                        at: Instant::now(),
                    });
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => return Next::Ended,
                Ok(Some(Err(e))) => return Next::Broken(e.to_string()),
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }
}
