//! The accept loop, with the limits that keep slow or idle clients from
//! exhausting the server: a cap on connections per address and in all, a
//! header-read timeout (hyper's, which also bounds the wait for the next
//! request on a keep-alive connection), an idle timeout on any connection
//! that has not upgraded to a WebSocket, and optional TLS (rustls).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// TLS certificate and key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Connection limits (from the config's `security:` section).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time to send a request head (and to start the next one).
    pub header_read: Duration,
    /// Silence after which a connection is closed.
    pub idle: Duration,
    /// Connections at once from one address.
    pub per_address: usize,
    /// Connections at once in all.
    pub max: usize,
}

/// Figures for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections open now (HTTP and WebSocket).
    pub open: AtomicUsize,
    /// Connections refused at accept for being over a cap.
    pub shed: AtomicU64,
    /// Connections closed for a slow header or for idling.
    pub timed_out: AtomicU64,
    /// Requests and frames refused by a rate limit, by door ([`Door`]).
    pub rate_limited: [AtomicU64; 3],
}

/// Where a request or frame came in: one rate limit per credential spans them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// An HTTP request.
    Http = 0,
    /// A `/room` WebSocket frame.
    Room = 1,
    /// A socket.io event.
    SocketIo = 2,
}

impl Door {
    const ALL: [(Door, &'static str); 3] = [
        (Door::Http, "http"),
        (Door::Room, "room"),
        (Door::SocketIo, "socketio"),
    ];
}

/// Appends the connection figures to a Prometheus exposition.
pub fn render(stats: &ConnStats, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "# HELP switchboard_connections_open TCP connections open (HTTP and WebSocket).\n\
         # TYPE switchboard_connections_open gauge\nswitchboard_connections_open {}\n\
         # HELP switchboard_connections_shed_total Connections refused for being over a per-address or total cap.\n\
         # TYPE switchboard_connections_shed_total counter\nswitchboard_connections_shed_total {}\n\
         # HELP switchboard_connections_timed_out_total Connections closed for a slow header, a slow handshake or idling.\n\
         # TYPE switchboard_connections_timed_out_total counter\nswitchboard_connections_timed_out_total {}\n",
        stats.open.load(Ordering::Relaxed),
        stats.shed.load(Ordering::Relaxed),
        stats.timed_out.load(Ordering::Relaxed),
    );
    out.push_str(
        "# HELP switchboard_rate_limited_total Requests (http) and frames (room, socketio) refused by a rate limit.\n\
         # TYPE switchboard_rate_limited_total counter\n",
    );
    for (door, name) in Door::ALL {
        let n = stats.rate_limited[door as usize].load(Ordering::Relaxed);
        let _ = writeln!(out, "switchboard_rate_limited_total{{door=\"{name}\"}} {n}");
    }
}

/// Open connections per address.
struct Counts {
    by_address: Mutex<HashMap<IpAddr, usize>>,
    stats: Arc<ConnStats>,
    drained: Notify,
}

/// One admitted connection's place; given back when the socket is dropped,
/// which for a WebSocket is when the socket task ends.
struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Counts {
    fn take(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let mine = map.get(&ip).copied().unwrap_or(0);
        if mine >= limits.per_address || self.stats.open.load(Ordering::Relaxed) >= limits.max {
            self.stats.shed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        map.insert(ip, mine + 1);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
        if self.counts.stats.open.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.counts.drained.notify_waiters();
        }
    }
}

pin_project_lite::pin_project! {
    /// A socket that holds its slot and notes when it last moved bytes.
    struct Tracked<T> {
        #[pin]
        inner: T,
        slot: Slot,
        epoch: Instant,
        last: Arc<AtomicU64>,
    }
}

impl<T> Tracked<T> {
    fn touch(epoch: Instant, last: &AtomicU64) {
        let ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        last.store(ms, Ordering::Relaxed);
    }
}

impl<T: AsyncRead> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let r = this.inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            Tracked::<T>::touch(*this.epoch, this.last);
        }
        r
    }
}

impl<T: AsyncWrite> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let r = this.inner.poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            Tracked::<T>::touch(*this.epoch, this.last);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// rustls refused the certificate or key.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A TLS acceptor for the certificate chain and key in `files` (PEM).
pub fn tls(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &Path, e: &dyn std::fmt::Display| TlsError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| bad(&files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&files.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// connections finish (WebSockets are closed by the engine's shutdown).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    stats: Arc<ConnStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let counts = Arc::new(Counts {
        by_address: Mutex::new(HashMap::new()),
        stats,
        drained: Notify::new(),
    });
    let (closing_tx, closing) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of files, most likely: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = counts.take(addr.ip(), &limits) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            router: router.clone(),
            addr,
            limits,
            stats: counts.stats.clone(),
            closing: closing.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(conn.run(stream, slot, tls));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Waits for every connection to finish, HTTP and WebSocket alike.
    loop {
        let drained = counts.drained.notified();
        if counts.stats.open.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        drained.await;
    }
}

struct Connection {
    router: Router,
    addr: SocketAddr,
    limits: Limits,
    stats: Arc<ConnStats>,
    closing: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, slot: Slot, tls: Option<TlsAcceptor>) {
        let epoch = Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let io = Tracked {
            inner: stream,
            slot,
            epoch,
            last: last.clone(),
        };
        match tls {
            None => self.http(io, epoch, last).await,
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.limits.header_read, acceptor.accept(io)).await;
                match handshake {
                    Ok(Ok(tls)) => self.http(tls, epoch, last).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                    Err(_) => {
                        self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    async fn http<T>(mut self, io: T, epoch: Instant, last: Arc<AtomicU64>)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let router = self.router.clone();
        let addr = self.addr;
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(addr));
            let mut router = router.clone();
            async move { router.call(req).await }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read);
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        let idle = self.limits.idle;
        loop {
            let quiet_since = Duration::from_millis(last.load(Ordering::Relaxed));
            let wake = (epoch + quiet_since + idle).max(Instant::now() + Duration::from_millis(10));
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        if e.is_timeout() {
                            self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    let quiet = epoch.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                    if quiet >= idle {
                        self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        return; // dropping the connection closes the socket
                    }
                }
                changed = self.closing.changed(), if !*self.closing.borrow() => {
                    if changed.is_ok() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}
