//! Reads the outcome of an MCP operation off the bytes sent to the client, for `error.type`:
//! the JSON-RPC error code of an error response, `tool_error` for a `CallToolResult` with
//! `isError: true`, nothing for a success. Only the top-level `error.code` and
//! `result.isError` are decoded (everything else is skipped without allocating).

use super::labels::rpc_error_label;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct ErrorProbe {
    code: i64,
}

#[derive(Deserialize)]
struct ResultProbe {
    #[serde(default, rename = "isError")]
    is_error: bool,
}

#[derive(Deserialize)]
struct MessageProbe {
    #[serde(default)]
    error: Option<ErrorProbe>,
    #[serde(default)]
    result: Option<ResultProbe>,
}

/// What a response says about its operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A result.
    Success,
    /// An error response or a failed tool call: the `error.type`.
    Failed(String),
    /// Not a response (a notification, a request, or undecodable).
    NotAResponse,
}

/// The outcome of one JSON-RPC message (or of the first failure in a batch).
pub(crate) fn json_outcome(bytes: &[u8]) -> Outcome {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let Ok(batch) = serde_json::from_slice::<Vec<MessageProbe>>(bytes) else {
            return Outcome::NotAResponse;
        };
        return batch
            .into_iter()
            .map(message_outcome)
            .find(|o| matches!(o, Outcome::Failed(_)))
            .unwrap_or(Outcome::Success);
    }
    serde_json::from_slice::<MessageProbe>(bytes).map_or(Outcome::NotAResponse, message_outcome)
}

fn message_outcome(m: MessageProbe) -> Outcome {
    match (m.error, m.result) {
        (Some(e), _) => Outcome::Failed(rpc_error_label(e.code)),
        (None, Some(r)) if r.is_error => Outcome::Failed("tool_error".into()),
        (None, Some(_)) => Outcome::Success,
        (None, None) => Outcome::NotAResponse,
    }
}

/// The data of the last event in an SSE chunk that carries data (`None`: only comments, ids,
/// `retry` or empty priming events). Borrowed from the chunk unless the event spreads its data
/// over several lines (every response body is probed, so the common case allocates nothing).
/// It works on bytes (`memchr` for the blank lines between events) and checks UTF-8 on the
/// data it returns only: the `str` searches it replaced were about 2 % of an SSE reply's
/// instructions.
pub(crate) fn last_sse_data(chunk: &[u8]) -> Option<Cow<'_, str>> {
    let mut end = chunk.len();
    let mut separators = memchr::memmem::rfind_iter(chunk, b"\n\n");
    loop {
        let (event, start) = match separators.next() {
            Some(at) if at + 2 <= end => (chunk.get(at + 2..end)?, Some(at)),
            // An overlapping match ("\n\n\n") already split here.
            Some(_) => continue,
            None => (chunk.get(..end)?, None),
        };
        if let Some(data) = event_data(event) {
            return Some(data);
        }
        end = start?;
    }
}

/// The data of one event (its `data:` lines joined by newlines), `None` when it has none or
/// only an empty one, or when it is not UTF-8.
fn event_data(event: &[u8]) -> Option<Cow<'_, str>> {
    let mut lines = event
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter_map(|l| l.strip_prefix(b"data:"))
        .map(|d| d.strip_prefix(b" ").unwrap_or(d));
    let first = std::str::from_utf8(lines.next()?).ok()?;
    let data = match lines.next() {
        None => Cow::Borrowed(first),
        Some(second) => {
            let mut joined = format!("{first}\n{}", std::str::from_utf8(second).ok()?);
            for line in lines {
                joined.push('\n');
                joined.push_str(std::str::from_utf8(line).ok()?);
            }
            Cow::Owned(joined)
        }
    };
    (!data.is_empty()).then_some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
        assert_eq!(json_outcome(ok), Outcome::Success);
        let err = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"x"}}"#;
        assert_eq!(json_outcome(err), Outcome::Failed("-32601".into()));
        let tool = br#"{"id":1,"result":{"isError":true,"content":[{"text":"{\"error\":1}"}]}}"#;
        assert_eq!(json_outcome(tool), Outcome::Failed("tool_error".into()));
        let note = br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
        assert_eq!(json_outcome(note), Outcome::NotAResponse);
        let batch = br#"[{"id":1,"result":{}},{"id":2,"error":{"code":7,"message":"x"}}]"#;
        assert_eq!(json_outcome(batch), Outcome::Failed("_OTHER".into()));
    }

    #[test]
    fn sse_data() {
        assert_eq!(last_sse_data(b": keep-alive\n\n"), None);
        assert_eq!(last_sse_data(b"id: 0-0\ndata: \n\n"), None);
        assert_eq!(
            last_sse_data(b"id: 0-1\ndata: {\"a\":1}\n\nid: 0-2\ndata: {\"b\":2}\n\n").as_deref(),
            Some("{\"b\":2}")
        );
        assert_eq!(
            last_sse_data(b"id: 0-3\ndata: [1,\ndata:2]\n\n: keep-alive\n\n").as_deref(),
            Some("[1,\n2]")
        );
        // CRLF line ends, a data line without a space, blank lines in a row.
        assert_eq!(
            last_sse_data(b"id: 1\r\ndata:{\"c\":3}\r\n\n\n\n").as_deref(),
            Some("{\"c\":3}")
        );
        // The last event with data wins even when it is followed by a keep-alive only.
        assert_eq!(
            last_sse_data(b"data: a\n\ndata: b\n\n: keep-alive\n\n").as_deref(),
            Some("b")
        );
        assert_eq!(
            last_sse_data(b"data: no blank line after it").as_deref(),
            Some("no blank line after it")
        );
        assert_eq!(last_sse_data(b""), None);
        // Data that is not UTF-8 is not a response.
        assert_eq!(last_sse_data(b"data: \xff\xfe\n\n"), None);
    }
}
