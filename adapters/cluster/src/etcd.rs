//! A small etcd v3 client over its HTTP/JSON gateway (Debian's etcd-server
//! 3.4 serves it on the client port): ranges, transactions, leases and
//! watches, which is all the log and the election need. The gateway sends
//! 64-bit numbers as strings and keys and values in base64; this module
//! hides both.
//!
//! Every call goes to one member and moves to the next when that member
//! cannot be reached. A request that was sent but not answered may still
//! have been applied: it is reported as [`EtcdError::Unavailable`] with
//! `sent: true`, for the caller to resolve by reading back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Uri;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Why etcd did not answer as asked.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No member answered. With `sent`, a member may have received the
    /// request and applied it before the answer was lost.
    #[error("etcd unavailable: {reason}")]
    Unavailable {
        /// What went wrong last.
        reason: String,
        /// Whether the request reached a member.
        sent: bool,
    },
    /// A member answered with an error (e.g. a compacted revision, a lease
    /// that is gone, no quorum).
    #[error("etcd refused: {0}")]
    Refused(String),
    /// The endpoints are not URLs, or an answer is not what etcd sends.
    #[error("etcd: {0}")]
    Bad(String),
}

/// One stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Vec<u8>,
    /// The revision that created it (a new one after each delete).
    pub create_revision: i64,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// The lease it is attached to (0: none).
    pub lease: i64,
}

/// A comparison of a transaction.
#[derive(Clone, Debug)]
pub enum Compare {
    /// The key's value equals this.
    Value(Vec<u8>, Vec<u8>),
    /// The key was created at this revision (0: it does not exist).
    Created(Vec<u8>, i64),
}

/// An operation of a transaction.
#[derive(Clone, Debug)]
pub enum Op {
    /// Put a value, attached to a lease if not 0.
    Put(Vec<u8>, Vec<u8>, i64),
    /// Read one key.
    Get(Vec<u8>),
}

/// What a transaction did.
#[derive(Clone, Debug)]
pub struct TxnOutcome {
    /// Whether every comparison held (the success branch ran).
    pub succeeded: bool,
    /// The store's revision after it.
    pub revision: i64,
    /// The keys read by the branch that ran, in order.
    pub read: Vec<Option<Kv>>,
}

/// A change seen by a watch.
#[derive(Clone, Debug)]
pub enum Watched {
    /// A key was put.
    Put(Kv),
    /// A key was deleted (or its lease expired).
    Deleted(Vec<u8>),
}

/// The client: the members' addresses and an open connection to each.
pub struct Etcd {
    members: Vec<Member>,
    /// The member tried first: the last one that answered.
    preferred: AtomicUsize,
    timeout: Duration,
    /// When the client was made, and milliseconds from then to the last
    /// answer: how long etcd has been silent.
    made: Instant,
    answered_ms: AtomicU64,
}

struct Member {
    authority: String,
    conn: Mutex<Option<Conn>>,
}

impl Etcd {
    /// A client of the members at `urls` (`http://host:port`); each request
    /// waits at most `timeout` for a member.
    pub fn new(urls: &[String], timeout: Duration) -> Result<Etcd, EtcdError> {
        let mut members = Vec::new();
        for url in urls {
            let uri: Uri = url
                .parse()
                .map_err(|e| EtcdError::Bad(format!("{url}: {e}")))?;
            if uri.scheme_str() != Some("http") {
                return Err(EtcdError::Bad(format!("{url}: only http:// members")));
            }
            let authority = uri
                .authority()
                .ok_or_else(|| EtcdError::Bad(format!("{url}: no host")))?
                .to_string();
            members.push(Member {
                authority,
                conn: Mutex::new(None),
            });
        }
        if members.is_empty() {
            return Err(EtcdError::Bad("no etcd member given".into()));
        }
        Ok(Etcd {
            members,
            preferred: AtomicUsize::new(0),
            timeout,
            made: Instant::now(),
            answered_ms: AtomicU64::new(0),
        })
    }

    /// How long since a member last answered (what this node knows of the
    /// log is at most that old).
    pub fn silent_for(&self) -> Duration {
        let answered = Duration::from_millis(self.answered_ms.load(Ordering::Relaxed));
        self.made.elapsed().saturating_sub(answered)
    }

    /// The version the members run, from the first that answers (`3.4.23`).
    pub async fn version(&self) -> Result<String, EtcdError> {
        let v = self.call("GET", "/version", None).await?;
        v["etcdserver"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| EtcdError::Bad(format!("version answer: {v}")))
    }

    /// The keys from `key` up to `end` (exclusive; None: `key` alone), in
    /// key order, at most `limit` (0: all), and the store's revision.
    pub async fn range(
        &self,
        key: &[u8],
        end: Option<&[u8]>,
        limit: i64,
    ) -> Result<(Vec<Kv>, i64), EtcdError> {
        let mut body = json!({ "key": B64.encode(key), "limit": limit.to_string() });
        if let Some(end) = end {
            body["range_end"] = B64.encode(end).into();
        }
        let v = self.post("/v3/kv/range", body).await?;
        let kvs = match v["kvs"].as_array() {
            Some(a) => a.iter().map(kv).collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok((kvs, revision(&v)?))
    }

    /// One key, if it exists.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Kv>, EtcdError> {
        Ok(self.range(key, None, 1).await?.0.into_iter().next())
    }

    /// A transaction: if every comparison holds run `then`, else `otherwise`.
    pub async fn txn(
        &self,
        compare: &[Compare],
        then: &[Op],
        otherwise: &[Op],
    ) -> Result<TxnOutcome, EtcdError> {
        let compare: Vec<Value> = compare
            .iter()
            .map(|c| match c {
                Compare::Value(k, v) => json!({
                    "key": B64.encode(k), "target": "VALUE", "result": "EQUAL", "value": B64.encode(v)
                }),
                Compare::Created(k, rev) => json!({
                    "key": B64.encode(k), "target": "CREATE", "result": "EQUAL", "create_revision": rev.to_string()
                }),
            })
            .collect();
        let ops = |ops: &[Op]| -> Vec<Value> {
            ops.iter()
                .map(|op| match op {
                    Op::Put(k, v, lease) => json!({ "request_put": {
                        "key": B64.encode(k), "value": B64.encode(v), "lease": lease.to_string()
                    }}),
                    Op::Get(k) => json!({ "request_range": { "key": B64.encode(k) } }),
                })
                .collect()
        };
        let body = json!({ "compare": compare, "success": ops(then), "failure": ops(otherwise) });
        let v = self.post("/v3/kv/txn", body).await?;
        let mut read = Vec::new();
        for r in v["responses"].as_array().into_iter().flatten() {
            if let Some(range) = r.get("response_range") {
                let first = range["kvs"].as_array().and_then(|a| a.first());
                read.push(first.map(kv).transpose()?);
            }
        }
        Ok(TxnOutcome {
            // The gateway leaves `succeeded` out when it is false.
            succeeded: v["succeeded"].as_bool().unwrap_or(false),
            revision: revision(&v)?,
            read,
        })
    }

    /// Deletes the keys from `key` up to `end` (exclusive); how many.
    pub async fn delete(&self, key: &[u8], end: &[u8]) -> Result<i64, EtcdError> {
        let body = json!({ "key": B64.encode(key), "range_end": B64.encode(end) });
        let v = self.post("/v3/kv/deleterange", body).await?;
        Ok(num(&v["deleted"]))
    }

    /// Discards the history below `revision` (the keys stay).
    pub async fn compact(&self, revision: i64) -> Result<(), EtcdError> {
        let body = json!({ "revision": revision.to_string(), "physical": true });
        self.post("/v3/kv/compaction", body).await?;
        Ok(())
    }

    /// The database size in bytes, as the member answering reports it.
    pub async fn db_size(&self) -> Result<i64, EtcdError> {
        let v = self.post("/v3/maintenance/status", json!({})).await?;
        Ok(num(&v["dbSize"]))
    }

    /// A new lease of `ttl` seconds; its id.
    pub async fn grant(&self, ttl: i64) -> Result<i64, EtcdError> {
        let v = self
            .post("/v3/lease/grant", json!({ "TTL": ttl.to_string() }))
            .await?;
        match num(&v["ID"]) {
            0 => Err(EtcdError::Bad(format!("lease grant answer: {v}"))),
            id => Ok(id),
        }
    }

    /// Renews a lease; the seconds it has left (0: it has expired).
    pub async fn keep_alive(&self, lease: i64) -> Result<i64, EtcdError> {
        let v = self
            .post("/v3/lease/keepalive", json!({ "ID": lease.to_string() }))
            .await?;
        Ok(num(&v["result"]["TTL"]))
    }

    /// Ends a lease now: its keys are deleted.
    pub async fn revoke(&self, lease: i64) -> Result<(), EtcdError> {
        self.post("/v3/lease/revoke", json!({ "ID": lease.to_string() }))
            .await?;
        Ok(())
    }

    /// Watches the keys from `key` up to `end` (None: `key` alone) from
    /// `from` (0: from now). The receiver closes when the watch ends (the
    /// member went away, or the revision was compacted): read again, then
    /// watch again.
    pub async fn watch(
        &self,
        key: &[u8],
        end: Option<&[u8]>,
        from: i64,
    ) -> Result<mpsc::Receiver<Watched>, EtcdError> {
        let mut create = json!({ "key": B64.encode(key), "start_revision": from.to_string() });
        if let Some(end) = end {
            create["range_end"] = B64.encode(end).into();
        }
        let body = json!({ "create_request": create }).to_string();
        let mut last = String::from("no member");
        for i in self.order() {
            let m = &self.members[i];
            let mut conn = match connect(&m.authority, self.timeout).await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let request = request("POST", &m.authority, "/v3/watch", Some(body.clone()))?;
            let response =
                match tokio::time::timeout(self.timeout, conn.send_request(request)).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        last = format!("{}: {e}", m.authority);
                        continue;
                    }
                    Err(_) => {
                        last = format!("{}: watch timed out", m.authority);
                        continue;
                    }
                };
            let (tx, rx) = mpsc::channel(256);
            tokio::spawn(pump_watch(response.into_body(), tx));
            return Ok(rx);
        }
        Err(EtcdError::Unavailable {
            reason: last,
            sent: false,
        })
    }

    /// A POST of `body` to the first member that takes it.
    async fn post(&self, path: &str, body: Value) -> Result<Value, EtcdError> {
        self.call("POST", path, Some(body)).await
    }

    /// The members in the order to try them: the preferred one first.
    fn order(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.members.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        (0..n).map(move |i| (first + i) % n)
    }

    /// One request, to the first member that takes it.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, EtcdError> {
        let body = body.map(|b| b.to_string());
        let mut last = String::from("no member");
        for i in self.order() {
            let m = &self.members[i];
            let mut slot = m.conn.lock().await;
            let mut conn = match slot.take() {
                Some(c) if c.is_ready() => c,
                _ => match connect(&m.authority, self.timeout).await {
                    Ok(c) => c,
                    Err(e) => {
                        last = e;
                        continue;
                    }
                },
            };
            let req = request(method, &m.authority, path, body.clone())?;
            let answer = tokio::time::timeout(self.timeout, async {
                let response = conn.send_request(req).await.map_err(|e| e.to_string())?;
                let status = response.status();
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                Ok::<_, String>((status, bytes))
            })
            .await;
            let (status, bytes) = match answer {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => {
                    return Err(EtcdError::Unavailable {
                        reason: format!("{}: {e}", m.authority),
                        sent: true,
                    })
                }
                Err(_) => {
                    return Err(EtcdError::Unavailable {
                        reason: format!("{}: no answer in {:?}", m.authority, self.timeout),
                        sent: true,
                    })
                }
            };
            *slot = Some(conn);
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                EtcdError::Bad(format!("{path}: {e}: {}", String::from_utf8_lossy(&bytes)))
            })?;
            if !status.is_success() {
                let message = v["message"].as_str().or(v["error"].as_str()).unwrap_or("");
                // No leader or no quorum on this member: another may have one.
                if status.is_server_error() && !message.contains("lease not found") {
                    last = format!("{}: {status} {message}", m.authority);
                    continue;
                }
                return Err(EtcdError::Refused(format!("{status} {message}")));
            }
            self.preferred.store(i, Ordering::Relaxed);
            let now = u64::try_from(self.made.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.answered_ms.store(now, Ordering::Relaxed);
            return Ok(v);
        }
        Err(EtcdError::Unavailable {
            reason: last,
            sent: false,
        })
    }
}

/// Reads a watch's stream of JSON lines into `tx` until it ends.
async fn pump_watch(mut body: hyper::body::Incoming, tx: mpsc::Sender<Watched>) {
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        buffer.extend_from_slice(data);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                return;
            };
            let result = &v["result"];
            if result["canceled"].as_bool() == Some(true) || v.get("error").is_some() {
                return;
            }
            for event in result["events"].as_array().into_iter().flatten() {
                let Ok(kv) = kv(&event["kv"]) else { return };
                let watched = if event["type"].as_str() == Some("DELETE") {
                    Watched::Deleted(kv.key)
                } else {
                    Watched::Put(kv)
                };
                if tx.send(watched).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A new HTTP/1.1 connection to `authority`, within `timeout`.
async fn connect(authority: &str, timeout: Duration) -> Result<Conn, String> {
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(authority)).await {
        Ok(tcp) => tcp.map_err(|e| format!("{authority}: {e}"))?,
        Err(_) => return Err(format!("{authority}: connect timed out")),
    };
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .map_err(|e| format!("{authority}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(
    method: &str,
    authority: &str,
    path: &str,
    body: Option<String>,
) -> Result<hyper::Request<Full<Bytes>>, EtcdError> {
    hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| EtcdError::Bad(e.to_string()))
}

/// A 64-bit number the gateway sent as a string (or left out: 0).
fn num(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn revision(v: &Value) -> Result<i64, EtcdError> {
    match num(&v["header"]["revision"]) {
        0 => Err(EtcdError::Bad(format!("no revision in {v}"))),
        r => Ok(r),
    }
}

fn kv(v: &Value) -> Result<Kv, EtcdError> {
    let bytes = |field: &str| -> Result<Vec<u8>, EtcdError> {
        match v[field].as_str() {
            None => Ok(Vec::new()),
            Some(s) => B64
                .decode(s)
                .map_err(|e| EtcdError::Bad(format!("{field}: {e}"))),
        }
    };
    Ok(Kv {
        key: bytes("key")?,
        value: bytes("value")?,
        create_revision: num(&v["create_revision"]),
        mod_revision: num(&v["mod_revision"]),
        lease: num(&v["lease"]),
    })
}

/// The end of the range of keys starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
