//! Sessions of the session era (MCP 2025-03-26 … 2025-11-25): one actix actor per live
//! `Mcp-Session-Id` ([`actor`]), reached only through [`handle::SessionHandle`], created,
//! found, confirmed and rehydrated by [`registry::SessionRegistry`] (what the actors share:
//! [`deps`]), with SSE streams as durable event logs ([`stream`], [`event_id`]), when a POST
//! stream's runner record is stored ([`runner_gate`]), the client-facing side of running
//! requests ([`peer`]) and the count of running requests a graceful shutdown waits for
//! ([`drain`]), which thread an actor lives on ([`home`]), and when it moves to the worker its
//! requests arrive on ([`relocate`]).

pub mod actor;
pub mod deps;
pub mod drain;
pub mod event_id;
pub mod handle;
pub mod home;
pub mod peer;
pub mod registry;
pub mod relocate;
pub mod request;
pub mod runner_gate;
pub mod signal;
pub mod stream;

pub use deps::{Backends, SessionDeps, SessionSettings};
pub use handle::{Connection, Parcel, PostReply, ReplyMode, SessionError, SessionHandle};
pub use registry::{Check, Found, NewSession, SessionRegistry};
