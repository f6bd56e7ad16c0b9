//! The Redis store's own I/O runtime (one thread per core) that owns the background tasks of
//! the pool's connections for the life of the store.
//!
//! A multiplexed Redis connection is driven by a task on the runtime that opened it. Opened on
//! an actix HTTP worker, it dies with that worker, and workers stop first in a graceful
//! shutdown, while session actors (moved to their own arbiters by then, see `session::home`)
//! still store the last events of the requests they finish. The pool's connections are opened
//! here and live until the store goes; only an HTTP worker's own connection, used by nothing
//! but that worker, lives on the worker (see the module docs of the store).

use std::future::Future;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A runtime thread that stops when this value is dropped.
pub struct IoThread {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

/// The I/O thread is gone (the store is being dropped).
#[derive(Debug, thiserror::Error)]
#[error("the Redis I/O thread has stopped")]
pub struct IoStopped;

impl IoThread {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Self> {
        // As many threads as cores, like the HTTP workers the connections used to live on.
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("redis-io")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("redis-io-owner".into())
            .spawn(move || {
                // Runs until the store drops the sender; the runtime is then dropped here, outside
                // any async context.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }

    /// Runs `work` on the I/O thread and returns its output.
    pub async fn run<F>(&self, work: F) -> Result<F::Output, IoStopped>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(work).await.map_err(|_| IoStopped)
    }
}
