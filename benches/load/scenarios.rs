//! `load all`: every scenario, each against its baseline in the same run, then the goals
//! ([`crate::goals`]) and the generated section ([`crate::writeup`]).
//!
//! 1. **Protocol overhead and peers.** All servers are started up front (idle ones cost
//!    nothing) and measured in turn, round after round, so a load spike of the shared machine
//!    hits every system: `tools/call` of `add` at full speed, `clients` sessions on their own
//!    connections, for the echo baseline (JSON and SSE), mcp-hive (embedded store and Redis,
//!    JSON and SSE replies), rmcp (stateful: SSE replies only) and the TypeScript SDK (JSON and
//!    SSE). Ratios are taken round by round, then the median. Then each system once at a fixed
//!    arrival rate of half its median maximum (open loop, coordinated omission corrected).
//! 2. **Sessions per second**: `initialize` + `notifications/initialized` at full speed.
//! 3. **Auth**: mcp-hive (embedded, JSON) without auth, with one cached JWT, with introspection
//!    of one token (warm cache), alternating; then a new RS256 JWT on every call (uncached).
//! 4. **Streams**: see [`crate::streams`], several consumer counts, each against the echo
//!    server's broadcast (the fan-out limit), then mcp-hive with the embedded store and Redis.

use crate::drive::{self, AddCall, Initialize, Placement};
use crate::mcp::{self, Endpoint, Session};
use crate::peers;
use crate::report::{self, Row};
use crate::summary::{self, Series};
pub use crate::summary::{StreamsRow, streams_table};
use crate::targets::{Store, Target};
use crate::{authn, streams, support};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

/// Options of `load all`.
#[derive(clap::Args)]
pub struct AllArgs {
    /// Rounds of the alternating full-speed runs.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Rounds of the alternating auth runs (no auth, cached JWT, cached introspection). More
    /// than the others: their goal's margin (0.9) is inside the round-to-round noise of a shared
    /// 2-core machine, and a run is only 3 × 5 s.
    #[arg(long, default_value_t = 5)]
    auth_rounds: usize,
    /// Measured seconds per full-speed run (after 1 s of warm-up).
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Concurrent clients of the full-speed runs.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Stream consumer counts, comma-separated.
    #[arg(long, default_value = "100,1000,10000")]
    consumers: String,
    /// Slow calls held in flight on one session, comma-separated (`load inflight`).
    #[arg(long, value_delimiter = ',', default_value = "0,1000,4000")]
    held: Vec<usize>,
    /// Leave out the peers (rmcp, TypeScript SDK).
    #[arg(long)]
    no_peers: bool,
    /// Do not rewrite BENCHMARKS.md and benches/plots/.
    #[arg(long)]
    no_write: bool,
}

const WARMUP: Duration = Duration::from_secs(1);

/// The label of the fan-out limit in the stream table: the echo server's broadcast channel.
pub const ECHO_STREAMS: &str = "echo (bare actix-web, broadcast)";

struct System {
    key: &'static str,
    mode: &'static str,
    target: Target,
    op: Arc<AddCall>,
}

async fn sessions(ep: &Endpoint, n: usize, auth: Option<&str>) -> Result<Vec<Session>, String> {
    let mut conn = ep.conn();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(mcp::initialize(&mut conn, ep, auth).await?);
    }
    mcp::call_add(&mut conn, ep, &out[0], 1).await?;
    Ok(out)
}

async fn system(
    key: &'static str,
    mode: &'static str,
    target: Target,
    clients: usize,
    auth: Option<&str>,
) -> Result<System, String> {
    let ep = Endpoint::parse(&target.url)?;
    let sessions = sessions(&ep, clients, auth).await?;
    let op = Arc::new(AddCall::new(ep, sessions, Placement::Setup, clients));
    Ok(System {
        key,
        mode,
        target,
        op,
    })
}

fn log(started: Instant, what: &str) {
    eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
}

/// Runs `systems` round-robin for `rounds` rounds.
async fn rounds(
    systems: &[System],
    rounds: usize,
    clients: usize,
    run: Duration,
    started: Instant,
) -> Vec<Series> {
    let mut series: Vec<Series> = systems
        .iter()
        .map(|s| Series {
            key: s.key,
            system: s.target.label.clone(),
            mode: s.mode.into(),
            rounds: Vec::new(),
        })
        .collect();
    for round in 1..=rounds {
        for (s, out) in systems.iter().zip(series.iter_mut()) {
            log(
                started,
                &format!("round {round}/{rounds}: {} ({})", s.target.label, s.mode),
            );
            let o = drive::closed_loop(
                &s.op.ep,
                s.op.clone(),
                clients,
                WARMUP,
                run,
                Some(s.target.cpu_probe()),
            )
            .await;
            out.rounds.push(o);
        }
    }
    series
}

/// Runs the comparison.
pub async fn run(args: AllArgs, json: bool) -> Result<(), String> {
    let started = Instant::now();
    let load_before = support::load_average();
    let clients = args.clients;
    let run = Duration::from_secs_f64(args.duration);
    let mut notes: Vec<String> = Vec::new();

    // Peers first: building rmcp takes minutes the first time and must not overlap a measurement.
    let (rmcp, ts) = if args.no_peers {
        (
            Err("left out (--no-peers)".to_owned()),
            Err("left out (--no-peers)".to_owned()),
        )
    } else {
        (peers::rmcp(), peers::typescript())
    };
    for (name, p) in [("rmcp", &rmcp), ("TypeScript SDK", &ts)] {
        match p {
            Ok(p) => notes.push(format!("{name} peer: {}", p.version)),
            Err(e) => notes.push(format!("{name} peer not measured: {e}")),
        }
    }

    log(started, "starting the servers");
    let redis = support::Redis::start().await;
    let redis_url = redis.url();
    let hive = |label: &'static str, store, mode: &'static str| {
        let url = redis_url.clone();
        async move { Target::hive(label, store, Some(&url), mode, &[]).await }
    };
    let mut systems = vec![
        system(
            "echo-json",
            "json",
            Target::echo("echo (bare actix-web)", false).await?,
            clients,
            None,
        )
        .await?,
        system(
            "echo-sse",
            "sse",
            Target::echo("echo (bare actix-web)", true).await?,
            clients,
            None,
        )
        .await?,
        system(
            "emb-json",
            "json",
            hive("mcp-hive, embedded store", Store::Embedded, "json").await?,
            clients,
            None,
        )
        .await?,
        system(
            "emb-sse",
            "sse",
            hive("mcp-hive, embedded store", Store::Embedded, "sse").await?,
            clients,
            None,
        )
        .await?,
        system(
            "redis-json",
            "json",
            hive("mcp-hive, Redis", Store::Redis, "json").await?,
            clients,
            None,
        )
        .await?,
        system(
            "redis-sse",
            "sse",
            hive("mcp-hive, Redis", Store::Redis, "sse").await?,
            clients,
            None,
        )
        .await?,
    ];
    if let Ok(p) = &rmcp {
        let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
        let t = Target::peer(&p.version, &p.program, &args, &p.dir, &[]).await?;
        systems.push(system("rmcp-sse", "sse", t, clients, None).await?);
    }
    if let Ok(p) = &ts {
        let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
        let label = "TypeScript SDK";
        let t = Target::peer(label, &p.program, &args, &p.dir, &[("JSON", "1")]).await?;
        systems.push(system("ts-json", "json", t, clients, None).await?);
        let t = Target::peer(label, &p.program, &args, &p.dir, &[]).await?;
        systems.push(system("ts-sse", "sse", t, clients, None).await?);
    }

    // 1. Full speed, alternating; then half of each maximum at a fixed rate.
    let series = rounds(&systems, args.rounds, clients, run, started).await;
    let mut open_rows = Vec::new();
    let mut latency_plot = Vec::new();
    for (s, ser) in systems.iter().zip(&series) {
        let rate = ser.median().rate() / 2.0;
        log(
            started,
            &format!("fixed rate {rate:.0}/s: {} ({})", s.target.label, s.mode),
        );
        let o = drive::open_loop(
            &s.op.ep,
            s.op.clone(),
            2 * clients,
            rate,
            WARMUP,
            run,
            Some(s.target.cpu_probe()),
        )
        .await;
        let row = Row::new("rate", &s.target.label, s.mode, &o, 2 * clients);
        latency_plot.push((
            format!("{} ({})", s.target.label, s.mode),
            [row.p50_ms, row.p90_ms, row.p99_ms, row.p999_ms, row.max_ms],
        ));
        open_rows.push((s.key, row));
    }

    // 2. Sessions per second.
    let mut init_rows = Vec::new();
    for s in systems
        .iter()
        .filter(|s| matches!(s.key, "emb-json" | "redis-json" | "rmcp-sse" | "ts-json"))
    {
        log(started, &format!("initialize: {}", s.target.label));
        let op = Arc::new(Initialize {
            ep: s.op.ep.clone(),
        });
        let o = drive::closed_loop(
            &s.op.ep,
            op,
            clients,
            Duration::from_millis(500),
            run,
            Some(s.target.cpu_probe()),
        )
        .await;
        init_rows.push(Row::new("init", &s.target.label, s.mode, &o, clients));
    }
    for s in systems {
        s.target.stop().await;
    }

    // 3. Auth.
    log(started, "auth: starting the JWT and introspection servers");
    let issuer = authn::Issuer::start();
    let jwt_token = format!("Bearer {}", issuer.token(1));
    let opaque = "Bearer opaque-load-token".to_owned();
    let emb = |label: &'static str, env: Vec<(&'static str, String)>| async move {
        Target::hive(label, Store::Embedded, None, "json", &env).await
    };
    let plain = emb("mcp-hive, no auth", vec![]).await?;
    let auth_systems = vec![
        system("auth-none", "no auth", plain, clients, None).await?,
        system(
            "auth-jwt",
            "JWT, cached",
            emb("mcp-hive, JWT", issuer.jwt_env()).await?,
            clients,
            Some(&jwt_token),
        )
        .await?,
        system(
            "auth-introspect",
            "introspection, cached",
            emb("mcp-hive, introspection", issuer.introspection_env()).await?,
            clients,
            Some(&opaque),
        )
        .await?,
    ];
    let auth_series = rounds(&auth_systems, args.auth_rounds, clients, run, started).await;
    log(started, "auth: signing tokens for the uncached run");
    // Every call spends a token; a pool that ran dry would count errors at memory speed, so it
    // holds enough for 25,000 calls/s over the warm-up and the run (signing: about 1 ms each,
    // on every core). 12,000 ran dry on a machine that verified 9,600 tokens/s (2026-12-06).
    let fresh_run = Duration::from_millis(1000);
    let tokens = issuer.tokens(30_000);
    let jwt_system = &auth_systems[1];
    let fresh = Arc::new(authn::FreshTokens {
        inner: AddCall::new(
            jwt_system.op.ep.clone(),
            jwt_system.op.sessions.clone(),
            Placement::Setup,
            0,
        ),
        tokens,
        next: AtomicUsize::new(0),
    });
    log(started, "auth: a new JWT per call");
    let uncached = drive::closed_loop(
        &jwt_system.op.ep,
        fresh.clone(),
        clients,
        Duration::from_millis(200),
        fresh_run,
        Some(jwt_system.target.cpu_probe()),
    )
    .await;
    let spent = fresh.next.load(std::sync::atomic::Ordering::Relaxed);
    if spent > fresh.tokens.len() {
        log(
            started,
            &format!(
                "auth: WARNING the token pool ran dry ({} tokens, {spent} calls): the uncached \
                 JWT row counts the calls after it as errors; raise the pool",
                fresh.tokens.len()
            ),
        );
    }
    let mut auth_rows = summary::median_rows(&auth_series, clients);
    auth_rows.push(Row::new(
        "auth",
        &jwt_system.target.label,
        "JWT, new token per call",
        &uncached,
        clients,
    ));
    for s in auth_systems {
        s.target.stop().await;
    }

    // 4. Slow calls held on one session.
    let mut held_rows = Vec::new();
    let uncapped = crate::inflight::uncapped();
    let t = Target::hive(
        "mcp-hive embedded",
        Store::Embedded,
        None,
        "json",
        &uncapped,
    )
    .await?;
    let ep = Endpoint::parse(&t.url)?;
    for &n in &args.held {
        log(
            started,
            &format!("inflight: {n} slow calls held on one session"),
        );
        let o = crate::inflight::measure(&ep, n, 4, WARMUP, run, Some(t.cpu_probe())).await?;
        held_rows.push(Row::new(
            "inflight",
            &t.label,
            &format!("json, {n} held"),
            &o,
            4,
        ));
    }
    t.stop().await;

    // 5. Streams.
    let mut stream_rows = Vec::new();
    for n in args
        .consumers
        .split(',')
        .filter_map(|c| c.trim().parse::<usize>().ok())
    {
        for (label, store) in [
            (ECHO_STREAMS, None),
            ("mcp-hive, embedded store", Some(Store::Embedded)),
            ("mcp-hive, Redis", Some(Store::Redis)),
        ] {
            log(started, &format!("streams: {n} consumers, {label}"));
            let t = match store {
                Some(store) => Target::hive(label, store, Some(&redis_url), "auto", &[]).await?,
                None => Target::echo(label, false).await?,
            };
            let ep = Endpoint::parse(&t.url)?;
            let o =
                streams::run(&ep, n, 20, Duration::from_millis(50), Some(t.cpu_probe())).await?;
            stream_rows.push(StreamsRow::new(label, &o));
            t.stop().await;
        }
    }
    redis.stop().await;

    // Goals.
    let goals = crate::goals::evaluate(&series, &auth_series, &open_rows, &stream_rows, &mut notes);

    let full_rows = summary::median_rows(&series, clients);
    let rate_rows: Vec<Row> = open_rows.into_iter().map(|(_, r)| r).collect();
    let all_rows: Vec<Row> = full_rows
        .iter()
        .chain(&rate_rows)
        .chain(&init_rows)
        .chain(&auth_rows)
        .chain(&held_rows)
        .cloned()
        .collect();
    if json {
        let out = serde_json::json!({"rows": all_rows, "streams": stream_rows, "goals": goals, "notes": notes});
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        print!("{}", report::text_table(&all_rows));
        print!("{}", streams_table(&stream_rows));
        print!("{}", summary::goals_table(&goals));
    }
    if args.no_write {
        return Ok(());
    }
    crate::writeup::plots(
        &format!(
            "tools/call at full speed ({clients} clients, median of {} rounds)",
            args.rounds
        ),
        &full_rows,
        &latency_plot,
    )?;
    let section = crate::writeup::section(crate::writeup::Parts {
        load_before,
        secs: started.elapsed().as_secs_f64(),
        clients,
        rounds: args.rounds,
        auth_rounds: args.auth_rounds,
        run_secs: args.duration,
        goals: &goals,
        full: &full_rows,
        rate: &rate_rows,
        init: &init_rows,
        auth: &auth_rows,
        held: &held_rows,
        streams: &stream_rows,
        series: &series,
        auth_series: &auth_series,
        notes: &notes,
    });
    support::write_report("load", &section);
    Ok(())
}
