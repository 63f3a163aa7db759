//! Two str0m clients (a visitor and an agent) calling through the media
//! plane over real UDP on loopback: media only after accept, audio-only
//! forwards no video, mute stops audio at the server, a transfer swaps the
//! agent while the visitor's connection and receivers stay up.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::media::{Direction, MediaKind};
use str0m::Rtc;
use switchboard_media::loadgen::{run, Caller, Load};
use switchboard_media::{CallState, Media, MediaConfig, MediaError, Party};

/// A browser stand-in: sendrecv audio and video, at the load generator's default rates.
fn client(m: &Media, session: &str, party: Party, owner: &str) -> Result<Caller, MediaError> {
    Caller::connect(m, session, party, owner, Load::default())
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
    let mut v = client(&m, "cs_1", Party::Customer, "visitor").unwrap();
    let mut a = client(&m, "cs_1", Party::Agent, "a1").unwrap();
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
    let mut v = client(&m, "cs_2", Party::Customer, "visitor").unwrap();
    let mut a = client(&m, "cs_2", Party::Agent, "a1").unwrap();
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
    let mut v = client(&m, "cs_3", Party::Customer, "visitor").unwrap();
    let mut a1 = client(&m, "cs_3", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a1], Duration::from_secs(2));
    assert!(v.got(MediaKind::Video) > 20_000);
    m.update("cs_3", answered("a2"));
    run(&mut [&mut v, &mut a1], Duration::from_millis(300));
    let a1_heard = a1.got(MediaKind::Audio);
    let mut a2 = client(&m, "cs_3", Party::Agent, "a2").unwrap();
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
    let mut v = client(&m, "cs_4", Party::Customer, "visitor").unwrap();
    let mut a = client(&m, "cs_4", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a], Duration::from_secs(2));
    assert!(v.got(MediaKind::Audio) > 2_000, "calls still work");
}

#[test]
fn an_answered_call_is_recorded_as_webm_per_participant() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let done: Arc<Mutex<Vec<switchboard_media::Recording>>> = Arc::default();
    let sink = done.clone();
    let m = Media::start_with(
        MediaConfig {
            record_dir: Some(dir.path().to_owned()),
            ..MediaConfig::default()
        },
        Box::new(move |r| sink.lock().unwrap().push(r)),
    )
    .unwrap();
    m.update("cs_5", ringing("a1"));
    let mut v = client(&m, "cs_5", Party::Customer, "visitor").unwrap();
    let mut a = client(&m, "cs_5", Party::Agent, "a1").unwrap();
    run(&mut [&mut v, &mut a], Duration::from_secs(1));
    m.update("cs_5", answered("a1"));
    run(&mut [&mut v, &mut a], Duration::from_secs(3));
    m.update("cs_5", None);
    run(&mut [&mut v, &mut a], Duration::from_millis(500));
    let recordings = done.lock().unwrap().clone();
    assert_eq!(recordings.len(), 2, "one per participant: {recordings:?}");
    for r in &recordings {
        assert_eq!(r.session, "cs_5");
        let name = r.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.ends_with(".webm") && !name.contains(".part"), "{name}");
        let webm = Webm::read(&std::fs::read(&r.path).unwrap());
        assert_eq!(webm.doc_type, "webm");
        assert!(
            webm.codecs.contains(&"V_VP8".to_owned()) && webm.codecs.contains(&"A_OPUS".to_owned()),
            "{:?}",
            webm.codecs
        );
        let frames = webm.blocks.len();
        let last_ns = webm.blocks.iter().map(|b| b.1).max().unwrap_or(0) * 1_000_000;
        let first_video_key = webm
            .blocks
            .iter()
            .find(|b| b.0 == webm.video_track)
            .map(|b| b.2);
        assert_eq!(first_video_key, Some(true), "video starts on a keyframe");
        assert!(frames > 100, "{name}: {frames} frames");
        let secs = last_ns as f64 / 1e9;
        assert!(
            (1.5..3.5).contains(&secs),
            "{name}: {secs:.2} s of a 3 s call"
        );
        assert!(r.duration_ms >= 1500, "{r:?}");
    }
}

/// Just enough of a WebM reader for the test: the doc type, the tracks'
/// codecs, and every SimpleBlock (track, time in ms, keyframe). Elements of
/// unknown size (live-mode segments and clusters) are walked into.
struct Webm {
    doc_type: String,
    codecs: Vec<String>,
    video_track: u64,
    blocks: Vec<(u64, u64, bool)>,
}

impl Webm {
    fn vint(b: &[u8], at: &mut usize, keep_marker: bool) -> (u64, bool) {
        let first = b[*at];
        let len = first.leading_zeros() as usize + 1;
        let mask = 0xffu8.checked_shr(len as u32).unwrap_or(0);
        let mut v = u64::from(if keep_marker { first } else { first & mask });
        let mut all_ones = v == u64::from(mask);
        for i in 1..len {
            v = (v << 8) | u64::from(b[*at + i]);
            all_ones &= b[*at + i] == 0xff;
        }
        *at += len;
        (v, all_ones && !keep_marker)
    }

    fn read(b: &[u8]) -> Webm {
        const MASTERS: [u64; 5] = [0x1A45DFA3, 0x18538067, 0x1F43B675, 0x1654AE6B, 0xAE];
        let mut w = Webm {
            doc_type: String::new(),
            codecs: Vec::new(),
            video_track: 0,
            blocks: Vec::new(),
        };
        let (mut at, mut cluster_ms, mut track) = (0, 0u64, 0u64);
        while at < b.len() {
            let (id, _) = Webm::vint(b, &mut at, true);
            let (size, unknown) = Webm::vint(b, &mut at, false);
            if MASTERS.contains(&id) {
                continue; // walk into it
            }
            assert!(!unknown, "only masters may have an unknown size");
            let body = &b[at..at + size as usize];
            let uint = || body.iter().fold(0u64, |v, x| (v << 8) | u64::from(*x));
            match id {
                0x4282 => w.doc_type = String::from_utf8_lossy(body).into_owned(),
                0xD7 => track = uint(),
                0x86 => {
                    let codec = String::from_utf8_lossy(body).into_owned();
                    if codec == "V_VP8" {
                        w.video_track = track;
                    }
                    w.codecs.push(codec);
                }
                0xE7 => cluster_ms = uint(),
                0xA3 => {
                    let mut i = 0;
                    let (t, _) = Webm::vint(body, &mut i, false);
                    let rel = i16::from_be_bytes([body[i], body[i + 1]]);
                    let key = body[i + 2] & 0x80 != 0;
                    w.blocks
                        .push((t, (cluster_ms as i64 + i64::from(rel)) as u64, key));
                }
                _ => {}
            }
            at += size as usize;
        }
        w
    }
}

fn futures_stats(m: &Media, session: &str) -> Vec<switchboard_media::PeerQuality> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(m.stats(session))
}
