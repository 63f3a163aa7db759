//! Webhook delivery: the worker that drains the outbox outside the engine
//! thread. Delivery is at least once, in order per session, signed
//! (HMAC-SHA256 over `timestamp.body`), with a timeout, exponential backoff
//! with jitter, a cap on attempts and then a dead letter; each subscription
//! has a task of its own, so a slow or dead receiver delays nobody else.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_store::{Delivery, Outbox, OutboxRow, Outcome, Webhook};
use tokio::sync::{watch, Notify};

use crate::connect::{connect, now_ms, signature, Conn};

/// How the delivery worker retries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// A receiver has this long to answer.
    pub timeout_ms: u64,
    /// Attempts before an event becomes a dead letter.
    pub attempts_max: u32,
    /// The first retry's delay; each further one doubles (with jitter).
    pub backoff_ms: u64,
    /// The longest delay between attempts.
    pub backoff_max_ms: u64,
    /// Rows the outbox keeps; past it delivered events, then the oldest dead
    /// letters (counted in `/metrics`), are dropped. Pending events never are.
    pub outbox_max: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout_ms: 10_000,
            attempts_max: 10,
            backoff_ms: 1_000,
            backoff_max_ms: 3_600_000,
            outbox_max: 100_000,
        }
    }
}

/// Delivery figures for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Events a receiver took.
    pub delivered: AtomicU64,
    /// Attempts that failed (an error status, a timeout, no connection).
    pub failed: AtomicU64,
    /// Events that ran out of attempts.
    pub dead: AtomicU64,
    /// Dead letters dropped to keep the outbox bounded.
    pub dropped: AtomicU64,
}

/// Starts delivering: a manager task keeping one task per enabled
/// subscription, woken by the engine's commits, while `active` says so (a
/// cluster's leader alone delivers; a server alone always does).
pub fn start(
    db: PathBuf,
    wake: Arc<Notify>,
    settings: DeliverySettings,
    active: watch::Receiver<bool>,
) -> Arc<DeliveryStats> {
    let stats = Arc::new(DeliveryStats::default());
    let s = stats.clone();
    tokio::spawn(async move {
        if let Err(e) = manage(db, wake, settings, s, active).await {
            tracing::error!(error = %e, "webhook delivery stopped");
        }
    });
    stats
}

async fn manage(
    db: PathBuf,
    wake: Arc<Notify>,
    settings: DeliverySettings,
    stats: Arc<DeliveryStats>,
    mut active: watch::Receiver<bool>,
) -> Result<(), switchboard_store::StoreError> {
    let mut outbox = Outbox::open(&db)?;
    let mut tasks: HashMap<i64, (Webhook, tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut last_prune = Instant::now();
    loop {
        if !*active.borrow_and_update() {
            for (_, (_, task)) in tasks.drain() {
                task.abort();
            }
            if active.changed().await.is_err() {
                return Ok(());
            }
            continue;
        }
        // Events for a subscription made a moment ago wake this loop too,
        // so its task starts at once.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let hooks = outbox.webhooks()?;
        tasks.retain(|id, (w, task)| {
            let keep = hooks.iter().any(|h| h.id == *id && h.enabled && h == w);
            if !keep {
                task.abort();
            }
            keep
        });
        for h in hooks.into_iter().filter(|h| h.enabled) {
            if let std::collections::hash_map::Entry::Vacant(slot) = tasks.entry(h.id) {
                let task = tokio::spawn(subscription(
                    db.clone(),
                    h.clone(),
                    wake.clone(),
                    settings.clone(),
                    stats.clone(),
                ));
                slot.insert((h, task));
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(1) {
            last_prune = Instant::now();
            let dropped = outbox.prune(settings.outbox_max)?;
            if dropped > 0 {
                tracing::warn!(dropped, "webhook outbox full: oldest dead letters dropped");
                stats.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
        }
        tokio::select! {
            () = &mut woken => {}
            _ = active.changed() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One subscription's deliveries, forever.
async fn subscription(
    db: PathBuf,
    hook: Webhook,
    wake: Arc<Notify>,
    settings: DeliverySettings,
    stats: Arc<DeliveryStats>,
) {
    let mut outbox = match Outbox::open(&db) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, webhook = hook.id, "cannot open the outbox");
            return;
        }
    };
    let mut conn: Option<Conn> = None;
    loop {
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let now = now_ms();
        let due = match outbox.due(hook.id, now, 64) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if due.is_empty() {
            let next = outbox.next_due(hook.id).ok().flatten();
            let wait = next.map_or(Duration::from_secs(1), |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
                    .min(Duration::from_secs(1))
            });
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        let mut done = Vec::with_capacity(due.len());
        for row in due {
            let started = Instant::now();
            let at_ms = now_ms();
            let timeout = Duration::from_millis(settings.timeout_ms);
            let result = post(&mut conn, &hook, &row, timeout).await;
            let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            let (status, error) = match &result {
                Ok(status) => (Some(*status), None),
                Err(e) => (None, Some(e.clone())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            let outcome = if ok {
                stats.delivered.fetch_add(1, Ordering::Relaxed);
                Outcome::Delivered
            } else if row.attempts + 1 >= settings.attempts_max {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                stats.dead.fetch_add(1, Ordering::Relaxed);
                Outcome::Dead
            } else {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                Outcome::Retry(at_ms + backoff(&settings, row.attempts))
            };
            let attempt = Delivery {
                outbox_id: row.id,
                event: row.event.clone(),
                at_ms,
                status,
                latency_ms,
                error: error.or_else(|| (!ok).then(|| format!("HTTP {}", status.unwrap_or(0)))),
            };
            done.push((row, attempt, outcome));
        }
        if let Err(e) = outbox.record(&done) {
            tracing::warn!(error = %e, "outbox write failed");
        }
    }
}

/// The delay before retry number `attempts + 1`: exponential, capped,
/// with jitter (half to all of it) so that receivers coming back are not
/// hit by every sender at once.
fn backoff(s: &DeliverySettings, attempts: u32) -> i64 {
    let full = s
        .backoff_ms
        .saturating_mul(1u64 << attempts.min(30))
        .min(s.backoff_max_ms);
    let mut random = [0u8; 4];
    // Without the OS's randomness, no jitter: still a valid delay.
    let _ = getrandom::getrandom(&mut random);
    let jitter = f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX);
    i64::try_from((full as f64 * (0.5 + jitter / 2.0)) as u64).unwrap_or(i64::MAX)
}

/// The JSON body of an event.
pub fn envelope(row: &OutboxRow) -> Value {
    json!({
        "event": row.event,
        "idempotencyKey": format!("evt_{}", row.id),
        "sessionId": (!row.session_key.is_empty()).then_some(&row.session_key),
        "timestamp": row.created_ms,
        "data": serde_json::from_str::<Value>(&row.data).unwrap_or(Value::Null),
    })
}

/// POSTs one event over `conn` (reused if still open, else made anew; a
/// reused connection the receiver had closed is retried once on a fresh
/// one); the receiver's status, or why there is none.
async fn post(
    conn: &mut Option<Conn>,
    hook: &Webhook,
    row: &OutboxRow,
    timeout: Duration,
) -> Result<u16, String> {
    let body = Bytes::from(envelope(row).to_string());
    let ts = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let uri: hyper::Uri = hook.url.parse().map_err(|e| format!("bad url: {e}"))?;
    let request = || {
        hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header("host", uri.authority().map_or("", |a| a.as_str()))
            .header("content-type", "application/json")
            .header("user-agent", "switchboard-webhooks")
            .header("x-switchboard-event", &row.event)
            .header("x-switchboard-timestamp", ts.to_string())
            .header(
                "x-switchboard-signature",
                signature(&hook.secret, ts, &body),
            )
            .header("idempotency-key", format!("evt_{}", row.id))
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())
    };
    let exchange = async {
        if let Some(mut sender) = conn.take().filter(|s| !s.is_closed()) {
            if sender.ready().await.is_ok() {
                if let Ok(response) = sender.send_request(request()?).await {
                    let status = finish(response).await;
                    *conn = Some(sender);
                    return Ok(status);
                }
            }
        }
        let mut sender = connect(&uri).await?;
        let response = sender
            .send_request(request()?)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = finish(response).await;
        *conn = Some(sender);
        Ok(status)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => {
            *conn = None;
            Err(format!("no answer within {} ms", timeout.as_millis()))
        }
    }
}

/// The status of a response, after reading (and dropping) its body so the
/// connection can carry the next event.
async fn finish(response: hyper::Response<hyper::body::Incoming>) -> u16 {
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

/// The delivery figures and the outbox's size, in Prometheus text.
pub fn render_metrics(stats: &DeliveryStats, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "# HELP switchboard_webhook_delivered_total Webhook events a receiver took.\n\
         # TYPE switchboard_webhook_delivered_total counter\nswitchboard_webhook_delivered_total {}\n\
         # HELP switchboard_webhook_failed_total Webhook delivery attempts that failed.\n\
         # TYPE switchboard_webhook_failed_total counter\nswitchboard_webhook_failed_total {}\n\
         # HELP switchboard_webhook_dead_total Webhook events that ran out of attempts.\n\
         # TYPE switchboard_webhook_dead_total counter\nswitchboard_webhook_dead_total {}\n\
         # HELP switchboard_webhook_dropped_total Dead letters dropped to bound the outbox.\n\
         # TYPE switchboard_webhook_dropped_total counter\nswitchboard_webhook_dropped_total {}\n",
        stats.delivered.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.dead.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let s = DeliverySettings {
            backoff_ms: 1_000,
            backoff_max_ms: 10_000,
            ..DeliverySettings::default()
        };
        for attempts in 0..6 {
            let full = (1_000i64 << attempts).min(10_000);
            let d = backoff(&s, attempts);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempts}: {d} of {full}"
            );
        }
    }
}
