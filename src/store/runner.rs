//! Runner records and replica liveness: what lets a replica take over an open stream whose
//! writer died.
//!
//! A POST answered over SSE is a stream one replica writes while it runs the request. When that
//! replica is killed (SIGKILL, OOM, node loss) the client resumes the stream elsewhere with
//! `Last-Event-ID` and would wait forever for events nobody writes. So, with a shared store,
//! the running replica records per open stream an opaque *runner record* (which replica, and
//! what it needs to start the work over) and keeps a short liveness lease of its own. A replica
//! serving a resumed stream checks the record; if its replica's lease lapsed it swaps the record
//! for its own (compare-and-set, so exactly one replica wins) and continues the stream.
//!
//! The store knows nothing of what a record means: it keeps strings per stream, drops a record
//! when its stream ends, and answers whether a replica's lease is current. The embedded store
//! serves one process, whose runner is always alive: every method is a no-op there.

use crate::store::StoreError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Runner records of open streams and the liveness leases of replicas.
#[async_trait]
pub trait RunnerStore: Send + Sync + 'static {
    /// Records who writes `stream` (replacing any record); dropped when the stream ends or the
    /// session goes.
    async fn set_runner(
        &self,
        _session: &str,
        _stream: &str,
        _record: Arc<str>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The runner record of an open stream, if any.
    async fn runner(&self, _session: &str, _stream: &str) -> Result<Option<Arc<str>>, StoreError> {
        Ok(None)
    }

    /// Replaces the record only if it still equals `expected`; returns whether it did.
    async fn replace_runner(
        &self,
        _session: &str,
        _stream: &str,
        _expected: &str,
        _record: Arc<str>,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Renews `replica`'s liveness lease for `ttl`.
    async fn beat(&self, _replica: &str, _ttl: Duration) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether `replica`'s lease is current.
    async fn alive(&self, _replica: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
}

impl RunnerStore for crate::store::memory::MemoryStore {}
