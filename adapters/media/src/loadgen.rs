//! A call participant built on str0m, for tests and the load generator: one
//! `sendrecv` audio and one `sendrecv` video track over its own UDP socket,
//! sending Opus-sized audio every 20 ms and VP8-shaped video at a chosen
//! rate (a keyframe header every second), counting what it receives, and
//! measuring how long each video frame took from its sender (the send time
//! travels in the frame). The media plane forwards frames without decoding
//! them, so synthetic payloads load it like real ones.

use std::net::UdpSocket;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::{Media, MediaError, Party};

/// What a participant sends.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Video frames per second.
    pub video_fps: u32,
    /// Bytes per video frame (500 kbit/s at 30 fps is about 2,080).
    pub video_frame_bytes: usize,
    /// Bytes per 20 ms audio frame (Opus at 32 kbit/s: 80).
    pub audio_frame_bytes: usize,
    /// The address the participant's socket binds (a loopback address by default).
    pub bind: std::net::IpAddr,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            video_fps: 30,
            video_frame_bytes: 2_083,
            audio_frame_bytes: 80,
            bind: std::net::IpAddr::from([127, 0, 0, 1]),
        }
    }
}

/// Counters of one participant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Audio frames sent and received.
    pub audio_sent: u64,
    /// Audio frames received.
    pub audio_received: u64,
    /// Video frames sent.
    pub video_sent: u64,
    /// Video frames received.
    pub video_received: u64,
    /// Audio bytes received.
    pub audio_bytes: u64,
    /// Video bytes received.
    pub video_bytes: u64,
}

/// One participant.
pub struct Caller {
    /// Its peer connection.
    pub rtc: Rtc,
    socket: UdpSocket,
    mids: Vec<(Mid, MediaKind)>,
    load: Load,
    start: Instant,
    next_audio: Instant,
    next_video: Instant,
    /// What it sent and received.
    pub counts: Counts,
    /// Frames sent before this are not counted when received.
    counting_from: Instant,
    /// Whether it sends (off: it only receives what is still on its way).
    sending: bool,
    /// RTP packets received so far per track, as of the last stats.
    packets: Vec<(Mid, u64)>,
    /// Sender-to-receiver time of each video frame received.
    pub latencies: Vec<Duration>,
}

/// The instant send times in frames are counted from (one per process).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Where the send time sits in a frame (in video, after the VP8 header).
const STAMP: std::ops::Range<usize> = 10..18;

impl Caller {
    /// Connects to `session` as `party` through `media`, on a loopback socket.
    pub fn connect(
        media: &Media,
        session: &str,
        party: Party,
        owner: &str,
        load: Load,
    ) -> Result<Caller, MediaError> {
        Caller::negotiate(load, |offer| {
            media
                .connect_blocking(session, party, owner, offer)
                .map(|c| c.answer)
        })
    }

    /// Connects to any SFU: `exchange` takes the SDP offer and returns the
    /// answer (for comparing another server under the same load).
    ///
    /// # Panics
    /// If no UDP socket can be bound on `load.bind` (a broken test machine).
    pub fn negotiate(
        load: Load,
        exchange: impl FnOnce(&str) -> Result<String, MediaError>,
    ) -> Result<Caller, MediaError> {
        let socket = UdpSocket::bind((load.bind, 0)).expect("a UDP socket on the load's address");
        socket.set_nonblocking(true)?;
        // Frequent stats: the receiving side counts packets for the bench.
        let mut rtc = Rtc::builder()
            .set_stats_interval(Some(Duration::from_millis(100)))
            .build(Instant::now());
        let local = socket.local_addr()?;
        if let Ok(c) = Candidate::host(local, "udp") {
            rtc.add_local_candidate(c);
        }
        let mut change = rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let video = change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        let (offer, pending): (_, SdpPendingOffer) =
            change.apply().ok_or(MediaError::BadOffer("no changes"))?;
        let answer = exchange(&offer.to_sdp_string())?;
        let answer = SdpAnswer::from_sdp_string(&answer)
            .map_err(|e| crate::error::bad_offer("bad answer", &e))?;
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| crate::error::bad_offer("answer not accepted", &e))?;
        let now = Instant::now();
        epoch();
        Ok(Caller {
            rtc,
            socket,
            mids: vec![(audio, MediaKind::Audio), (video, MediaKind::Video)],
            load,
            start: now,
            next_audio: now,
            next_video: now,
            counts: Counts::default(),
            counting_from: now,
            sending: true,
            packets: Vec::new(),
            latencies: Vec::new(),
        })
    }

    /// Counts afresh from now: frames sent earlier and still on their way
    /// are not counted when they arrive.
    pub fn count_from_now(&mut self) {
        self.counts = Counts::default();
        self.latencies.clear();
        self.counting_from = Instant::now();
    }

    /// Stops sending; it keeps receiving (to let what is on its way land).
    pub fn stop_sending(&mut self) {
        self.sending = false;
    }

    /// RTP packets received so far (as of the last stats, every 100 ms).
    pub fn packets_received(&self) -> u64 {
        self.packets.iter().map(|(_, n)| n).sum()
    }

    /// Bytes of `kind` received.
    pub fn got(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Audio => self.counts.audio_bytes,
            MediaKind::Video => self.counts.video_bytes,
        }
    }

    fn write(&mut self, kind: MediaKind, now: Instant) {
        let Some(&(mid, _)) = self.mids.iter().find(|(_, k)| *k == kind) else {
            return;
        };
        let codec = match kind {
            MediaKind::Audio => Codec::Opus,
            MediaKind::Video => Codec::Vp8,
        };
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            return;
        };
        let mut payload = match kind {
            MediaKind::Audio => vec![0x11; self.load.audio_frame_bytes.max(STAMP.end)],
            MediaKind::Video => {
                let mut p = vec![0x11; self.load.video_frame_bytes.max(STAMP.end)];
                if self
                    .counts
                    .video_sent
                    .is_multiple_of(u64::from(self.load.video_fps.max(1)))
                {
                    // A VP8 keyframe header, 320x240.
                    p[..10].copy_from_slice(&[
                        0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00,
                    ]);
                }
                p
            }
        };
        let sent = u64::try_from(now.duration_since(epoch()).as_nanos()).unwrap_or(0);
        payload[STAMP].copy_from_slice(&sent.to_le_bytes());
        let rtp = MediaTime::from(now.saturating_duration_since(self.start));
        if let Some(w) = self.rtc.writer(mid) {
            if w.write(pt, now, rtp, payload).is_ok() {
                match kind {
                    MediaKind::Audio => self.counts.audio_sent += 1,
                    MediaKind::Video => self.counts.video_sent += 1,
                }
            }
        }
    }

    /// One step: send what is due, read the socket, drain the output.
    /// Returns when it next needs to run.
    pub fn step(&mut self) -> Instant {
        let now = Instant::now();
        if self.rtc.is_alive() && self.sending {
            if now >= self.next_audio {
                self.write(MediaKind::Audio, now);
                self.next_audio += Duration::from_millis(20);
            }
            if now >= self.next_video {
                self.write(MediaKind::Video, now);
                self.next_video += Duration::from_secs(1) / self.load.video_fps.max(1);
            }
        }
        let mut buf = [0u8; 2000];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let Ok(destination) = self.socket.local_addr() else {
                continue;
            };
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination,
                    contents,
                },
            );
            let _ = self.rtc.handle_input(input);
        }
        let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        let mut next = self.next_audio.min(self.next_video);
        while self.rtc.is_alive() {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    next = next.min(t);
                    break;
                }
                Err(_) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::MediaIngressStats(s))) => {
                    match self.packets.iter_mut().find(|(m, _)| *m == s.mid) {
                        Some((_, n)) => *n = s.packets,
                        None => self.packets.push((s.mid, s.packets)),
                    }
                }
                Ok(Output::Event(Event::MediaData(d))) => {
                    let sent = d.data.get(STAMP).map(|stamp| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(stamp);
                        epoch() + Duration::from_nanos(u64::from_le_bytes(b))
                    });
                    // Frames sent before the count began are not counted.
                    if sent.is_none_or(|t| t < self.counting_from) {
                        continue;
                    }
                    match self.rtc.media(d.mid).map(|m| m.kind()) {
                        Some(MediaKind::Audio) => {
                            self.counts.audio_received += 1;
                            self.counts.audio_bytes += d.data.len() as u64;
                        }
                        Some(MediaKind::Video) => {
                            self.counts.video_received += 1;
                            self.counts.video_bytes += d.data.len() as u64;
                            if let Some(sent) = sent {
                                self.latencies
                                    .push(Instant::now().saturating_duration_since(sent));
                            }
                        }
                        None => {}
                    }
                }
                Ok(Output::Event(_)) => {}
            }
        }
        next
    }
}

/// Runs `callers` for `period`, each stepped when due.
pub fn run(callers: &mut [&mut Caller], period: Duration) {
    let until = Instant::now() + period;
    while Instant::now() < until {
        let mut next = until;
        for c in callers.iter_mut() {
            next = next.min(c.step());
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(2));
        std::thread::sleep(wait.max(Duration::from_micros(200)));
    }
}
