//! The media loop: one thread, one UDP socket (and the TCP listener of the
//! same port, for ICE over TCP), and the [`Plane`] it feeds. Each turn it
//! takes commands from its inbox, lets the plane drain its connections,
//! reads a batch of datagrams and what TCP connections have, and sends
//! what the plane queued after each step. It decides nothing itself.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use str0m::net::Protocol;

use crate::addresses::Candidates;
use crate::error::MediaError;
use crate::plane::{Command, Outgoing, Plane};
use crate::tcp::Tcp;
use crate::{MediaConfig, OnRecording};

/// Largest datagram read.
const DATAGRAM_MAX: usize = 2000;
/// Datagrams read per turn at most.
const DATAGRAMS_PER_TURN: usize = 32;

pub(crate) fn start(
    config: MediaConfig,
    recorded: OnRecording,
) -> Result<(mpsc::Sender<Command>, SocketAddr), MediaError> {
    let mut sfu = Sfu::bind(config, recorded)?;
    let advertised = sfu.plane.advertised();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("switchboard-media".into())
        .spawn(move || sfu.run(rx))?;
    Ok((tx, advertised))
}

/// The sockets, and the plane they carry for.
pub(crate) struct Sfu {
    plane: Plane,
    socket: UdpSocket,
    poll: Poll,
    /// The socket may hold datagrams: read until it says it has none.
    udp_ready: bool,
    /// ICE over TCP, when enabled.
    tcp: Option<Tcp>,
    /// Whether the UDP socket is IPv6 (dual-stack on `[::]`).
    port_v6: bool,
    /// The socket's packet-info reads and sourced sends.
    udp: UdpSocketState,
}

impl Sfu {
    /// The loop on freshly bound sockets (no thread yet).
    pub(crate) fn bind(config: MediaConfig, recorded: OnRecording) -> Result<Sfu, MediaError> {
        if !config.ice_udp && !config.ice_tcp {
            let why = "ice_udp and ice_tcp are both off: no candidate to offer";
            return Err(std::io::Error::new(ErrorKind::InvalidInput, why).into());
        }
        let (mut socket, tcp) = bind_port(&config)?;
        let bound = socket.local_addr()?;
        let candidates = Candidates::discover(bound.ip(), config.public_ip);
        tracing::info!(offered = ?candidates.offered(), port = bound.port(), "media candidates");
        // Each datagram's real destination (IP_PKTINFO), and sends from a
        // chosen source: what answering on every offered address takes.
        let udp = UdpSocketState::new((&socket).into())?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut socket, UDP, Interest::READABLE)?;
        let tcp = match tcp {
            Some(mut tcp) => {
                poll.registry()
                    .register(tcp.listener(), LISTENER, Interest::READABLE)?;
                Some(tcp)
            }
            None => None,
        };
        let tcp_port = tcp.as_ref().map(|t| t.local().port());
        let plane = Plane::new(config, bound, tcp_port, candidates, recorded);
        Ok(Sfu {
            plane,
            socket,
            poll,
            udp_ready: true,
            tcp,
            port_v6: bound.is_ipv6(),
            udp,
        })
    }

    fn run(&mut self, rx: mpsc::Receiver<Command>) {
        // Room for a coalesced batch (UDP GRO) of the largest datagrams.
        let mut buf = vec![0u8; DATAGRAM_MAX * self.udp.gro_segments()];
        let mut events = Events::with_capacity(256);
        loop {
            loop {
                match rx.try_recv() {
                    Ok(command) => self.plane.command(command),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            let next = self.plane.turn(Instant::now());
            self.send();
            // Readiness is edge-triggered: while the socket may hold more,
            // only look for other news; forwarded media waits for no one.
            let wait = if self.udp_ready || self.plane.busy() {
                Duration::ZERO
            } else {
                next.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            };
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != ErrorKind::Interrupted {
                    tracing::warn!(error = %e, "media poll failed");
                }
            }
            for event in events.iter() {
                match event.token() {
                    UDP => self.udp_ready = true,
                    LISTENER => {
                        if let Some(tcp) = self.tcp.as_mut() {
                            tcp.accept(self.poll.registry());
                        }
                    }
                    token => self.tcp_ready(token, event.is_readable(), event.is_writable()),
                }
            }
            // A batch of datagrams per turn: the turn's fixed cost (every
            // peer drained and timed) is shared by all of them.
            for _ in 0..DATAGRAMS_PER_TURN {
                if !self.udp_ready {
                    break;
                }
                let mut meta = [RecvMeta::default()];
                let read = self.udp.recv(
                    (&self.socket).into(),
                    &mut [std::io::IoSliceMut::new(&mut buf)],
                    &mut meta,
                );
                match read {
                    Ok(_) => {
                        let m = meta[0];
                        let batch = buf.get(..m.len).unwrap_or_default();
                        let now = Instant::now();
                        for datagram in batch.chunks(m.stride.max(1)) {
                            self.plane.datagram(datagram, m.addr, m.dst_ip, now);
                        }
                        self.send();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => self.udp_ready = false,
                    Err(e) => {
                        tracing::warn!(error = %e, "udp read failed");
                        break;
                    }
                }
            }
        }
    }

    /// Sends what the plane queued: over TCP where the connection is one,
    /// else by UDP.
    fn send(&mut self) {
        while let Some(Outgoing { transmit, from }) = self.plane.poll_transmit() {
            match (transmit.proto, self.tcp.as_mut()) {
                (Protocol::Tcp, Some(tcp)) => {
                    tcp.send(
                        self.poll.registry(),
                        transmit.destination,
                        &transmit.contents,
                    );
                }
                _ => self.send_udp(&transmit, from),
            }
        }
    }

    /// Sends `t` from `from`, the candidate's own address if none (a
    /// dual-stack socket names IPv4 peers by their mapped addresses).
    fn send_udp(&self, t: &str0m::net::Transmit, from: Option<IpAddr>) {
        let v6 = self.port_v6;
        let transmit = Transmit {
            destination: if v6 {
                mapped(t.destination)
            } else {
                t.destination
            },
            ecn: None,
            contents: &t.contents,
            segment_size: None,
            src_ip: from.map(|ip| if v6 { mapped_ip(ip) } else { ip }),
        };
        if let Err(e) = self.udp.try_send((&self.socket).into(), &transmit) {
            tracing::debug!(error = %e, "udp send failed");
        }
    }

    /// A TCP connection can be read or written.
    fn tcp_ready(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(tcp) = self.tcp.as_mut() else {
            return;
        };
        if writable {
            tcp.flush(token, self.poll.registry());
        }
        if readable {
            let (packets, local) = tcp.read(token, self.poll.registry());
            self.plane.tcp_packets(packets, local, Instant::now());
            self.send();
        }
    }
}

/// The UDP socket and, with ICE over TCP, the listener on the same port
/// number. A port chosen by the system (0) is chosen again, a few times, if
/// its TCP twin is taken.
fn bind_port(config: &MediaConfig) -> Result<(UdpSocket, Option<Tcp>), MediaError> {
    let mut attempts = if config.bind.port() == 0 { 8 } else { 1 };
    loop {
        let socket = UdpSocket::bind(config.bind)?;
        if !config.ice_tcp {
            return Ok((socket, None));
        }
        match Tcp::bind(socket.local_addr()?) {
            Ok(tcp) => return Ok((socket, Some(tcp))),
            Err(e) if attempts <= 1 => return Err(e.into()),
            Err(_) => attempts -= 1,
        }
    }
}

/// `ip` as an IPv6 socket names it (IPv4 as v4-mapped).
fn mapped_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 => v6,
    }
}

/// `addr` as an IPv6 socket names it.
fn mapped(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(mapped_ip(addr.ip()), addr.port())
}

/// The UDP socket's token; the TCP listener's; connections from `tcp::FIRST`.
const UDP: Token = Token(0);
const LISTENER: Token = Token(1);
