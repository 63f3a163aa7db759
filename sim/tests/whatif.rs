//! `whatif`: a journal's real traffic replayed with changed settings. The
//! journals here are the simulator's runs written with the server's own
//! store (`run --journal`), so the replay reads exactly what a server writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard_sim::des::{self, Params};
use switchboard_sim::journal;
use switchboard_sim::scenario::Scenario;
use switchboard_sim::whatif::{self, Ask, Change, Report, Size};

const DAY: &str = include_str!("../scenarios/day.yaml");
const WORKGROUPS: &str = include_str!("../scenarios/workgroups.yaml");
const BOT: &str = include_str!("../scenarios/bot.yaml");

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard-sim"))
}

/// Runs `params` and writes its journal into `dir`.
fn journaled(dir: &Path, name: &str, params: &Params) -> (des::Report, PathBuf) {
    let path = dir.join(name);
    let (report, commands) = des::run_journaled(params, &mut |_| {}).unwrap();
    journal::write(&path, params, commands).unwrap();
    (report, path)
}

fn scenario(yaml: &str, seed: u64, hours: f64) -> Params {
    let mut s = Scenario::parse(yaml).unwrap();
    s.seed = seed;
    s.hours = hours;
    s.params().unwrap()
}

fn replay(path: &Path, change: Change) -> Report {
    let ask = Ask {
        change,
        seed: 5,
        ..Ask::default()
    };
    whatif::from_journal(path, &ask).unwrap()
}

#[test]
fn with_no_change_the_replay_is_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    for (name, yaml, hours) in [("day.db", DAY, 24.0), ("groups.db", WORKGROUPS, 8.0)] {
        let (sim, path) = journaled(dir.path(), name, &scenario(yaml, 7, hours));
        let r = replay(&path, Change::default());
        for g in &r.groups {
            assert_eq!(g.actual, g.whatif, "{name}: group {}", g.workgroup_id);
        }
        assert_eq!(r.records_refused, 0);
        assert!(r.answered_by.iter().all(|a| a.actual == a.whatif), "{name}");
        // The actual side is the simulator's own measure of the same run.
        let all = &r.groups[0].actual;
        assert_eq!(
            (all.arrivals, all.answered, all.abandoned),
            (sim.arrivals, sim.answered, sim.abandoned),
            "{name}"
        );
        // In time by each group's own threshold, as the simulator counts per group.
        for g in &sim.workgroups {
            let ours = r
                .groups
                .iter()
                .find(|x| x.workgroup_id == g.workgroup_id)
                .unwrap();
            assert_eq!(
                (ours.actual.arrivals, ours.actual.answered_in_time),
                (g.arrivals, g.answered_in_time),
                "{name}: {}",
                g.workgroup_id
            );
        }
        assert!((all.asa_secs - sim.asa_secs).abs() < 1e-9, "{name}");
        let occupancy = all.occupancy.unwrap();
        assert!(
            (occupancy - sim.occupancy).abs() < 0.005,
            "{name}: {occupancy} vs {}",
            sim.occupancy
        );
        assert!(
            r.groups.len() > 1 && r.series.iter().map(|p| p.arrivals).sum::<u64>() == all.arrivals
        );
    }
}

#[test]
fn a_bot_front_desk_replays_its_conversations_and_counts_from_the_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, path) = journaled(dir.path(), "bot.db", &scenario(BOT, 3, 8.0));
    let r = replay(&path, Change::default());
    assert_eq!(r.records_refused, 0, "every bot record finds its session");
    for g in &r.groups {
        assert_eq!(g.actual, g.whatif, "group {}", g.workgroup_id);
    }
    let all = &r.groups[0].actual;
    let bot = &sim.bots[0].counters;
    // Only those the bot handed over waited for an agent, from the handoff.
    assert_eq!(all.answered, sim.answered);
    assert!(
        all.arrivals < bot.conversations && all.arrivals <= bot.handoffs,
        "{} arrivals, {} conversations, {} handoffs",
        all.arrivals,
        bot.conversations,
        bot.handoffs
    );
    assert!(all.arrivals > 0 && bot.resolved > 0);
    // The visitors the bot handed over still come when agents are fewer.
    let fewer = replay(
        &path,
        Change {
            agents: -3,
            ..Change::default()
        },
    );
    let f = &fewer.groups[0];
    assert_eq!(f.whatif.arrivals, f.actual.arrivals);
    assert!(f.whatif.service_level < f.actual.service_level);
}

#[test]
fn more_agents_never_lower_the_service_level() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=4 {
        let (_, path) = journaled(
            dir.path(),
            &format!("{seed}.db"),
            &scenario(DAY, seed, 24.0),
        );
        let mut last = replay(&path, Change::default()).groups[0]
            .whatif
            .service_level;
        for more in [1, 2, 4] {
            let r = replay(
                &path,
                Change {
                    agents: more,
                    ..Change::default()
                },
            );
            let all = &r.groups[0];
            assert_eq!(r.agents_added, more as u32);
            assert!(
                all.whatif.service_level >= last,
                "seed {seed}, +{more}: {} after {last}",
                all.whatif.service_level
            );
            assert!(
                all.whatif.abandoned <= all.actual.abandoned,
                "seed {seed}, +{more}"
            );
            last = all.whatif.service_level;
        }
        let fewer = replay(
            &path,
            Change {
                agents: -3,
                ..Change::default()
            },
        );
        assert_eq!(fewer.agents_removed.len(), 3);
        assert!(fewer.groups[0].whatif.service_level < fewer.groups[0].actual.service_level);
    }
}

#[test]
fn a_routing_change_alters_only_who_answers() {
    // Ample agents who answer at once: nobody waits, whoever is chosen.
    let mut p = Params::mmn(40, 300.0, 120.0, Some(60.0));
    p.hours = 6.0;
    p.routing_mode = switchboard_core::routing::RoutingMode::LongestIdle;
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = journaled(dir.path(), "mmn.db", &p);
    let r = replay(
        &path,
        Change {
            routing: Some(switchboard_core::routing::RoutingMode::RoundRobin),
            ..Change::default()
        },
    );
    let all = &r.groups[0];
    let (a, w) = (&all.actual, &all.whatif);
    assert_eq!(
        (a.arrivals, a.answered, a.answered_in_time, a.abandoned),
        (w.arrivals, w.answered, w.answered_in_time, w.abandoned)
    );
    assert_eq!(a.asa_secs, w.asa_secs);
    assert!(
        (a.occupancy.unwrap() - w.occupancy.unwrap()).abs() < 1e-9,
        "the same talk time"
    );
    let moved: u64 = r
        .answered_by
        .iter()
        .map(|c| c.actual.abs_diff(c.whatif))
        .sum();
    assert!(moved > 0, "another mode, other agents: {:?}", r.answered_by);
    let total = |f: fn(&whatif::AgentCalls) -> u64| r.answered_by.iter().map(f).sum::<u64>();
    assert_eq!(total(|c| c.actual), total(|c| c.whatif));
}

#[test]
fn a_group_can_be_resized_and_the_same_flags_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = journaled(dir.path(), "groups.db", &scenario(WORKGROUPS, 3, 8.0));
    let billing = |size| Change {
        groups: vec![("billing".into(), size)],
        ..Change::default()
    };
    let more = replay(&path, billing(Size::Set(6)));
    assert_eq!(more.agents_added, 4, "billing had 2 agents");
    let row = more
        .groups
        .iter()
        .find(|g| g.workgroup_id == "billing")
        .unwrap();
    assert!(
        row.whatif.service_level > row.actual.service_level,
        "{row:?}"
    );
    let (busy, less_busy) = (row.actual.occupancy.unwrap(), row.whatif.occupancy.unwrap());
    assert!(
        less_busy < busy && busy <= 1.0,
        "billing's agents: {busy} -> {less_busy}"
    );
    let fewer = replay(&path, billing(Size::Delta(-1)));
    assert_eq!(fewer.agents_removed.len(), 1);

    let json = |seed: &str| {
        let out = bin()
            .args([
                "whatif",
                path.to_str().unwrap(),
                "--agents",
                "+2",
                "--routing",
                "random",
                "--json",
                "--seed",
                seed,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    assert_eq!(
        json("9"),
        json("9"),
        "same journal, flags and seed: same bytes"
    );
    let svg = dir.path().join("day.svg");
    let out = bin()
        .args([
            "whatif",
            path.to_str().unwrap(),
            "--agents",
            "+1",
            "--svg",
            svg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("service level") && text.contains("billing"),
        "{text}"
    );
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(chart.matches("<polyline").count(), 2);
}

#[test]
fn bad_journals_and_changes_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = journaled(dir.path(), "day.db", &scenario(DAY, 2, 4.0));
    let foreign = dir.path().join("notes.db");
    std::fs::write(&foreign, "not a journal").unwrap();
    let db = path.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&[foreign.to_str().unwrap()], "not a Switchboard database"),
        (&[db, "--from", "2030-01-01T00:00:00Z"], "no visitor joined"),
        (&[db, "--agents", "-500"], "cannot take away 500 agents"),
        (&[db, "--agents", "two"], "not a whole number"),
        (&[db, "--group", "nope=3"], "no workgroup \"nope\""),
        (&[db, "--group", "default"], "is not <workgroup>="),
        (&[db, "--routing", "fastest"], "unknown mode"),
        (&[db, "--wrap-up", "-5"], "not a number of seconds"),
    ];
    for (args, reason) in cases {
        let out = bin().arg("whatif").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
