//! The HTTP client the auth layer uses to talk to the authorization server (introspection, JWKS,
//! metadata): one pooled `reqwest` client per replica with a time limit on every call, no
//! redirects (credentials and tokens are never sent anywhere but the configured URL), and a cap on
//! response sizes so a misbehaving server cannot exhaust memory.

use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;

/// Largest response body accepted from the authorization server.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why a call to the authorization server failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection refused, DNS failure, TLS failure, or timeout.
    #[error("{url} unreachable: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
    /// A status other than 200.
    #[error("{url} answered HTTP {status}{}", .oauth_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Status {
        /// The URL called.
        url: String,
        /// The status.
        status: u16,
        /// The OAuth `error` code of a JSON error body (RFC 6749 §5.2), if any.
        oauth_error: Option<String>,
    },
    /// The body is not a JSON object or is too large.
    #[error("{url} sent an unusable body: {reason}")]
    Body {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Builds the client: `timeout` bounds each call from connect to the last body byte.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("mcp-hive/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|e| {
            // Only TLS backend initialisation can fail here; fall back to defaults.
            tracing::error!(error = %e, "could not configure the auth HTTP client; using defaults");
            reqwest::Client::new()
        })
}

/// Sends the request and decodes a JSON object from a 200 response.
pub async fn json_object(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<serde_json::Map<String, Value>, FetchError> {
    let unreachable = |e: reqwest::Error| FetchError::Unreachable {
        url: url.to_owned(),
        reason: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            with_sources(&e)
        },
    };
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body_error = |reason: String| FetchError::Body {
        url: url.to_owned(),
        reason,
    };
    let body = read_limited(response, MAX_RESPONSE_BYTES).await;
    if status != reqwest::StatusCode::OK {
        let oauth_error = body
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            oauth_error,
        });
    }
    let body = body.map_err(|e| match e {
        ReadError::TooLarge => body_error(format!("larger than {MAX_RESPONSE_BYTES} bytes")),
        ReadError::Transport(e) => unreachable(e),
    })?;
    match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(body_error("not a JSON object".into())),
        Err(e) => Err(body_error(format!("not JSON: {e}"))),
    }
}

/// Why a body could not be read within its limit.
#[derive(Debug)]
pub enum ReadError {
    /// Larger than the limit (by `Content-Length` or while reading).
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads a response body of at most `limit` bytes.
pub async fn read_limited(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(ReadError::Transport)?;
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error and its causes ("error sending request: connection refused").
pub fn with_sources(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
