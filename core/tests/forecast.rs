//! The live staffing advice: when it is recomputed, what it counts, and
//! that a recovered center gives the same advice as the live one.

mod common;

use common::*;
use switchboard_core::erlang::Queue;
use switchboard_core::{servers_needed, Center, Party, Snapshot};

fn advice(h: &mut Harness) -> switchboard_core::Forecast {
    h.center.refresh_forecasts();
    h.center.forecast("default").expect("advice").clone()
}

#[test]
fn advice_is_recomputed_per_minute_and_on_sign_in_not_per_arrival() {
    let mut h = Harness::new();
    h.register("a1");
    let first = advice(&mut h);
    assert_eq!(first.agents_signed_in, 1);
    assert_eq!(first.arrivals_per_hour, None, "no complete minute yet");
    h.join("v1");
    h.join("v2");
    assert!(!h.center.refresh_forecasts(), "nothing to recompute");
    assert_eq!(
        advice(&mut h),
        first,
        "arrivals alone change nothing this minute"
    );
    h.register("a2");
    assert!(h.center.refresh_forecasts(), "a sign-in is recomputed");
    let signed = advice(&mut h);
    assert_eq!(signed.agents_signed_in, 2, "a sign-in refreshes at once");
    assert_eq!(signed.computed_at_ms, first.computed_at_ms);
    h.advance_secs(60);
    let next = advice(&mut h);
    assert!(next.computed_at_ms > first.computed_at_ms);
    assert_eq!(
        next.arrivals_per_hour,
        Some(120.0),
        "2 arrivals in 1 minute"
    );
    h.offline("a1");
    assert_eq!(advice(&mut h).agents_signed_in, 1, "a sign-out too");
}

#[test]
fn advice_counts_answers_handling_and_abandonment() {
    let mut h = Harness::new();
    h.register("a1");
    // Ten calls of 100 s, each answered at once; then one visitor gives up
    // after 30 s.
    for i in 0..10 {
        h.join(&format!("v{i}"));
        let s = h.accept("a1");
        h.advance_secs(100);
        h.end(&s, Party::Agent);
    }
    h.not_ready("a1");
    h.join("late");
    h.advance_secs(30);
    h.cmd(switchboard_core::Command::LeaveQueue {
        visitor_id: "late".into(),
    })
    .unwrap();
    h.advance_secs(60);
    let f = advice(&mut h);
    assert_eq!(f.handled_60, 10);
    assert!((f.aht_secs - 100.0).abs() < 1e-9, "{}", f.aht_secs);
    // Time at risk: ten zero waits and one of 30 s, over one abandonment.
    assert_eq!(f.patience_secs, Some(30.0));
    let rate = f.arrivals_per_hour.unwrap() / 3600.0;
    let need = servers_needed(rate, 100.0, Some(30.0), 20.0, 0.8);
    assert_eq!(f.agents_needed, Some(need));
    let now = Queue {
        agents: 1,
        rate,
        aht_secs: 100.0,
        patience_secs: Some(30.0),
    }
    .service(20.0)
    .unwrap();
    // The advice integrates coarser than the planner: within 1e-4.
    let sl = f.service_level_expected.unwrap();
    assert!((sl - now.service_level).abs() < 1e-4, "{sl} vs {now:?}");
    let wait = f.expected_wait_secs.unwrap();
    assert!((wait - now.asa_secs).abs() < 1e-9, "{wait} vs {now:?}");
}

#[test]
fn a_recovered_center_gives_the_same_advice() {
    let mut h = Harness::new();
    h.register("a1");
    for i in 0..5 {
        h.join(&format!("v{i}"));
        let s = h.accept("a1");
        h.advance_secs(70);
        h.end(&s, Party::Agent);
    }
    let live = advice(&mut h);
    let json = serde_json::to_string(&h.center.snapshot()).unwrap();
    let mut restored = Center::restore(serde_json::from_str::<Snapshot>(&json).unwrap()).unwrap();
    assert_eq!(
        restored.forecast("default"),
        None,
        "advice is derived, not stored"
    );
    restored.handle_timeout(h.now());
    restored.refresh_forecasts();
    assert_eq!(restored.forecast("default"), Some(&live));
}

#[test]
fn many_groups_are_recomputed_a_few_at_a_time() {
    let mut h = Harness::new();
    for i in 0..19 {
        h.group(&format!("g{i:02}"), Default::default(), None);
    }
    let known = |h: &Harness| {
        h.center
            .workgroups()
            .filter(|g| h.center.forecast(g.id.as_str()).is_some())
            .count()
    };
    let mut calls = 0;
    while h.center.refresh_forecasts() {
        calls += 1;
        assert!(known(&h) <= 8 * calls, "{} after {calls} calls", known(&h));
    }
    assert_eq!((known(&h), calls), (20, 3), "19 groups and default");
    assert!(
        !h.center.refresh_forecasts(),
        "nothing left until the next minute"
    );
}
