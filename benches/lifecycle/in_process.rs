//! The library's server (`Application`) run inside the benchmark process, so that
//! [`crate::counting`] sees its heap, and its live actors as `/readyz` reports them.

use std::time::{Duration, Instant};

/// Runs `mcp-hive serve`'s `Application` on its own thread and actix system; returns its MCP URL
/// and a handle that stops it.
pub(crate) fn in_process_server(
    redis_url: &str,
    extra: &[(&str, &str)],
) -> (String, actix_web::dev::ServerHandle) {
    let env: std::collections::HashMap<String, String> = [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("DISABLE_AUTH", "true"),
        ("REDIS_URL", redis_url),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let settings = mcp_hive::config::Settings::load_from(&env, None)
        .expect("settings of the in-process server");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let registry = mcp_hive::startup::default_registry(&settings).expect("registry");
            let app = mcp_hive::startup::Application::build(settings, registry)
                .expect("build the in-process server");
            tx.send((app.port(), app.handle()))
                .expect("hand over the port");
            let _ = app.run_until_stopped().await;
        });
    });
    let (port, handle) = rx.recv().expect("the in-process server started");
    (format!("http://127.0.0.1:{port}/mcp"), handle)
}

pub(crate) async fn live_actors(http: &reqwest::Client, mcp: &str) -> u64 {
    let url = mcp.replace("/mcp", "/readyz");
    for _ in 0..100 {
        if let Ok(res) = http.get(&url).send().await
            && let Ok(v) = res.json::<serde_json::Value>().await
            && let Some(n) = v["live_actors"].as_u64()
        {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz of the in-process server did not answer");
}

pub(crate) async fn wait_no_actors(http: &reqwest::Client, mcp: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while live_actors(http, mcp).await > 0 {
        assert!(Instant::now() < deadline, "actors did not hibernate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stopped actors are dropped on their arbiter right after; let freeing finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
}
