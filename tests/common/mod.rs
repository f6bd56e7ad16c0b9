//! Black-box test helpers: start the real `mcp-hive serve` binary on `127.0.0.1:0`, talk to it
//! over HTTP with reqwest, and parse its SSE streams.
//!
//! The core helpers live in private modules and are re-exported here (`common::Client`, ...):
//! [`server`] ([`TestServer`]), [`client`] ([`Client`], [`tool_call`]), [`sse`] ([`SseReader`],
//! [`SseEvent`], [`is_sse`], [`split_id`]), [`redis_server`] ([`RedisServer`]) and [`replicas`]
//! ([`redis_replicas`], [`initialized`]).

// Each test crate uses only part of these helpers (and of their re-exports).
#![allow(dead_code, unused_imports)]

pub mod auth_server;
pub mod authserver;
pub mod jwt_keys;
pub mod legacy;
pub mod modern;
pub mod rejection;
pub mod stdio;

mod client;
mod redis_server;
mod replicas;
mod server;
mod sse;

pub use client::{Client, tool_call};
pub use redis_server::RedisServer;
pub use replicas::{initialized, redis_replicas};
pub use server::TestServer;
pub use sse::{SseEvent, SseReader, is_sse, split_id};
