//! The live staffing advice against known traffic: Poisson arrivals,
//! exponential handling and patience, played through the real core by the
//! simulator. Once the windows are full, the estimates sit near the true
//! values and the advice is Erlang A's answer for the true parameters.

use switchboard_core::servers_needed;
use switchboard_sim::des::{self, Params};

const RATE_PER_HOUR: f64 = 7200.0;
const AHT_SECS: f64 = 15.0;
const PATIENCE_SECS: f64 = 30.0;

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
fn the_advice_converges_to_erlang_a_for_the_true_traffic() {
    // 30 Erlangs offered to 29 agents: busy enough that visitors give up
    // (the patience estimate needs some), not so busy that it is all queue.
    let mut p = Params::mmn(29, RATE_PER_HOUR, AHT_SECS, Some(PATIENCE_SECS));
    p.hours = 4.0;
    p.sample_secs = 300;
    p.advice = true;
    p.seed = 11;
    let report = des::run(&p, &mut |_| {}).unwrap();
    // Full windows: past the first hour, before arrivals stop.
    let full: Vec<_> = report
        .series
        .iter()
        .filter(|s| s.hour > 1.05 && s.hour < 3.99)
        .collect();
    assert!(full.len() >= 30, "{} samples", full.len());
    for s in &full {
        let rate = s.arrivals_per_hour.unwrap();
        // 1,800 arrivals in 15 minutes: a standard error of 2.4%.
        assert!(
            (rate / RATE_PER_HOUR - 1.0).abs() < 0.08,
            "rate {rate} at {}",
            s.hour
        );
        // About 7,000 calls an hour: 1.2%.
        let aht = s.aht_secs.unwrap();
        assert!(
            (aht / AHT_SECS - 1.0).abs() < 0.05,
            "aht {aht} at {}",
            s.hour
        );
        let patience = s.patience_secs.expect("some visitors gave up");
        assert!(
            (patience / PATIENCE_SECS - 1.0).abs() < 0.15,
            "patience {patience} at {}",
            s.hour
        );
    }
    let truth = servers_needed(
        RATE_PER_HOUR / 3600.0,
        AHT_SECS,
        Some(PATIENCE_SECS),
        20.0,
        0.8,
    );
    let advised = median(full.iter().map(|s| s.agents_needed.unwrap()).collect());
    assert_eq!(
        advised, truth,
        "median advice against Erlang A for the true traffic"
    );
    for s in &full {
        let n = s.agents_needed.unwrap();
        assert!(
            n.abs_diff(truth) <= 2,
            "advice {n} at {} against {truth}",
            s.hour
        );
    }
}
