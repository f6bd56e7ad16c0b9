//! The protocol core: JSON-RPC framing ([`jsonrpc`]), MCP revisions ([`version`]), the context
//! handed to handlers ([`context`]), pagination ([`pagination`]) and the method dispatcher
//! ([`server`]). Nothing here knows about HTTP, SSE, actors or Redis.

pub mod context;
pub mod jsonrpc;
pub mod pagination;
pub mod server;
pub mod stateless;
pub mod version;
