//! The largest visitor count whose 10-minute virtual scenario (every kind of
//! fault, then healing until everyone is served) completes in under 60 s of
//! wall time, over the real HTTP/WS adapters and SQLite inside turmoil.
//! Doubles the visitors (one agent per ten, one client host per thousand
//! visitors, at least four) until a run passes 60 s, then bisects between the
//! last two counts. Prints every run.
//!
//! `cargo bench -p switchboard-sim --bench network` (under `cargo test`, one
//! small smoke run).

use std::time::{Duration, Instant};

use switchboard_sim::net::{self, NetParams};

const LIMIT: Duration = Duration::from_secs(60);

/// Wall time of a passing run with `visitors` in all.
fn timed(visitors: usize) -> Duration {
    let clients = (visitors / 1000).max(4);
    let per_client = visitors.div_ceil(clients);
    let p = NetParams {
        clients,
        visitors_per_client: per_client,
        agents_per_client: per_client.div_ceil(10),
        ..NetParams::new(1)
    };
    let t = Instant::now();
    let report = net::run(&p).expect("run");
    let wall = t.elapsed();
    assert!(report.passed(), "{}", report.summary());
    println!(
        "{:>6} visitors, {:>4} agents: {:>6.1} s wall for {} virtual s ({} requests, {} crashes, {} partitions)",
        report.visitors,
        report.agents,
        wall.as_secs_f64(),
        report.virtual_secs,
        report.requests,
        report.crashes,
        report.partitions
    );
    wall
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        timed(80);
        return;
    }
    let mut fits = 0;
    let mut visitors = 1_000;
    while timed(visitors) < LIMIT {
        fits = visitors;
        visitors *= 2;
    }
    let mut too_many = visitors;
    // Bisect to within 10%.
    while too_many - fits > fits / 10 {
        let mid = (fits + too_many) / 2;
        if timed(mid) < LIMIT {
            fits = mid;
        } else {
            too_many = mid;
        }
    }
    println!("largest visitor count in a 10-minute virtual scenario under 60 s: {fits}");
}
