//! The capacity planner: the fewest agents that meet a service-level
//! target, from Erlang C (or A, with patience) and from simulating the real
//! core, side by side, with the staffing levels around the answer.

use serde::Serialize;

use crate::des::{self, Params};
use crate::erlang::{Queue, Service};

/// What the manager asks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ask {
    /// Arrivals per hour.
    pub rate_per_hour: f64,
    /// Average handling time, seconds.
    pub aht_secs: f64,
    /// Share to answer in time, 0 to 1 (e.g. 0.8).
    pub target: f64,
    /// "In time": within this many seconds (e.g. 20).
    pub threshold_secs: f64,
    /// Mean patience, seconds (Erlang A); None: nobody gives up (Erlang C).
    pub patience_secs: Option<f64>,
    /// Arrivals simulated per staffing level.
    pub arrivals: u64,
    /// Seed of the simulations.
    pub seed: u64,
}

/// Analytic and simulated figures for one staffing level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Agents.
    pub agents: u32,
    /// From queueing theory; None when the queue would grow without bound.
    pub analytic: Option<Service>,
    /// From simulating the core.
    pub simulated: Service,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// `erlang_c` or `erlang_a`.
    pub model: &'static str,
    /// Offered load, Erlangs.
    pub load_erlangs: f64,
    /// Fewest agents meeting the target by the formulas.
    pub agents_analytic: u32,
    /// Fewest agents meeting the target among the simulated rows, if any does.
    pub agents_simulated: Option<u32>,
    /// Levels around the answer.
    pub rows: Vec<Row>,
}

/// Largest staffing level the planner searches.
const AGENTS_MAX: u32 = 100_000;

impl Ask {
    /// Checks the numbers make a question with an answer.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !positive(self.rate_per_hour) || !positive(self.aht_secs) {
            return Err("--rate and --aht must be positive".into());
        }
        if !(self.target > 0.0 && self.target < 1.0 && positive(self.threshold_secs)) {
            return Err("--target must be like 80/20: a percent below 100 and seconds".into());
        }
        if self
            .patience_secs
            .is_some_and(|p| !(positive(p) && p <= 86_400.0))
        {
            return Err("--patience must be from 0 to 86400 seconds".into());
        }
        if self.rate_per_hour * self.aht_secs / 3600.0 > f64::from(AGENTS_MAX) / 2.0 {
            return Err("the load is beyond what the planner searches".into());
        }
        Ok(())
    }

    fn queue(&self, agents: u32) -> Queue {
        Queue {
            agents,
            rate: self.rate_per_hour / 3600.0,
            aht_secs: self.aht_secs,
            patience_secs: self.patience_secs,
        }
    }

    fn meets(&self, s: &Service) -> bool {
        s.service_level >= self.target
    }
}

/// Plans staffing for `ask`; `progress` hears how many simulations are done
/// out of how many.
pub fn plan(ask: &Ask, progress: &mut dyn FnMut(usize, usize)) -> Result<Plan, String> {
    ask.validate()?;
    let answer = (1..=AGENTS_MAX)
        .find(|&n| {
            ask.queue(n)
                .service(ask.threshold_secs)
                .is_some_and(|s| ask.meets(&s))
        })
        .ok_or("no staffing level up to 100000 meets the target")?;
    let levels: Vec<u32> = (answer.saturating_sub(2).max(1)..=answer + 2).collect();
    let mut rows = Vec::with_capacity(levels.len());
    for (i, &n) in levels.iter().enumerate() {
        progress(i, levels.len());
        let analytic = ask.queue(n).service(ask.threshold_secs);
        let simulated = simulate(ask, n)?;
        rows.push(Row {
            agents: n,
            analytic,
            simulated,
        });
    }
    progress(levels.len(), levels.len());
    let agents_simulated = rows
        .iter()
        .find(|r| ask.meets(&r.simulated))
        .map(|r| r.agents);
    Ok(Plan {
        model: if ask.patience_secs.is_some() {
            "erlang_a"
        } else {
            "erlang_c"
        },
        load_erlangs: ask.queue(1).load(),
        agents_analytic: answer,
        agents_simulated,
        rows,
    })
}

/// One staffing level simulated over the real core: M/M/n(+M), instant
/// answers, the first 5% of arrivals left out while the queue fills.
pub fn simulate(ask: &Ask, agents: u32) -> Result<Service, String> {
    let mut p = Params::mmn(agents, ask.rate_per_hour, ask.aht_secs, ask.patience_secs);
    p.seed = ask.seed;
    p.threshold_secs = ask.threshold_secs;
    p.max_arrivals = ask.arrivals + ask.arrivals / 20;
    p.warmup_arrivals = ask.arrivals / 20;
    let r = des::run(&p, &mut |_| {})?;
    Ok(Service {
        service_level: r.service_level,
        p_wait: r.p_wait,
        asa_secs: r.asa_secs,
        abandon: r.abandon_rate,
        occupancy: r.occupancy,
    })
}

/// The plan as a table for people.
pub fn render(ask: &Ask, plan: &Plan) -> String {
    let mut out = format!(
        "{:.0} arrivals/h, AHT {:.0} s{} -> load {:.2} Erlangs; target {:.0}% answered within {:.0} s\n",
        ask.rate_per_hour,
        ask.aht_secs,
        ask.patience_secs
            .map(|p| format!(", patience {p:.0} s"))
            .unwrap_or_default(),
        plan.load_erlangs,
        ask.target * 100.0,
        ask.threshold_secs,
    );
    out += &format!(
        "Minimum agents: {} ({}), {} (simulation, {} arrivals per row)\n\n",
        plan.agents_analytic,
        if plan.model == "erlang_a" {
            "Erlang A"
        } else {
            "Erlang C"
        },
        plan.agents_simulated
            .map_or("none of these".to_owned(), |n| n.to_string()),
        ask.arrivals
    );
    out += "agents | service level   | P(wait)         | ASA (s)         | abandoned\n";
    out += "       | formula    sim  | formula    sim  | formula    sim  | formula    sim\n";
    let pct = |v: Option<f64>| v.map_or("    -".to_owned(), |v| format!("{:5.1}%", v * 100.0));
    let secs = |v: Option<f64>| v.map_or("     -".to_owned(), |v| format!("{v:6.1}"));
    for r in &plan.rows {
        let a = r.analytic.as_ref();
        let s = &r.simulated;
        out += &format!(
            "{:6}{} | {}  {}  | {}  {}  | {}  {}  | {}  {}\n",
            r.agents,
            if r.agents == plan.agents_analytic {
                "*"
            } else {
                " "
            },
            pct(a.map(|a| a.service_level)),
            pct(Some(s.service_level)),
            pct(a.map(|a| a.p_wait)),
            pct(Some(s.p_wait)),
            secs(a.map(|a| a.asa_secs)),
            secs(Some(s.asa_secs)),
            pct(a.map(|a| a.abandon)),
            pct(Some(s.abandon)),
        );
    }
    out
}
