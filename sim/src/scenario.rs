//! Scenario files (YAML) and what a run prints: a summary for people, JSON,
//! and an SVG of the queue and the service level over time.

use std::collections::BTreeMap;

use serde::Deserialize;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{Membership, WorkgroupId, WorkgroupSettings, DEFAULT_WORKGROUP};

use crate::des::{BotPlan, Group, HandoffWay, Params, Report, Ringing, Staff};
use crate::dist::Dist;

/// A scenario file. Every key but `arrivals`, `handle_time` and `agents`
/// has a default.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Fixes the run (default 1).
    #[serde(default = "one")]
    pub seed: u64,
    /// Virtual hours of arrivals (default 24).
    #[serde(default = "day")]
    pub hours: f64,
    /// Stop arrivals after this many, if sooner.
    pub max_arrivals: Option<u64>,
    /// How visitors arrive.
    pub arrivals: Arrivals,
    /// How long calls last.
    pub handle_time: Dist,
    /// How long visitors wait before giving up; absent: forever.
    pub patience: Option<Dist>,
    /// Who works when.
    pub agents: Vec<Shift>,
    /// Workgroups besides `default`, and who asks for them.
    #[serde(default)]
    pub workgroups: Vec<GroupFile>,
    /// Probability that an answered call is transferred once (default 0).
    #[serde(default)]
    pub transfer: f64,
    /// How agents answer.
    #[serde(default)]
    pub ringing: RingingFile,
    /// The routing mode (default `longest_idle`).
    #[serde(default = "longest_idle")]
    pub routing_mode: RoutingMode,
    /// After-call work, seconds.
    #[serde(default)]
    pub wrap_up_secs: u64,
    /// Ring timeout, seconds (default 30).
    #[serde(default = "thirty")]
    pub accept_timeout_secs: u64,
    /// Service-level threshold, seconds (default 20).
    #[serde(default = "twenty")]
    pub service_level_secs: f64,
    /// Seconds between queue samples (default 900).
    #[serde(default = "quarter_hour")]
    pub sample_secs: u64,
    /// A bot in front of `default`.
    pub bot: Option<BotFile>,
}

/// A bot in front of a workgroup: how often it resolves a visitor alone,
/// how long visitors talk with it, and how the others ask for a person.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotFile {
    /// Share of its conversations the bot resolves, 0 to 1.
    pub resolved: f64,
    /// Time with the bot before it resolves or hands over.
    pub handle_time: Dist,
    /// Relative weights of `keyword` (writes 转人工), `button` (talk to a
    /// person) and `emotion` (writes angrily); default all `keyword`.
    #[serde(default)]
    pub reasons: BTreeMap<String, f64>,
}

impl BotFile {
    fn plan(&self, workgroup: &str) -> Result<BotPlan, String> {
        if !(0.0..=1.0).contains(&self.resolved) {
            return Err(format!(
                "bot of {workgroup:?}: resolved must be from 0 to 1"
            ));
        }
        self.handle_time.validate("bot.handle_time")?;
        let mut ways = Vec::new();
        for (name, w) in &self.reasons {
            let way = match name.as_str() {
                "keyword" => HandoffWay::Keyword,
                "button" => HandoffWay::Button,
                "emotion" => HandoffWay::Emotion,
                other => {
                    return Err(format!(
                        "bot of {workgroup:?}: unknown reason {other:?} (keyword, button, emotion)"
                    ))
                }
            };
            if !(*w >= 0.0 && w.is_finite()) {
                return Err(format!("bot of {workgroup:?}: weights are not negative"));
            }
            ways.push((way, *w));
        }
        if ways.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            ways = vec![(HandoffWay::Keyword, 1.0)];
        }
        Ok(BotPlan {
            workgroup: WorkgroupId::from(workgroup),
            resolved: self.resolved,
            handle: self.handle_time,
            ways,
        })
    }
}

/// Poisson arrivals, optionally shaped by hour of day.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// Mean arrivals per hour.
    pub rate_per_hour: f64,
    /// 24 multipliers of the rate, hour 0 first (default all 1).
    pub hourly: Option<Vec<f64>>,
}

/// A group of agents on the same hours.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// How many.
    pub count: u32,
    /// Start hour (default 0).
    #[serde(default)]
    pub from_hour: f64,
    /// End hour (default: same as start, all day).
    pub to_hour: Option<f64>,
    /// Workgroup → skill level (1–10); absent: `default` only.
    #[serde(default)]
    pub workgroups: BTreeMap<String, u8>,
}

/// A workgroup in a scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// Its id.
    pub id: String,
    /// Share of visitors asking for it, 0 to 1.
    pub share: f64,
    /// Its routing mode (default: the scenario's).
    pub routing_mode: Option<RoutingMode>,
    /// Seconds after which its visitors may also be served by `overflow_to`.
    pub overflow_after_secs: Option<u64>,
    /// The fallback workgroup.
    pub overflow_to: Option<String>,
    /// Its service-level threshold (default: the scenario's).
    pub service_level_secs: Option<u64>,
    /// A bot in front of it.
    pub bot: Option<BotFile>,
}

/// Ring behaviour in a scenario file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingingFile {
    /// Seconds to answer (default 0).
    #[serde(default)]
    pub answer_secs: f64,
    /// Probability of rejecting (default 0).
    #[serde(default)]
    pub reject: f64,
    /// Probability of letting it ring out (default 0).
    #[serde(default)]
    pub no_answer: f64,
}

fn one() -> u64 {
    1
}
fn day() -> f64 {
    24.0
}
fn thirty() -> u64 {
    30
}
fn twenty() -> f64 {
    20.0
}
fn quarter_hour() -> u64 {
    900
}
fn longest_idle() -> RoutingMode {
    RoutingMode::LongestIdle
}

impl Scenario {
    /// Reads a scenario from YAML text.
    pub fn parse(yaml: &str) -> Result<Scenario, String> {
        serde_norway::from_str(yaml).map_err(|e| e.to_string())
    }

    /// The run it describes, after checking every value.
    pub fn params(&self) -> Result<Params, String> {
        let hourly: [f64; 24] = match &self.arrivals.hourly {
            None => [1.0; 24],
            Some(v) => v
                .as_slice()
                .try_into()
                .map_err(|_| "arrivals.hourly must have 24 values".to_owned())?,
        };
        if !(self.arrivals.rate_per_hour >= 0.0 && self.arrivals.rate_per_hour.is_finite())
            || hourly.iter().any(|m| !(*m >= 0.0 && m.is_finite()))
        {
            return Err("arrival rates must be finite and not negative".into());
        }
        if !(self.hours > 0.0 && self.hours <= 24.0 * 366.0) {
            return Err("hours must be above 0 and at most a year".into());
        }
        self.handle_time.validate("handle_time")?;
        if let Some(p) = &self.patience {
            p.validate("patience")?;
        }
        let r = &self.ringing;
        let ring_ok = r.answer_secs >= 0.0
            && r.answer_secs.is_finite()
            && r.reject >= 0.0
            && r.no_answer >= 0.0
            && r.reject + r.no_answer <= 1.0;
        if !ring_ok {
            return Err("ringing: answer_secs >= 0, reject and no_answer probabilities summing to at most 1".into());
        }
        let groups = self.groups()?;
        let known =
            |id: &str| id == DEFAULT_WORKGROUP || groups.iter().any(|g| g.id.as_str() == id);
        let mut staff = Vec::new();
        for s in &self.agents {
            let to = s.to_hour.unwrap_or(s.from_hour);
            if !(0.0..=24.0).contains(&s.from_hour) || !(0.0..=24.0).contains(&to) {
                return Err("agent shift hours must be from 0 to 24".into());
            }
            let mut workgroups = Vec::new();
            for (id, level) in &s.workgroups {
                if !known(id) {
                    return Err(format!("agents: workgroup {id:?} is not defined"));
                }
                if !(1..=10).contains(level) {
                    return Err(format!(
                        "agents: skill level in {id:?} must be from 1 to 10"
                    ));
                }
                workgroups.push(Membership {
                    workgroup_id: WorkgroupId::from(id.as_str()),
                    level: *level,
                });
            }
            staff.push(Staff {
                count: s.count,
                from_hour: s.from_hour,
                to_hour: to,
                workgroups,
            });
        }
        if !(0.0..=1.0).contains(&self.transfer) {
            return Err("transfer must be a probability from 0 to 1".into());
        }
        let mut bots = Vec::new();
        if let Some(b) = &self.bot {
            bots.push(b.plan(DEFAULT_WORKGROUP)?);
        }
        for g in &self.workgroups {
            if let Some(b) = &g.bot {
                bots.push(b.plan(&g.id)?);
            }
        }
        Ok(Params {
            seed: self.seed,
            rate_per_hour: self.arrivals.rate_per_hour,
            hourly,
            hours: self.hours,
            max_arrivals: self.max_arrivals.unwrap_or(u64::MAX),
            handle: self.handle_time,
            patience: self.patience,
            staff,
            groups,
            transfer: self.transfer,
            ringing: Ringing {
                answer_secs: r.answer_secs,
                reject: r.reject,
                no_answer: r.no_answer,
            },
            routing_mode: self.routing_mode,
            wrap_up_secs: self.wrap_up_secs,
            accept_timeout_secs: self.accept_timeout_secs,
            threshold_secs: self.service_level_secs,
            warmup_arrivals: 0,
            sample_secs: self.sample_secs,
            advice: true,
            bots,
        })
    }
}

impl Scenario {
    fn groups(&self) -> Result<Vec<Group>, String> {
        let mut groups: Vec<Group> = Vec::new();
        let mut shares = 0.0;
        for g in &self.workgroups {
            if g.id == DEFAULT_WORKGROUP || groups.iter().any(|o| o.id.as_str() == g.id) {
                return Err(format!("workgroups: {:?} is defined twice", g.id));
            }
            if !(0.0..=1.0).contains(&g.share) {
                return Err(format!(
                    "workgroups: share of {:?} must be from 0 to 1",
                    g.id
                ));
            }
            shares += g.share;
            if g.overflow_after_secs.is_some() != g.overflow_to.is_some() {
                return Err(format!(
                    "workgroups: {:?} needs both overflow_after_secs and overflow_to, or neither",
                    g.id
                ));
            }
            groups.push(Group {
                id: WorkgroupId::from(g.id.as_str()),
                share: g.share,
                settings: WorkgroupSettings {
                    name: None,
                    routing_mode: g.routing_mode.unwrap_or(self.routing_mode),
                    overflow_after_secs: g.overflow_after_secs,
                    overflow_to: g.overflow_to.as_deref().map(WorkgroupId::from),
                    service_level_secs: g
                        .service_level_secs
                        .unwrap_or(self.service_level_secs.round() as u64),
                    ..WorkgroupSettings::default()
                },
            });
        }
        if shares > 1.0 + 1e-9 {
            return Err("workgroups: shares sum to more than 1".into());
        }
        for g in &groups {
            if let Some(to) = &g.settings.overflow_to {
                if to.as_str() != DEFAULT_WORKGROUP && !groups.iter().any(|o| &o.id == to) {
                    return Err(format!(
                        "workgroups: {:?} overflows to unknown {to:?}",
                        g.id.as_str()
                    ));
                }
            }
        }
        Ok(groups)
    }
}

/// The report for people.
pub fn summary(p: &Params, r: &Report) -> String {
    let util: Vec<f64> = r.utilization.iter().map(|(_, u)| *u).collect();
    let (lo, hi) = util.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), u| {
        (lo.min(*u), hi.max(*u))
    });
    let mut groups = String::new();
    if r.workgroups.len() > 1 {
        for g in &r.workgroups {
            groups.push_str(&format!(
                "  {:<13} {} arrivals, {:.1}% within {:.0} s, ASA {:.1} s, abandoned {:.1}%\n",
                g.workgroup_id,
                g.arrivals,
                g.service_level * 100.0,
                g.threshold_secs,
                g.asa_secs,
                g.abandon_rate * 100.0
            ));
        }
    }
    let totals = format!(
        "{hours:.1} virtual hours, {arrivals} arrivals, {agents} agents\n\
         service level   {sl:.1}% answered within {t:.0} s\n\
         waited          {pw:.1}% (average speed of answer {asa:.1} s)\n\
         abandoned       {ab:.1}%\n\
         occupancy       {occ:.1}% (per agent {lo:.1}% to {hi:.1}%)\n\
         longest queue   {mq}\n\
         ring timeouts   {rt}, rejects {rj}, transfers {tr}\n",
        hours = r.hours,
        arrivals = r.arrivals,
        agents = r.utilization.len(),
        sl = r.service_level * 100.0,
        t = p.threshold_secs,
        pw = r.p_wait * 100.0,
        asa = r.asa_secs,
        ab = r.abandon_rate * 100.0,
        occ = r.occupancy * 100.0,
        lo = if util.is_empty() { 0.0 } else { lo * 100.0 },
        hi = hi * 100.0,
        mq = r.max_queue,
        rt = r.ring_timeouts,
        rj = r.rejects,
        tr = r.transfers,
    );
    totals + &groups + &bots(r)
}

/// A line per bot: what it took, resolved and handed over, and why; and
/// the staffing the core advised at the end, which the bot's share shapes.
fn bots(r: &Report) -> String {
    let mut out = String::new();
    for b in &r.bots {
        let c = &b.counters;
        let reasons: Vec<String> = c.reasons.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!(
            "bot {:<13} {} conversations, {:.1}% resolved by the bot, {:.1}% handed over ({}), {} answered\n",
            b.workgroup_id.as_str(),
            c.conversations,
            b.resolved_rate.unwrap_or(0.0) * 100.0,
            b.handoff_rate.unwrap_or(0.0) * 100.0,
            reasons.join(", "),
            c.handed_over,
        ));
    }
    if !r.bots.is_empty() {
        let advice = r.series.iter().rev().find_map(|s| s.agents_needed);
        if let Some(n) = advice {
            out.push_str(&format!(
                "staffing advice at the end: {n} agents for default\n"
            ));
        }
    }
    out
}

/// Two line charts, one above the other: queue length and service level
/// per sample interval, against virtual hours.
pub fn svg(r: &Report) -> String {
    let (w, h, pad) = (800.0, 200.0, 40.0);
    let hours = r.series.last().map_or(1.0, |s| s.hour.max(1e-9));
    let max_q = r.series.iter().map(|s| s.queue).max().unwrap_or(0).max(1) as f64;
    let x = |hour: f64| pad + (w - 2.0 * pad) * hour / hours;
    let line = |points: Vec<(f64, f64)>, top: f64, color: &str| {
        let pts: Vec<String> = points
            .iter()
            .map(|(hour, v)| format!("{:.1},{:.1}", x(*hour), top + h - pad - (h - 2.0 * pad) * v))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
            pts.join(" ")
        )
    };
    let queue = r
        .series
        .iter()
        .map(|s| (s.hour, s.queue as f64 / max_q))
        .collect();
    let level = r
        .series
        .iter()
        .filter_map(|s| s.service_level.map(|l| (s.hour, l)))
        .collect();
    let axis = |top: f64, label: String| {
        format!(
            "<line x1=\"{pad}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#888\"/>\
             <line x1=\"{pad}\" y1=\"{t}\" x2=\"{pad}\" y2=\"{y}\" stroke=\"#888\"/>\
             <text x=\"{pad}\" y=\"{ty}\" font-size=\"12\" font-family=\"sans-serif\">{label}</text>",
            y = top + h - pad,
            x2 = w - pad,
            t = top + pad,
            ty = top + pad - 8.0,
        )
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\">\n\
         {a1}\n{l1}\n{a2}\n{l2}\n\
         <text x=\"{mid}\" y=\"{bottom}\" font-size=\"12\" font-family=\"sans-serif\">virtual hours (0 to {hours:.1})</text>\n</svg>\n",
        hh = 2.0 * h + 20.0,
        a1 = axis(0.0, format!("queue length (max {max_q:.0})")),
        l1 = line(queue, 0.0, "#1f77b4"),
        a2 = axis(h, "service level per interval (0 to 100%)".to_owned()),
        l2 = line(level, h, "#2ca02c"),
        mid = w / 2.0 - 60.0,
        bottom = 2.0 * h + 10.0,
    )
}
