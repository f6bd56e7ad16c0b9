//! The peers of the comparison, installed from their registries at benchmark time into
//! `target/bench-peers/` (never committed):
//!
//! - **rmcp** (the official Rust SDK): a generated Cargo project depending on `rmcp` from
//!   crates.io (`$RMCP_VERSION`, default [`RMCP_VERSION`]) with its Streamable HTTP server in
//!   session mode on axum, the source in `benches/load/peers/rmcp_main.rs`; built with
//!   `cargo build --release` (minutes the first time, seconds after).
//! - **TypeScript SDK**: `benches/load/peers/ts_server.mjs` (StreamableHTTPServerTransport,
//!   stateful) next to a `node_modules` that is `tests/clients/node_modules` when it holds the
//!   SDK (the version the client tests pin), else `npm install @modelcontextprotocol/sdk zod`.
//!
//! A peer that cannot be prepared is reported with the reason and left out of the comparison.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The rmcp release the comparison builds unless `$RMCP_VERSION` says otherwise.
pub const RMCP_VERSION: &str = "3.9.0";

const RMCP_MAIN: &str = include_str!("peers/rmcp_main.rs");
const RMCP_MANIFEST: &str = include_str!("peers/rmcp_Cargo.toml");
const TS_SERVER: &str = include_str!("peers/ts_server.mjs");

/// A prepared peer: how to start it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub dir: PathBuf,
    /// What it is (name and version), for the report.
    pub version: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-peers")
}

/// Writes `text` to `path` unless it already holds it (so Cargo does not rebuild).
fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Generates and builds the rmcp peer.
pub fn rmcp() -> Result<Peer, String> {
    let version = std::env::var("RMCP_VERSION").unwrap_or_else(|_| RMCP_VERSION.to_owned());
    let dir = root().join("rmcp");
    write_if_changed(
        &dir.join("Cargo.toml"),
        &RMCP_MANIFEST.replace("RMCP_VERSION", &version),
    )?;
    write_if_changed(&dir.join("src/main.rs"), RMCP_MAIN)?;
    let log = dir.join("build.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("create build.log: {e}"))?;
    eprintln!("building the rmcp {version} peer in {} ...", dir.display());
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release"])
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .status()
        .map_err(|e| format!("run cargo: {e}"))?;
    if !status.success() {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cargo build of the rmcp {version} peer failed ({}):\n{}",
            log.display(),
            tail.join("\n")
        ));
    }
    Ok(Peer {
        program: dir.join("target/release/rmcp-peer"),
        args: Vec::new(),
        dir,
        version: format!("rmcp {version}"),
    })
}

/// Node ≥ 22 from `.tools/node22` (scripts/install-test-deps.sh) if present, else `node`.
fn node() -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node22/package/bin/node");
    if local.exists() {
        local
    } else {
        PathBuf::from("node")
    }
}

/// Prepares the TypeScript SDK peer.
pub fn typescript() -> Result<Peer, String> {
    let dir = root().join("ts");
    write_if_changed(&dir.join("server.mjs"), TS_SERVER)?;
    let modules = dir.join("node_modules");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules");
    if !modules.join("@modelcontextprotocol/sdk").exists() {
        if shared.join("@modelcontextprotocol/sdk").exists() && !modules.exists() {
            std::os::unix::fs::symlink(&shared, &modules)
                .map_err(|e| format!("link {}: {e}", modules.display()))?;
        } else {
            eprintln!(
                "npm install @modelcontextprotocol/sdk zod in {} ...",
                dir.display()
            );
            let ok = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--no-save"])
                .args(["@modelcontextprotocol/sdk", "zod"])
                .current_dir(&dir)
                .status()
                .map_err(|e| format!("run npm: {e}"))?
                .success();
            if !ok {
                return Err("npm install @modelcontextprotocol/sdk zod failed".into());
            }
        }
    }
    let manifest = modules.join("@modelcontextprotocol/sdk/package.json");
    let version = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("no SDK at {}", manifest.display()))?;
    let node = node();
    let node_version = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Ok(Peer {
        program: node,
        args: vec!["server.mjs".into()],
        dir,
        version: format!("@modelcontextprotocol/sdk {version} on Node {node_version}"),
    })
}
