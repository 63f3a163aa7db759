//! The network simulation over the real adapters: fixed seeds pass under
//! every kind of fault, a seed reproduces byte for byte, and a deliberately
//! injected bug is caught.

use std::time::Duration;

use switchboard_core::Fault;
use switchboard_sim::net::{self, faults::Mix, NetParams};

/// Small enough for a debug build in CI, big enough that every kind of
/// fault and every path (reject, ring-out, give-up, reconnect) happens.
fn small(seed: u64) -> NetParams {
    NetParams {
        clients: 3,
        agents_per_client: 8,
        visitors_per_client: 100,
        window: Duration::from_secs(240),
        ..NetParams::new(seed)
    }
}

#[test]
fn fixed_seeds_pass_under_every_fault() {
    for seed in [11, 12, 13] {
        let report = net::run(&small(seed)).expect("run");
        assert!(report.passed(), "{}", report.summary());
        assert_eq!(report.mix, Mix::all().name());
        assert!(
            report.crashes > 0 && report.partitions > 0,
            "{}",
            report.summary()
        );
        assert!(
            report.unanswered > 0,
            "faults must cost replies: {}",
            report.summary()
        );
        assert!(
            report.answered > report.visitors / 2,
            "{}",
            report.summary()
        );
    }
}

#[test]
fn a_seed_reproduces_byte_for_byte() {
    let p = small(21);
    let a = serde_json::to_string(&net::run(&p).expect("first run")).expect("json");
    let b = serde_json::to_string(&net::run(&p).expect("second run")).expect("json");
    assert_eq!(a, b);
    let mut other = p.clone();
    other.seed = 22;
    let c = serde_json::to_string(&net::run(&other).expect("other seed")).expect("json");
    assert_ne!(a, c, "a different seed must give a different run");
}

#[test]
fn a_dropped_requeue_is_caught() {
    // Without crashes the bug cannot show up as a journal that fails to
    // replay at restart: the end-of-run checks have to find it.
    for mix in [Mix::parse("partitions+latency").expect("mix"), Mix::all()] {
        let p = NetParams {
            mix,
            fault: Some(Fault::DropRequeue),
            ..small(31)
        };
        let report = net::run(&p).expect("run");
        assert!(
            !report.passed(),
            "the checker missed the bug: {}",
            report.summary()
        );
        if !mix.crashes {
            let stuck = report
                .violations
                .iter()
                .any(|v| v.starts_with("liveness") || v.contains("still"));
            assert!(
                stuck,
                "the waiting visitors were not reported: {}",
                report.summary()
            );
        }
    }
    // The same run without the bug passes: the failure is the bug's.
    let clean = NetParams {
        mix: Mix::parse("partitions+latency").expect("mix"),
        ..small(31)
    };
    let report = net::run(&clean).expect("run");
    assert!(report.passed(), "{}", report.summary());
}
