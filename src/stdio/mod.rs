//! The stdio transport (MCP 2024-11-05 … 2025-11-25 `basic/transports.mdx`, "stdio"; 2026-07-28
//! `basic/transports/stdio.mdx`): `mcp-hive serve --stdio` reads newline-delimited JSON-RPC
//! from stdin and writes newline-delimited JSON-RPC to stdout, nothing else (logs go to
//! stderr). There is no HTTP listener and no authentication (a local process; the
//! authorization spec says stdio SHOULD NOT use it), and the store is the embedded one.
//!
//! The process serves one session through the same [`SessionHandle`] and session actor as
//! Streamable HTTP: the session is opened at start ([`SessionRegistry::open`]), every line is
//! posted to the actor with [`ReplyMode::Standalone`], and stdout is the connection that reads
//! the session's standalone stream, so responses, notifications and server-to-client requests
//! (sampling, elicitation, roots) arrive there in order; their answers come back on stdin.
//! `initialize`, cancellation and `logging/setLevel` are the actor's, as on HTTP.
//!
//! Requests carrying 2026-07-28 `_meta` are served statelessly ([`stateless`]). A line that is
//! not JSON gets a -32700 error (id `null`) and the server keeps reading; a JSON-RPC batch gets
//! -32600. End of input waits for the responses still due (at most
//! `server.shutdown_timeout_secs`), ends the session and exits with status 0; SIGTERM/SIGINT
//! exit at once.

mod input;
mod output;
mod stateless;

use crate::config::Settings;
use crate::protocol::jsonrpc::{ErrorObject, Message, RequestId, error_value};
use crate::protocol::server::{McpServer, ServerInfo};
use crate::registry::Registry;
use crate::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, spawn_reader};
use crate::session::{
    Connection, Parcel, ReplyMode, SessionError, SessionHandle, SessionRegistry, SessionSettings,
};
use input::{Line, Lines};
use output::Output;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Why the stdio server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The session could not be opened or reached.
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// stdin could not be read.
    #[error("reading stdin: {0}")]
    Input(#[from] std::io::Error),
    /// The store could not be set up.
    #[error("setting up the store: {0}")]
    Setup(String),
}

/// Serves one session over the process's stdin and stdout until end of input or a signal.
/// Must run inside an actix system (the session actor runs on it).
pub async fn run(mut settings: Settings, registry: Registry) -> Result<(), StdioError> {
    // One local process: the embedded store, whatever REDIS_URL says.
    settings.store.redis_url.clear();
    let backends = crate::startup::build_backends(&settings)
        .map_err(|e| StdioError::Setup(format!("{e:#}")))?;
    let info = ServerInfo {
        instructions: (!settings.protocol.instructions.is_empty())
            .then(|| settings.protocol.instructions.clone()),
        ..ServerInfo::default()
    };
    let core = McpServer::new(registry, info, settings.protocol.page_size);
    let sessions = SessionRegistry::new(
        core,
        backends,
        SessionSettings::from_config(&settings),
        Vec::new(),
    );
    let handle = sessions.open(None).await?;
    tracing::info!(
        session = handle.id(),
        "mcp-hive serving one session over stdio"
    );
    let connection = handle.attach_carrier().await?;
    let (out, writer) = Output::spawn(tokio::io::stdout());
    let forwarder = forward_stream(&sessions, &handle, connection, out.clone());
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let sealer =
        crate::startup::state_sealer(&settings).map_err(|e| StdioError::Setup(format!("{e:#}")))?;
    let mut stdio = Stdio {
        sessions,
        handle,
        out,
        stateless: HashMap::new(),
        lane: stateless::Lane {
            sealer: Arc::new(sealer),
            ending: CancellationToken::new(),
        },
    };
    let limit = settings.server.max_body_bytes;
    let ended_by_eof = stdio.serve(Lines::new(stdin, limit)).await?;
    stdio.lane.ending.cancel();
    if ended_by_eof {
        let grace = Duration::from_secs(settings.server.shutdown_timeout_secs);
        if !stdio.out.settle(tokio::time::Instant::now() + grace).await {
            tracing::warn!("end of input: some responses were still due; exiting anyway");
        }
    }
    let Stdio { handle, out, .. } = stdio;
    if let Err(e) = handle.terminate().await {
        tracing::debug!(error = %e, "ending the stdio session");
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), forwarder).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    Ok(())
}

/// Copies the session's standalone stream to stdout, one event per line.
fn forward_stream(
    sessions: &SessionRegistry,
    handle: &SessionHandle,
    connection: Connection,
    out: Output,
) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = mpsc::channel::<Frame>(64);
    let source = ReaderSource {
        events: Arc::clone(sessions.events()),
        session: Arc::from(handle.id()),
        stream: crate::session::event_id::STANDALONE_STREAM.to_owned(),
        after: Some(0),
    };
    let options = ReaderOptions {
        prime: false,
        max_connection: None,
        batch: 256,
        // Keep-alives are an SSE matter; stdout gets none.
        keep_alive: Duration::from_secs(3600),
        fresh: false,
    };
    let stop = StopOn {
        connection: connection.ticket,
        shutdown: out.broken(),
    };
    spawn_reader(source, options, stop, tx, connection.guard);
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if let Frame::Event { data, .. } = frame {
                out.send_line(data.to_string()).await;
            }
        }
    })
}

/// The input side of one stdio session.
struct Stdio {
    sessions: SessionRegistry,
    handle: SessionHandle,
    out: Output,
    /// Stateless requests in flight, for `notifications/cancelled`.
    stateless: HashMap<RequestId, CancellationToken>,
    /// What stateless requests share.
    lane: stateless::Lane,
}

impl Stdio {
    /// Reads and dispatches lines; true at end of input, false on a signal or broken stdout.
    async fn serve<R>(&mut self, mut lines: Lines<R>) -> Result<bool, StdioError>
    where
        R: tokio::io::AsyncBufRead + Unpin,
    {
        let broken = self.out.broken();
        loop {
            let line = tokio::select! {
                line = lines.next() => line?,
                () = crate::startup::wait_for_signal() => {
                    tracing::info!("signal received; exiting");
                    return Ok(false);
                }
                () = broken.cancelled() => return Ok(false),
            };
            match line {
                None => return Ok(true),
                Some(Line::TooLong) => {
                    let e = ErrorObject::parse_error("the line exceeds server.max_body_bytes");
                    self.out.send(&error_value(None, &e)).await;
                }
                Some(Line::Text(bytes)) => self.dispatch(&bytes).await?,
            }
        }
    }

    /// One line: a JSON-RPC message for the session, or a stateless request.
    async fn dispatch(&mut self, bytes: &[u8]) -> Result<(), StdioError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                let e = ErrorObject::parse_error(e);
                self.out.send(&error_value(None, &e)).await;
                return Ok(());
            }
        };
        if value.is_array() {
            let e = ErrorObject::invalid_request("JSON-RPC batches are not accepted over stdio");
            self.out.send(&error_value(None, &e)).await;
            return Ok(());
        }
        let id = value.get("id").and_then(RequestId::from_value);
        let modern = crate::protocol::stateless::selects_stateless(None, &value);
        let message = match Message::from_value(value) {
            Ok(m) => m,
            Err(e) => {
                self.out.send(&error_value(id.as_ref(), &e)).await;
                return Ok(());
            }
        };
        match message {
            Message::Request(r) if modern => {
                self.stateless.retain(|_, token| !token.is_cancelled());
                self.out.expect_answer(r.id.clone());
                let cancel = CancellationToken::new();
                self.stateless.insert(r.id.clone(), cancel.clone());
                let (server, out) = (self.sessions.server().clone(), self.out.clone());
                let lane = self.lane.clone();
                tokio::spawn(async move {
                    stateless::serve(&server, &lane, &out, r, cancel.clone()).await;
                    cancel.cancel();
                });
                Ok(())
            }
            Message::Request(r) => {
                self.out.expect_answer(r.id.clone());
                self.post(Message::Request(r)).await
            }
            Message::Notification(n) if n.method == "notifications/cancelled" => {
                if let Some(id) = n.params.get("requestId").and_then(RequestId::from_value) {
                    self.out.forget(&id);
                    if let Some(token) = self.stateless.remove(&id) {
                        token.cancel();
                        return Ok(());
                    }
                }
                self.post(Message::Notification(n)).await
            }
            other => self.post(other).await,
        }
    }

    async fn post(&self, message: Message) -> Result<(), StdioError> {
        let parcel = Parcel::new(vec![message]);
        self.sessions
            .with_retry(self.handle.clone(), |h| {
                let parcel = parcel.clone();
                async move { h.post(parcel, ReplyMode::Standalone, None).await }
            })
            .await?;
        Ok(())
    }
}
