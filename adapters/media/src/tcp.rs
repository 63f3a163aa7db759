//! ICE over TCP (RFC 6544), for networks that block UDP: the media port is
//! also a TCP listener, every answer carries a passive TCP host candidate
//! besides the UDP one, and a browser that cannot reach the UDP candidate
//! connects here. Each connection carries STUN, DTLS, RTP and RTCP packets
//! framed by a two-byte length (RFC 4571); its remote address identifies
//! it, as a datagram's source does.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

/// Connections held at most: beyond, new ones are closed at once.
const CONNECTIONS_MAX: usize = 10_000;
/// Bytes queued for a connection that does not read: beyond, it is closed.
const BACKLOG_MAX: usize = 1 << 20;
/// The first token given to a connection (below: the sockets).
pub(crate) const FIRST: usize = 2;

/// The listener and its connections.
pub(crate) struct Tcp {
    listener: TcpListener,
    local: SocketAddr,
    conns: HashMap<Token, Conn>,
    by_addr: HashMap<SocketAddr, Token>,
    next: usize,
}

struct Conn {
    stream: TcpStream,
    remote: SocketAddr,
    /// The address it was accepted on (a listener on every interface
    /// accepts on each of them).
    local: SocketAddr,
    /// Bytes read and not yet a whole frame.
    inbox: Vec<u8>,
    /// Framed bytes not yet written.
    outbox: Vec<u8>,
}

impl Tcp {
    /// Listens on `addr` (the UDP socket's address: one port number for both).
    pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<Tcp> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        Ok(Tcp {
            listener,
            local,
            conns: HashMap::new(),
            by_addr: HashMap::new(),
            next: FIRST,
        })
    }

    pub(crate) fn listener(&mut self) -> &mut TcpListener {
        &mut self.listener
    }

    /// The address listened on (its port is the candidates').
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// Takes every pending connection.
    pub(crate) fn accept(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, remote)) => {
                    if self.conns.len() >= CONNECTIONS_MAX {
                        continue; // dropped: closed
                    }
                    let Ok(local) = stream.local_addr() else {
                        continue;
                    };
                    // On `[::]`, IPv4 peers come v4-mapped: named as IPv4, as UDP names them.
                    let remote = SocketAddr::new(remote.ip().to_canonical(), remote.port());
                    let local = SocketAddr::new(local.ip().to_canonical(), local.port());
                    let token = Token(self.next);
                    self.next += 1;
                    if registry
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    self.by_addr.insert(remote, token);
                    self.conns.insert(
                        token,
                        Conn {
                            stream,
                            remote,
                            local,
                            inbox: Vec::new(),
                            outbox: Vec::new(),
                        },
                    );
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!(error = %e, "tcp accept failed");
                    return;
                }
            }
        }
    }

    /// Reads what connection `token` has: each whole packet with its remote
    /// address, and the local address the connection was accepted on.
    /// Closes it at its end or on error.
    pub(crate) fn read(
        &mut self,
        token: Token,
        registry: &Registry,
    ) -> (Vec<(Vec<u8>, SocketAddr)>, Option<SocketAddr>) {
        let mut packets = Vec::new();
        let Some(conn) = self.conns.get_mut(&token) else {
            return (packets, None);
        };
        let local = conn.local;
        let mut buf = [0u8; 4096];
        let open = loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => break false,
                Ok(n) => conn.inbox.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break false,
            }
        };
        let mut used = 0;
        while let Some(len) = conn
            .inbox
            .get(used..used + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        {
            let Some(frame) = conn.inbox.get(used + 2..used + 2 + len) else {
                break;
            };
            packets.push((frame.to_vec(), conn.remote));
            used += 2 + len;
        }
        conn.inbox.drain(..used);
        if !open {
            self.close(token, registry);
        }
        (packets, Some(local))
    }

    /// Sends `data` framed to the connection from `remote`, queueing what
    /// the socket does not take now. False if there is no such connection.
    pub(crate) fn send(&mut self, registry: &Registry, remote: SocketAddr, data: &[u8]) -> bool {
        let Some(&token) = self.by_addr.get(&remote) else {
            return false;
        };
        let Ok(len) = u16::try_from(data.len()) else {
            return true; // cannot be framed: dropped, like an oversized datagram
        };
        if let Some(conn) = self.conns.get_mut(&token) {
            let waiting = !conn.outbox.is_empty();
            conn.outbox.extend_from_slice(&len.to_be_bytes());
            conn.outbox.extend_from_slice(data);
            if !waiting {
                self.flush(token, registry);
            }
        }
        true
    }

    /// Writes what connection `token` has queued; asks to be told when it
    /// can take more if it cannot take it all.
    pub(crate) fn flush(&mut self, token: Token, registry: &Registry) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let mut written = 0;
        let mut failed = false;
        while written < conn.outbox.len() {
            match conn.stream.write(&conn.outbox[written..]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        conn.outbox.drain(..written);
        if failed || conn.outbox.len() > BACKLOG_MAX {
            self.close(token, registry);
            return;
        }
        let interest = if conn.outbox.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let _ = registry.reregister(&mut conn.stream, token, interest);
    }

    fn close(&mut self, token: Token, registry: &Registry) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut conn.stream);
            self.by_addr.remove(&conn.remote);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Duration;

    /// Polls until `tcp` has read `want` packets (or a second passes).
    fn packets(poll: &mut Poll, tcp: &mut Tcp, want: usize) -> Vec<(Vec<u8>, SocketAddr)> {
        arrivals(poll, tcp, want)
            .into_iter()
            .map(|(p, from, _)| (p, from))
            .collect()
    }

    /// Like `packets`, with the local address each arrived at.
    fn arrivals(
        poll: &mut Poll,
        tcp: &mut Tcp,
        want: usize,
    ) -> Vec<(Vec<u8>, SocketAddr, Option<SocketAddr>)> {
        let mut events = Events::with_capacity(16);
        let mut got = Vec::new();
        for _ in 0..100 {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for e in events.iter() {
                match e.token() {
                    Token(1) => tcp.accept(poll.registry()),
                    t => {
                        let (read, local) = tcp.read(t, poll.registry());
                        got.extend(read.into_iter().map(|(p, from)| (p, from, local)));
                    }
                }
            }
            if got.len() >= want {
                break;
            }
        }
        got
    }

    #[test]
    fn frames_split_across_reads_come_out_whole_and_replies_go_back_framed() {
        let mut poll = Poll::new().unwrap();
        let mut tcp = Tcp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        poll.registry()
            .register(tcp.listener(), Token(1), Interest::READABLE)
            .unwrap();
        let mut client = std::net::TcpStream::connect(tcp.local()).unwrap();
        let me = client.local_addr().unwrap();
        // Two frames, the second cut in the middle of its length and body.
        client.write_all(&[0, 3, b'a', b'b', b'c', 0]).unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let first = packets(&mut poll, &mut tcp, 1);
        assert_eq!(first, vec![(b"abc".to_vec(), me)]);
        client.write_all(&[2, b'x']).unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        client.write_all(b"y").unwrap();
        let second = packets(&mut poll, &mut tcp, 1);
        assert_eq!(second, vec![(b"xy".to_vec(), me)]);

        assert!(tcp.send(poll.registry(), me, b"hello"));
        assert!(
            !tcp.send(poll.registry(), "127.0.0.1:9".parse().unwrap(), b"x"),
            "no such connection"
        );
        let mut reply = [0u8; 7];
        client
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        client.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"\0\x05hello");

        drop(client);
        let none = packets(&mut poll, &mut tcp, 1);
        assert!(none.is_empty());
        assert!(!tcp.send(poll.registry(), me, b"gone"), "closed at its end");
    }

    /// A listener on every interface tells which address each connection
    /// came in on: that, not 0.0.0.0, is the packets' destination.
    #[test]
    fn a_listener_on_every_interface_reports_each_connections_local_address() {
        let mut poll = Poll::new().unwrap();
        let mut tcp = Tcp::bind("0.0.0.0:0".parse().unwrap()).unwrap();
        poll.registry()
            .register(tcp.listener(), Token(1), Interest::READABLE)
            .unwrap();
        let port = tcp.local().port();
        for ip in ["127.0.0.1", "127.0.0.2"] {
            let to: SocketAddr = format!("{ip}:{port}").parse().unwrap();
            let mut client = std::net::TcpStream::connect(to).unwrap();
            client.write_all(&[0, 1, b'z']).unwrap();
            let got = arrivals(&mut poll, &mut tcp, 1);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].2, Some(to), "arrived at {ip}");
        }
    }
}
