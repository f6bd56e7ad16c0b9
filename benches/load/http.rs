//! A minimal HTTP/1.1 client over one keep-alive TCP connection: it writes a request, reads the
//! status line and headers (`httparse`), and reads the body by `Content-Length` or chunked
//! transfer coding, whole or one chunk at a time (for SSE streams).
//!
//! A load generator must cost far less than the server it measures, and the machine is shared:
//! this client does no connection pooling, redirects, compression or proxy lookups, so each
//! request costs a few microseconds of the generator's CPU.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, writing or reading failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection mid-response.
    #[error("connection closed by the server")]
    Closed,
    /// The response could not be parsed.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// No response within the time limit.
    #[error("timed out")]
    Timeout,
}

/// A parsed response head.
#[derive(Debug, Default, Clone)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `Content-Type`, lower-cased.
    pub content_type: String,
    /// `Mcp-Session-Id`, if any.
    pub session_id: Option<String>,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
}

impl Head {
    /// Whether the body is an SSE stream.
    pub fn is_sse(&self) -> bool {
        self.content_type.starts_with("text/event-stream")
    }
}

/// A whole response.
#[derive(Debug, Default)]
pub struct Response {
    /// Status and the headers the generator uses.
    pub head: Head,
    /// The decoded body.
    pub body: Vec<u8>,
}

/// One keep-alive connection; reconnects lazily after the server closed it.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    start: usize,
    /// Body bytes of the current response still to read (chunked: of the current chunk).
    remaining: usize,
    chunked: bool,
    done: bool,
    close_after: bool,
    /// The MCP session started on this connection, when the caller binds sessions to
    /// connections (`calls --placement own` or `swapped`).
    pub session: Option<crate::mcp::Session>,
}

const READ_SIZE: usize = 16 * 1024;

impl Conn {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(READ_SIZE),
            start: 0,
            remaining: 0,
            chunked: false,
            done: true,
            close_after: false,
            session: None,
        }
    }

    async fn stream(&mut self) -> Result<&mut TcpStream, HttpError> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.buf.clear();
            self.start = 0;
        }
        Ok(self.stream.as_mut().expect("just connected"))
    }

    /// Drops the connection (the next request reconnects).
    pub fn reset(&mut self) {
        self.stream = None;
        self.buf.clear();
        self.start = 0;
        self.done = true;
    }

    /// Reads more bytes into the buffer; `Closed` at EOF.
    async fn fill(&mut self) -> Result<(), HttpError> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > READ_SIZE {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_SIZE, 0);
        let stream = self.stream.as_mut().ok_or(HttpError::Closed)?;
        let n = match stream.read(&mut self.buf[len..]).await {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(e.into());
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            return Err(HttpError::Closed);
        }
        Ok(())
    }

    /// Writes a complete request (head and body, already encoded) and reads the response head.
    pub async fn send_head(&mut self, request: &[u8]) -> Result<Head, HttpError> {
        if !self.done || self.close_after {
            // The previous response was not read to its end: its bytes would mix with ours.
            self.reset();
            self.close_after = false;
        }
        let fresh = self.stream.is_none();
        let written = self.stream().await?.write_all(request).await;
        let first = match written {
            Ok(()) => self.read_head().await,
            Err(e) => Err(e.into()),
        };
        match first {
            Err(HttpError::Closed | HttpError::Io(_)) if !fresh => {
                // A keep-alive connection the server had closed: retry once on a new one.
                self.reset();
                self.stream().await?.write_all(request).await?;
                self.read_head().await
            }
            other => other,
        }
    }

    async fn read_head(&mut self) -> Result<Head, HttpError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf[self.start..]) {
                Ok(httparse::Status::Complete(n)) => {
                    let mut head = Head {
                        status: parsed.code.unwrap_or(0),
                        ..Head::default()
                    };
                    for h in parsed.headers.iter() {
                        let value = || String::from_utf8_lossy(h.value).trim().to_owned();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            head.content_length = value().parse().ok();
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            head.chunked = value().to_ascii_lowercase().contains("chunked");
                        } else if h.name.eq_ignore_ascii_case("content-type") {
                            head.content_type = value().to_ascii_lowercase();
                        } else if h.name.eq_ignore_ascii_case("mcp-session-id") {
                            head.session_id = Some(value());
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            head.close = value().eq_ignore_ascii_case("close");
                        }
                    }
                    self.start += n;
                    self.chunked = head.chunked;
                    self.remaining = if head.chunked {
                        0
                    } else {
                        head.content_length.unwrap_or(0)
                    };
                    self.done = !head.chunked && self.remaining == 0;
                    self.close_after = head.close;
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(e) => return Err(HttpError::Malformed(e.to_string())),
            }
        }
    }

    /// The next piece of the body (for chunked bodies: one chunk), `None` at its end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        if self.done {
            return Ok(None);
        }
        if !self.chunked {
            while self.buf.len() == self.start {
                self.fill().await?;
            }
            let take = self.remaining.min(self.buf.len() - self.start);
            let out = self.buf[self.start..self.start + take].to_vec();
            self.start += take;
            self.remaining -= take;
            self.done = self.remaining == 0;
            return Ok(Some(out));
        }
        // Chunk size line: hex digits, optional extensions, CRLF.
        let line_end = loop {
            if let Some(i) = find_crlf(&self.buf[self.start..]) {
                break self.start + i;
            }
            self.fill().await?;
        };
        let line = std::str::from_utf8(&self.buf[self.start..line_end])
            .map_err(|_| HttpError::Malformed("chunk size".into()))?;
        let hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size {hex:?}")))?;
        self.start = line_end + 2;
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(i) = find_crlf(&self.buf[self.start..]) {
                    self.start += i + 2;
                    if i == 0 {
                        break;
                    }
                    continue;
                }
                self.fill().await?;
            }
            self.done = true;
            return Ok(None);
        }
        while self.buf.len() - self.start < size + 2 {
            self.fill().await?;
        }
        let out = self.buf[self.start..self.start + size].to_vec();
        self.start += size + 2;
        Ok(Some(out))
    }

    /// Sends a request and reads the whole response within `limit`.
    pub async fn request(
        &mut self,
        request: &[u8],
        limit: Duration,
    ) -> Result<Response, HttpError> {
        let result = tokio::time::timeout(limit, async {
            let head = self.send_head(request).await?;
            let mut body = Vec::new();
            while let Some(part) = self.next_chunk().await? {
                body.extend_from_slice(&part);
            }
            Ok(Response { head, body })
        })
        .await;
        match result {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.reset();
                Err(e)
            }
            Err(_) => {
                self.reset();
                Err(HttpError::Timeout)
            }
        }
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// Encodes a request: `method path`, `Host`, the given headers, and a body with its length.
pub fn encode(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = Vec::with_capacity(256 + body.len());
    let _ = write!(out, "{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    if method != "GET" || !body.is_empty() {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The JSON-RPC message of a body: the body itself, or the last non-empty `data:` of an SSE body.
pub fn message_json(head: &Head, body: &[u8]) -> Option<serde_json::Value> {
    if head.is_sse() {
        let text = std::str::from_utf8(body).ok()?;
        let data = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .rfind(|d| !d.is_empty())?;
        serde_json::from_str(data).ok()
    } else {
        serde_json::from_slice(body).ok()
    }
}

/// Whether `needle` occurs in `haystack` (a cheap check of a reply without parsing it).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
