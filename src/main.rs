//! The `mcp-hive` binary: `mcp-hive serve` runs the MCP server, `mcp-hive auth` the demo OAuth
//! 2.1 authorization server, `mcp-hive dev` both wired together for local use, and
//! `mcp-hive sessions` inspects and ends sessions in Redis.

use anyhow::Context;

/// mimalloc returns freed memory to the OS steadily, where glibc's malloc kept a replica's RSS
/// creeping up under session churn (`cargo bench --bench soak`, BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use mcp_hive::authserver::AuthServer;
use mcp_hive::config::{Settings, TokenFormat, TokenMode};
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
    /// Run the MCP server (Streamable HTTP on HOST:PORT, endpoint MCP_PATH, plus HTTP+SSE on
    /// /sse and /messages), or one session over stdin/stdout with --stdio.
    Serve {
        /// A TOML config file layered over the defaults (also MCP_HIVE_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve one session over stdin/stdout (newline-delimited JSON-RPC) instead of HTTP:
        /// no listener, no auth, the embedded store, logs on stderr (also TRANSPORT=stdio).
        #[arg(long)]
        stdio: bool,
    },
    /// Run the demo OAuth 2.1 authorization server (AUTH_HOST:AUTH_PORT, default 127.0.0.1:3001).
    Auth {
        /// A TOML config file layered over the defaults (also MCP_HIVE_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run the authorization server and the MCP server together, wired for the README
    /// walkthrough: auto-approve and public introspection are ON (local use only).
    Dev {
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
        Command::Serve { config, stdio } => serve(config, stdio),
        Command::Auth { config } => auth(config),
        Command::Dev { config } => dev(config),
        Command::Sessions { config, action } => sessions(config, action),
    };
    if let Err(e) = result {
        eprintln!("mcp-hive: {e:#}");
        std::process::exit(1);
    }
}

fn serve(config: Option<PathBuf>, stdio: bool) -> anyhow::Result<()> {
    let mut settings = Settings::load(config.as_deref())?;
    settings.transports.stdio |= stdio;
    mcp_hive::telemetry::init(&settings.log);
    if settings.transports.stdio {
        // stdout carries MCP messages only: no listening line.
        return actix_web::rt::System::new().block_on(async move {
            let registry = default_registry(&settings)?;
            mcp_hive::stdio::run(settings, registry)
                .await
                .context("stdio transport")
        });
    }
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

fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    writeln!(out, "{line}").context("writing to stdout")?;
    out.flush().context("flushing stdout")
}

fn auth(config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings = Settings::load(config.as_deref())?;
    mcp_hive::telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        let server = AuthServer::build(&settings).await?;
        let host = settings.authserver.host.clone();
        tracing::info!(issuer = %server.issuer(), %host, port = server.port(), "mcp-hive auth serving the demo authorization server");
        say(&format!(
            "mcp-hive auth listening on http://{host}:{} (issuer {})",
            server.port(),
            server.issuer()
        ))?;
        let server = server.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            mcp_hive::startup::wait_for_signal().await;
            handle.stop(true).await;
        });
        server.await.context("authorization server error")
    })
}

/// `mcp-hive dev`: the authorization server with auto-approve and public introspection, and the
/// MCP server pointed at it (introspection with a client registered for it, or JWT).
fn dev(config: Option<PathBuf>) -> anyhow::Result<()> {
    let mut settings = Settings::load(config.as_deref())?;
    mcp_hive::telemetry::init(&settings.log);
    let explicit_format = std::env::var_os("AUTH_TOKEN_FORMAT").is_some();
    settings.authserver.auto_approve = true;
    // The walkthrough names the resource http://localhost:3000/mcp: make it the canonical one.
    if settings.server.public_url.is_empty() && settings.server.port != 0 {
        settings.server.public_url = format!("http://localhost:{}", settings.server.port);
    }
    settings.authserver.public_introspection = true;
    if settings.auth.mode == TokenMode::Jwt && !explicit_format {
        settings.authserver.token_format = TokenFormat::Jwt;
    }
    let secret = mcp_hive::authserver::state::random_token(32);
    settings
        .authserver
        .clients
        .push(mcp_hive::config::StaticClient {
            client_id: "mcp-hive-dev".into(),
            client_secret: secret.clone(),
            redirect_uris: vec![],
            grant_types: vec![],
            scope: String::new(),
            client_name: "mcp-hive (introspection)".into(),
        });
    actix_web::rt::System::new().block_on(async move {
        let auth_server = AuthServer::build(&settings).await?;
        let issuer = auth_server.issuer().to_owned();
        settings.auth.disabled = false;
        settings.auth.server_url = issuer.clone();
        settings.auth.introspection.url = String::new();
        settings.auth.introspection.client_id = "mcp-hive-dev".into();
        settings.auth.introspection.client_secret = secret;
        settings.auth.jwt.issuer = String::new();
        settings.auth.validate()?;
        tracing::warn!(%issuer, "mcp-hive dev: demo authorization server with AUTO-APPROVE and PUBLIC INTROSPECTION; for local use only");
        say(&format!(
            "mcp-hive auth listening on http://{}:{} (issuer {issuer})",
            settings.authserver.host,
            auth_server.port()
        ))?;
        let auth_server = auth_server.into_server();
        let auth_handle = auth_server.handle();
        actix_web::rt::spawn(auth_server);
        let registry = default_registry(&settings)?;
        let host = settings.server.host.clone();
        let app = Application::build(settings, registry)?;
        say(&format!("mcp-hive listening on http://{host}:{}", app.port()))?;
        let result = app.run_until_stopped().await.context("server error");
        auth_handle.stop(true).await;
        result
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
