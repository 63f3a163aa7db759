//! Scenario files and the `switchboard-sim` binary, end to end.

use std::process::Command;

use switchboard_sim::des;
use switchboard_sim::scenario::{summary, svg, Scenario};

const DAY: &str = include_str!("../scenarios/day.yaml");

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard-sim"))
}

/// Runs the binary, which must succeed; returns its JSON and its stderr.
fn run_json(args: &[&str]) -> (serde_json::Value, String) {
    let out = bin().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn a_day_with_shifts_peaks_rejects_and_missed_rings_runs_sensibly() {
    let params = Scenario::parse(DAY).unwrap().params().unwrap();
    let r = des::run(&params, &mut |_| {}).unwrap();
    assert!(r.arrivals > 1_500 && r.arrivals < 3_500, "{}", r.arrivals);
    assert_eq!(r.answered + r.abandoned, r.arrivals, "everyone is settled");
    assert!(r.rejects > 0 && r.ring_timeouts > 0, "{r:?}");
    assert!((0.0..=1.0).contains(&r.occupancy) && r.occupancy > 0.2);
    assert!(r.utilization.iter().all(|(_, u)| (0.0..=1.0).contains(u)));
    assert_eq!(r.utilization.len(), 23);
    // The night: one agent, few arrivals; the peak: a queue.
    assert!(r.max_queue > 0);
    assert!(r.series.len() >= 96, "a sample every 15 minutes");
    let text = summary(&params, &r);
    assert!(
        text.contains("service level") && text.contains("abandoned"),
        "{text}"
    );
    let chart = svg(&r);
    assert!(chart.starts_with("<svg") && chart.matches("<polyline").count() == 2);
}

#[test]
fn the_same_seed_gives_the_same_report_byte_for_byte() {
    let report = |seed: u64| {
        let mut s = Scenario::parse(DAY).unwrap();
        s.seed = seed;
        s.hours = 6.0;
        let r = des::run(&s.params().unwrap(), &mut |_| {}).unwrap();
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(report(3), report(3));
    assert_ne!(report(3), report(4));
}

#[test]
fn bad_scenarios_are_refused_with_the_reason() {
    let bad = [
        ("arrivals: { rate_per_hour: 10 }\nhandle_time: { kind: fixed, secs: 60 }\nagents: []\nagnets: 3\n", "agnets"),
        ("arrivals: { rate_per_hour: 10, hourly: [1, 2] }\nhandle_time: { kind: fixed, secs: 60 }\nagents: []\n", "24"),
        ("arrivals: { rate_per_hour: 10 }\nhandle_time: { kind: exponential, mean_secs: -1 }\nagents: []\n", "handle_time"),
        ("arrivals: { rate_per_hour: 10 }\nhandle_time: { kind: fixed, secs: 60 }\nagents: []\nringing: { reject: 0.8, no_answer: 0.5 }\n", "ringing"),
    ];
    for (yaml, why) in bad {
        let err = Scenario::parse(yaml)
            .and_then(|s| s.params())
            .expect_err(yaml);
        assert!(err.contains(why), "{err} should mention {why}");
    }
}

#[test]
fn the_binary_runs_a_scenario_and_writes_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (file, chart) = (dir.path().join("day.yaml"), dir.path().join("day.svg"));
    std::fs::write(&file, DAY.replace("hours: 24", "hours: 4")).unwrap();
    let (json, stderr) = run_json(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        "--svg",
        chart.to_str().unwrap(),
    ]);
    assert!(json["arrivals"].as_u64().unwrap() > 0);
    assert!(std::fs::read_to_string(&chart)
        .unwrap()
        .contains("<polyline"));
    assert!(stderr.contains("100%"), "a progress bar");
}

#[test]
fn the_staff_planner_answers_in_json_with_both_columns() {
    let (json, _) = run_json(&[
        "staff",
        "--rate",
        "360",
        "--aht",
        "240",
        "--target",
        "80/20",
        "--patience",
        "120",
        "--arrivals",
        "4000",
        "--json",
    ]);
    let plan = &json["plan"];
    assert_eq!(plan["model"], "erlang_a");
    let n = plan["agents_analytic"].as_u64().unwrap();
    let rows = plan["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let row = rows.iter().find(|r| r["agents"] == n).unwrap();
    assert!(row["analytic"]["service_level"].as_f64().unwrap() >= 0.8);
    assert!(row["simulated"]["abandon"].as_f64().is_some());
    let below = rows.iter().find(|r| r["agents"] == n - 1).unwrap();
    assert!(
        below["analytic"]["service_level"].as_f64().unwrap() < 0.8,
        "the minimum"
    );
}

#[test]
fn the_staff_planner_refuses_nonsense_with_exit_code_2() {
    for args in [
        vec!["staff", "--rate", "360", "--aht", "240"],
        vec![
            "staff", "--rate", "360", "--aht", "240", "--target", "eighty",
        ],
        vec!["staff", "--rate", "-1", "--aht", "240", "--target", "80/20"],
        vec![
            "staff", "--rate", "360", "--aht", "240", "--target", "80/20", "--bogus", "1",
        ],
        vec!["fly"],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn the_network_command_passes_fails_and_says_how_to_reproduce() {
    let small = [
        "net",
        "--clients",
        "1",
        "--agents",
        "3",
        "--visitors",
        "12",
        "--window",
        "90",
    ];
    let (report, _) = run_json(&[&small[..], &["--seed", "4", "--json"]].concat());
    assert_eq!(report["seed"], 4);
    assert_eq!(report["visitors"], 12);
    assert_eq!(report["violations"], serde_json::json!([]));

    let args = [
        &small[..],
        &[
            "--seed",
            "4",
            "--faults",
            "latency",
            "--inject",
            "drop-requeue",
        ],
    ]
    .concat();
    let out = bin().args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("reproduce: switchboard-sim net --seed 4 --faults latency --clients 1 --agents 3 --visitors 12 --window 90 --inject drop-requeue"),
        "{text}"
    );

    let (swarm, _) = run_json(&[&small[..], &["--seed", "7", "--swarm", "2", "--json"]].concat());
    let seeds: Vec<_> = swarm
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seed"].clone())
        .collect();
    assert_eq!(seeds, [7, 8]);

    for bad in [
        vec!["net", "--faults", "meteor"],
        vec!["net", "--inject", "typo"],
        vec!["net", "--seed", "x"],
    ] {
        let out = bin().args(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

const GROUPS: &str = include_str!("../scenarios/workgroups.yaml");

fn group<'a>(r: &'a des::Report, id: &str) -> &'a des::GroupReport {
    r.workgroups.iter().find(|g| g.workgroup_id == id).unwrap()
}

#[test]
fn workgroups_split_the_visitors_overflow_helps_and_calls_get_transferred() {
    let p = Scenario::parse(GROUPS).unwrap().params().unwrap();
    let r = des::run(&p, &mut |_| {}).unwrap();
    let ids: Vec<_> = r
        .workgroups
        .iter()
        .map(|g| g.workgroup_id.as_str())
        .collect();
    assert_eq!(ids, ["default", "billing", "tech"]);
    assert_eq!(
        r.workgroups.iter().map(|g| g.arrivals).sum::<u64>(),
        r.arrivals
    );
    assert_eq!(
        r.workgroups.iter().map(|g| g.answered).sum::<u64>(),
        r.answered
    );
    let share = |id| group(&r, id).arrivals as f64 / r.arrivals as f64;
    assert!(
        (share("billing") - 0.25).abs() < 0.05,
        "{}",
        share("billing")
    );
    assert!((share("tech") - 0.35).abs() < 0.05, "{}", share("tech"));
    // One call in ten is handed over, when someone is Ready to take it.
    let transferred = r.transfers as f64 / r.answered as f64;
    assert!(transferred > 0.01 && transferred < 0.13, "{transferred}");
    assert_eq!(group(&r, "billing").threshold_secs, 30.0);
    assert!(summary(&p, &r).contains("billing"));

    // Without its overflow, billing's two agents alone serve it: worse.
    let alone = GROUPS.replace(", overflow_after_secs: 60, overflow_to: default", "");
    let q = Scenario::parse(&alone).unwrap().params().unwrap();
    let s = des::run(&q, &mut |_| {}).unwrap();
    assert!(
        group(&s, "billing").asa_secs > group(&r, "billing").asa_secs * 1.5,
        "alone {} vs overflow {}",
        group(&s, "billing").asa_secs,
        group(&r, "billing").asa_secs
    );
}

#[test]
fn bad_workgroups_are_refused_with_the_reason() {
    for (from, to, reason) in [
        ("{ billing: 5 }", "{ sales: 5 }", "\"sales\" is not defined"),
        ("{ billing: 5 }", "{ billing: 11 }", "from 1 to 10"),
        ("share: 0.35", "share: 0.85", "sum to more than 1"),
        ("overflow_to: default", "overflow_to: nowhere", "unknown"),
        ("transfer: 0.1", "transfer: 1.5", "probability"),
    ] {
        let yaml = GROUPS.replace(from, to);
        let err = Scenario::parse(&yaml).unwrap().params().unwrap_err();
        assert!(err.contains(reason), "{to}: {err}");
    }
}
