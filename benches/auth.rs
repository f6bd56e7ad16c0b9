//! The auth benchmark: what checking bearer tokens costs.
//!
//! Run with `cargo bench --bench auth` (about 70 s after the build). It serves a JWK Set
//! (the committed test key `tests/fixtures/jwt/rsa-a.key.pem`) from an in-process actix-web
//! server on a free loopback port, signs an RS256 access token with it, and measures:
//!
//! 1. Per-token verification cost in-process, with the library's own types: the RS256
//!    signature check alone (`jsonwebtoken::decode`), the whole uncached JWT verifier
//!    (`auth::jwt::JwtVerifier`: header, key lookup, signature, `exp`/`nbf`/`iss`/`aud`,
//!    principal) and the cached path the server takes for a token it has seen
//!    (`auth::cache::TokenCache`: SHA-256 of the token plus a cache lookup).
//! 2. `tools/call` throughput of the release binary with `DISABLE_AUTH=true` and in JWT mode with
//!    the same (cached) token on every request, alternating the two servers for five rounds
//!    (16 clients, each with its own session and keep-alive connection, 1 s warm-up, 5 s
//!    measured). The goal is a JWT/no-auth ratio of at least 0.9; the ratio is the median of
//!    the per-round ratios, which cancels most of the machine's noise. Each server's CPU per
//!    call over the measured seconds (`/proc/<pid>/stat`) is reported beside it: the cost of
//!    auth itself, less disturbed by the client sharing the cores.
//!
//! Results go to stdout and into `BENCHMARKS.md` between `<!-- auth:begin -->` and
//! `<!-- auth:end -->`.

mod support;

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mcp_hive::auth::Verify;
use mcp_hive::auth::cache::TokenCache;
use mcp_hive::auth::claims::Audiences;
use mcp_hive::auth::jwks::{KeySet, KeySource};
use mcp_hive::auth::jwt::JwtVerifier;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Server;

const CLIENTS: usize = 16;
const WARMUP: Duration = Duration::from_secs(1);
const RUN: Duration = Duration::from_secs(5);
const ROUNDS: usize = 5;
const MICRO_ITERATIONS: u32 = 2000;
const AUDIENCE: &str = "urn:mcp-hive:bench";
const KID: &str = "bench-rsa-a";

/// Serves `{"keys": [jwk]}` at `/jwks` from its own thread; returns the base URL.
fn jwks_server(jwk: Value) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let body = json!({ "keys": [jwk] });
            let server = HttpServer::new(move || {
                let body = body.clone();
                App::new().route(
                    "/jwks",
                    web::get().to(move || {
                        let body = body.clone();
                        async move { HttpResponse::Ok().json(body) }
                    }),
                )
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("bind the JWKS server");
            let port = server.addrs()[0].port();
            tx.send(port).expect("report the JWKS port");
            server.run().await.expect("run the JWKS server");
        });
    });
    let port = rx.recv().expect("the JWKS server's port");
    format!("http://127.0.0.1:{port}")
}

struct Micro {
    rs256_us: f64,
    verifier_us: f64,
    cached_us: f64,
}

fn per_op_us(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e6 / f64::from(MICRO_ITERATIONS)
}

async fn micro(token: &str, public: &DecodingKey, jwks_url: &str, issuer: &str) -> Micro {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    let start = Instant::now();
    for _ in 0..MICRO_ITERATIONS {
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, public, &validation)
            .expect("the bench token verifies");
        std::hint::black_box(data);
    }
    let rs256_us = per_op_us(start.elapsed());

    let keys = Arc::new(KeySet::new(
        mcp_hive::auth::fetch::client(Duration::from_secs(3)),
        KeySource::Url(jwks_url.to_owned()),
        Duration::from_secs(600),
        Duration::from_secs(30),
    ));
    let verifier = JwtVerifier::new(
        keys,
        issuer.to_owned(),
        Audiences::new(&[AUDIENCE.to_owned()]),
        vec![Algorithm::RS256],
        30,
    );
    verifier.verify(token).await.expect("first verification");
    let start = Instant::now();
    for _ in 0..MICRO_ITERATIONS {
        std::hint::black_box(verifier.verify(token).await.expect("verify"));
    }
    let verifier_us = per_op_us(start.elapsed());

    let cache = TokenCache::new(1000, Duration::from_secs(60), Duration::from_secs(10));
    cache
        .verify(token, &verifier)
        .await
        .expect("fill the cache");
    let start = Instant::now();
    for _ in 0..MICRO_ITERATIONS {
        std::hint::black_box(cache.verify(token, &verifier).await.expect("cached"));
    }
    let cached_us = per_op_us(start.elapsed());
    Micro {
        rs256_us,
        verifier_us,
        cached_us,
    }
}

/// One server's share of a round.
struct Run {
    /// Calls per second over the measured interval.
    rate: f64,
    /// Failed calls.
    errors: u64,
    /// Server CPU (user + system, from `/proc`) per successful call, µs.
    cpu_us: f64,
}

/// Calls per second of `add` over CLIENTS sessions, each with its own connection, and the
/// server's CPU per call over the same interval.
async fn throughput(server: &Server, token: Option<&str>) -> Run {
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let http = match token {
            Some(t) => support::http_client_with_token(t),
            None => support::http_client(),
        };
        let sid = support::initialize(&http, &server.mcp)
            .await
            .expect("initialize a throughput session");
        clients.push((http, sid));
    }
    let start = Instant::now();
    let (measure_from, until) = (start + WARMUP, start + WARMUP + RUN);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|(http, sid)| {
            let url = server.mcp.clone();
            tokio::spawn(async move {
                let (mut ok, mut errors, mut id) = (0u64, 0u64, 0u64);
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    id += 1;
                    let result = support::call_add(&http, &url, &sid, id).await;
                    if sent < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => ok += 1,
                        Err(_) => errors += 1,
                    }
                }
                (ok, errors)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = server.cpu_secs();
    tokio::time::sleep_until(until.into()).await;
    let cpu = server.cpu_secs() - cpu_before;
    let (mut ok, mut errors) = (0, 0);
    for w in workers {
        let (o, e) = w.await.expect("a throughput worker panicked");
        ok += o;
        errors += e;
    }
    let secs = (Instant::now() - measure_from).as_secs_f64();
    Run {
        rate: ok as f64 / secs,
        errors,
        cpu_us: cpu * 1e6 / ok.max(1) as f64,
    }
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    let started = Instant::now();
    let load_before = support::load_average();
    let pem = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt/rsa-a.key.pem"),
    )
    .expect("read tests/fixtures/jwt/rsa-a.key.pem");
    let signing = EncodingKey::from_rsa_pem(&pem).expect("the RSA test key");
    let mut jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256).expect("its JWK");
    jwk.common.key_id = Some(KID.to_owned());
    let public = DecodingKey::from_jwk(&jwk).expect("the public key");
    let base = jwks_server(serde_json::to_value(&jwk).expect("JWK as JSON"));
    let issuer = base.clone();
    let jwks_url = format!("{base}/jwks");
    let now = jsonwebtoken::get_current_timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    header.typ = Some("at+jwt".to_owned());
    let claims = json!({
        "iss": issuer, "aud": AUDIENCE, "sub": "bench-user", "client_id": "bench-client",
        "scope": "mcp:tools", "iat": now, "exp": now + 3600,
        "jti": "0123456789abcdef0123456789abcdef",
    });
    let token = jsonwebtoken::encode(&header, &claims, &signing).expect("sign the bench token");

    eprintln!(
        "[{:>5.1} s] 1. verification cost",
        started.elapsed().as_secs_f64()
    );
    let m = micro(&token, &public, &jwks_url, &issuer).await;

    let open = Server::start(&bin, &[]).await;
    let jwt = Server::start(
        &bin,
        &[
            ("DISABLE_AUTH", "false".to_owned()),
            ("AUTH_TOKEN_MODE", "jwt".to_owned()),
            ("OAUTH_SERVER_URL", issuer.clone()),
            ("JWT_JWKS_URL", jwks_url.clone()),
            ("JWT_AUDIENCE", AUDIENCE.to_owned()),
        ],
    )
    .await;
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        eprintln!(
            "[{:>5.1} s] 2. throughput round {round}/{ROUNDS}",
            started.elapsed().as_secs_f64()
        );
        let a = throughput(&open, None).await;
        let b = throughput(&jwt, Some(&token)).await;
        rounds.push((a, b));
    }
    open.stop().await;
    jwt.stop().await;

    let ratio = median(rounds.iter().map(|(a, b)| b.rate / a.rate).collect());
    let cpu_ratio = median(rounds.iter().map(|(a, b)| b.cpu_us / a.cpu_us).collect());
    let errors: u64 = rounds.iter().map(|(a, b)| a.errors + b.errors).sum();

    let commit = support::command_output("git", &["rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let date = support::command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
        .unwrap_or_else(|| "unknown date".into());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Last run: {date}, commit `{commit}`, {}; 1-minute load average {load_before} before, {} after; run took {:.0} s.\n",
        support::machine(),
        support::load_average(),
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| Per token check (in-process, {MICRO_ITERATIONS} iterations) | µs |"
    );
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(
        out,
        "| RS256 signature check alone (`jsonwebtoken::decode`, 2048-bit key) | {:.1} |",
        m.rs256_us
    );
    let _ = writeln!(
        out,
        "| Uncached JWT verifier (key lookup, signature, claims, principal) | {:.1} |",
        m.verifier_us
    );
    let _ = writeln!(
        out,
        "| Cached token (SHA-256 + cache hit): what a request with a known token pays | {:.2} |",
        m.cached_us
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| `tools/call` throughput ({CLIENTS} clients, JSON/SSE auto mode) | no auth (calls/s) | JWT, cached (calls/s) | ratio | server CPU per call: no auth / JWT (µs) | CPU ratio |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, (a, b)) in rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "| round {} | {:.0} | {:.0} | {:.3} | {:.1} / {:.1} | {:.3} |",
            i + 1,
            a.rate,
            b.rate,
            b.rate / a.rate,
            a.cpu_us,
            b.cpu_us,
            b.cpu_us / a.cpu_us
        );
    }
    let _ = writeln!(
        out,
        "| **median** | | | **{ratio:.3}** (goal ≥ 0.9: {}) | | {cpu_ratio:.3} |",
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
    let _ = writeln!(
        out,
        "\nErrors during the throughput rounds: {errors}. A cached token costs a request about \
         {:.1} µs of CPU in-process; the server's CPU per call with a cached JWT was {cpu_ratio:.2}× \
         the CPU without auth (median over the rounds). CPU per call moves less with the \
         machine's load than calls per second, whose ratio also carries the noise of the client \
         sharing the cores (a throughput ratio above 1 is such noise; the two servers alternate \
         so load spikes hit both); \
         an uncached RS256 token costs about {:.0} µs once per token and replica.",
        m.cached_us, m.verifier_us
    );
    print!("{out}");
    support::write_report("auth", &out);
}
