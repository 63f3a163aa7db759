//! The media plane as a state machine with no I/O of its own, as str0m's
//! `Rtc` is: it takes a command, a datagram (or a packet a TCP connection
//! framed) or the passing of time, and leaves what to send in a queue
//! ([`Plane::poll_transmit`]); the loop in [`crate::sfu`] owns the sockets.
//! Each turn drains the connections that were written to or whose timeout
//! has come. Packets are routed by remote address through a map; only an
//! unknown address is offered to the peers' ICE. The `Rtc`s run in RTP
//! mode: each incoming media packet is relayed to the other side as it
//! arrives, with no depacketizing or repacketizing ([`crate::forward`]).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::format::PayloadParams;
use str0m::media::{ExtensionValues, MediaKind, MediaTime};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::rtp::{Extension, RtpPacket, RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::oneshot;

use crate::addresses::Candidates;
use crate::delay::ForwardDelay;
use crate::error::{bad_offer, MediaError};
use crate::forward::{starts_keyframe, Arrival, Verdict};
use crate::frames::Packet;
use crate::path::PathKind;
use crate::peer::{LegTiming, Peer, Route};
use crate::quality::{PeerQuality, QualitySummary, SUMMARIES_MAX};
use crate::recorder::Recorder;
use crate::{CallState, MediaConfig, OnRecording, Party, INBOX_POLL};

/// An admitted connection.
#[derive(Clone, Debug)]
pub struct Connected {
    /// Its id (the WHIP resource).
    pub id: String,
    /// The SDP answer, with the server's candidate.
    pub answer: String,
}

pub(crate) enum Command {
    Connect {
        session: String,
        party: Party,
        owner: String,
        offer: String,
        reply: oneshot::Sender<Result<Connected, MediaError>>,
    },
    Trickle {
        id: String,
        owner: String,
        fragment: String,
        reply: oneshot::Sender<Result<Option<String>, MediaError>>,
    },
    Close {
        id: String,
        owner: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Update {
        session: String,
        state: Option<CallState>,
    },
    Stats {
        session: Option<String>,
        reply: oneshot::Sender<Vec<PeerQuality>>,
    },
    Summary {
        session: String,
        reply: oneshot::Sender<Option<QualitySummary>>,
    },
    Delay {
        reply: oneshot::Sender<ForwardDelay>,
    },
    Totals {
        reply: oneshot::Sender<MediaTotals>,
    },
}

/// Since the media plane started, what its operators watch: negotiations,
/// ICE success and how long connecting takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MediaTotals {
    /// Offers answered.
    pub offers: u64,
    /// Offers refused (not SDP, or more tracks than a call carries).
    pub offers_refused: u64,
    /// Connections whose ICE and DTLS came up.
    pub connected: u64,
    /// Connections that ended without ever coming up.
    pub never_connected: u64,
    /// Time from the answer to connected, summed over `connected`, ms.
    pub connect_ms_sum: u64,
    /// ICE restarts answered (a client's network changed).
    pub restarts: u64,
    /// Connections whose media flowed, by the kind of the participant's
    /// candidate it went to (in [`PathKind::ALL`]'s order): TURN use.
    pub paths: [u64; 4],
}

impl MediaTotals {
    /// Connections whose media went to a participant's candidate of `kind`.
    pub fn via(&self, kind: PathKind) -> u64 {
        self.paths[kind.index()]
    }
}

/// Whether an offer publishes (some audio or video the client sends) and
/// plays (some it receives), from its media sections' directions.
fn directions(sdp: &str) -> (bool, bool) {
    let (mut publishes, mut plays) = (false, false);
    for section in sdp.split("\nm=").skip(1) {
        if section.starts_with("application") {
            continue;
        }
        let direction = section
            .lines()
            .map(str::trim)
            .find(|l| {
                matches!(
                    *l,
                    "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
                )
            })
            .unwrap_or("a=sendrecv");
        publishes |= matches!(direction, "a=sendrecv" | "a=sendonly");
        plays |= matches!(direction, "a=sendrecv" | "a=recvonly");
    }
    (publishes, plays)
}

/// Where each leg's bandwidth estimate starts, before feedback: what a
/// browser's encoder starts at, with room to grow.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(600);
/// The least a sender is capped at. A lossy leg's estimate (loss-based, and
/// from TWCC feedback that crosses the same lossy path) runs far below what
/// the same browsers settle at peer to peer: at 10 % random loss, 31 against
/// 75-250 kbit/s (tests/browser/weak.mjs). Below this floor the encoder
/// starves the picture; above it the sender's own estimate still rules.
const CAP_FLOOR: Bitrate = Bitrate::kbps(150);
/// The most a leg is probed for: a 1v1 call's camera and microphone.
const DESIRED_BITRATE: Bitrate = Bitrate::kbps(2500);
/// Each receiving video track keeps this many packets, this long, to answer
/// NACKs from: a second or more of the fastest 1v1 video, with every NACK
/// answered (no resend-ratio cap: a 1v1 leg has no other stream to starve).
const RTX_PACKETS: usize = 2048;
const RTX_AGE: Duration = Duration::from_secs(3);

/// Most tracks of one kind in an offer: camera/microphone and a screen share.
const TRACKS_PER_KIND_MAX: usize = 2;

/// A candidate str0m built, or why not.
fn candidate<E: std::fmt::Display>(c: Result<Candidate, E>) -> Result<Candidate, MediaError> {
    c.map_err(|e| bad_offer("no usable ICE candidate", &e))
}

/// How long a receiver should be ready to wait for a packet lost on the
/// sender's leg (None: that leg loses nothing worth waiting for). Its repair
/// (our NACK to the sender, the resend back) takes that leg's round trip,
/// and the resend is as late again as the leg's jitter makes it; the
/// receiver, a hop from us, sees neither round trip nor repair: peer to
/// peer, its own NACKs would have crossed that leg and its jitter buffer
/// made room for them. Told in the playout-delay header extension as a
/// minimum.
fn repair_wait(loss: Option<f32>, leg: LegTiming) -> Option<MediaTime> {
    let lossy = loss.is_some_and(|l| l > 0.005);
    let rtt = leg.srtt_ms.filter(|_| lossy)?;
    let ms = (rtt * 1.5 + 2.0 * leg.jitter_ms.unwrap_or(0.0) + 20.0).clamp(0.0, 1000.0);
    Some(MediaTime::from_hundredths((ms / 10.0).ceil() as u64))
}

/// The playout-delay extension's id (where Chrome offers it).
const PLAYOUT_DELAY_EXT: u8 = 5;
/// The most a receiver's playout delay may grow to when a minimum is set.
const PLAYOUT_DELAY_MAX: MediaTime = MediaTime::from_hundredths(200);

pub(crate) struct Plane {
    /// The TCP port of ICE over TCP, when enabled.
    tcp_port: Option<u16>,
    /// What to send, in order, until the loop takes it.
    out: VecDeque<Outgoing>,
    /// Whether answers carry the UDP candidate (off: TCP only).
    udp_candidates: bool,
    /// The media port (UDP, and TCP with the same number).
    port: u16,
    /// The addresses offered, and which one a packet arrived at.
    candidates: Candidates,
    stats_interval: Duration,
    peers: Vec<Peer>,
    /// Remote address -> index in `peers` (rebuilt when peers are removed).
    by_addr: HashMap<SocketAddr, usize>,
    calls: HashMap<String, CallState>,
    summaries: HashMap<String, QualitySummary>,
    /// Sessions in the order their summaries began, to forget the oldest.
    summary_order: std::collections::VecDeque<String>,
    record_dir: Option<std::path::PathBuf>,
    recorded: OnRecording,
    next_id: u64,
    /// The queue one datagram's output is gathered in, kept between
    /// datagrams so that relaying allocates nothing for it.
    scratch: Vec<Propagate>,
    /// Media was written to a connection since the last poll: it is due.
    written: bool,
    /// How long relayed media waited in the loop.
    delay: ForwardDelay,
    /// Negotiation and ICE figures since the start.
    totals: MediaTotals,
}

/// A datagram (or, over ICE-TCP, a frame) to send, and the local address
/// to send it from (a 1:1 NAT's public candidate is sent from the private
/// address behind it).
pub(crate) struct Outgoing {
    /// What str0m asked to send.
    pub(crate) transmit: str0m::net::Transmit,
    /// The source address, if the candidate's own is not it.
    pub(crate) from: Option<IpAddr>,
}

/// What one peer's output asks of the others. Media dominates the queue,
/// so it is kept inline rather than boxed per packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Propagate {
    Rtp(usize, RtpPacket),
    /// Peer index asked for a keyframe on an outgoing track of this kind.
    Keyframe(usize, MediaKind),
    /// Data-channel message from peer index on the channel with this label
    /// (remote-assistance annotations), binary or text.
    Data(usize, String, bool, Vec<u8>),
    /// What the leg to peer index carries now (its send-side estimate).
    Downlink(usize, Bitrate),
}

impl Plane {
    /// The address answers name first (what logs and the metrics show).
    /// The address the media plane gives as its own.
    pub(crate) fn advertised(&self) -> SocketAddr {
        SocketAddr::new(self.candidates.offered()[0], self.port)
    }

    /// The plane for media bound at `bound` (UDP; TCP on `tcp_port` when
    /// ICE over TCP is on), offering the addresses `candidates`.
    pub(crate) fn new(
        config: MediaConfig,
        bound: SocketAddr,
        tcp_port: Option<u16>,
        candidates: Candidates,
        recorded: OnRecording,
    ) -> Plane {
        Plane {
            tcp_port,
            out: VecDeque::new(),
            udp_candidates: config.ice_udp,
            port: bound.port(),
            candidates,
            stats_interval: Duration::from_millis(config.stats_interval_ms.max(100)),
            peers: Vec::new(),
            by_addr: HashMap::new(),
            calls: HashMap::new(),
            summaries: HashMap::new(),
            summary_order: VecDeque::new(),
            record_dir: config.record_dir,
            recorded,
            next_id: 1,
            scratch: Vec::new(),
            written: false,
            delay: ForwardDelay::default(),
            totals: MediaTotals::default(),
        }
    }

    /// One turn at `now`: the connections given input, or whose timeout has
    /// come, are timed and drained (a turn costs what happened in it, not
    /// the number of calls), and what they ask of each other is done. The
    /// next time the plane must be woken.
    pub(crate) fn turn(&mut self, now: Instant) -> Instant {
        let mut next = now + INBOX_POLL;
        let mut queue = Vec::new();
        for i in 0..self.peers.len() {
            let p = &mut self.peers[i];
            if p.due <= now && p.rtc.is_alive() {
                let _ = p.rtc.handle_input(Input::Timeout(now));
                p.dirty = true;
            }
            if p.dirty {
                p.dirty = false;
                if let Some(due) = self.drain(i, &mut queue, false) {
                    self.peers[i].due = due;
                }
            }
            next = next.min(self.peers[i].due);
        }
        for p in queue {
            self.propagate(p);
        }
        self.reap();
        next
    }

    /// Whether media was relayed since the last call (which clears it), or
    /// a connection is waiting to be drained: the loop then turns again at
    /// once.
    pub(crate) fn busy(&mut self) -> bool {
        std::mem::take(&mut self.written) || self.peers.iter().any(|p| p.dirty)
    }

    /// The next thing to send, if any.
    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }

    /// Connections held, dead or alive (for the fuzzing harness).
    pub(crate) fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Whether the engine's last word on `session` was "answered".
    pub(crate) fn call_active(&self, session: &str) -> bool {
        self.calls.get(session).is_some_and(|c| c.active)
    }

    pub(crate) fn command(&mut self, command: Command) {
        // Rare, and any may touch any connection: all are drained next.
        for p in &mut self.peers {
            p.dirty = true;
        }
        let reroutes = matches!(command, Command::Connect { .. } | Command::Update { .. });
        match command {
            Command::Connect {
                session,
                party,
                owner,
                offer,
                reply,
            } => {
                let connected = self.connect(session, party, owner, &offer);
                match &connected {
                    Ok(_) => self.totals.offers += 1,
                    Err(MediaError::BadOffer(_) | MediaError::TooManyTracks(_)) => {
                        self.totals.offers_refused += 1;
                    }
                    Err(_) => {}
                }
                let _ = reply.send(connected);
            }
            Command::Trickle {
                id,
                owner,
                fragment,
                reply,
            } => {
                let result = self
                    .owned(&id, &owner)
                    .and_then(|i| self.peers[i].trickle(&fragment));
                if matches!(result, Ok(Some(_))) {
                    self.totals.restarts += 1;
                }
                let _ = reply.send(result);
            }
            Command::Close { id, owner, reply } => {
                let result = self
                    .owned(&id, &owner)
                    .map(|i| self.peers[i].rtc.disconnect());
                let _ = reply.send(result);
            }
            Command::Update { session, state } => self.update(session, state),
            Command::Delay { reply } => {
                let _ = reply.send(self.delay.clone());
            }
            Command::Totals { reply } => {
                let _ = reply.send(self.totals.clone());
            }
            Command::Summary { session, reply } => {
                let _ = reply.send(self.summaries.get(&session).cloned());
            }
            Command::Stats { session, reply } => {
                let all = self
                    .peers
                    .iter()
                    .filter(|p| session.as_ref().is_none_or(|s| &p.session == s))
                    .map(|p| p.quality.clone())
                    .collect();
                let _ = reply.send(all);
            }
        }
        if reroutes {
            self.reroute();
        }
    }

    fn owned(&self, id: &str, owner: &str) -> Result<usize, MediaError> {
        let i = self
            .peers
            .iter()
            .position(|p| p.id == id && p.rtc.is_alive())
            .ok_or(MediaError::NotFound)?;
        if self.peers[i].owner == owner {
            Ok(i)
        } else {
            Err(MediaError::NotOwner)
        }
    }

    fn connect(
        &mut self,
        session: String,
        party: Party,
        owner: String,
        offer: &str,
    ) -> Result<Connected, MediaError> {
        let Some(call) = self.calls.get(&session) else {
            return Err(MediaError::NoCall);
        };
        let offer = SdpOffer::from_sdp_string(offer)
            .map_err(|e| bad_offer("the body is not an SDP offer", &e))?;
        let text = offer.to_sdp_string();
        for kind in ["audio", "video"] {
            let count = text
                .lines()
                .filter(|l| l.starts_with(&format!("m={kind} ")))
                .count();
            if count > TRACKS_PER_KIND_MAX {
                return Err(MediaError::TooManyTracks(format!(
                    "{count} {kind} tracks; a call carries at most {TRACKS_PER_KIND_MAX}"
                )));
            }
        }
        let agent = match party {
            Party::Agent => call.agent.clone(),
            Party::Customer => None,
        };
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            // To tell receivers how long a repair on the sender's leg takes.
            .set_extension(PLAYOUT_DELAY_EXT, Extension::PlayoutDelay)
            .set_stats_interval(Some(self.stats_interval))
            // Each leg's own estimate (TWCC): what the receiver's downlink
            // carries, which the sender's encoder is then capped at.
            .enable_bwe(Some(INITIAL_ESTIMATE))
            .build(now);
        // Probe up to what a 1v1 call's video wants: relayed media alone
        // never shows a leg's spare room, and the sender's cap follows it.
        rtc.bwe().set_bitrate(Bitrate::ZERO, DESIRED_BITRATE);
        for &ip in self.candidates.offered() {
            if self.udp_candidates {
                let addr = SocketAddr::new(ip, self.port);
                rtc.add_local_candidate(candidate(Candidate::host(addr, "udp"))?);
            }
            if let Some(port) = self.tcp_port {
                // Passive: the browser connects; on each address, like UDP.
                let addr = SocketAddr::new(ip, port);
                let c = Candidate::builder()
                    .tcp()
                    .host(addr)
                    .tcptype(TcpType::Passive)
                    .build();
                rtc.add_local_candidate(candidate(c)?);
            }
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| bad_offer("the SDP offer cannot be answered", &e))?;
        // The same participant connecting again for the same purpose (a
        // reconnect) replaces its old connection: a publisher replaces a
        // publisher, a player a player, a sendrecv page both.
        let (publishes, plays) = directions(&text);
        for p in &mut self.peers {
            let overlaps = (publishes && p.publishes) || (plays && p.plays);
            if p.session == session && p.party == party && overlaps && p.rtc.is_alive() {
                p.rtc.disconnect();
            }
        }
        let serial = self.next_id;
        self.next_id += 1;
        let id = format!("m{serial}");
        let mut peer = Peer::new(id.clone(), serial, session, party, owner, agent, rtc);
        (peer.publishes, peer.plays) = (publishes, plays);
        peer.remote_candidates.add_from(&text);
        peer.offer = text;
        self.peers.push(peer);
        Ok(Connected {
            id,
            answer: answer.to_sdp_string(),
        })
    }

    /// Applies the engine's view of a call.
    fn update(&mut self, session: String, state: Option<CallState>) {
        let now = Instant::now();
        match state {
            None => {
                for p in self.peers.iter_mut().filter(|p| p.session == session) {
                    p.rtc.disconnect();
                }
                self.calls.remove(&session);
            }
            Some(state) => {
                let before = self.calls.insert(session.clone(), state.clone());
                let became_active = state.active && !before.as_ref().is_some_and(|b| b.active);
                let new_agent = before.as_ref().is_some_and(|b| b.agent != state.agent);
                for p in self.peers.iter_mut().filter(|p| p.session == session) {
                    // A transfer: the old agent's connection is closed.
                    if p.party == Party::Agent && p.agent != state.agent {
                        p.rtc.disconnect();
                        continue;
                    }
                    if state.active && (became_active || new_agent) {
                        p.request_keyframes(now);
                    }
                }
            }
        }
    }

    /// Polls peer `i` until it has nothing but a timeout, and returns that;
    /// with `media_only`, stops after the media packet an input left (str0m
    /// holds one until polled) and returns None: the rest waits for the
    /// turn's drain, which the peer is marked for.
    pub(crate) fn drain(
        &mut self,
        i: usize,
        queue: &mut Vec<Propagate>,
        media_only: bool,
    ) -> Option<Instant> {
        loop {
            let peer = &mut self.peers[i];
            if !peer.rtc.is_alive() {
                return Some(Instant::now() + INBOX_POLL);
            }
            let output = match peer.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    tracing::debug!(peer = %peer.id, error = %e, "peer failed");
                    peer.rtc.disconnect();
                    return Some(Instant::now() + INBOX_POLL);
                }
            };
            match output {
                Output::Timeout(t) => {
                    if let Some(read) = peer.pending_since.take() {
                        self.delay.record(read.elapsed());
                    }
                    return Some(t);
                }
                Output::Transmit(t) => {
                    if let Some(kind) = peer.note_path(&t) {
                        self.totals.paths[kind.index()] += 1;
                    }
                    let from = self.candidates.send_from(t.source.ip());
                    self.out.push_back(Outgoing { transmit: t, from });
                }
                Output::Event(event) => match event {
                    Event::Connected => {
                        if !peer.ever_connected {
                            peer.ever_connected = true;
                            self.totals.connected += 1;
                            let ms = peer.created.elapsed().as_millis();
                            self.totals.connect_ms_sum += u64::try_from(ms).unwrap_or(u64::MAX);
                        }
                        peer.quality.connected = true;
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        peer.quality.connected = false;
                        peer.rtc.disconnect();
                    }
                    Event::MediaAdded(m) => peer.track_added(m.mid, m.kind, m.direction),
                    Event::RtpPacket(packet) => {
                        queue.push(Propagate::Rtp(i, packet));
                        if media_only {
                            peer.dirty = true;
                            return None;
                        }
                    }
                    Event::KeyframeRequest(req) => {
                        if let Some(kind) = peer.outgoing_kind(req.mid) {
                            queue.push(Propagate::Keyframe(i, kind));
                        }
                    }
                    Event::ChannelOpen(cid, label) => peer.channels.push((cid, label)),
                    Event::ChannelClose(cid) => peer.channels.retain(|(c, _)| *c != cid),
                    Event::ChannelData(d) => {
                        let label = peer
                            .channels
                            .iter()
                            .find(|(c, _)| *c == d.id)
                            .map(|(_, l)| l.clone());
                        if let Some(label) = label {
                            queue.push(Propagate::Data(i, label, d.binary, d.data));
                        }
                    }
                    Event::PeerStats(s) => {
                        peer.peer_stats(&s);
                        if !self.summaries.contains_key(&peer.session) {
                            if self.summary_order.len() >= SUMMARIES_MAX {
                                if let Some(old) = self.summary_order.pop_front() {
                                    self.summaries.remove(&old);
                                }
                            }
                            self.summary_order.push_back(peer.session.clone());
                        }
                        self.summaries
                            .entry(peer.session.clone())
                            .or_default()
                            .add(&peer.quality);
                    }
                    Event::MediaIngressStats(s) => peer.ingress_stats(&s),
                    Event::MediaEgressStats(s) => peer.egress_stats(&s),
                    Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                        queue.push(Propagate::Downlink(i, estimate));
                    }
                    _ => {}
                },
            }
        }
    }

    /// Recomputes every connection's route from the calls, after what can
    /// change one (a connection added or dropped, the engine's word on a
    /// call), so that a packet's way costs no lookup.
    fn reroute(&mut self) {
        let mut order: Vec<usize> = (0..self.peers.len()).collect();
        order.sort_by(|&a, &b| self.peers[a].session.cmp(&self.peers[b].session));
        let mut routes = vec![Route::default(); self.peers.len()];
        for group in order.chunk_by(|&a, &b| self.peers[a].session == self.peers[b].session) {
            let Some(call) = self.calls.get(&self.peers[group[0]].session) else {
                continue;
            };
            let current = |p: &Peer| p.party == Party::Customer || p.agent == call.agent;
            for &i in group {
                let me = &self.peers[i];
                let muted = match me.party {
                    Party::Agent => call.agent_muted,
                    Party::Customer => call.customer_muted,
                };
                let sends = call.active && current(me);
                routes[i] = Route {
                    partners: group
                        .iter()
                        .copied()
                        .filter(|&j| self.peers[j].party != me.party && current(&self.peers[j]))
                        .collect(),
                    active: call.active,
                    audio: sends && !muted,
                    video: sends && !call.audio_only,
                };
            }
        }
        for (p, route) in self.peers.iter_mut().zip(routes) {
            p.route = route;
        }
    }

    /// Whether media from peer `from` of `kind` may reach the other side now.
    fn forwardable(&self, from: usize, kind: MediaKind) -> bool {
        let route = &self.peers[from].route;
        match kind {
            MediaKind::Audio => route.audio,
            MediaKind::Video => route.video,
        }
    }

    /// The live connections on the other side of peer `i`'s call.
    fn others(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let partners = &self.peers[i].route.partners;
        partners
            .iter()
            .copied()
            .filter(|&j| self.peers[j].rtc.is_alive())
    }

    fn cap(&mut self, source: usize) {
        let slowest = self
            .others(source)
            .filter_map(|r| self.peers[r].downlink)
            .min_by(|a, b| a.as_f64().total_cmp(&b.as_f64()));
        let Some(cap) = slowest else {
            return;
        };
        let cap = if cap.as_f64() < CAP_FLOOR.as_f64() {
            CAP_FLOOR
        } else {
            cap
        };
        if self.peers[source].cap_bitrate(cap, Instant::now()) {
            self.peers[source].quality.bitrate_caps += 1;
            self.peers[source].dirty = true;
        }
    }

    fn propagate(&mut self, p: Propagate) {
        match p {
            Propagate::Rtp(from, packet) => self.forward(from, &packet),
            Propagate::Data(from, label, binary, data) => {
                if !self.peers[from].route.active {
                    return;
                }
                for to in self.others(from).collect::<Vec<_>>() {
                    let peer = &mut self.peers[to];
                    let Some(cid) = peer
                        .channels
                        .iter()
                        .find(|(_, l)| *l == label)
                        .map(|(c, _)| *c)
                    else {
                        continue;
                    };
                    peer.dirty = true;
                    if let Some(mut channel) = peer.rtc.channel(cid) {
                        let _ = channel.write(binary, &data);
                    }
                }
            }
            Propagate::Downlink(receiver, estimate) => {
                // Each sender to this receiver is capped anew.
                self.peers[receiver].downlink = Some(estimate);
                self.peers[receiver].quality.downlink_kbps =
                    Some((estimate.as_f64() / 1000.0) as u64);
                for source in self.others(receiver).collect::<Vec<_>>() {
                    self.cap(source);
                }
            }
            Propagate::Keyframe(asker, kind) => {
                if kind != MediaKind::Video {
                    return;
                }
                let now = Instant::now();
                for source in self.others(asker).collect::<Vec<_>>() {
                    self.peers[source].request_keyframes(now);
                    self.peers[source].dirty = true;
                }
            }
        }
    }

    /// Packets a TCP connection framed, from their sources, on the
    /// connection accepted at `local` (None: the socket could not say).
    pub(crate) fn tcp_packets(
        &mut self,
        packets: Vec<(Vec<u8>, SocketAddr)>,
        local: Option<SocketAddr>,
        now: Instant,
    ) {
        let Some(port) = self.tcp_port else {
            return;
        };
        let destination = SocketAddr::new(self.candidates.arrived_at(local.map(|l| l.ip())), port);
        for (packet, source) in packets {
            self.packet(&packet, source, Protocol::Tcp, destination, now);
        }
    }

    /// One datagram from `source` that arrived at `arrived` (None: the
    /// socket could not say).
    pub(crate) fn datagram(
        &mut self,
        data: &[u8],
        source: SocketAddr,
        arrived: Option<IpAddr>,
        now: Instant,
    ) {
        let destination = SocketAddr::new(self.candidates.arrived_at(arrived), self.port);
        let source = SocketAddr::new(source.ip().to_canonical(), source.port());
        self.packet(data, source, Protocol::Udp, destination, now);
    }

    /// One packet from `source`, by UDP or framed in a TCP connection.
    fn packet(
        &mut self,
        data: &[u8],
        source: SocketAddr,
        proto: Protocol,
        destination: SocketAddr,
        now: Instant,
    ) {
        let Ok(contents) = data.try_into() else {
            return; // not STUN, DTLS, RTP or RTCP: dropped
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        let known = self
            .by_addr
            .get(&source)
            .copied()
            .filter(|&i| i < self.peers.len() && self.peers[i].rtc.is_alive());
        let target = known.or_else(|| {
            let i = self
                .peers
                .iter()
                .position(|p| p.rtc.is_alive() && p.rtc.accepts(&input))?;
            self.by_addr.insert(source, i);
            self.peers[i].addrs.push(source);
            Some(i)
        });
        if let Some(i) = target {
            if let Err(e) = self.peers[i].rtc.handle_input(input) {
                tracing::debug!(error = %e, "peer input failed");
                self.peers[i].rtc.disconnect();
            }
            // In RTP mode str0m holds one received packet until polled:
            // relay it now, before the next datagram.
            let mut queue = std::mem::take(&mut self.scratch);
            if let Some(due) = self.drain(i, &mut queue, true) {
                self.peers[i].due = due;
            }
            for p in queue.drain(..) {
                self.propagate(p);
            }
            self.scratch = queue;
        }
    }

    /// Relays one RTP packet of peer `from` to the other side of its call,
    /// each receiving track rewriting it to continue its own numbering,
    /// and feeds it to the recording.
    fn forward(&mut self, from: usize, packet: &RtpPacket) {
        let header = &packet.header;
        let Some((mid, kind, index)) = self.peers[from].source(header.ssrc) else {
            return;
        };
        if !self.forwardable(from, kind) {
            return;
        }
        let lost_for_good = kind == MediaKind::Video
            && self.peers[from].hole_given_up(header.ssrc, *packet.seq_no, packet.timestamp);
        let params: Option<PayloadParams> = self.peers[from]
            .rtc
            .codec_config()
            .find(|p| p.pt() == header.payload_type)
            .copied();
        let Some(params) = params else {
            return;
        };
        let codec = params.spec().codec;
        if self.record(from, mid, kind, codec, packet) {
            self.peers[from].request_keyframes(Instant::now());
        }
        let arrival = Arrival {
            source: (self.peers[from].serial, header.ssrc),
            seq: *packet.seq_no,
            ts: header.timestamp,
            clock: packet.time.frequency().get(),
            at: packet.timestamp,
        };
        // What describes the media travels on; transport values (MID,
        // sequence numbers for congestion control, send time) are each
        // leg's own and str0m sets them.
        let sender = &self.peers[from];
        let wait =
            repair_wait(sender.quality.loss_in, sender.leg).filter(|_| kind == MediaKind::Video);
        let ext = ExtensionValues {
            audio_level: header.ext_vals.audio_level,
            voice_activity: header.ext_vals.voice_activity,
            video_orientation: header.ext_vals.video_orientation,
            video_content_type: header.ext_vals.video_content_type,
            play_delay_min: wait,
            play_delay_max: wait.map(|_| PLAYOUT_DELAY_MAX),
            ..ExtensionValues::default()
        };
        let (mut forwarded, mut wants_keyframe) = (0, lost_for_good);
        // Taken for the loop (no copy, no allocation), put back after.
        let partners = std::mem::take(&mut self.peers[from].route.partners);
        for &to in &partners {
            let Peer {
                rtc,
                outgoing,
                due,
                pending_since,
                ..
            } = &mut self.peers[to];
            if !rtc.is_alive() {
                continue;
            }
            let Some(sink) = outgoing.iter_mut().filter(|s| s.kind == kind).nth(index) else {
                continue;
            };
            let (seq, ts) = match sink.admit(&arrival, || starts_keyframe(codec, &packet.payload)) {
                Verdict::Forward { seq, ts } => (seq, ts),
                Verdict::Drop => continue,
                Verdict::AwaitKeyframe => {
                    wants_keyframe = true;
                    continue;
                }
            };
            let pt = sink.pt(header.payload_type, || {
                rtc.codec_config().match_params(params).map(|p| p.pt())
            });
            let Some(pt) = pt else {
                continue;
            };
            let mut api = rtc.direct_api();
            let Some(stream) = api.stream_tx_by_mid(sink.mid, None) else {
                continue;
            };
            if !sink.rtx_sized {
                sink.rtx_sized = true;
                stream.set_rtx_cache(RTX_PACKETS, RTX_AGE, None);
                // Relayed media was paced by its sender, whose encoder is
                // capped to this leg: pacing it again here would only hold
                // keyframes back.
                stream.set_unpaced(true);
            }
            let write = RtpWrite::new(
                pt,
                SeqNo::from(seq),
                ts,
                packet.timestamp,
                packet.payload.clone(),
            )
            .marker(header.marker)
            .ext_vals(ext.clone())
            .nackable(kind == MediaKind::Video);
            stream.write_rtp(write);
            // str0m sends what was written on its next timeout: make it due.
            *due = (*due).min(packet.timestamp);
            pending_since.get_or_insert(packet.timestamp);
            self.written = true;
            forwarded += 1;
        }
        let source = &mut self.peers[from];
        source.route.partners = partners;
        source.quality.forwarded += forwarded;
        if wants_keyframe {
            source.request_keyframes(Instant::now());
            source.dirty = true;
        }
    }

    /// Feeds what peer `from` sends (and is forwarded) to its recording,
    /// starting one when the call is recorded; returns whether the
    /// recording waits for a keyframe.
    fn record(
        &mut self,
        from: usize,
        mid: str0m::media::Mid,
        kind: MediaKind,
        codec: str0m::format::Codec,
        packet: &RtpPacket,
    ) -> bool {
        let Some(dir) = &self.record_dir else {
            return false;
        };
        let audio_only = self
            .calls
            .get(&self.peers[from].session)
            .is_some_and(|c| c.audio_only);
        let p = &mut self.peers[from];
        if p.recorder.is_none() {
            let who = match (&p.party, &p.agent) {
                (Party::Agent, Some(agent)) => format!("agent-{agent}"),
                _ => "customer".to_owned(),
            };
            let video = if audio_only {
                None
            } else {
                p.first_incoming(MediaKind::Video)
            };
            let audio = p.first_incoming(MediaKind::Audio);
            let name = format!("{who}-{}", p.id);
            p.recorder = Some(Recorder::new(dir, &p.session, &name, audio, video));
        }
        let Some(r) = &mut p.recorder else {
            return false;
        };
        let packet = Packet {
            seq: *packet.seq_no,
            time: packet.time,
            marker: packet.header.marker,
            arrival: packet.timestamp,
            payload: &packet.payload,
        };
        r.packet(mid, kind, codec, packet)
    }

    /// Drops dead connections (finishing their recordings) and rebuilds
    /// the address map.
    fn reap(&mut self) {
        if self.peers.iter().all(|p| p.rtc.is_alive()) {
            return;
        }
        for p in self.peers.iter_mut().filter(|p| !p.rtc.is_alive()) {
            if !p.ever_connected {
                self.totals.never_connected += 1;
            }
            if let Some(done) = p.recorder.take().and_then(Recorder::finish) {
                tracing::info!(path = %done.path.display(), bytes = done.bytes, "recording finished");
                (self.recorded)(done);
            }
        }
        self.peers.retain(|p| p.rtc.is_alive());
        self.by_addr.clear();
        for (i, p) in self.peers.iter().enumerate() {
            for a in &p.addrs {
                self.by_addr.insert(*a, i);
            }
        }
        self.reroute();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_are_told_to_wait_for_repairs_only_from_a_lossy_sender() {
        let leg = |rtt: f64, jitter: f64| LegTiming {
            srtt_ms: Some(rtt),
            jitter_ms: Some(jitter),
        };
        assert_eq!(
            repair_wait(Some(0.0), leg(120.0, 5.0)),
            None,
            "nothing to repair"
        );
        assert_eq!(
            repair_wait(None, LegTiming::default()),
            None,
            "no figures yet"
        );
        assert_eq!(
            repair_wait(Some(0.1), LegTiming::default()),
            None,
            "no round trip yet"
        );
        // 1.5 round trips, twice the jitter and 20 ms, in hundredths.
        assert_eq!(
            repair_wait(Some(0.1), leg(120.0, 0.0)),
            Some(MediaTime::from_hundredths(20))
        );
        assert_eq!(
            repair_wait(Some(0.1), leg(80.0, 45.0)),
            Some(MediaTime::from_hundredths(23))
        );
        assert_eq!(
            repair_wait(Some(0.1), leg(5_000.0, 0.0)),
            Some(MediaTime::from_hundredths(100)),
            "never more than a second"
        );
    }
}
