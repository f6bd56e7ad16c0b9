//! `load smoke`: a few seconds of every measurement against servers it starts itself, for CI.
//! It checks that the generator and the servers agree (every call answered correctly, every
//! notification delivered), not how fast anything is: the numbers it prints are too short to
//! mean much. Redis is used when `redis-server` is on `PATH`; the peers are not built.

use crate::drive::{self, AddCall, Initialize, Placement};
use crate::mcp::{self, Endpoint};
use crate::report::{self, Row};
use crate::scenarios::{self, StreamsRow};
use crate::targets::{Store, Target};
use crate::{authn, inflight, streams, support};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: Duration = Duration::from_millis(300);
const RUN: Duration = Duration::from_secs(1);
const CLIENTS: usize = 8;

async fn calls(
    rows: &mut Vec<Row>,
    target: &Target,
    mode: &str,
    auth: Option<&str>,
    open_rate: Option<f64>,
) -> Result<(), String> {
    let ep = Endpoint::parse(&target.url)?;
    let mut conn = ep.conn();
    let mut sessions = Vec::new();
    for _ in 0..CLIENTS {
        sessions.push(mcp::initialize(&mut conn, &ep, auth).await?);
    }
    mcp::call_add(&mut conn, &ep, &sessions[0], 1).await?;
    let op = Arc::new(AddCall::new(ep.clone(), sessions, Placement::Setup, 0));
    let probe = Some(target.cpu_probe());
    let o = drive::closed_loop(&ep, op.clone(), CLIENTS, WARMUP, RUN, probe.clone()).await;
    rows.push(Row::new("calls", &target.label, mode, &o, CLIENTS));
    if let Some(rate) = open_rate {
        let o = drive::open_loop(&ep, op, CLIENTS, rate, WARMUP, RUN, probe).await;
        rows.push(Row::new("calls", &target.label, mode, &o, CLIENTS));
    }
    Ok(())
}

/// `notifies` notifications to 10 open streams of `target`.
async fn stream_smoke(
    rows: &mut Vec<StreamsRow>,
    target: &Target,
    notifies: usize,
) -> Result<(), String> {
    let ep = Endpoint::parse(&target.url)?;
    let probe = Some(target.cpu_probe());
    let s = streams::run(&ep, 10, notifies, Duration::from_millis(20), probe).await?;
    rows.push(StreamsRow::new(&target.label, &s));
    Ok(())
}

/// Runs the smoke test; an error (or any failed call) fails it.
pub async fn run(json: bool) -> Result<(), String> {
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut stream_rows = Vec::new();

    let echo = Target::echo("echo (actix-web)", false).await?;
    calls(&mut rows, &echo, "json", None, None).await?;
    stream_smoke(&mut stream_rows, &echo, 3).await?;
    echo.stop().await;

    for mode in ["json", "sse"] {
        let hive = Target::hive("mcp-hive embedded", Store::Embedded, None, mode, &[]).await?;
        calls(&mut rows, &hive, mode, None, Some(300.0)).await?;
        let ep = Endpoint::parse(&hive.url)?;
        if mode == "json" {
            let op = Arc::new(Initialize { ep: ep.clone() });
            let o = drive::closed_loop(&ep, op, CLIENTS, WARMUP, RUN, Some(hive.cpu_probe())).await;
            rows.push(Row::new("init", &hive.label, mode, &o, CLIENTS));
            stream_smoke(&mut stream_rows, &hive, 5).await?;
            for held in [0, 100] {
                let probe = Some(hive.cpu_probe());
                let o = inflight::measure(&ep, held, 4, WARMUP, RUN, probe).await?;
                let mode = format!("{mode}, {held} held");
                rows.push(Row::new("inflight", &hive.label, &mode, &o, 4));
            }
        } else {
            // The other placements start their sessions on the calling connections.
            let first = mcp::initialize(&mut ep.conn(), &ep, None).await?;
            let op = Arc::new(AddCall::new(
                ep.clone(),
                vec![first],
                Placement::Swapped,
                CLIENTS,
            ));
            let probe = Some(hive.cpu_probe());
            let o = drive::closed_loop(&ep, op, CLIENTS, WARMUP, RUN, probe).await;
            rows.push(Row::new(
                "calls",
                "mcp-hive embedded, swapped",
                mode,
                &o,
                CLIENTS,
            ));
        }
        hive.stop().await;
    }

    let issuer = authn::Issuer::start();
    let token = format!("Bearer {}", issuer.token(1));
    let hive = Target::hive(
        "mcp-hive embedded, JWT",
        Store::Embedded,
        None,
        "json",
        &issuer.jwt_env(),
    )
    .await?;
    calls(&mut rows, &hive, "cached JWT", Some(&token), None).await?;
    hive.stop().await;

    if support::command_output("redis-server", &["--version"]).is_some() {
        let redis = support::Redis::start().await;
        let url = redis.url();
        let hive = Target::hive("mcp-hive Redis", Store::Redis, Some(&url), "sse", &[]).await?;
        calls(&mut rows, &hive, "sse", None, None).await?;
        stream_smoke(&mut stream_rows, &hive, 3).await?;
        hive.stop().await;
        redis.stop().await;
    } else {
        eprintln!("smoke: redis-server not found, Redis runs skipped");
    }

    if json {
        let out = serde_json::json!({"calls": rows, "streams": stream_rows});
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        print!("{}", report::text_table(&rows));
        print!("{}", scenarios::streams_table(&stream_rows));
    }
    let mut failures = Vec::new();
    for r in &rows {
        if r.errors > 0 || r.rate <= 0.0 {
            failures.push(format!(
                "{} {} {} {}: {} errors, {:.0}/s ({})",
                r.scenario,
                r.system,
                r.mode,
                r.model,
                r.errors,
                r.rate,
                r.first_error.as_deref().unwrap_or("no successful call")
            ));
        }
    }
    for s in &stream_rows {
        if s.missing > 0 {
            failures.push(format!(
                "streams {}: {} notifications missing",
                s.system, s.missing
            ));
        }
    }
    eprintln!("smoke took {:.1} s", started.elapsed().as_secs_f64());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("smoke failed:\n  {}", failures.join("\n  ")))
    }
}
