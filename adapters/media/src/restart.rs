//! ICE restart through WHIP's PATCH (RFC 9725, 4.3.2): the client sends a
//! fragment with new credentials (and its candidates), the server answers
//! with credentials of its own. str0m restarts ICE on a renegotiating offer
//! whose credentials changed, so the client's last offer is replayed with
//! the fragment's credentials and candidates in place of the old ones.

/// The `a=ice-ufrag` and `a=ice-pwd` values in an SDP or a fragment (the
/// first of each: a bundled connection has one pair).
pub(crate) fn credentials(sdp: &str) -> (Option<&str>, Option<&str>) {
    let value = |key: &str| sdp.lines().find_map(|l| l.trim().strip_prefix(key));
    (value("a=ice-ufrag:"), value("a=ice-pwd:"))
}

/// `offer` with its credentials replaced by `ufrag` and `pwd`, and its
/// candidates by `fragment`'s (put in the first media section: the
/// connection is bundled).
pub(crate) fn reoffer(offer: &str, ufrag: &str, pwd: &str, fragment: &str) -> String {
    let candidates: Vec<&str> = fragment
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("a=candidate:") || *l == "a=end-of-candidates")
        .collect();
    let mut out = String::with_capacity(offer.len());
    let mut first_media = true;
    for line in offer.lines().map(str::trim_end) {
        if line.starts_with("a=candidate:") || line == "a=end-of-candidates" {
            continue;
        }
        if line.starts_with("a=ice-ufrag:") {
            out.push_str(&format!("a=ice-ufrag:{ufrag}\r\n"));
        } else if line.starts_with("a=ice-pwd:") {
            out.push_str(&format!("a=ice-pwd:{pwd}\r\n"));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
        if line.starts_with("m=") && std::mem::take(&mut first_media) {
            for c in &candidates {
                out.push_str(c);
                out.push_str("\r\n");
            }
        }
    }
    out
}

/// The answer's credentials as a trickle fragment (what the client puts in
/// its remote description in place of the old ones).
pub(crate) fn answer_fragment(answer: &str) -> Option<String> {
    let (Some(ufrag), Some(pwd)) = credentials(answer) else {
        return None;
    };
    Some(format!("a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:old\r\na=ice-pwd:oldoldoldoldoldoldoldold\r\n\
        a=candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host\r\na=end-of-candidates\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:old\r\na=ice-pwd:oldoldoldoldoldoldoldold\r\n";

    #[test]
    fn a_restart_replays_the_offer_with_the_fragments_credentials_and_candidates() {
        let fragment = "a=ice-ufrag:new\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
            a=candidate:7 1 udp 2122260223 10.0.0.9 40000 typ host\r\n";
        assert_eq!(
            credentials(fragment),
            (Some("new"), Some("newnewnewnewnewnewnewnew"))
        );
        let replayed = reoffer(OFFER, "new", "newnewnewnewnewnewnewnew", fragment);
        assert_eq!(
            credentials(&replayed),
            (Some("new"), Some("newnewnewnewnewnewnewnew"))
        );
        assert!(!replayed.contains("old"), "{replayed}");
        assert_eq!(replayed.matches("a=ice-ufrag:new").count(), 2);
        assert!(!replayed.contains("10.0.0.5"), "the old candidate is gone");
        let audio = replayed.find("m=audio").unwrap();
        let new = replayed.find("10.0.0.9 40000").unwrap();
        assert!(new > audio && new < replayed.find("m=video").unwrap());
        assert_eq!(
            answer_fragment(&replayed).as_deref(),
            Some("a=ice-ufrag:new\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n")
        );
        assert_eq!(answer_fragment("v=0\r\n"), None);
    }
}
