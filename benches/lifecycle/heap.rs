//! The `heap` part: live heap bytes per hibernated session and per live actor of an
//! in-process server on Redis, and the process RSS before and after `malloc_trim(0)`.

use crate::counting::{Reading, reading};
use crate::in_process::{in_process_server, live_actors, wait_no_actors};
use crate::support::{self, Redis};
use crate::{SESSIONS, SETUP_CONCURRENCY, WARM_SESSIONS};

pub(crate) struct Heap {
    /// After the warm-up; with each batch's actors live (`live` of them); after each batch
    /// hibernated; after `malloc_trim(0)` at the end.
    pub(crate) warm: Reading,
    pub(crate) live: [(Reading, u64); 2],
    pub(crate) hibernated: [Reading; 2],
    pub(crate) trimmed: Reading,
}

impl Heap {
    pub(crate) fn hibernated_bytes(&self, batch: usize) -> f64 {
        let before = if batch == 0 {
            self.warm
        } else {
            self.hibernated[0]
        };
        (self.hibernated[batch].heap - before.heap) as f64 / SESSIONS as f64
    }

    pub(crate) fn live_actor_bytes(&self, batch: usize) -> f64 {
        let before = if batch == 0 {
            self.warm
        } else {
            self.hibernated[0]
        };
        let (r, live) = self.live[batch];
        (r.heap - before.heap) as f64 / live.max(1) as f64
    }
}

pub(crate) async fn heap(redis: &Redis) -> Heap {
    redis.flushall().await;
    let (mcp, handle) =
        in_process_server(&redis.url(), &[("MCP_HIVE__SESSION__ACTOR_IDLE_SECS", "2")]);
    let http = support::http_client();
    drop(support::create_sessions(&http, &mcp, WARM_SESSIONS, SETUP_CONCURRENCY).await);
    wait_no_actors(&http, &mcp).await;
    let warm = reading();
    let mut live = [(Reading::default(), 0); 2];
    let mut hibernated = [Reading::default(); 2];
    for batch in 0..2 {
        drop(support::create_sessions(&http, &mcp, SESSIONS, SETUP_CONCURRENCY).await);
        // Read while the actors are still live (ACTOR_IDLE_SECS=2 and 5000 sessions take about a
        // second): the reading counts the actors alive at that moment.
        let r = reading();
        live[batch] = (r, live_actors(&http, &mcp).await);
        wait_no_actors(&http, &mcp).await;
        hibernated[batch] = reading();
    }
    // SAFETY: malloc_trim only releases free memory of glibc's heaps back to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
    let trimmed = reading();
    handle.stop(false).await;
    Heap {
        warm,
        live,
        hibernated,
        trimmed,
    }
}
