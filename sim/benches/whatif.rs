//! Workforce intelligence, measured:
//!
//! - **what-if throughput**: a simulated day of about 50,000 arrivals is
//!   written as a real journal, then replayed by `whatif` (both passes:
//!   the actual and the changed one); prints visitors replayed per second,
//!   each run and the median of three;
//! - **advice cost**: an hour of traffic through one workgroup of 98
//!   agents at 100 Erlangs (a queue, and visitors who give up), with the advice refreshed after every input (as the server's
//!   engine does after every turn) and without; prints the cost per input
//!   and per recomputation.
//!
//! `cargo bench -p switchboard-sim --bench whatif` (under `cargo test`, a
//! small smoke run).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use switchboard_core::{Center, Command, Config, EventKind, Media, Party, Recipient, Timestamp};
use switchboard_sim::des;
use switchboard_sim::journal;
use switchboard_sim::scenario::Scenario;
use switchboard_sim::whatif::{self, Ask, Change};

const DAY: &str = include_str!("../scenarios/day.yaml");

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    what_if(bench);
    advice(bench);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn what_if(bench: bool) {
    // day.yaml's profile and staffing, scaled up 20 times: ~50,000 arrivals.
    let scale = if bench { 20 } else { 2 };
    let mut s = Scenario::parse(DAY).expect("day.yaml");
    s.arrivals.rate_per_hour *= f64::from(scale);
    for shift in &mut s.agents {
        shift.count *= scale;
    }
    let params = s.params().expect("params");
    let (report, commands) = des::run_journaled(&params, &mut |_| {}).expect("run");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("day.db");
    journal::write(&db, &params, commands).expect("journal");
    println!(
        "a day of {} arrivals, {} agents, journaled to {}",
        report.arrivals,
        params.staff.iter().map(|s| s.count).sum::<u32>(),
        db.display()
    );
    for (name, change) in [
        ("no change", Change::default()),
        (
            "+2 agents",
            Change {
                agents: 2,
                ..Change::default()
            },
        ),
    ] {
        let ask = Ask {
            change,
            seed: 1,
            ..Ask::default()
        };
        let mut rates = Vec::new();
        for run in 1..=(if bench { 3 } else { 1 }) {
            let t = Instant::now();
            let r = whatif::from_journal(&db, &ask).expect("whatif");
            let secs = t.elapsed().as_secs_f64();
            let visitors = r.groups[0].actual.arrivals as f64;
            println!(
                "whatif ({name}) run {run}: {visitors} visitors in {secs:.2} s = {:.0} visitors/s (service level {:.1}% -> {:.1}%)",
                visitors / secs,
                r.groups[0].actual.service_level * 100.0,
                r.groups[0].whatif.service_level * 100.0
            );
            rates.push(visitors / secs);
        }
        println!("median whatif ({name}): {:.0} visitors/s", median(rates));
    }
}

/// One group of `agents` agents answering at once, calls of `talk` each,
/// `per_minute` arrivals a minute for an hour, visitors giving up after
/// 30 s in the queue; `refresh` after every input. Returns the inputs, the
/// time spent in them and the part of it spent refreshing.
fn hour_of_traffic(
    agents: usize,
    per_minute: u64,
    talk: Duration,
    refresh: bool,
) -> (u64, Duration, Duration) {
    let config = Config {
        max_agents: agents + 1,
        ..Config::default()
    };
    let mut center = Center::new(config, 1).expect("config");
    let start = Timestamp::from_millis(1_767_571_200_000);
    for i in 0..agents {
        let reg = Command::RegisterAgent {
            agent_id: format!("a{i}").into(),
            agent_name: None,
        };
        center.apply(start, reg).expect("register");
    }
    // Commands due, by time then order of scheduling.
    let mut due: BTreeMap<(Timestamp, u64), Command> = BTreeMap::new();
    let gap = 60_000 / per_minute;
    for k in 0..per_minute * 60 {
        let join = Command::JoinQueue {
            visitor_id: format!("v{k}").into(),
            visitor_name: None,
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: None,
        };
        due.insert(
            (start.saturating_add(Duration::from_millis(k * gap)), k),
            join,
        );
        let leave = Command::LeaveQueue {
            visitor_id: format!("v{k}").into(),
        };
        let patience = Duration::from_millis(k * gap + 30_000);
        due.insert((start.saturating_add(patience), k), leave);
    }
    let (mut inputs, mut total, mut refreshing) = (0u64, Duration::ZERO, Duration::ZERO);
    let mut order = per_minute * 60;
    while let Some(((now, _), cmd)) = due.pop_first() {
        let t = Instant::now();
        let _ = center.apply(now, cmd);
        let r = Instant::now();
        if refresh {
            center.refresh_forecasts();
        }
        refreshing += r.elapsed();
        total += t.elapsed();
        inputs += 1;
        while let Some(e) = center.poll_event() {
            if let (Recipient::Agent(agent_id), EventKind::IncomingCall { session_id, .. }) =
                (e.to, e.event)
            {
                order += 1;
                due.insert(
                    (now, order),
                    Command::AcceptCall {
                        agent_id,
                        media: Media::Audio,
                    },
                );
                order += 1;
                let end = Command::EndSession {
                    session_id,
                    by: Party::Agent,
                };
                due.insert((now.saturating_add(talk), order), end);
            }
        }
    }
    (inputs, total, refreshing)
}

fn advice(bench: bool) {
    let runs = if bench { 5 } else { 1 };
    // 98 agents, 100 arrivals a minute, 60 s calls: 100 Erlangs, a queue,
    // and visitors who give up (Erlang A, the costly case).
    let (agents, per_minute, talk) = (98, 100, Duration::from_secs(60));
    let mut per_input = Vec::new();
    let mut per_recompute = Vec::new();
    for run in 1..=runs {
        let (n, with, refreshing) = hour_of_traffic(agents, per_minute, talk, true);
        let (_, without, _) = hour_of_traffic(agents, per_minute, talk, false);
        let extra = with.saturating_sub(without).as_secs_f64() / n as f64 * 1e9;
        // One recomputation a minute: the hour's 60 plus the first.
        let recompute = refreshing.as_secs_f64() / 61.0 * 1e6;
        println!(
            "advice run {run}: {n} inputs; {:.0} ns per input with the advice, {:.0} ns without ({extra:+.0} ns); one recomputation ~{recompute:.0} µs",
            with.as_secs_f64() / n as f64 * 1e9,
            without.as_secs_f64() / n as f64 * 1e9,
        );
        per_input.push(extra);
        per_recompute.push(recompute);
    }
    println!(
        "median advice cost: {:+.0} ns per input, {:.0} µs per recomputation (once a minute per group, or on a sign-in/out)",
        median(per_input),
        median(per_recompute)
    );
}
