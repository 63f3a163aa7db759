//! Following the log: every entry after a sequence, in order, as soon as it
//! is appended (a watch on the head wakes the reader; a poll every second
//! covers a watch that silently died with its member).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::log::Log;

/// Entries read per request.
const BATCH: i64 = 256;
/// Longest wait without a watch event before reading anyway.
const POLL: Duration = Duration::from_secs(1);

/// Sends every entry after `after` to `sink`, in order, until `sink` closes.
pub async fn tail(log: Log, mut after: u64, sink: mpsc::Sender<(u64, Vec<u8>)>) {
    let mut head_watch = None;
    loop {
        match log.read(after, BATCH).await {
            Ok(entries) => {
                let full = entries.len() as i64 == BATCH;
                for (seq, entry) in entries {
                    after = seq;
                    if sink.send((seq, entry)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, after, "cannot read the log");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        if head_watch.is_none() {
            match log.etcd().watch(&log.keys().head(), None, 0).await {
                // Something may have been appended before the watch began.
                Ok(rx) => {
                    head_watch = Some(rx);
                    continue;
                }
                Err(e) => tracing::debug!(error = %e, "cannot watch the log's head"),
            }
        }
        let woken = async {
            match head_watch.as_mut() {
                Some(rx) => rx.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            alive = woken => if !alive { head_watch = None },
            () = tokio::time::sleep(POLL) => {}
            () = sink.closed() => return,
        }
    }
}
