//! WHIP/WHEP input handling against the real binary: who may connect, and
//! clear 4xx answers for bad offers, with nothing changed.

mod common;

use std::time::Instant;

use common::*;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

const CS: &str = "/customer-service";

/// An SDP offer with `videos` video tracks (and one audio).
fn offer(videos: usize) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    for _ in 0..videos {
        change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    }
    change.apply().expect("an offer").0.to_sdp_string()
}

/// POSTs `sdp` to the session's `whip` with `token`; the status, head and body.
fn whip(s: &Server, sid: &str, token: &str, sdp: &str, kind: &str) -> (u16, String, String) {
    let headers = format!("Authorization: Bearer {token}\r\n");
    let path = format!("{CS}/sessions/{sid}/whip");
    let (status, head, body) = s.exchange_typed("POST", &path, sdp.as_bytes(), kind, &headers);
    (status, head, body)
}

#[test]
fn only_the_calls_participants_connect_and_bad_offers_are_refused() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    let a = s.post(&format!("{CS}/queue/join"), r#"{"visitor_id":"va"}"#);
    let b = s.post(&format!("{CS}/queue/join"), r#"{"visitor_id":"vb"}"#);
    let (sa, ta) = (
        a["session_id"].as_str().unwrap(),
        a["token"].as_str().unwrap(),
    );
    let tb = b["token"].as_str().unwrap();
    s.post(&format!("{CS}/agents/a1/accept"), "");
    let good = offer(1);
    let sdp = "application/sdp";

    assert_eq!(
        whip(&s, sa, tb, &good, sdp).0,
        403,
        "another session's visitor"
    );
    assert_eq!(whip(&s, sa, "sbv_forged.x", &good, sdp).0, 401);
    assert_eq!(whip(&s, sa, ta, &good, "application/json").0, 415);
    for garbage in [
        "v=0\r\nnonsense",
        "garbage",
        "v=0\r\no=- 0 0 IN IP4 0\r\nm=video x",
    ] {
        let (status, _, body) = whip(&s, sa, ta, garbage, sdp);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("invalid_sdp"), "{body}");
        // The server's own words: no parser internals, no heap addresses.
        assert!(
            !body.contains("0x")
                && !body.contains("PointerOffset")
                && !body.contains("Parse error"),
            "{body}"
        );
    }
    let (status, _, body) = whip(&s, sa, ta, &offer(3), sdp);
    assert_eq!(status, 400, "three video tracks: {body}");
    assert!(body.contains("too_many_tracks"), "{body}");
    assert_eq!(
        s.get(&format!("{CS}/sessions/{sa}/quality"))["connections"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "no refused offer left a connection"
    );

    let (status, head, answer) = whip(&s, sa, ta, &good, sdp);
    assert_eq!(status, 201, "{answer}");
    assert!(
        answer.starts_with("v=0") && answer.contains("a=candidate"),
        "{answer}"
    );
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .expect("a Location")
        .to_owned();
    // Only the credential that made the connection can change or end it.
    let frag = b"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n";
    let kind = "application/trickle-ice-sdpfrag";
    let (status, _, _) = s.exchange_typed(
        "PATCH",
        &location,
        frag,
        kind,
        &format!("Authorization: Bearer {tb}\r\n"),
    );
    assert_eq!(status, 403);
    let (status, _, _) = s.exchange_typed(
        "PATCH",
        &location,
        frag,
        kind,
        &format!("Authorization: Bearer {ta}\r\n"),
    );
    assert_eq!(status, 204);
    // New credentials without a password: refused, nothing changes.
    let (status, _, body) = s.exchange_typed(
        "PATCH",
        &location,
        b"a=ice-ufrag:other\r\n",
        kind,
        &format!("Authorization: Bearer {ta}\r\n"),
    );
    assert_eq!(status, 400, "{body}");
    // An ICE restart (RFC 9725 4.3.2): the server answers with new
    // credentials of its own.
    let restart = b"a=ice-ufrag:other\r\na=ice-pwd:otherotherotherotherother\r\n";
    let (status, head, body) = s.exchange_typed(
        "PATCH",
        &location,
        restart,
        kind,
        &format!("Authorization: Bearer {ta}\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/trickle-ice-sdpfrag"),
        "{head}"
    );
    let old = answer
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("the answer's ufrag");
    let new = body
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("a new ufrag");
    assert!(new != old && body.contains("a=ice-pwd:"), "{body}");
    let (status, _, _) = s.exchange_typed(
        "DELETE",
        &location,
        b"",
        "",
        &format!("Authorization: Bearer {ta}\r\n"),
    );
    assert_eq!(status, 200);
    let (status, _, _) = s.exchange_typed(
        "DELETE",
        &location,
        b"",
        "",
        &format!("Authorization: Bearer {ta}\r\n"),
    );
    assert_eq!(status, 404);

    // CORS preflight, no credential needed.
    let (status, head, _) =
        s.exchange_typed("OPTIONS", &format!("{CS}/sessions/{sa}/whip"), b"", "", "");
    assert_eq!(status, 204);
    assert!(
        head.to_ascii_lowercase()
            .contains("accept-post: application/sdp"),
        "{head}"
    );

    // An ended call takes no media.
    s.call("DELETE", &format!("{CS}/sessions/{sa}"), None);
    let (status, _, body) = whip(&s, sa, ta, &good, sdp);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("session_ended"), "{body}");
    let agent_token = s.account("ag", "agent", Some("a1"));
    let (status, _, body) = whip(&s, sa, &agent_token, &good, sdp);
    assert_eq!(status, 409, "{body}");
}

/// A participant connecting to the real binary's WHIP endpoint with `token`.
fn caller(s: &Server, sid: &str, token: &str) -> switchboard_media::loadgen::Caller {
    use switchboard_media::loadgen::{Caller, Load};
    Caller::negotiate(Load::default(), |offer| {
        let (status, _, answer) = whip(s, sid, token, offer, "application/sdp");
        assert_eq!(status, 201, "WHIP refused the offer: {answer}");
        Ok(answer)
    })
    .expect("connected")
}

#[test]
fn a_recorded_call_through_the_binary_reaches_the_webhook_and_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("recordings");
    let yaml = format!(
        "ws_grace_secs: 1\n{TEST_SECURITY}customer_service:\n  auto_record: true\n  recording_dir: {}\n",
        rec.display()
    );
    let s = Server::start(&yaml);
    let r = Receiver::start(ok_always());
    let body = format!(
        r#"{{"url":"{}","events":["recording.completed","call.ended"]}}"#,
        r.url()
    );
    s.post(&format!("{CS}/webhooks"), &body);
    let agent = s.account("ann", "agent", Some("a1"));
    s.register("a1");
    // The agent's console (no room joined) is told the call's quality too.
    let mut console = s.try_ws(Some(&agent), "role=agent").expect("console");
    console.expect("joined");
    let (_, joined) = s.call_as(
        None,
        "POST",
        &format!("{CS}/queue/join"),
        Some(r#"{"visitor_id":"v1"}"#),
    );
    let (sid, visitor) = (
        joined["session_id"].as_str().unwrap(),
        joined["token"].as_str().unwrap(),
    );
    s.post(&format!("{CS}/agents/a1/accept"), "");

    let mut v = caller(&s, sid, visitor);
    let mut a = caller(&s, sid, &agent);
    switchboard_media::loadgen::run(&mut [&mut v, &mut a], std::time::Duration::from_secs(3));
    assert!(
        v.counts.video_received > 30 && a.counts.video_received > 30,
        "{:?} {:?}",
        v.counts,
        a.counts
    );
    let quality = console
        .wait_for("call_quality", std::time::Duration::from_secs(3))
        .expect("the agent's console gets call_quality");
    assert_eq!(quality["session_id"], sid, "{quality}");
    // The forwarding delay is a Prometheus histogram with what was relayed.
    let (_, metrics) = s.raw("GET", "/metrics", None);
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    // Negotiations and ICE, counted: both participants answered and connected.
    assert!(value("switchboard_media_offers_total{outcome=\"ok\"}") >= 2);
    assert!(value("switchboard_media_ice_total{outcome=\"connected\"}") >= 2);
    assert!(value("switchboard_media_time_to_connected_seconds_count") >= 2);
    assert!(metrics.contains("switchboard_media_feedback{kind=\"bitrate_cap\",from=\"server\"}"));
    let count = value("switchboard_media_forward_delay_seconds_count");
    assert!(count > 100, "batches relayed: {count}");
    assert_eq!(
        value("switchboard_media_forward_delay_seconds_bucket{le=\"+Inf\"}"),
        count
    );
    assert!(value("switchboard_media_forward_delay_seconds_bucket{le=\"1\"}") <= count);
    s.call("DELETE", &format!("{CS}/sessions/{sid}"), None);
    switchboard_media::loadgen::run(&mut [&mut v, &mut a], std::time::Duration::from_millis(500));

    let got = r.wait(std::time::Duration::from_secs(10), |g| {
        g.iter()
            .filter(|g| g.json()["event"] == "recording.completed")
            .count()
            >= 2
    });
    let done: Vec<serde_json::Value> = got
        .iter()
        .map(Got::json)
        .filter(|v| v["event"] == "recording.completed")
        .collect();
    assert_eq!(done.len(), 2, "one per participant: {done:?}");
    // Listed from the store, the files the media plane reported.
    let listed = s.get(&format!("{CS}/sessions/{sid}/recordings"));
    assert_eq!(
        listed["recordings"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    let url = done[0]["data"]["url"].as_str().unwrap();
    let (status, head, body) = s.exchange(
        "GET",
        url,
        None,
        &format!("Authorization: Bearer {ADMIN}\r\n"),
    );
    assert_eq!(status, 200);
    // Served as every download is: typed, never sniffed, sandboxed, not cached.
    let head = head.to_ascii_lowercase();
    for h in [
        "content-type: video/webm",
        "x-content-type-options: nosniff",
        "content-security-policy: default-src 'none'; sandbox",
        "cache-control: private, no-store",
        "content-disposition: attachment;",
    ] {
        assert!(head.contains(h), "{h} in {head}");
    }
    assert!(body.len() > 10_000, "{} bytes", body.len());
    let (status, _, _) = s.exchange(
        "GET",
        url,
        None,
        &format!("Authorization: Bearer {visitor}\r\n"),
    );
    assert_eq!(status, 403, "never to the visitor");
}
