//! `whatif` reads a real server's journal: traffic served by the binary,
//! replayed with no change, gives back what happened; with an agent taken
//! away, the visitors who had the other agent wait.

mod common;

use common::*;
use switchboard_sim::whatif::{self, Ask, Change};

const CS: &str = "/customer-service";

#[test]
fn a_servers_journal_replays_to_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let mut s = Server::start_on(&db, &yaml(""));
    s.register("a1");
    s.register("a2");
    // Two calls at once, answered and ended; a third visitor waits and
    // gives up; a fourth is answered after the first call ends.
    let first = s.join("v1");
    s.post(&format!("{CS}/agents/a1/accept"), r#"{"media":"audio"}"#);
    let second = s.join("v2");
    s.post(&format!("{CS}/agents/a2/accept"), r#"{"media":"video"}"#);
    s.join("v3");
    std::thread::sleep(std::time::Duration::from_millis(30));
    s.post(&format!("{CS}/queue/leave"), r#"{"visitor_id":"v3"}"#);
    s.join("v4");
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (status, _) = s.call("DELETE", &format!("{CS}/sessions/{first}"), None);
    assert_eq!(status, 200);
    s.post(&format!("{CS}/agents/a1/accept"), r#"{"media":"audio"}"#);
    s.call("DELETE", &format!("{CS}/sessions/{second}"), None);
    assert!(s.terminate().success());

    let ask = Ask::default();
    let r = whatif::from_journal(&db, &ask).unwrap();
    let all = &r.groups[0];
    assert_eq!(all.actual, all.whatif, "no change: what happened");
    assert_eq!(
        (
            all.actual.arrivals,
            all.actual.answered,
            all.actual.abandoned
        ),
        (4, 3, 1)
    );
    assert!(all.actual.asa_secs > 0.0, "v4 waited for a1");

    let fewer = whatif::from_journal(
        &db,
        &Ask {
            change: Change {
                agents: -1,
                ..Change::default()
            },
            ..ask
        },
    )
    .unwrap();
    assert_eq!(fewer.agents_removed, ["a2"]);
    let w = &fewer.groups[0].whatif;
    assert_eq!(w.arrivals, 4);
    assert!(w.asa_secs > all.actual.asa_secs, "{w:?}");
}
