//! The pub/sub listener: one connection per replica subscribed to `<prefix>:bus` (deletions and
//! bus messages) and to its store's `<prefix>:wake:<origin>` (wake-ups of the streams it
//! watches), dispatching them to local readers and subscribers; reconnects with backoff and,
//! once reconnected, wakes every reader (wake-ups may have been lost meanwhile).

use super::RedisStore;
use futures_util::StreamExt;
use redis::RedisResult;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(super) async fn listen(store: Weak<RedisStore>, client: redis::Client, channels: Vec<String>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channels).await?;
            RedisResult::Ok(pubsub)
        };
        match tokio::time::timeout(Duration::from_secs(5), connected).await {
            Ok(Ok(mut pubsub)) => {
                let Some(s) = store.upgrade() else { return };
                s.listening.store(true, Ordering::Release);
                // Wake-ups may have been missed while disconnected: every reader re-reads.
                s.local.wake_all();
                drop(s);
                tracing::info!("Redis pub/sub listener connected");
                backoff = Duration::from_millis(200);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(s) = store.upgrade() else { return };
                    s.dispatch(msg.get_payload_bytes());
                }
                let Some(s) = store.upgrade() else { return };
                s.listening.store(false, Ordering::Release);
                tracing::warn!("Redis pub/sub connection lost; reconnecting");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "Redis pub/sub connection failed; retrying"),
            Err(_) => tracing::warn!("Redis pub/sub connection timed out; retrying"),
        }
        if store.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
