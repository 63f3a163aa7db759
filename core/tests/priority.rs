//! Visitor priority with aging: higher first, FIFO within a priority, and a
//! wait of `priority_aging_secs` is worth one level, so nobody starves.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use switchboard_core::{Command, Config, CoreError, ErrorKind, Party, Reply};

const AGING_MS: u64 = 60_000;

fn config() -> Config {
    Config {
        max_queue_size: 1_000,
        max_sessions: 2_000,
        queue_timeout_secs: 1_000_000,
        session_timeout_secs: 1_000_000,
        priority_aging_secs: AGING_MS / 1000,
        ..Config::default()
    }
}

fn join(h: &mut Harness, visitor: &str, priority: u8) -> Result<Reply, CoreError> {
    h.cmd(Command::JoinQueue {
        visitor_id: visitor.into(),
        visitor_name: None,
        preferred_skill: None,
        priority,
        channel: Default::default(),
        question: None,
    })
}

#[test]
fn a_vip_goes_ahead_of_those_who_joined_just_before() {
    let mut h = Harness::with_config(config());
    join(&mut h, "v1", 0).unwrap();
    h.advance_secs(10);
    join(&mut h, "v2", 0).unwrap();
    h.advance_secs(10);
    let vip = join(&mut h, "vip", 9).unwrap();
    assert!(matches!(vip, Reply::Queued { position: 1, .. }), "{vip:?}");
    assert_eq!(h.queue_visitors(), ["vip", "v1", "v2"]);
    let e = join(&mut h, "v10", 10).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_long_wait_outranks_a_later_higher_priority() {
    let mut h = Harness::with_config(config());
    join(&mut h, "patient", 0).unwrap();
    // Two levels are worth two minutes: arriving later than that, a priority-2
    // visitor queues behind.
    h.advance(Duration::from_millis(2 * AGING_MS + 1));
    join(&mut h, "late_p2", 2).unwrap();
    assert_eq!(h.queue_visitors(), ["patient", "late_p2"]);
    join(&mut h, "later_p3", 3).unwrap();
    assert_eq!(h.queue_visitors(), ["later_p3", "patient", "late_p2"]);
}

proptest! {
    #[test]
    fn service_order_is_by_virtual_arrival_and_nobody_starves(
        arrivals in prop::collection::vec((0u64..90_000, 0u8..=9), 1..60),
    ) {
        let mut h = Harness::with_config(config());
        let mut joined = Vec::new(); // (visitor, joined_at_ms, priority)
        for (i, (gap, priority)) in arrivals.iter().enumerate() {
            h.advance(Duration::from_millis(*gap));
            let v = format!("v{i:03}");
            join(&mut h, &v, *priority).unwrap();
            joined.push((v, h.now().as_millis(), *priority));
        }
        // Expected: by joined_at - priority × aging, then by arrival.
        let mut expected: Vec<(i64, usize)> = joined
            .iter()
            .enumerate()
            .map(|(i, (_, at, p))| (*at as i64 - i64::from(*p) * AGING_MS as i64, i))
            .collect();
        expected.sort();
        let expected: Vec<String> = expected.iter().map(|(_, i)| joined[*i].0.clone()).collect();
        prop_assert_eq!(&h.queue_visitors(), &expected);

        // One agent serves everyone; calls take a minute each.
        h.register("a1");
        let mut served = Vec::new();
        while let Some(ringing) = h.center.agent("a1").and_then(|a| a.sessions().next().cloned()) {
            served.push(h.center.session(ringing.as_str()).unwrap().customer_id.to_string());
            let sid = h.accept("a1");
            h.advance_secs(60);
            h.end(&sid, Party::Agent);
        }
        prop_assert_eq!(&served, &expected);
        // Nobody is overtaken by a later arrival except within its priority credit.
        let rank: std::collections::HashMap<&str, usize> =
            served.iter().enumerate().map(|(i, v)| (v.as_str(), i)).collect();
        for (a, at_a, p_a) in &joined {
            for (b, at_b, p_b) in &joined {
                if at_b > at_a && rank[b.as_str()] < rank[a.as_str()] {
                    let credit = u64::from(p_b.saturating_sub(*p_a)) * AGING_MS;
                    prop_assert!(at_b - at_a <= credit, "{} overtook {} by more than its credit", b, a);
                }
            }
        }
    }
}

#[test]
fn priority_is_kept_in_the_session_and_journal_form() {
    let mut h = Harness::with_config(config());
    join(&mut h, "v1", 4).unwrap();
    let sid = h.session_of_visitor("v1");
    assert_eq!(h.center.session(sid.as_str()).unwrap().priority, 4);
    // Journals written before priorities existed read as priority 0.
    let old: Command = serde_json::from_str(
        r#"{"type":"join_queue","visitor_id":"v","visitor_name":null,"preferred_skill":null}"#,
    )
    .unwrap();
    assert!(matches!(old, Command::JoinQueue { priority: 0, .. }));
}
