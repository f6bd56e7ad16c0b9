//! [`StoreObserver`]: how a store reports the duration and failures of its backend operations
//! (Redis round trips) to whoever measures them, without knowing who that is. Operation names
//! are the store's own (`session.load`, `events.append`, ...): the store knows no MCP methods.

use super::StoreError;
use std::time::Duration;

/// Receives one report per backend operation.
pub trait StoreObserver: Send + Sync + 'static {
    /// `operation` took `elapsed` and failed with `error`, if any. `NotFound`-like outcomes
    /// that are part of normal operation are reported as errors too; the observer decides what
    /// counts.
    fn operation(&self, operation: &'static str, elapsed: Duration, error: Option<&StoreError>);
}
