//! Reads the outcome of an MCP operation off the bytes sent to the client, for `error.type`:
//! the JSON-RPC error code of an error response, `tool_error` for a `CallToolResult` with
//! `isError: true`, nothing for a success. Only the top-level `error.code` and
//! `result.isError` are decoded (everything else is skipped without allocating).

use super::labels::rpc_error_label;
use memchr::memmem;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::LazyLock;

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

/// Keys whose presence anywhere in a message means it must be decoded to know its outcome.
static UNDECIDED: LazyLock<[memmem::Finder<'static>; 3]> = LazyLock::new(|| {
    [
        memmem::Finder::new(br#""error":"#),
        memmem::Finder::new(br#""isError":"#),
        memmem::Finder::new(br#""method":"#),
    ]
});
static RESULT: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(br#""result":"#));

/// A success response recognised without decoding it: a JSON object with a `"result":` key
/// and no `"error":`, `"isError":` or `"method":` key at any depth. Inside a JSON string every
/// `"` is escaped, so these byte sequences can only be keys: a message without them is no error
/// response, no failed tool call and no request or notification, and with a `result` it is a
/// success. Anything else (a batch, any of those keys, even nested) is decoded. It trusts
/// that the body is well-formed JSON, as every body this server's serializer writes is. Every
/// response is probed, and decoding one was about 3 % of a call's instructions.
fn plain_success(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
        && bytes.last() == Some(&b'}')
        && UNDECIDED.iter().all(|f| f.find(bytes).is_none())
        && RESULT.find(bytes).is_some()
}

/// The outcome of one JSON-RPC message (or of the first failure in a batch).
pub(crate) fn json_outcome(bytes: &[u8]) -> Outcome {
    if plain_success(bytes) {
        return Outcome::Success;
    }
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
    let mut separators = BLANK_LINE.rfind_iter(chunk);
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

/// The end of an SSE event, searched from the end of a chunk (built once).
static BLANK_LINE: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(b"\n\n"));

/// The lines of `text` split at `\n` (found with `memchr`, not byte by byte).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The data of one event (its `data:` lines joined by newlines), `None` when it has none or
/// only an empty one, or when it is not UTF-8.
fn event_data(event: &[u8]) -> Option<Cow<'_, str>> {
    let mut lines = lines(event)
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

    /// The outcome a full decode gives.
    fn decoded(bytes: &[u8]) -> Outcome {
        serde_json::from_slice::<MessageProbe>(bytes).map_or(Outcome::NotAResponse, message_outcome)
    }

    #[test]
    fn the_undecoded_success_is_exactly_what_decoding_finds() {
        let cases: &[&[u8]] = &[
            br#"{"id":1,"jsonrpc":"2.0","result":{"content":[{"text":"The sum is 3","type":"text"}],"structuredContent":{"result":3}}}"#,
            // Text that mentions the keys, quotes escaped as JSON strings do.
            br#"{"id":1,"jsonrpc":"2.0","result":{"content":[{"text":"{\"error\":1,\"isError\":true,\"method\":2}","type":"text"}]}}"#,
            // The keys nested: decoded, and the nesting does not make a failure.
            br#"{"id":1,"jsonrpc":"2.0","result":{"structuredContent":{"error":"none"}}}"#,
            br#"{"id":1,"jsonrpc":"2.0","result":{"isError":false,"content":[]}}"#,
            br#"{"id":1,"jsonrpc":"2.0","result":{"isError":true,"content":[]}}"#,
            br#"{"id":1,"jsonrpc":"2.0","error":{"code":-32602,"message":"bad"}}"#,
            br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"result":1}}"#,
            br#"{"id":2,"jsonrpc":"2.0","method":"sampling/createMessage","params":{}}"#,
            br#"{"result":"#,
        ];
        for bytes in cases {
            let text = String::from_utf8_lossy(bytes);
            assert_eq!(json_outcome(bytes), decoded(bytes), "{text}");
            if plain_success(bytes) {
                assert_eq!(decoded(bytes), Outcome::Success, "{text}");
            }
        }
        assert!(plain_success(cases[0]) && plain_success(cases[1]));
        assert!(!plain_success(cases[2]) && !plain_success(cases[6]));
        // The limit of the shortcut: it does not check that the JSON is well formed, so a
        // truncated success (which the server's serializer never writes) still counts as one.
        assert!(plain_success(br#"{"id":1,"result":{}"#));
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
        assert_eq!(
            lines(b"a\n\nb\n").collect::<Vec<_>>(),
            [&b"a"[..], b"", b"b", b""]
        );
        // Data that is not UTF-8 is not a response.
        assert_eq!(last_sse_data(b"data: \xff\xfe\n\n"), None);
    }
}
