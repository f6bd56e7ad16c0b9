//! The rmcp peer of the load benchmark (generated into target/bench-peers/rmcp by
//! `benches/load`, never built as part of mcp-hive): the official Rust SDK's Streamable HTTP
//! server in its stateful (session) mode, with the same `add` tool as mcp-hive's demo (a
//! structured result plus its text). Prints `listening on http://<addr>/mcp` once bound.

use rmcp::{
    ServerHandler,
    handler::server::{
        router::tool::ToolRouter,
        wrapper::{Json, Parameters},
    },
    model::{ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct TwoNumbers {
    a: f64,
    b: f64,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
struct NumberResult {
    result: f64,
}

#[derive(Debug, Clone)]
struct Demo {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Demo {
    #[tool(description = "Add two numbers")]
    fn add(&self, Parameters(TwoNumbers { a, b }): Parameters<TwoNumbers>) -> Json<NumberResult> {
        Json(NumberResult { result: a + b })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Demo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn main() -> std::io::Result<()> {
    let threads: usize = std::env::var("WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let service: StreamableHttpService<Demo, LocalSessionManager> = StreamableHttpService::new(
        || {
            Ok(Demo {
                tool_router: Demo::tool_router(),
            })
        },
        Default::default(),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    // Without TCP_NODELAY the SSE body's small writes wait for delayed ACKs (about 40 ms per
    // call); mcp-hive (actix-web) and Node set it, so the peer gets it too.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).await
}
