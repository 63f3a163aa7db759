//! The supervisors' live view: `/room?role=monitor` streams every event of
//! the center and the statistics after each change (at most four times a
//! second, the last change always); agents may not watch.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn supervisors_watch_every_event_and_the_statistics_live() {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let agent = s.account("a1", "agent", Some("a1"));
    let sup = s.account("sup", "supervisor", None);
    assert_eq!(s.try_ws(Some(&agent), "role=monitor").err(), Some(403));
    let mut live = s.try_ws(Some(&sup), "role=monitor").expect("monitor");
    let first = live.expect("stats");
    assert_eq!(first["stats"]["sessions"]["total"], 0, "{first}");
    s.register("a1");
    s.join("v1");
    let event = live.expect("center_event");
    assert!(event["event"]["type"].is_string(), "{event}");
    // The statistics follow each change, without asking.
    let mut waiting = None;
    for _ in 0..10 {
        let st = live.expect("stats");
        waiting = st["stats"]["sessions"]["waiting"].as_u64();
        if waiting == Some(1) {
            break;
        }
    }
    assert_eq!(waiting, Some(1));
    live.send(r#"{"type":"control","data":{"type":"AcceptCall"}}"#);
    assert_eq!(live.expect("error")["error"]["code"], "read_only");
}

#[test]
fn a_burst_sends_every_event_but_the_figures_at_most_four_times_a_second() {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let sup = s.account("sup", "supervisor", None);
    let mut live = s.try_ws(Some(&sup), "role=monitor").expect("monitor");
    live.expect("stats");
    let start = std::time::Instant::now();
    for i in 0..40 {
        s.join(&format!("v{i}"));
    }
    let burst = start.elapsed();
    // Let the last figures come (the trailing edge), then count.
    let _ = live.wait_for("nothing-is-called-this", Duration::from_millis(800));
    let elapsed = start.elapsed();
    let stats: Vec<&serde_json::Value> =
        live.seen.iter().filter(|f| f["type"] == "stats").collect();
    let events = live
        .seen
        .iter()
        .filter(|f| f["type"] == "center_event")
        .count();
    assert!(events >= 40, "every join's events: {events}");
    let most = (elapsed.as_millis() / 250) as usize + 1;
    assert!(
        !stats.is_empty() && stats.len() <= most,
        "{} stats frames in {elapsed:?} (burst {burst:?})",
        stats.len()
    );
    let last = stats
        .last()
        .map(|f| f["stats"]["sessions"]["waiting"].clone());
    assert_eq!(
        last,
        Some(serde_json::json!(40)),
        "the last change is always sent"
    );
}

#[test]
fn agents_are_told_the_queue_length_and_ready_agents_when_they_change() {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let token = s.account("a1", "agent", Some("a1"));
    s.register("a1");
    s.post("/customer-service/agents/a1/unavailable", "{}");
    let mut console = s.try_ws(Some(&token), "role=agent").expect("console");
    console.expect("joined");
    s.join("v1");
    let told = console.expect("queue_status");
    assert_eq!(
        (told["length"].as_u64(), told["ready_agents"].as_u64()),
        (Some(1), Some(0)),
        "{told}"
    );
    s.join("v2");
    assert_eq!(console.expect("queue_status")["length"], 2);
}
