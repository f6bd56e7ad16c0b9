//! The single writer of stdout: every message (session stream events, stateless replies,
//! transport errors) goes through one channel to one task, so lines never interleave, and
//! nothing but JSON-RPC messages ever reaches stdout (MCP `basic/transports.mdx`, "stdio": the
//! server MUST NOT write anything to its stdout that is not a valid MCP message).
//!
//! It also keeps the ids of client requests not answered yet, so that end of input can wait
//! for their responses before the process exits.

use crate::protocol::jsonrpc::RequestId;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A handle on the stdout writer task.
#[derive(Clone)]
pub struct Output {
    tx: mpsc::Sender<String>,
    outstanding: Arc<Mutex<HashSet<RequestId>>>,
    broken: CancellationToken,
}

impl Output {
    /// Starts the writer task over `writer`.
    pub fn spawn<W: AsyncWrite + Unpin + Send + 'static>(writer: W) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<String>(256);
        let output = Self {
            tx,
            outstanding: Arc::new(Mutex::new(HashSet::new())),
            broken: CancellationToken::new(),
        };
        let task = tokio::spawn(write_lines(writer, rx, output.clone_state()));
        (output, task)
    }

    fn clone_state(&self) -> (Arc<Mutex<HashSet<RequestId>>>, CancellationToken) {
        (Arc::clone(&self.outstanding), self.broken.clone())
    }

    /// Queues one serialized message (a line without its newline).
    pub async fn send_line(&self, line: String) {
        // Fails only once the writer is gone (stdout broken): nothing left to do with it.
        let _ = self.tx.send(line).await;
    }

    /// Queues one message.
    pub async fn send(&self, message: &Value) {
        self.send_line(message.to_string()).await;
    }

    /// A client request whose response is still to be written.
    pub fn expect_answer(&self, id: RequestId) {
        self.outstanding.lock().insert(id);
    }

    /// A client request that will get no response (cancelled by the client).
    pub fn forget(&self, id: &RequestId) {
        self.outstanding.lock().remove(id);
    }

    /// Cancelled when stdout can no longer be written.
    pub fn broken(&self) -> CancellationToken {
        self.broken.clone()
    }

    /// Waits until every expected response was written, or `deadline`; true if none is left.
    pub async fn settle(&self, deadline: Instant) -> bool {
        loop {
            if self.outstanding.lock().is_empty() {
                return true;
            }
            if Instant::now() >= deadline || self.broken.is_cancelled() {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<String>,
    (outstanding, broken): (Arc<Mutex<HashSet<RequestId>>>, CancellationToken),
) {
    while let Some(line) = rx.recv().await {
        let written = async {
            writer.write_all(line.as_bytes()).await?;
            writer.write_all(b"\n").await?;
            if rx.is_empty() {
                writer.flush().await?;
            }
            std::io::Result::Ok(())
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "stdout closed; stopping");
            broken.cancel();
            return;
        }
        if let Some(id) = answered_id(&line) {
            outstanding.lock().remove(&id);
        }
    }
    let _ = writer.flush().await;
}

/// The id of a response or error response line (not of a server-to-client request).
fn answered_id(line: &str) -> Option<RequestId> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value.get("method").is_some() {
        return None;
    }
    if value.get("result").is_none() && value.get("error").is_none() {
        return None;
    }
    RequestId::from_value(value.get("id")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn writes_lines_and_settles_answered_requests() {
        let (client, mut server) = tokio::io::duplex(1024);
        let (out, task) = Output::spawn(client);
        out.expect_answer(RequestId::Number(1));
        out.send(&json!({"jsonrpc": "2.0", "id": "s1", "method": "ping"}))
            .await;
        let soon = Instant::now() + std::time::Duration::from_millis(100);
        assert!(!out.settle(soon).await, "a server request answers nothing");
        out.send(&json!({"jsonrpc": "2.0", "id": 1, "result": {}}))
            .await;
        let later = Instant::now() + std::time::Duration::from_secs(5);
        assert!(out.settle(later).await);
        drop(out);
        task.await.unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut server, &mut text)
            .await
            .unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with("{}}\n"));
    }
}
