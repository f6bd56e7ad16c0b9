//! The protocol core: JSON-RPC framing ([`jsonrpc`]), MCP revisions ([`version`]), the context
//! handed to handlers ([`context`]), what a request may change besides its reply
//! ([`effects`]), pagination ([`pagination`]), the method dispatcher
//! ([`server`]), the 2026-07-28 stateless lane ([`stateless`]), its multi round-trip
//! requests ([`mrtr`]) and the tasks extension ([`tasks`]). Nothing here knows about HTTP, SSE,
//! actors or Redis.

pub mod context;
pub mod effects;
pub mod jsonrpc;
pub mod mrtr;
pub mod pagination;
pub mod server;
pub mod stateless;
pub mod tasks;
pub mod version;
