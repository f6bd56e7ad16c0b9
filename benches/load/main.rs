//! The load generator of mcp-hive, a bench target usable on its own:
//!
//! ```sh
//! cargo bench --bench load -- calls --store redis --mode sse --clients 16 --duration 5
//! cargo bench --bench load -- calls --url http://127.0.0.1:3000/mcp --rate 2000
//! cargo bench --bench load -- calls --placement own   # sessions per connection: setup, own, swapped
//! cargo bench --bench load -- init --store embedded
//! cargo bench --bench load -- inflight --held 0,100,1000,4000   # slow calls held on one session
//! cargo bench --bench load -- streams --store redis --consumers 1000 --notifies 20
//! cargo bench --bench load -- smoke          # a few seconds of each (CI)
//! cargo bench --bench load -- all            # the comparison in BENCHMARKS.md
//! ```
//!
//! Without `--url` each subcommand starts its own `mcp-hive serve` (the release binary Cargo
//! built for the benchmark, or `$MCP_HIVE_BIN`) and, for `--store redis`, its own
//! `redis-server`. `--json` prints the results as JSON instead of a table. See
//! [`drive`] for the two load models (closed loop at full speed; open loop at a fixed arrival
//! rate with latency from the intended send time), [`streams`] for stream delivery latency and
//! [`scenarios`] for the comparison (`all`).

#[path = "../support/mod.rs"]
mod support;

mod authn;
mod drive;
mod echo;
mod goals;
mod http;
mod inflight;
mod mcp;
mod peers;
mod report;
mod scenarios;
mod smoke;
mod streams;
mod summary;
mod targets;
mod writeup;

use clap::{Args, Parser, Subcommand};
use drive::{AddCall, Initialize, Placement};
use mcp::Endpoint;
use report::Row;
use std::sync::Arc;
use std::time::Duration;
use targets::{Store, Target};

#[derive(Parser)]
#[command(name = "load", about = "Load generator and comparisons of mcp-hive")]
struct Cli {
    /// Print results as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Worker threads of the generator (the servers under test get the rest of the machine).
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Which server to load.
#[derive(Args, Clone)]
struct TargetArgs {
    /// The MCP endpoint of a running server; without it mcp-hive is started.
    #[arg(long)]
    url: Option<String>,
    /// Store of the started mcp-hive: embedded or redis; `echo` starts the bare actix-web
    /// baseline instead (`echo-server`, SSE replies when `--mode sse`).
    #[arg(long, default_value = "embedded")]
    store: String,
    /// Reply framing of the started mcp-hive (MCP_HIVE__PROTOCOL__RESPONSE_MODE): json, sse, auto.
    #[arg(long, default_value = "json")]
    mode: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// `tools/call` of `add`: full speed with C clients, then a fixed arrival rate.
    Calls {
        #[command(flatten)]
        target: TargetArgs,
        /// Concurrent clients (each with its own session and connection).
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Measured seconds per run.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Warm-up seconds before measuring.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Fixed arrival rate (calls/s); default: half the full-speed rate just measured.
        #[arg(long)]
        rate: Option<f64>,
        /// Where the called sessions are started: `setup` (all on one set-up connection, the
        /// `all` comparison's worst case), `own` (each connection its own: direct clients) or
        /// `swapped` (each connection starts one, pairs call each other's: a load balancer).
        #[arg(long, value_enum, default_value = "setup")]
        placement: Placement,
    },
    /// `initialize` + `notifications/initialized` at full speed (new sessions per second).
    Init {
        #[command(flatten)]
        target: TargetArgs,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
    },
    /// `tools/call` of `add` on one session while it has N slow calls in flight.
    Inflight {
        #[command(flatten)]
        target: TargetArgs,
        /// Slow calls held in flight on the session, one measurement per count.
        #[arg(long, value_delimiter = ',', default_value = "0,100,1000,4000")]
        held: Vec<usize>,
        /// Connections calling `add` on the same session.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Measured seconds per count.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
        /// Warm-up seconds per count.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
    },
    /// Delivery latency of `notifications/resources/updated` to N open GET streams.
    Streams {
        #[command(flatten)]
        target: TargetArgs,
        /// Open SSE streams (one session each).
        #[arg(long, default_value_t = 100)]
        consumers: usize,
        /// Notifications published (one at a time).
        #[arg(long, default_value_t = 20)]
        notifies: usize,
    },
    /// A few seconds of each measurement against servers it starts (CI).
    Smoke,
    /// The comparison: protocol overhead, peers, auth, streams; rewrites BENCHMARKS.md.
    All(scenarios::AllArgs),
    /// Serve the bare actix-web JSON-RPC echo baseline (used by `all`).
    EchoServer {
        /// Port on 127.0.0.1 (0 = any).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Worker threads (0 = one per CPU, like mcp-hive).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// Answer with one SSE event instead of a JSON body.
        #[arg(long)]
        sse: bool,
    },
}

/// A server to measure: started here (and stopped on drop) or given by URL.
struct Running {
    ep: Endpoint,
    target: Option<Target>,
    _redis: Option<support::Redis>,
    label: String,
}

impl Running {
    /// The reply mode for tables: the one set on a started server, unknown for a given URL.
    fn mode<'a>(&self, t: &'a TargetArgs) -> &'a str {
        if self.target.is_some() {
            &t.mode
        } else {
            "as served"
        }
    }

    fn probe(&self) -> Option<drive::CpuProbe> {
        self.target.as_ref().map(Target::cpu_probe)
    }
}

async fn start(t: &TargetArgs, env: &[(&str, String)]) -> Result<Running, String> {
    if let Some(url) = &t.url {
        return Ok(Running {
            ep: Endpoint::parse(url)?,
            target: None,
            _redis: None,
            label: url.clone(),
        });
    }
    if t.store == "echo" {
        let label = "echo (bare actix-web)".to_owned();
        let target = Target::echo(&label, t.mode == "sse").await?;
        return Ok(Running {
            ep: Endpoint::parse(&target.url)?,
            target: Some(target),
            _redis: None,
            label,
        });
    }
    let (store, redis) = match t.store.as_str() {
        "embedded" => (Store::Embedded, None),
        "redis" => (Store::Redis, Some(support::Redis::start().await)),
        other => return Err(format!("unknown store {other:?} (embedded, redis or echo)")),
    };
    let label = format!("mcp-hive {}", t.store);
    let url = redis.as_ref().map(support::Redis::url);
    let target = Target::hive(&label, store, url.as_deref(), &t.mode, env).await?;
    Ok(Running {
        ep: Endpoint::parse(&target.url)?,
        target: Some(target),
        _redis: redis,
        label,
    })
}

/// `n` sessions, all started on one connection.
async fn sessions(
    ep: &Endpoint,
    n: usize,
    auth: Option<&str>,
) -> Result<Vec<mcp::Session>, String> {
    let mut out = Vec::with_capacity(n);
    let mut conn = ep.conn();
    for _ in 0..n {
        out.push(mcp::initialize(&mut conn, ep, auth).await?);
    }
    Ok(out)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn emit(json: bool, rows: &[Row]) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(rows).expect("rows as JSON")
        );
    } else {
        print!("{}", report::text_table(rows));
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Calls {
            target,
            clients,
            duration,
            warmup,
            rate,
            placement,
        } => {
            let r = start(&target, &[]).await?;
            let sessions = sessions(&r.ep, clients, None).await?;
            // The open loop below uses twice as many connections.
            let op = Arc::new(AddCall::new(r.ep.clone(), sessions, placement, clients * 2));
            let full = drive::closed_loop(
                &r.ep,
                op.clone(),
                clients,
                secs(warmup),
                secs(duration),
                r.probe(),
            )
            .await;
            let rate = rate.unwrap_or(full.rate() / 2.0);
            let open = drive::open_loop(
                &r.ep,
                op,
                clients * 2,
                rate,
                secs(warmup),
                secs(duration),
                r.probe(),
            )
            .await;
            let rows = [
                Row::new("calls", &r.label, r.mode(&target), &full, clients),
                Row::new("calls", &r.label, r.mode(&target), &open, clients * 2),
            ];
            emit(cli.json, &rows);
        }
        Cmd::Init {
            target,
            clients,
            duration,
        } => {
            let r = start(&target, &[]).await?;
            let op = Arc::new(Initialize { ep: r.ep.clone() });
            let o =
                drive::closed_loop(&r.ep, op, clients, secs(0.5), secs(duration), r.probe()).await;
            emit(
                cli.json,
                &[Row::new("init", &r.label, r.mode(&target), &o, clients)],
            );
        }
        Cmd::Inflight {
            target,
            held,
            clients,
            duration,
            warmup,
        } => {
            let r = start(&target, &inflight::uncapped()).await?;
            let mut rows = Vec::new();
            for n in held {
                let o =
                    inflight::measure(&r.ep, n, clients, secs(warmup), secs(duration), r.probe())
                        .await?;
                let mode = format!("{}, {n} held", r.mode(&target));
                rows.push(Row::new("inflight", &r.label, &mode, &o, clients));
            }
            emit(cli.json, &rows);
        }
        Cmd::Streams {
            target,
            consumers,
            notifies,
        } => {
            let r = start(&target, &[]).await?;
            let o = streams::run(
                &r.ep,
                consumers,
                notifies,
                Duration::from_millis(50),
                r.probe(),
            )
            .await?;
            let row = scenarios::StreamsRow::new(&r.label, &o);
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&row).expect("JSON"));
            } else {
                print!("{}", scenarios::streams_table(&[row]));
            }
        }
        Cmd::Smoke => smoke::run(cli.json).await?,
        Cmd::All(args) => scenarios::run(args, cli.json).await?,
        Cmd::EchoServer { .. } => unreachable!("handled before the runtime starts"),
    }
    Ok(())
}

fn main() {
    // `cargo bench` appends `--bench`; it means nothing here.
    let args = std::env::args().filter(|a| a != "--bench");
    let cli = Cli::parse_from(args);
    if let Cmd::EchoServer { port, workers, sse } = cli.cmd {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            workers
        };
        if let Err(e) = echo::serve(port, workers, sse) {
            eprintln!("echo-server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
        .expect("start the generator's runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}
