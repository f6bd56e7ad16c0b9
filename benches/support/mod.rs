//! Helpers of the benchmarks: the processes under test (`redis-server`, `mcp-hive serve`), a
//! minimal MCP client over raw HTTP, Redis introspection (`INFO`, `MONITOR`), process memory and
//! the machine description.
//!
//! Failures while setting up (a process that does not start, a request that a healthy server
//! must answer) abort the benchmark with a message: a benchmark that measured something else
//! than it claims is worse than none.
//!
//! Shared by several benchmark binaries, each using a part of it:
//! - [`redis_server`]: a private `redis-server`, its counters and a `MONITOR` tally;
//! - [`server`]: `mcp-hive serve` under test and process CPU time;
//! - [`client`]: a minimal MCP client;
//! - [`run`]: the machine and the run's identity, and writing a report into BENCHMARKS.md.

// Each binary uses a part of this module, so some items and re-exports go unused in each.
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod redis_server;
pub mod run;
pub mod server;

pub use client::*;
pub use redis_server::*;
pub use run::*;
pub use server::*;

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use reqwest::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// The protocol revision the benchmark speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}
