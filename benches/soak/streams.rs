//! The standalone `GET` streams held open through the soak, each resumed with `Last-Event-ID`
//! on the other replica when it drops.

use crate::fleet::{self, Next};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Keeps a standalone stream open, resuming it on the other replica when it drops.
pub(crate) fn hold_stream(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    sid: String,
    mut replica: usize,
    first: reqwest::Response,
    stop: CancellationToken,
    reconnects: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sse = fleet::Sse::new(first);
        let mut last = "0-0".to_owned();
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                n = sse.next(Duration::from_secs(60)) => n,
            };
            match next {
                Next::Event(e) => {
                    if let Some(id) = e.id {
                        last = id;
                    }
                }
                Next::Timeout => {}
                Next::Ended | Next::Broken(_) => loop {
                    reconnects.fetch_add(1, Ordering::Relaxed);
                    replica = 1 - replica;
                    let rb = fleet::get(&http, &urls[replica], &sid, Some(&last));
                    if let Ok(res) = fleet::send_ok(rb, "resume GET").await {
                        sse = fleet::Sse::new(res);
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                },
            }
        }
    })
}
