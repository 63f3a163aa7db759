//! `switchboard-sim`: run a scenario, or plan staffing.
//!
//! ```text
//! switchboard-sim run <scenario.yaml> [--json] [--svg <file>] [--journal <new.db>]
//! switchboard-sim whatif <switchboard.db> [--from T] [--to T] [--agents ±N]
//!                        [--group G=N ...] [--routing MODE] [--wrap-up S]
//!                        [--seed N] [--json] [--svg F]
//! switchboard-sim staff --rate <per hour> --aht <secs> --target <pct>/<secs>
//!                       [--patience <secs>] [--arrivals <n>] [--seed <n>] [--json]
//! switchboard-sim net [--seed <n>] [--swarm <runs>] [--clients <n>] [--agents <n>]
//!                     [--visitors <n>] [--window <secs>] [--faults <mix>]
//!                     [--inject drop-requeue] [--json]
//! ```

use std::io::Write;
use std::process::ExitCode;

use switchboard_core::routing::RoutingMode;
use switchboard_core::{Fault, Prng, Timestamp};
use switchboard_sim::net::{self, faults::Mix, NetParams};
use switchboard_sim::{des, journal, scenario, staff, whatif};

const USAGE: &str = "usage:
  switchboard-sim run <scenario.yaml> [--json] [--svg <file>] [--journal <new switchboard.db>]
  switchboard-sim whatif <switchboard.db> [--from <time>] [--to <time>] [--agents <+N|-N>]
                         [--group <workgroup>=<N|+N|-N> ...] [--routing <mode>] [--wrap-up <seconds>]
                         [--seed <n>] [--json] [--svg <file>]
                         (times: 2026-01-05T08:00:00Z, or ms since the epoch)
  switchboard-sim staff --rate <arrivals per hour> --aht <seconds> --target <percent>/<seconds>
                        [--patience <seconds>] [--arrivals <per level, default 50000>] [--seed <n>] [--json]
  switchboard-sim net [--seed <n>] [--swarm <runs>] [--clients <hosts, default 4>]
                      [--agents <per host, default 50>] [--visitors <per host, default 500>]
                      [--window <seconds, default 600>] [--faults all|none|partitions+holds+crashes+latency]
                      [--inject drop-requeue] [--json]
    exit 0: every run passed its checks; 1: a run failed (its seed reproduces it); 2: bad input";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("whatif") => what_if(&args[1..]),
        Some("staff") => plan(&args[1..]),
        Some("net") => return network(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard-sim: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--flag value` pairs and bare `--switch`es.
struct Flags<'a>(&'a [String]);

impl Flags<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).map(String::as_str)
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    fn number(&self, name: &str) -> Result<Option<f64>, String> {
        self.value(name)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| format!("{name}: not a number: {v}"))
            })
            .transpose()
    }

    /// Every `--x` is known and every value-taking one has its value.
    fn check(&self, valued: &[&str], switches: &[&str]) -> Result<(), String> {
        let mut i = 0;
        while i < self.0.len() {
            let a = self.0[i].as_str();
            if valued.contains(&a) {
                if self.0.get(i + 1).is_none() {
                    return Err(format!("{a} needs a value\n{USAGE}"));
                }
                i += 2;
            } else if switches.contains(&a) || !a.starts_with("--") {
                i += 1;
            } else {
                return Err(format!("unknown option {a}\n{USAGE}"));
            }
        }
        Ok(())
    }
}

fn progress_bar(share: f64) {
    let filled = (share.clamp(0.0, 1.0) * 30.0) as usize;
    eprint!(
        "\r[{}{}] {:3.0}%",
        "#".repeat(filled),
        " ".repeat(30 - filled),
        share * 100.0
    );
    let _ = std::io::stderr().flush();
}

fn run(args: &[String]) -> Result<String, String> {
    let flags = Flags(args);
    flags.check(&["--svg", "--journal"], &["--json"])?;
    let path = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .ok_or(format!("run needs a scenario file\n{USAGE}"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let scenario = scenario::Scenario::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let params = scenario.params().map_err(|e| format!("{path}: {e}"))?;
    let report = match flags.value("--journal") {
        None => des::run(&params, &mut progress_bar)?,
        Some(db) => {
            let (report, commands) = des::run_journaled(&params, &mut progress_bar)?;
            journal::write(std::path::Path::new(db), &params, commands)?;
            report
        }
    };
    eprintln!();
    if let Some(svg) = flags.value("--svg") {
        std::fs::write(svg, scenario::svg(&report)).map_err(|e| format!("{svg}: {e}"))?;
    }
    if flags.has("--json") {
        pretty(&report)
    } else {
        Ok(scenario::summary(&params, &report))
    }
}

/// A report as the `--json` output prints it.
fn pretty(report: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(report)
        .map(|j| j + "\n")
        .map_err(|e| e.to_string())
}

fn plan(args: &[String]) -> Result<String, String> {
    let flags = Flags(args);
    flags.check(
        &[
            "--rate",
            "--aht",
            "--target",
            "--patience",
            "--arrivals",
            "--seed",
        ],
        &["--json"],
    )?;
    let need = |name: &str| -> Result<f64, String> {
        flags
            .number(name)?
            .ok_or(format!("{name} is required\n{USAGE}"))
    };
    let target = flags
        .value("--target")
        .ok_or(format!("--target is required\n{USAGE}"))?;
    let (pct, secs) = target
        .split_once('/')
        .and_then(|(p, s)| {
            Some((
                p.trim_end_matches('%').parse::<f64>().ok()?,
                s.parse::<f64>().ok()?,
            ))
        })
        .ok_or("--target must look like 80/20 (percent/seconds)")?;
    let ask = staff::Ask {
        rate_per_hour: need("--rate")?,
        aht_secs: need("--aht")?,
        target: pct / 100.0,
        threshold_secs: secs,
        patience_secs: flags.number("--patience")?,
        arrivals: flags
            .number("--arrivals")?
            .map_or(50_000, |n| n as u64)
            .max(1_000),
        seed: flags.number("--seed")?.map_or(1, |n| n as u64),
    };
    let plan = staff::plan(&ask, &mut |done, all| {
        progress_bar(done as f64 / all as f64)
    })?;
    eprintln!();
    if flags.has("--json") {
        let json = serde_json::json!({
            "rate_per_hour": ask.rate_per_hour,
            "aht_secs": ask.aht_secs,
            "target": ask.target,
            "threshold_secs": ask.threshold_secs,
            "patience_secs": ask.patience_secs,
            "arrivals_per_level": ask.arrivals,
            "seed": ask.seed,
            "plan": plan,
        });
        pretty(&json)
    } else {
        Ok(staff::render(&ask, &plan))
    }
}

/// `whatif`: a journal's traffic replayed with a change, beside what happened.
fn what_if(args: &[String]) -> Result<String, String> {
    let flags = Flags(args);
    let valued = [
        "--from",
        "--to",
        "--agents",
        "--group",
        "--routing",
        "--wrap-up",
        "--seed",
        "--svg",
    ];
    flags.check(&valued, &["--json"])?;
    let path = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .ok_or(format!("whatif needs a journal (switchboard.db)\n{USAGE}"))?;
    let time = |name: &str| -> Result<Option<Timestamp>, String> {
        flags
            .value(name)
            .map(|v| journal::parse_time(v).ok_or(format!("{name}: not a time: {v}")))
            .transpose()
    };
    let mut change = whatif::Change::default();
    if let Some(v) = flags.value("--agents") {
        change.agents = v
            .parse::<i64>()
            .map_err(|_| format!("--agents: not a whole number: {v}"))?;
    }
    for (i, a) in args.iter().enumerate() {
        if a == "--group" {
            let v = args.get(i + 1).map(String::as_str).unwrap_or_default();
            change.groups.push(whatif::parse_group(v)?);
        }
    }
    if let Some(v) = flags.value("--routing") {
        change.routing = Some(
            serde_json::from_value(serde_json::Value::String(v.to_owned())).map_err(|_| {
                let modes: Vec<String> = RoutingMode::ALL
                    .iter()
                    .map(|m| whatif::mode_name(*m))
                    .collect();
                format!(
                    "--routing: unknown mode {v:?} (one of {})",
                    modes.join(", ")
                )
            })?,
        );
    }
    if let Some(v) = flags.value("--wrap-up") {
        change.wrap_up_secs = Some(
            v.parse::<u64>()
                .map_err(|_| format!("--wrap-up: not a number of seconds: {v}"))?,
        );
    }
    let ask = whatif::Ask {
        from: time("--from")?,
        to: time("--to")?,
        change,
        seed: flags.number("--seed")?.map_or(1, |n| n as u64),
    };
    if let (Some(from), Some(to)) = (ask.from, ask.to) {
        if to <= from {
            return Err("--to must be after --from".to_owned());
        }
    }
    let report =
        whatif::from_journal(std::path::Path::new(path), &ask).map_err(|e| e.to_string())?;
    if let Some(svg) = flags.value("--svg") {
        std::fs::write(svg, report.svg()).map_err(|e| format!("{svg}: {e}"))?;
    }
    if flags.has("--json") {
        pretty(&report)
    } else {
        Ok(report.render())
    }
}

/// `net`: one seed, or a swarm of seeds each with a random fault mix.
fn network(args: &[String]) -> ExitCode {
    match network_runs(args) {
        Ok((out, passed)) => {
            print!("{out}");
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("switchboard-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn network_runs(args: &[String]) -> Result<(String, bool), String> {
    let flags = Flags(args);
    let valued = [
        "--seed",
        "--swarm",
        "--clients",
        "--agents",
        "--visitors",
        "--window",
        "--faults",
        "--inject",
    ];
    flags.check(&valued, &["--json"])?;
    let count = |name: &str, default: f64| -> Result<u64, String> {
        let v = flags.number(name)?.unwrap_or(default);
        if v < 0.0 || v.fract() != 0.0 {
            return Err(format!("{name} must be a whole number"));
        }
        Ok(v as u64)
    };
    let first = count("--seed", 1.0)?;
    let mut base = NetParams::new(first);
    base.clients = count("--clients", base.clients as f64)?.max(1) as usize;
    base.agents_per_client = count("--agents", base.agents_per_client as f64)?.max(1) as usize;
    base.visitors_per_client = count("--visitors", base.visitors_per_client as f64)? as usize;
    base.window = std::time::Duration::from_secs(count("--window", 600.0)?.max(1));
    let mix = flags.value("--faults").map(Mix::parse).transpose()?;
    base.fault = match flags.value("--inject") {
        None => None,
        Some(DROP_REQUEUE) => Some(Fault::DropRequeue),
        Some(other) => return Err(format!("--inject: unknown bug {other:?}")),
    };
    let swarm = flags.value("--swarm").is_some();
    let runs = if swarm { count("--swarm", 1.0)? } else { 1 };
    let mut out = String::new();
    let mut passed = true;
    let mut reports = Vec::new();
    for seed in first..first.saturating_add(runs) {
        let mut p = base.clone();
        p.seed = seed;
        // A swarm draws each seed's fault mix from the seed itself.
        p.mix = mix.unwrap_or_else(|| {
            if swarm {
                Mix::random(&mut Prng::new(seed ^ 0x5741_524d))
            } else {
                Mix::all()
            }
        });
        let report = net::run(&p)?;
        passed &= report.passed();
        if flags.has("--json") {
            reports.push(report);
        } else if swarm && report.passed() {
            out.push_str(&format!(
                "seed {seed}: pass ({}, {} visitors answered in {} virtual s)\n",
                report.mix, report.answered, report.virtual_secs
            ));
        } else {
            out.push_str(&report.summary());
            if !report.passed() {
                out.push_str(&format!("reproduce: {}\n", reproduce(&p)));
            }
        }
    }
    if flags.has("--json") {
        out = if swarm {
            pretty(&reports)?
        } else {
            pretty(&reports[0])?
        };
    }
    Ok((out, passed))
}

const DROP_REQUEUE: &str = "drop-requeue";

/// The command that runs `p` again.
fn reproduce(p: &NetParams) -> String {
    let mut cmd = format!(
        "switchboard-sim net --seed {} --faults {} --clients {} --agents {} --visitors {} --window {}",
        p.seed,
        p.mix.name(),
        p.clients,
        p.agents_per_client,
        p.visitors_per_client,
        p.window.as_secs()
    );
    if p.fault == Some(Fault::DropRequeue) {
        cmd.push_str(&format!(" --inject {DROP_REQUEUE}"));
    }
    cmd
}
