//! The `mcp-hive` binary. `mcp-hive serve` runs the MCP server; `auth`, `dev` and `sessions`
//! arrive with the authorization-server and Redis work.

use anyhow::Context;
use clap::{Parser, Subcommand};
use mcp_hive::config::Settings;
use mcp_hive::startup::{Application, default_registry};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "mcp-hive",
    version,
    about = "Horizontally scalable Streamable HTTP MCP server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MCP server (Streamable HTTP on HOST:PORT, endpoint MCP_PATH).
    Serve {
        /// A TOML config file layered over the defaults (also MCP_HIVE_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config),
    };
    if let Err(e) = result {
        eprintln!("mcp-hive: {e:#}");
        std::process::exit(1);
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings = Settings::load(config.as_deref())?;
    mcp_hive::telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        let registry = default_registry(&settings)?;
        let host = settings.server.host.clone();
        let path = settings.server.mcp_path.clone();
        let app = Application::build(settings, registry)?;
        let port = app.port();
        tracing::info!(%host, port, %path, "mcp-hive serving the MCP endpoint");
        let mut out = std::io::stdout();
        writeln!(out, "mcp-hive listening on http://{host}:{port}").context("writing to stdout")?;
        out.flush().context("flushing stdout")?;
        app.run_until_stopped().await.context("server error")
    })
}
