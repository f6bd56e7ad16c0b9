//! Sessions of the session era (MCP 2025-03-26 … 2025-11-25): one actix actor per live
//! `Mcp-Session-Id` ([`actor`]), reached only through [`handle::SessionHandle`], created and
//! rehydrated by [`registry::SessionRegistry`], with SSE streams as durable event logs
//! ([`stream`], [`event_id`]) and the client-facing side of running requests ([`peer`]).

pub mod actor;
pub mod event_id;
pub mod handle;
pub mod peer;
pub mod registry;
pub mod request;
pub mod signal;
pub mod stream;

pub use handle::{Connection, PostReply, ReplyMode, SessionError, SessionHandle};
pub use registry::{Backends, NewSession, SessionRegistry, SessionSettings};
