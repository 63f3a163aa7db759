//! Webhooks: the admin API over subscriptions, and the delivery worker that
//! drains the outbox outside the engine thread. Delivery is at least once,
//! in order per session, signed (HMAC-SHA256 over `timestamp.body`), with a
//! timeout, exponential backoff with jitter, a cap on attempts and then a
//! dead letter; each subscription has a task of its own, so a slow or dead
//! receiver delays nobody else.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use switchboard_store::{Delivery, Outbox, OutboxRow, Outcome, Webhook};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::answer::Answer;
use crate::api::audit;
use crate::auth::secrets;
use crate::auth::Who;
use crate::body::Body;
use crate::hooks::EVENTS;
use crate::App;

// ---- the admin API ----

/// A subscription as the API shows it (the secret only when made).
#[derive(Serialize)]
struct Shown<'a> {
    id: i64,
    url: &'a str,
    events: &'a [String],
    enabled: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

fn shown(w: &Webhook, with_secret: bool) -> Shown<'_> {
    Shown {
        id: w.id,
        url: &w.url,
        events: &w.events,
        enabled: w.enabled,
        created_at: w.created_ms,
        secret: with_secret.then_some(w.secret.as_str()),
    }
}

/// Checks a receiver URL as delivery will read it: http or https, a host,
/// no credentials (they would travel in the `Host` header; sign with the
/// secret instead), and nothing the HTTP client cannot send (CR, LF, spaces).
pub(crate) fn check_url(url: &str) -> Result<(), Answer> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Answer::invalid("url must be an http:// or https:// URL"));
    }
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) if url.len() <= 2048 => uri,
        _ => return Err(Answer::invalid("url is not a valid URL")),
    };
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return Err(Answer::invalid("url must name a host"));
    };
    if authority.as_str().contains('@') {
        return Err(Answer::invalid(
            "url must not carry a user or password (requests are signed with the secret)",
        ));
    }
    Ok(())
}

fn check_events(events: &[String]) -> Result<(), Answer> {
    if events.is_empty() {
        return Err(Answer::invalid("events must name at least one event"));
    }
    match events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        Some(e) => Err(Answer::invalid(format!(
            "unknown event {e:?}; the events are {}",
            EVENTS.join(", ")
        ))),
        None => Ok(()),
    }
}

fn stored(e: switchboard_store::StoreError) -> Answer {
    tracing::error!(error = %e, "webhook store failed");
    Answer::unavailable()
}

fn not_found(id: i64) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "webhook_not_found",
        format!("webhook {id} not found"),
    )
}

pub(crate) async fn list(State(app): State<App>) -> Answer {
    app.engine
        .webhooks(
            Box::new(|_, hooks| {
                let all: Vec<_> = hooks.iter().map(|w| shown(w, false)).collect();
                Answer::ok(json!({ "count": all.len(), "webhooks": all }))
            }),
            None,
        )
        .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhook {
    url: String,
    events: Vec<String>,
    enabled: Option<bool>,
}

/// `POST /webhooks`: the secret is in this answer and nowhere else.
pub(crate) async fn create(State(app): State<App>, who: Who, Body(b): Body<NewWebhook>) -> Answer {
    if let Err(refusal) = check_url(&b.url).and_then(|()| check_events(&b.events)) {
        return refusal;
    }
    let mut w = Webhook {
        id: 0,
        url: b.url,
        events: b.events,
        secret: format!("whsec_{}", secrets::random(24)),
        enabled: b.enabled.unwrap_or(true),
        created_ms: crate::auth::now_ms(),
    };
    let entry = audit(&who, "webhook.create", &w.url);
    app.engine
        .webhooks(
            Box::new(move |store, hooks| match store.insert_webhook(&w) {
                Ok(id) => {
                    w.id = id;
                    let answer = Answer::created(shown(&w, true));
                    hooks.push(w);
                    answer
                }
                Err(e) => stored(e),
            }),
            entry,
        )
        .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatch {
    url: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
}

fn id_of(id: &str) -> Result<i64, Answer> {
    id.parse()
        .map_err(|_| Answer::invalid("webhook ids are integers"))
}

pub(crate) async fn update(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<WebhookPatch>,
) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let checked = b
        .url
        .as_deref()
        .map_or(Ok(()), check_url)
        .and_then(|()| b.events.as_deref().map_or(Ok(()), check_events));
    if let Err(refusal) = checked {
        return refusal;
    }
    let entry = audit(&who, "webhook.update", &id.to_string());
    app.engine
        .webhooks(
            Box::new(move |store, hooks| {
                let Some(w) = hooks.iter_mut().find(|w| w.id == id) else {
                    return not_found(id);
                };
                let mut changed = w.clone();
                if let Some(url) = b.url {
                    changed.url = url;
                }
                if let Some(events) = b.events {
                    changed.events = events;
                }
                if let Some(enabled) = b.enabled {
                    changed.enabled = enabled;
                }
                match store.update_webhook(&changed) {
                    Ok(()) => {
                        *w = changed;
                        Answer::ok(shown(w, false))
                    }
                    Err(e) => stored(e),
                }
            }),
            entry,
        )
        .await
}

pub(crate) async fn delete(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let entry = audit(&who, "webhook.delete", &id.to_string());
    app.engine
        .webhooks(
            Box::new(move |store, hooks| match store.delete_webhook(id) {
                Ok(true) => {
                    hooks.retain(|w| w.id != id);
                    Answer::ok(json!({ "id": id, "status": "deleted" }))
                }
                Ok(false) => not_found(id),
                Err(e) => stored(e),
            }),
            entry,
        )
        .await
}

/// `GET /webhooks/{id}/deliveries`: attempts, newest first (status, latency, error).
pub(crate) async fn deliveries(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    app.engine
        .webhooks(
            Box::new(move |store, hooks| {
                if !hooks.iter().any(|w| w.id == id) {
                    return not_found(id);
                }
                match store.deliveries(id, 200) {
                    Ok(log) => Answer::ok(json!({ "webhook_id": id, "deliveries": log })),
                    Err(e) => stored(e),
                }
            }),
            None,
        )
        .await
}

/// `POST /webhooks/{id}/events/{event}/redeliver`: queue an event again.
pub(crate) async fn redeliver(
    State(app): State<App>,
    Path((id, event)): Path<(String, String)>,
) -> Answer {
    let (id, event) = match (id_of(&id), id_of(event.trim_start_matches("evt_"))) {
        (Ok(id), Ok(event)) => (id, event),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let wake = app.engine.outbox_wake();
    let answer = app
        .engine
        .webhooks(
            Box::new(
                move |store, _| match store.redeliver(id, event, crate::auth::now_ms()) {
                    Ok(true) => Answer::ok(
                        json!({ "event_id": format!("evt_{event}"), "status": "pending" }),
                    ),
                    Ok(false) => Answer::error(
                        StatusCode::NOT_FOUND,
                        "event_not_found",
                        format!("webhook {id} has no event evt_{event}"),
                    ),
                    Err(e) => stored(e),
                },
            ),
            None,
        )
        .await;
    wake.notify_waiters();
    answer
}

/// Makes the subscription `url` from the config file unless one exists.
pub async fn ensure(engine: &crate::Engine, url: &str, events: &[String], secret: &str) -> Answer {
    if let Err(refusal) = check_url(url).and_then(|()| check_events(events)) {
        return refusal;
    }
    let w = Webhook {
        id: 0,
        url: url.to_owned(),
        events: events.to_vec(),
        secret: secret.to_owned(),
        enabled: true,
        created_ms: crate::auth::now_ms(),
    };
    engine
        .webhooks(
            Box::new(move |store, hooks| {
                if hooks.iter().any(|h| h.url == w.url) {
                    return Answer::ok(());
                }
                match store.insert_webhook(&w) {
                    Ok(id) => {
                        hooks.push(Webhook { id, ..w });
                        Answer::ok(())
                    }
                    Err(e) => stored(e),
                }
            }),
            None,
        )
        .await
}

// ---- delivery ----

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
/// subscription, woken by the engine's commits.
pub fn start(db: PathBuf, wake: Arc<Notify>, settings: DeliverySettings) -> Arc<DeliveryStats> {
    let stats = Arc::new(DeliveryStats::default());
    let s = stats.clone();
    tokio::spawn(async move {
        if let Err(e) = manage(db, wake, settings, s).await {
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
) -> Result<(), switchboard_store::StoreError> {
    let mut outbox = Outbox::open(&db)?;
    let mut tasks: HashMap<i64, (Webhook, tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut last_prune = Instant::now();
    loop {
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
        let now = crate::auth::now_ms();
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
            let at_ms = crate::auth::now_ms();
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
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let full = s
        .backoff_ms
        .saturating_mul(1u64 << attempts.min(30))
        .min(s.backoff_max_ms);
    let jitter = f64::from(OsRng.next_u32()) / f64::from(u32::MAX);
    i64::try_from((full as f64 * (0.5 + jitter / 2.0)) as u64).unwrap_or(i64::MAX)
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", secrets::hex(&mac.finalize().into_bytes()))
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

/// A subscription's connection to its receiver, kept alive between events.
pub(crate) type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

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
    let ts = u64::try_from(crate::auth::now_ms() / 1000).unwrap_or(0);
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

/// A new HTTP/1.1 connection to `uri`'s host (TLS for https).
pub(crate) async fn connect(uri: &hyper::Uri) -> Result<Conn, String> {
    let https = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("resolve: {e}"))?
        .filter(|a| !link_local(a.ip()))
        .collect();
    if addresses.is_empty() {
        return Err(format!(
            "{host} is a link-local or cloud metadata address, which the server never calls"
        ));
    }
    let tcp = TcpStream::connect(addresses.as_slice())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if https {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host)
            .map_err(|e| e.to_string())?;
        let tls = tls_connector()
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        handshake(hyper_util::rt::TokioIo::new(tls)).await
    } else {
        handshake(hyper_util::rt::TokioIo::new(tcp)).await
    }
}

/// Link-local addresses (169.254/16, fe80::/10), where clouds serve instance
/// metadata and credentials: never a webhook's or a bot's, whoever set it.
fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.segments()[0] & 0xffc0 == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
                || v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

async fn handshake<T>(io: T) -> Result<Conn, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    use std::sync::OnceLock;
    use tokio_rustls::rustls;
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| unreachable!("ring supports the default versions"));
            tokio_rustls::TlsConnector::from(Arc::new(config))
        })
        .clone()
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
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Worked with Python's hmac module:
        // hmac.new(b"whsec_test", b'1700000000.{"event":"call.ended"}', sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"event":"call.ended"}"#),
            "v1=0750338cbaf8694a29807212e5b8496056c8c723ee4582675452c77ce7fb36a5"
        );
    }

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

    #[test]
    fn urls_and_events_are_checked() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("https://crm.example.com/in").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "javascript:alert(1)",
            "example.com",
            "http://user:pass@crm.example.com/in",
            "http://crm.example.com/in\r\nX-Evil: 1",
            "http://crm.example.com/a b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(link_local("169.254.169.254".parse().unwrap()));
        assert!(link_local("fe80::1".parse().unwrap()));
        assert!(link_local("::ffff:169.254.1.1".parse().unwrap()));
        assert!(!link_local("127.0.0.1".parse().unwrap()));
        assert!(!link_local("10.0.0.1".parse().unwrap()));
        assert!(check_events(&["call.ended".into()]).is_ok());
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["call.exploded".into()]).is_err());
    }
}
