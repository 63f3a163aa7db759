//! Two str0m clients (a visitor and an agent) calling through the media
//! plane over real UDP on loopback: media only after accept, audio-only
//! forwards no video, mute stops audio at the server, a transfer swaps the
//! agent while the visitor's connection and receivers stay up.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use switchboard_media::{CallState, Media, MediaConfig, MediaError, Party};

/// A browser stand-in: one sendrecv audio and one sendrecv video track.
struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    mids: Vec<(Mid, MediaKind)>,
    /// Bytes of media received, per kind.
    got: HashMap<MediaKind, usize>,
    start: Instant,
    sent_at: Instant,
}

impl Client {
    fn new(media: &Media, session: &str, party: Party, owner: &str) -> Result<Client, MediaError> {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        let mut change = rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let video = change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        let (offer, pending): (_, SdpPendingOffer) = change.apply().unwrap();
        let connected = media.connect_blocking(session, party, owner, &offer.to_sdp_string())?;
        let answer = SdpAnswer::from_sdp_string(&connected.answer).unwrap();
        rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let now = Instant::now();
        Ok(Client {
            rtc,
            socket,
            mids: vec![(audio, MediaKind::Audio), (video, MediaKind::Video)],
            got: HashMap::new(),
            start: now,
            sent_at: now,
        })
    }

    fn got(&self, kind: MediaKind) -> usize {
        self.got.get(&kind).copied().unwrap_or(0)
    }

    /// One step: send 20 ms of media when due, read the socket, drain output.
    fn step(&mut self) {
        let now = Instant::now();
        if self.rtc.is_alive() && now.duration_since(self.sent_at) >= Duration::from_millis(20) {
            self.sent_at = now;
            for (mid, kind) in self.mids.clone() {
                let codec = if kind == MediaKind::Audio {
                    Codec::Opus
                } else {
                    Codec::Vp8
                };
                let Some(params) = self
                    .rtc
                    .codec_config()
                    .find(|p| p.spec().codec == codec)
                    .cloned()
                else {
                    continue;
                };
                let size = if kind == MediaKind::Audio { 80 } else { 1200 };
                let rtp = MediaTime::from(now - self.start);
                if let Some(w) = self.rtc.writer(mid) {
                    let _ = w.write(params.pt(), now, rtp, vec![0x10; size]);
                }
            }
        }
        let mut buf = [0u8; 2000];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.socket.local_addr().unwrap(),
                    contents,
                },
            );
            let _ = self.rtc.handle_input(input);
        }
        let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        while self.rtc.is_alive() {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::MediaData(d))) => {
                    let kind = self.rtc.media(d.mid).map(|m| m.kind());
                    if let Some(kind) = kind {
                        *self.got.entry(kind).or_default() += d.data.len();
                    }
                }
                Ok(Output::Event(_)) => {}
            }
        }
    }
}

fn run(clients: &mut [&mut Client], for_: Duration) {
    let until = Instant::now() + for_;
    while Instant::now() < until {
        for c in clients.iter_mut() {
            c.step();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn media() -> Media {
    Media::start(MediaConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..MediaConfig::default()
    })
    .unwrap()
}

fn ringing(agent: &str) -> Option<CallState> {
    Some(CallState {
        agent: Some(agent.into()),
        ..CallState::default()
    })
}

fn answered(agent: &str) -> Option<CallState> {
    Some(CallState {
        agent: Some(agent.into()),
        active: true,
        ..CallState::default()
    })
}

#[test]
fn media_flows_both_ways_only_after_accept() {
    let m = media();
    m.update("cs_1", ringing("a1"));
    let mut v = Client::new(&m, "cs_1", Party::Customer, "visitor").unwrap();
    let mut a = Client::new(&m, "cs_1", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a], Duration::from_secs(2));
    assert_eq!(
        (v.got(MediaKind::Audio), v.got(MediaKind::Video)),
        (0, 0),
        "nothing before accept"
    );
    assert_eq!((a.got(MediaKind::Audio), a.got(MediaKind::Video)), (0, 0));
    m.update("cs_1", answered("a1"));
    run(&mut [&mut v, &mut a], Duration::from_secs(2));
    for (who, c) in [("visitor", &v), ("agent", &a)] {
        assert!(
            c.got(MediaKind::Audio) > 2_000,
            "{who} audio {}",
            c.got(MediaKind::Audio)
        );
        assert!(
            c.got(MediaKind::Video) > 20_000,
            "{who} video {}",
            c.got(MediaKind::Video)
        );
    }
    // Ending the call closes both sides.
    m.update("cs_1", None);
    run(&mut [&mut v, &mut a], Duration::from_millis(500));
    let stats = futures_stats(&m, "cs_1");
    assert!(stats.is_empty(), "connections closed: {stats:?}");
}

#[test]
fn an_audio_only_call_forwards_no_video_and_mute_stops_audio() {
    let m = media();
    let mut state = CallState {
        agent: Some("a1".into()),
        active: true,
        audio_only: true,
        ..CallState::default()
    };
    m.update("cs_2", Some(state.clone()));
    let mut v = Client::new(&m, "cs_2", Party::Customer, "visitor").unwrap();
    let mut a = Client::new(&m, "cs_2", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a], Duration::from_secs(2));
    assert!(v.got(MediaKind::Audio) > 2_000);
    assert_eq!(
        (v.got(MediaKind::Video), a.got(MediaKind::Video)),
        (0, 0),
        "no video"
    );
    state.customer_muted = true;
    m.update("cs_2", Some(state));
    run(&mut [&mut v, &mut a], Duration::from_millis(300));
    let (agent_heard, visitor_heard) = (a.got(MediaKind::Audio), v.got(MediaKind::Audio));
    run(&mut [&mut v, &mut a], Duration::from_secs(1));
    assert_eq!(
        a.got(MediaKind::Audio),
        agent_heard,
        "the muted visitor is not forwarded"
    );
    assert!(
        v.got(MediaKind::Audio) > visitor_heard + 1_000,
        "the agent still is"
    );
}

#[test]
fn a_transfer_swaps_the_agent_while_the_visitor_stays_connected() {
    let m = media();
    m.update("cs_3", answered("a1"));
    let mut v = Client::new(&m, "cs_3", Party::Customer, "visitor").unwrap();
    let mut a1 = Client::new(&m, "cs_3", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a1], Duration::from_secs(2));
    assert!(v.got(MediaKind::Video) > 20_000);
    m.update("cs_3", answered("a2"));
    run(&mut [&mut v, &mut a1], Duration::from_millis(300));
    let a1_heard = a1.got(MediaKind::Audio);
    let mut a2 = Client::new(&m, "cs_3", Party::Agent, "a2").unwrap();
    let before = (v.got(MediaKind::Audio), v.got(MediaKind::Video));
    run(&mut [&mut v, &mut a1, &mut a2], Duration::from_secs(2));
    assert!(v.rtc.is_alive(), "the visitor's connection stayed up");
    assert!(
        v.got(MediaKind::Audio) > before.0 + 2_000,
        "the visitor hears the new agent"
    );
    assert!(
        v.got(MediaKind::Video) > before.1 + 20_000,
        "and sees them, on the same receivers"
    );
    assert!(
        a2.got(MediaKind::Audio) > 2_000,
        "the new agent hears the visitor"
    );
    assert!(
        a1.got(MediaKind::Audio) <= a1_heard + 200,
        "the old agent hears nothing more"
    );
    let stats = futures_stats(&m, "cs_3");
    assert_eq!(
        stats.len(),
        2,
        "the old agent's connection was closed: {stats:?}"
    );
}

#[test]
fn bad_offers_and_unknown_calls_are_refused() {
    let m = media();
    assert!(matches!(
        m.connect_blocking("cs_x", Party::Customer, "v", "v=0"),
        Err(MediaError::NoCall)
    ));
    m.update("cs_4", answered("a1"));
    assert!(matches!(
        m.connect_blocking("cs_4", Party::Customer, "v", "not sdp"),
        Err(MediaError::BadOffer(_))
    ));
    // Three video tracks: more than camera and screen share.
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    for _ in 0..3 {
        change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    }
    let (offer, _) = change.apply().unwrap();
    assert!(matches!(
        m.connect_blocking("cs_4", Party::Customer, "v", &offer.to_sdp_string()),
        Err(MediaError::TooManyTracks(_))
    ));
    // Garbage datagrams at the media port do no harm.
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..200u8 {
        let _ = junk.send_to(&[i; 64], m.candidate_addr());
    }
    let mut v = Client::new(&m, "cs_4", Party::Customer, "visitor").unwrap();
    let mut a = Client::new(&m, "cs_4", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a], Duration::from_secs(2));
    assert!(v.got(MediaKind::Audio) > 2_000, "calls still work");
}

fn futures_stats(m: &Media, session: &str) -> Vec<switchboard_media::PeerQuality> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(m.stats(session))
}
