//! The simulator, driving the real core, agrees with queueing theory: for
//! M/M/n and M/M/n+M the simulated service level, probability of waiting,
//! average speed of answer and abandonment match Erlang C and Erlang A.
//!
//! Tolerances: with 60,000 counted arrivals the standard error of a share
//! is well under one point even with the autocorrelation of a busy queue;
//! the bounds below are three to four points (and 15% for ASA, a mean of a
//! heavy-tailed quantity).

use switchboard_sim::erlang::Queue;
use switchboard_sim::staff::{simulate, Ask};

fn check(agents: u32, rate_per_hour: f64, aht: f64, patience: Option<f64>) {
    let ask = Ask {
        rate_per_hour,
        aht_secs: aht,
        target: 0.8,
        threshold_secs: 20.0,
        patience_secs: patience,
        arrivals: 60_000,
        seed: 42,
    };
    let theory = Queue {
        agents,
        rate: rate_per_hour / 3600.0,
        aht_secs: aht,
        patience_secs: patience,
    }
    .service(20.0)
    .expect("a stable queue");
    let sim = simulate(&ask, agents).expect("simulation runs");
    let case = format!("n={agents} rate={rate_per_hour}/h aht={aht}s patience={patience:?}\n theory {theory:?}\n sim    {sim:?}");
    assert!(
        (sim.service_level - theory.service_level).abs() < 0.04,
        "service level: {case}"
    );
    assert!((sim.p_wait - theory.p_wait).abs() < 0.04, "P(wait): {case}");
    assert!(
        (sim.asa_secs - theory.asa_secs).abs() < 0.15 * theory.asa_secs + 1.0,
        "ASA: {case}"
    );
    assert!(
        (sim.abandon - theory.abandon).abs() < 0.015,
        "abandonment: {case}"
    );
    assert!(
        (sim.occupancy - theory.occupancy).abs() < 0.03,
        "occupancy: {case}"
    );
}

#[test]
fn erlang_c_ten_agents_at_eighty_percent_load() {
    check(10, 8.0 * 3600.0 / 180.0, 180.0, None);
}

#[test]
fn erlang_c_a_larger_center_near_its_target() {
    check(29, 360.0, 240.0, None);
}

#[test]
fn erlang_a_a_center_staffed_at_its_load() {
    // Without patience this queue would grow without bound.
    check(24, 360.0, 240.0, Some(120.0));
}

#[test]
fn erlang_a_a_small_center_with_patient_visitors() {
    check(5, 4.5 * 3600.0 / 300.0, 300.0, Some(300.0));
}
