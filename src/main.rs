//! The `mcp-hive` binary: `mcp-hive serve` runs the MCP server, `mcp-hive sessions` inspects and
//! ends sessions in Redis. `auth` and `dev` arrive with the authorization-server work.

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
    /// Inspect or end sessions in the Redis store (needs REDIS_URL).
    Sessions {
        /// A TOML config file layered over the defaults (also MCP_HIVE_CONFIG).
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: SessionsAction,
    },
}

#[derive(Subcommand)]
enum SessionsAction {
    /// List live sessions.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show a session's record, TTL, keys and streams as JSON.
    Show {
        /// The session id.
        id: String,
    },
    /// Delete a session: its keys go, its actors and streams end on every replica.
    Delete {
        /// The session id.
        id: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config),
        Command::Sessions { config, action } => sessions(config, action),
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

fn sessions(config: Option<PathBuf>, action: SessionsAction) -> anyhow::Result<()> {
    let settings = Settings::load(config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let out = runtime.block_on(async {
        match action {
            SessionsAction::List { limit } => mcp_hive::admin::list(&settings, limit).await,
            SessionsAction::Show { id } => mcp_hive::admin::show(&settings, &id).await,
            SessionsAction::Delete { id } => mcp_hive::admin::delete(&settings, &id).await,
        }
    })?;
    println!("{}", out.trim_end());
    Ok(())
}
