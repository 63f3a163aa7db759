//! Simulated visitors per second of wall time: a million visitors through a
//! 1,000-agent center at 90% load, over the real core, on one core.
//! Target: under 10 s. Prints each run and the median of three.
//!
//! `cargo bench -p switchboard-sim` (under `cargo test`, a 20,000-visitor
//! smoke run).

use std::time::Instant;

use switchboard_sim::des::{self, Params};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (visitors, runs) = if bench { (1_000_000, 3) } else { (20_000, 1) };
    // 1,000 agents, AHT 300 s, 900 Erlangs offered: 10,800 arrivals/h.
    let mut p = Params::mmn(1_000, 10_800.0, 300.0, Some(600.0));
    p.max_arrivals = visitors;
    let mut secs = Vec::new();
    for run in 0..runs {
        p.seed = run + 1;
        let t = Instant::now();
        let r = des::run(&p, &mut |_| {}).expect("run");
        let s = t.elapsed().as_secs_f64();
        println!(
            "run {}: {} visitors ({:.1} virtual hours) in {:.2} s = {:.0} visitors/s; service level {:.1}%, occupancy {:.1}%",
            run + 1,
            r.arrivals,
            r.hours,
            s,
            r.arrivals as f64 / s,
            r.service_level * 100.0,
            r.occupancy * 100.0
        );
        secs.push(s);
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    println!(
        "median: {visitors} visitors with 1,000 agents in {median:.2} s ({:.0} visitors/s; target < 10 s)",
        visitors as f64 / median
    );
}
