//! Discrete-event simulation of a whole contact center over the real
//! `switchboard-core`: the rules (queueing, ringing, routing, wrap-up) are
//! the core's; this module only plays visitors and agents on a virtual clock.
//!
//! Visitors arrive as a Poisson process whose rate may change by hour of
//! day, ask for a workgroup by given shares, wait with a random patience,
//! and leave if not answered by then. Agents work shifts in their
//! workgroups, answer after a delay, reject or let it ring with given
//! probabilities, sometimes transfer the call, and hang up after a random
//! handling time. A workgroup may have a bot in front (the core's rule
//! bot): its visitors talk with it for a while, and it either resolves them
//! or hands them over (by keyword, button or upset words) to the queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use serde::Serialize;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentId, Center, Command, Config, EventKind, Media, Membership, Party, Prng, Recipient, Reply,
    SessionId, Timestamp, VisitorId, WorkgroupId, WorkgroupSettings, DEFAULT_WORKGROUP,
};

use crate::dist::{exponential, uniform, Dist};
use switchboard_core::bot::{
    BotKind, BotSettings, BotStats, Dialog, Handoff, Node, Notice, Triggers, Weight, Weights,
};

/// Monday 2026-01-05 00:00 UTC: hour 0 of day 0 of every run.
pub const START: Timestamp = Timestamp::from_millis(1_767_571_200_000);

/// One group of identical agents and the hours they work each day.
#[derive(Clone, Debug, PartialEq)]
pub struct Staff {
    /// How many.
    pub count: u32,
    /// Hour of day (0–24) the shift starts.
    pub from_hour: f64,
    /// Hour of day (0–24) it ends; equal to `from_hour` for all day.
    pub to_hour: f64,
    /// The workgroups they serve, with skill levels; empty: `default` only.
    pub workgroups: Vec<Membership>,
}

impl Staff {
    /// `count` agents all day in the default workgroup.
    pub fn all_day_default(count: u32) -> Staff {
        Staff {
            count,
            from_hour: 0.0,
            to_hour: 0.0,
            workgroups: Vec::new(),
        }
    }
}

/// A workgroup besides `default`, and the share of visitors who ask for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Its id.
    pub id: WorkgroupId,
    /// Share of arrivals asking for it (the shares sum to at most 1; the
    /// rest go to `default`).
    pub share: f64,
    /// Its routing, overflow and service-level threshold.
    pub settings: WorkgroupSettings,
}

impl Staff {
    /// Whether the shift covers the whole day (signed in once, never out).
    fn all_day(&self) -> bool {
        (self.to_hour - self.from_hour).abs() < 1e-9
    }
}

/// A bot in front of a workgroup, as the simulation plays its visitors.
#[derive(Clone, Debug, PartialEq)]
pub struct BotPlan {
    /// The workgroup (`default` too).
    pub workgroup: WorkgroupId,
    /// Share of the bot's conversations it resolves alone, 0 to 1.
    pub resolved: f64,
    /// How long a visitor talks with the bot before either.
    pub handle: Dist,
    /// How the others come to be handed over, with relative weights.
    pub ways: Vec<(HandoffWay, f64)>,
}

/// How a simulated visitor gets past the bot; each is a real input the
/// core weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoffWay {
    /// Writes `转人工` (an explicit keyword).
    Keyword,
    /// Presses "talk to a person".
    Button,
    /// Writes something angry (negativity 100; emotion weighs 1.0 here).
    Emotion,
}

impl BotPlan {
    /// The core's settings for the simulated bot: one dialog node, handoff
    /// only by the ways above, attempts as long as the queue allows.
    fn settings() -> BotSettings {
        let dialog = Dialog {
            start: "hi".into(),
            nodes: [("hi".to_owned(), Node::default())].into(),
            global: Vec::new(),
            unmatched: "…".into(),
            actions: Default::default(),
        };
        let none = Weight(0);
        BotSettings {
            bot: BotKind::Rules { dialog },
            chat: true,
            video: true,
            triggers: Triggers {
                explicit_keywords: vec!["转人工".into()],
                keywords: Vec::new(),
                silence_secs: 3600,
                weights: Weights {
                    emotion: Weight(100),
                    rounds: none,
                    keyword: none,
                    silence: none,
                    bot_timeout: none,
                    action_failures: none,
                    availability: none,
                },
                ..Triggers::default()
            },
            handoff: Handoff {
                attempt_secs: 3600,
                emotion_priority_threshold: 0,
                ..Handoff::default()
            },
        }
    }

    fn way(&self, rng: &mut Prng) -> HandoffWay {
        let total: f64 = self.ways.iter().map(|(_, w)| w).sum();
        let mut u = uniform(rng) * total;
        for (way, w) in &self.ways {
            if u < *w {
                return *way;
            }
            u -= w;
        }
        HandoffWay::Keyword
    }
}

/// How agents answer when rung.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ringing {
    /// Seconds from ring to answer (or reject).
    pub answer_secs: f64,
    /// Probability of rejecting.
    pub reject: f64,
    /// Probability of letting it ring out.
    pub no_answer: f64,
}

/// Everything a run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Fixes every random draw, the core's included.
    pub seed: u64,
    /// Arrivals per hour, before the hourly profile.
    pub rate_per_hour: f64,
    /// Multiplier of the rate for each hour of the day.
    pub hourly: [f64; 24],
    /// Stop arrivals after this much virtual time...
    pub hours: f64,
    /// ...or after this many arrivals, whichever comes first.
    pub max_arrivals: u64,
    /// Handling (talk) time.
    pub handle: Dist,
    /// Patience; None: nobody gives up.
    pub patience: Option<Dist>,
    /// The agents.
    pub staff: Vec<Staff>,
    /// Workgroups besides `default`.
    pub groups: Vec<Group>,
    /// Probability that an answered call is transferred, once, halfway
    /// through, to the agent its workgroup's routing picks next.
    pub transfer: f64,
    /// How agents answer.
    pub ringing: Ringing,
    /// The routing mode.
    pub routing_mode: RoutingMode,
    /// After-call work, seconds.
    pub wrap_up_secs: u64,
    /// Seconds an agent has to answer before the ring times out.
    pub accept_timeout_secs: u64,
    /// The service-level threshold, seconds.
    pub threshold_secs: f64,
    /// Arrivals left out of the figures while the center fills up.
    pub warmup_arrivals: u64,
    /// Seconds between samples of the queue for the time series.
    pub sample_secs: u64,
    /// Whether each sample asks the core for its live staffing advice
    /// (Erlang A per sample: off for the planner's many long runs).
    pub advice: bool,
    /// Bots in front of workgroups.
    pub bots: Vec<BotPlan>,
}

impl Params {
    /// An M/M/n(+M) run: `agents` all day, Poisson arrivals, exponential
    /// handling and patience, instant answers.
    pub fn mmn(agents: u32, rate_per_hour: f64, aht_secs: f64, patience_secs: Option<f64>) -> Self {
        Params {
            seed: 1,
            rate_per_hour,
            hourly: [1.0; 24],
            hours: f64::INFINITY,
            max_arrivals: 100_000,
            handle: Dist::Exponential {
                mean_secs: aht_secs,
            },
            patience: patience_secs.map(|mean_secs| Dist::Exponential { mean_secs }),
            staff: vec![Staff::all_day_default(agents)],
            groups: Vec::new(),
            transfer: 0.0,
            ringing: Ringing {
                answer_secs: 0.0,
                reject: 0.0,
                no_answer: 0.0,
            },
            routing_mode: RoutingMode::LongestIdle,
            wrap_up_secs: 0,
            accept_timeout_secs: 30,
            threshold_secs: 20.0,
            warmup_arrivals: 0,
            sample_secs: 900,
            advice: false,
            bots: Vec::new(),
        }
    }

    fn agents(&self) -> u32 {
        self.staff.iter().map(|s| s.count).sum()
    }

    /// The core's settings for this run (the journal's first record).
    pub fn config(&self) -> Config {
        Config {
            max_sessions: 10_000_000,
            max_queue_size: 10_000_000,
            max_agents: self.agents().max(1) as usize,
            queue_timeout_secs: 7 * 86_400,
            session_timeout_secs: 30 * 86_400,
            accept_timeout_secs: self.accept_timeout_secs.max(1),
            routing_mode: self.routing_mode,
            wrap_up_secs: self.wrap_up_secs,
            // The simulated agents come back on their own (see `Ev::Back`).
            max_no_answer: 3,
            ended_sessions_max: 1_000,
            recent_visitors_max: 10_000,
            ..Config::default()
        }
    }
}

/// The queue at one moment, and how the last interval went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// Virtual hours since the start.
    pub hour: f64,
    /// Visitors queued.
    pub queue: usize,
    /// Service level of the visitors answered or lost in the interval.
    pub service_level: Option<f64>,
    /// The core's live staffing advice for `default` at this moment.
    pub agents_needed: Option<u32>,
    /// The arrival rate it estimated, per hour.
    pub arrivals_per_hour: Option<f64>,
    /// The handling time it estimated, seconds.
    pub aht_secs: Option<f64>,
    /// The patience it estimated, seconds.
    pub patience_secs: Option<f64>,
}

/// What a run measured. Shares are of arrivals after the warm-up; with a
/// bot in front, arrivals are the visitors it handed over to the queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Arrivals counted.
    pub arrivals: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Answered within the threshold.
    pub answered_in_time: u64,
    /// Waited at all (found nobody Ready).
    pub waited: u64,
    /// Gave up.
    pub abandoned: u64,
    /// `answered_in_time / arrivals`.
    pub service_level: f64,
    /// `waited / arrivals`.
    pub p_wait: f64,
    /// Mean wait of answered visitors, seconds.
    pub asa_secs: f64,
    /// `abandoned / arrivals`.
    pub abandon_rate: f64,
    /// Talk time over staffed time, all agents.
    pub occupancy: f64,
    /// Talk time over staffed time, per agent, by id.
    pub utilization: Vec<(String, f64)>,
    /// Rings that lapsed unanswered.
    pub ring_timeouts: u64,
    /// Rings rejected.
    pub rejects: u64,
    /// Calls transferred.
    pub transfers: u64,
    /// The same figures per workgroup, `default` first.
    pub workgroups: Vec<GroupReport>,
    /// Longest the queue got.
    pub max_queue: usize,
    /// Virtual time simulated, hours.
    pub hours: f64,
    /// The queue over time.
    pub series: Vec<Sample>,
    /// Each bot's figures, as the core counted them.
    pub bots: Vec<BotStats>,
}

/// One workgroup's figures. Shares are of its arrivals after the warm-up.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GroupReport {
    /// The workgroup.
    pub workgroup_id: String,
    /// Its service-level threshold, seconds.
    pub threshold_secs: f64,
    /// Arrivals asking for it.
    pub arrivals: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Answered within its threshold.
    pub answered_in_time: u64,
    /// Gave up.
    pub abandoned: u64,
    /// `answered_in_time / arrivals`.
    pub service_level: f64,
    /// Mean wait of answered visitors, seconds.
    pub asa_secs: f64,
    /// `abandoned / arrivals`.
    pub abandon_rate: f64,
    #[serde(skip)]
    wait_ms_total: u64,
}

/// Something scheduled to happen at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival,
    Abandon(VisitorId),
    Answer(AgentId),
    Reject(AgentId),
    HangUp(SessionId),
    Transfer(SessionId),
    /// A visitor's talk with the bot is over: resolved or handed over.
    BotDone(SessionId),
    ShiftStart(usize),
    ShiftEnd(usize),
    /// An agent moved to Online after missed rings comes back.
    Back(AgentId),
    Sample,
}

/// A waiting visitor's record.
struct Visit {
    joined: Timestamp,
    counted: bool,
    /// Index in the report's workgroups.
    group: usize,
}

/// The whole run's state.
struct Run<'p> {
    p: &'p Params,
    center: Center,
    rng: Prng,
    now: Timestamp,
    heap: BinaryHeap<Reverse<(Timestamp, u64, Ev)>>,
    seq: u64,
    arrivals: u64,
    waiting: HashMap<SessionId, Visit>,
    /// Visitors with a bot: who, whether counted, their group.
    with_bot: HashMap<SessionId, (VisitorId, bool, usize)>,
    /// Each agent with its staff group, in creation order.
    agents: Vec<(AgentId, usize)>,
    /// Each agent's place in `agents`.
    index: HashMap<AgentId, usize>,
    /// Per agent: signed in since, and staffed ms so far.
    on_since: Vec<Option<Timestamp>>,
    staffed_ms: Vec<u64>,
    off_shift: Vec<bool>,
    r: Report,
    /// Sum of answered visitors' waits, ms.
    wait_ms_total: u64,
    /// Visitors settled, and settled in time, since the last sample.
    interval: (u64, u64),
    /// Every command the core accepted, with its time, when journaling.
    journal: Option<Journal>,
}

/// Runs a simulation to the end and reports it. `progress` is told the
/// share of arrivals done, now and then.
pub fn run(p: &Params, progress: &mut dyn FnMut(f64)) -> Result<Report, String> {
    run_inner(p, progress, None).map(|(report, _)| report)
}

/// Every command the core accepted in a run, with its time.
pub type Journal = Vec<(Timestamp, Command)>;

/// [`run`], also returning every command the core accepted with its time:
/// the journal a server would have written, to replay or store.
pub fn run_journaled(
    p: &Params,
    progress: &mut dyn FnMut(f64),
) -> Result<(Report, Journal), String> {
    run_inner(p, progress, Some(Vec::new()))
        .map(|(report, journal)| (report, journal.unwrap_or_default()))
}

fn run_inner(
    p: &Params,
    progress: &mut dyn FnMut(f64),
    journal: Option<Journal>,
) -> Result<(Report, Option<Journal>), String> {
    let center = Center::new(p.config(), p.seed).map_err(|e| e.to_string())?;
    let mut agents = Vec::new();
    for (g, s) in p.staff.iter().enumerate() {
        for i in 0..s.count {
            agents.push((AgentId::from(format!("g{g}a{i:05}")), g));
        }
    }
    let index = agents
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.clone(), i))
        .collect();
    let n = agents.len();
    let mut report = Report::default();
    report.workgroups.push(GroupReport {
        workgroup_id: DEFAULT_WORKGROUP.to_owned(),
        threshold_secs: p.threshold_secs,
        ..GroupReport::default()
    });
    for g in &p.groups {
        report.workgroups.push(GroupReport {
            workgroup_id: g.id.to_string(),
            threshold_secs: g.settings.service_level_secs as f64,
            ..GroupReport::default()
        });
    }
    let mut run = Run {
        p,
        center,
        // Independent of the core's stream, from the same seed.
        rng: Prng::new(p.seed ^ 0x5151_5151_5151_5151),
        now: START,
        heap: BinaryHeap::new(),
        seq: 0,
        arrivals: 0,
        waiting: HashMap::new(),
        with_bot: HashMap::new(),
        agents,
        index,
        on_since: vec![None; n],
        staffed_ms: vec![0; n],
        off_shift: vec![false; n],
        r: report,
        wait_ms_total: 0,
        interval: (0, 0),
        journal,
    };
    for g in &p.groups {
        run.try_apply(Command::CreateWorkgroup {
            workgroup_id: g.id.clone(),
            settings: g.settings.clone(),
        })
        .map_err(|e| format!("workgroup {}: {e}", g.id))?;
    }
    for plan in &p.bots {
        let mut settings = run
            .center
            .workgroup(plan.workgroup.as_str())
            .map(|g| g.settings.clone())
            .ok_or_else(|| format!("bot: workgroup {} is not defined", plan.workgroup))?;
        settings.bot = Some(Box::new(BotPlan::settings()));
        run.try_apply(Command::UpdateWorkgroup {
            workgroup_id: plan.workgroup.clone(),
            settings,
        })
        .map_err(|e| format!("bot of {}: {e}", plan.workgroup))?;
    }
    run.start_shifts();
    run.schedule_arrival();
    run.at(START, Ev::Sample);
    let mut reported = 0;
    while let Some(Reverse((at, _, ev))) = run.next_event() {
        run.now = at;
        run.handle(ev)?;
        // Done: the larger of arrivals and time against their limits.
        let share = (run.arrivals as f64 / p.max_arrivals as f64)
            .max(run.hours_now() / p.hours)
            .min(1.0);
        let percent = (share * 100.0) as u32;
        if percent > reported {
            reported = percent;
            progress(share);
        }
    }
    progress(1.0);
    let journal = run.journal.take();
    Ok((run.finish(), journal))
}

impl<'p> Run<'p> {
    fn at(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, ev)));
    }

    fn after_secs(&mut self, secs: f64, ev: Ev) {
        let at = self
            .now
            .saturating_add(Duration::from_millis((secs * 1000.0).round() as u64));
        self.at(at, ev);
    }

    /// The next thing to happen: a scheduled event, or a core timer due
    /// first (fired here, returning to look again). None once arrivals are
    /// over and every visitor has been answered or has left: calls still
    /// running count as talk up to then.
    fn next_event(&mut self) -> Option<Reverse<(Timestamp, u64, Ev)>> {
        loop {
            if self.arrivals_over() && self.waiting.is_empty() && self.with_bot.is_empty() {
                return None;
            }
            let next = self.heap.peek().map(|Reverse((at, _, _))| *at);
            match (self.center.poll_timeout(), next) {
                (Some(t), Some(n)) if t <= n => self.fire_core(t),
                (Some(t), None) => self.fire_core(t),
                (_, Some(_)) => return self.heap.pop(),
                (None, None) => return None,
            }
        }
    }

    fn fire_core(&mut self, t: Timestamp) {
        self.now = self.now.max(t);
        self.center.handle_timeout(t);
        // Events from timers (ring timeouts) are played like any other.
        self.drain();
    }

    fn arrivals_over(&self) -> bool {
        self.arrivals >= self.p.max_arrivals || self.hours_now() >= self.p.hours
    }

    fn hours_now(&self) -> f64 {
        self.now.saturating_since(START).as_secs_f64() / 3600.0
    }

    /// The next arrival: exponential gaps at the current hour's rate; a gap
    /// crossing into the next hour restarts there at the new rate (exact, by
    /// memorylessness).
    fn schedule_arrival(&mut self) {
        let mut t = self.hours_now();
        loop {
            if t >= self.p.hours {
                return;
            }
            let rate = self.p.rate_per_hour * self.p.hourly[(t as u64 % 24) as usize];
            let boundary = t.floor() + 1.0;
            if rate > 0.0 {
                let gap = exponential(&mut self.rng, 1.0 / rate);
                if t + gap < boundary {
                    let secs = (t + gap) * 3600.0;
                    let at = START.saturating_add(Duration::from_millis((secs * 1000.0) as u64));
                    self.at(at.max(self.now), Ev::Arrival);
                    return;
                }
            }
            t = boundary;
        }
    }

    fn start_shifts(&mut self) {
        for i in 0..self.agents.len() {
            let s = &self.p.staff[self.agents[i].1];
            let start = START.saturating_add(Duration::from_secs_f64(s.from_hour * 3600.0));
            self.at(start, Ev::ShiftStart(i));
            if !s.all_day() {
                let end = if s.to_hour < s.from_hour {
                    s.to_hour + 24.0
                } else {
                    s.to_hour
                };
                let at = START.saturating_add(Duration::from_secs_f64(end * 3600.0));
                self.at(at, Ev::ShiftEnd(i));
            }
        }
    }

    fn apply(&mut self, cmd: Command) -> Option<Reply> {
        self.try_apply(cmd).ok()
    }

    /// Applies a command, journaling it if the core accepts it.
    fn try_apply(&mut self, cmd: Command) -> Result<Reply, switchboard_core::CoreError> {
        let copy = self.journal.is_some().then(|| cmd.clone());
        let reply = self.center.apply(self.now, cmd)?;
        if let (Some(journal), Some(cmd)) = (self.journal.as_mut(), copy) {
            journal.push((self.now, cmd));
        }
        Ok(reply)
    }

    fn handle(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Arrival => {
                self.arrivals += 1;
                let visitor = VisitorId::from(format!("v{}", self.arrivals));
                let group = self.choose_group();
                let reply = self.apply(Command::JoinQueue {
                    visitor_id: visitor.clone(),
                    visitor_name: None,
                    preferred_skill: group
                        .checked_sub(1)
                        .map(|g| self.p.groups[g].id.to_string()),
                    priority: 0,
                    channel: Default::default(),
                    question: None,
                });
                let counted = self.arrivals > self.p.warmup_arrivals;
                let session = match reply {
                    Some(Reply::Queued { session_id, .. } | Reply::Assigned { session_id, .. }) => {
                        session_id
                    }
                    Some(Reply::WithBot { session_id }) => {
                        // Counted in the queue's figures once handed over.
                        let plan = self.bot_of(group).ok_or("a bot nobody planned")?;
                        let secs = plan.handle.sample(&mut self.rng);
                        self.with_bot
                            .insert(session_id.clone(), (visitor, counted, group));
                        self.after_secs(secs, Ev::BotDone(session_id));
                        if !self.arrivals_over() {
                            self.schedule_arrival();
                        }
                        self.drain();
                        return Ok(());
                    }
                    other => return Err(format!("join refused: {other:?}")),
                };
                self.waiting.insert(
                    session,
                    Visit {
                        joined: self.now,
                        counted,
                        group,
                    },
                );
                if counted {
                    self.r.arrivals += 1;
                    self.r.workgroups[group].arrivals += 1;
                }
                if let Some(patience) = self.p.patience {
                    let secs = patience.sample(&mut self.rng);
                    self.after_secs(secs, Ev::Abandon(visitor));
                }
                if !self.arrivals_over() {
                    self.schedule_arrival();
                }
            }
            Ev::Abandon(visitor) => {
                self.apply(Command::LeaveQueue {
                    visitor_id: visitor,
                });
            }
            Ev::Answer(agent) => {
                self.apply(Command::AcceptCall {
                    agent_id: agent,
                    media: Media::Audio,
                });
            }
            Ev::Reject(agent) => {
                self.apply(Command::RejectCall { agent_id: agent });
            }
            Ev::HangUp(session) => {
                self.apply(Command::EndSession {
                    session_id: session,
                    by: Party::Agent,
                });
            }
            Ev::Transfer(session) => self.transfer(session),
            Ev::BotDone(session) => self.leave_bot(session),
            Ev::ShiftStart(i) => {
                self.off_shift[i] = false;
                let (agent, group) = self.agents[i].clone();
                self.apply(Command::RegisterAgent {
                    agent_id: agent.clone(),
                    agent_name: None,
                });
                let workgroups = &self.p.staff[group].workgroups;
                if !workgroups.is_empty() && self.on_since[i].is_none() {
                    let set = Command::SetAgentWorkgroups {
                        agent_id: agent,
                        workgroups: workgroups.clone(),
                    };
                    self.try_apply(set)
                        .map_err(|e| format!("agents of shift {group}: {e}"))?;
                }
                self.on_since[i].get_or_insert(self.now);
                if !self.p.staff[group].all_day() {
                    self.after_secs(86_400.0, Ev::ShiftStart(i));
                }
            }
            Ev::ShiftEnd(i) => {
                self.off_shift[i] = true;
                self.sign_out_if_free(i);
                self.after_secs(86_400.0, Ev::ShiftEnd(i));
            }
            Ev::Back(agent) => {
                self.apply(Command::AgentAvailable { agent_id: agent });
            }
            Ev::Sample => {
                let (done, in_time) = std::mem::take(&mut self.interval);
                self.center.handle_timeout(self.now);
                if self.p.advice {
                    self.center.refresh_forecasts();
                }
                let advice = self.center.forecast(DEFAULT_WORKGROUP);
                self.r.series.push(Sample {
                    hour: self.hours_now(),
                    queue: self.center.queue_len(),
                    service_level: (done > 0).then(|| in_time as f64 / done as f64),
                    agents_needed: advice.and_then(|f| f.agents_needed),
                    arrivals_per_hour: advice.and_then(|f| f.arrivals_per_hour),
                    aht_secs: advice.map(|f| f.aht_secs),
                    patience_secs: advice.and_then(|f| f.patience_secs),
                });
                self.after_secs(self.p.sample_secs.max(1) as f64, Ev::Sample);
            }
        }
        self.drain();
        Ok(())
    }

    /// The workgroup an arriving visitor asks for: 0 is `default`, g + 1 is
    /// `groups[g]`.
    fn choose_group(&mut self) -> usize {
        if self.p.groups.is_empty() {
            return 0;
        }
        let mut u = uniform(&mut self.rng);
        for (g, group) in self.p.groups.iter().enumerate() {
            if u < group.share {
                return g + 1;
            }
            u -= group.share;
        }
        0
    }

    /// The bot plan of report group `group` (0 is `default`).
    fn bot_of(&self, group: usize) -> Option<&'p BotPlan> {
        let id = match group.checked_sub(1) {
            None => DEFAULT_WORKGROUP,
            Some(g) => self.p.groups.get(g)?.id.as_str(),
        };
        self.p.bots.iter().find(|b| b.workgroup.as_str() == id)
    }

    /// A visitor's talk with the bot ends: resolved (they close it), or
    /// they ask for a person one of the plan's ways.
    fn leave_bot(&mut self, session: SessionId) {
        let Some((_, _, group)) = self.with_bot.get(&session) else {
            return;
        };
        let Some(plan) = self.bot_of(*group) else {
            return;
        };
        let command = if uniform(&mut self.rng) < plan.resolved {
            Command::EndSession {
                session_id: session,
                by: Party::Customer,
            }
        } else {
            match plan.way(&mut self.rng) {
                HandoffWay::Keyword => Command::BotHear {
                    session_id: session,
                    text: "转人工".into(),
                    emotion: 0,
                },
                HandoffWay::Button => Command::BotEscalate {
                    session_id: session,
                },
                HandoffWay::Emotion => Command::BotHear {
                    session_id: session,
                    text: "this is useless!".into(),
                    emotion: 100,
                },
            }
        };
        self.apply(command);
    }

    /// Hands a call, halfway through, to the agent its workgroup would pick
    /// next; the call goes on for half a fresh handling time. With nobody
    /// Ready, the agent keeps it for that long.
    fn transfer(&mut self, session: SessionId) {
        let target = self
            .center
            .session(session.as_str())
            .and_then(|s| self.center.next_agent(s.workgroup.as_str()).ok().flatten());
        if let Some(target) = target {
            self.apply(Command::TransferSession {
                session_id: session.clone(),
                target_agent_id: target,
            });
        }
        let secs = self.p.handle.sample(&mut self.rng) / 2.0;
        self.after_secs(secs, Ev::HangUp(session));
    }

    /// An agent whose shift is over signs out once it holds no call.
    fn sign_out_if_free(&mut self, i: usize) {
        let agent = self.agents[i].0.clone();
        let free = self
            .center
            .agent(agent.as_str())
            .is_some_and(|a| a.load() == 0);
        if free && self.off_shift[i] {
            self.apply(Command::AgentOffline { agent_id: agent });
            if let Some(since) = self.on_since[i].take() {
                self.staffed_ms[i] += self.now.saturating_since(since).as_millis() as u64;
            }
        }
    }

    /// Plays the agents' and visitors' side of everything the core said.
    fn drain(&mut self) {
        self.r.max_queue = self.r.max_queue.max(self.center.queue_len());
        while let Some(e) = self.center.poll_event() {
            match (e.to, e.event) {
                (Recipient::Agent(agent), EventKind::IncomingCall { .. }) => {
                    let ring = self.p.ringing;
                    let u = uniform(&mut self.rng);
                    if u <= ring.reject {
                        self.after_secs(ring.answer_secs, Ev::Reject(agent));
                    } else if u <= ring.reject + ring.no_answer {
                        // Let it ring out: the core's accept timeout acts.
                    } else if ring.answer_secs <= 0.0 {
                        self.apply(Command::AcceptCall {
                            agent_id: agent,
                            media: Media::Audio,
                        });
                    } else {
                        self.after_secs(ring.answer_secs, Ev::Answer(agent));
                    }
                }
                (Recipient::Visitor(_), EventKind::CallAccepted { session_id, .. }) => {
                    if let Some(v) = self.waiting.remove(&session_id) {
                        let wait = self.now.saturating_since(v.joined);
                        let in_time = wait.as_secs_f64() <= self.p.threshold_secs;
                        if v.counted {
                            self.r.answered += 1;
                            self.r.waited += u64::from(!wait.is_zero());
                            self.r.answered_in_time += u64::from(in_time);
                            self.wait_ms_total += wait.as_millis() as u64;
                            let g = &mut self.r.workgroups[v.group];
                            g.answered += 1;
                            g.answered_in_time += u64::from(wait.as_secs_f64() <= g.threshold_secs);
                            g.wait_ms_total += wait.as_millis() as u64;
                        }
                        self.interval.0 += 1;
                        self.interval.1 += u64::from(in_time);
                    }
                    let secs = self.p.handle.sample(&mut self.rng);
                    // Accepted once per session: a transfer says call_transferred.
                    if uniform(&mut self.rng) < self.p.transfer {
                        self.after_secs(secs / 2.0, Ev::Transfer(session_id));
                    } else {
                        self.after_secs(secs, Ev::HangUp(session_id));
                    }
                }
                (
                    Recipient::Visitor(_),
                    EventKind::BotNotice {
                        session_id,
                        notice,
                        attempt,
                        ..
                    },
                ) => {
                    self.bot_notice(session_id, notice, attempt);
                }
                (Recipient::Visitor(_), EventKind::CallEnded { session_id, .. }) => {
                    self.with_bot.remove(&session_id);
                    if let Some(v) = self.waiting.remove(&session_id) {
                        if v.counted {
                            self.r.abandoned += 1;
                            self.r.waited += 1;
                            self.r.workgroups[v.group].abandoned += 1;
                        }
                        self.interval.0 += 1;
                    }
                }
                (Recipient::Agent(agent), EventKind::CallEnded { .. }) => {
                    if let Some(&i) = self.index.get(&agent) {
                        self.sign_out_if_free(i);
                    }
                }
                (Recipient::Agent(_), EventKind::RingTimeout { .. }) => self.r.ring_timeouts += 1,
                (Recipient::Agent(agent), EventKind::AgentNoAnswer { .. }) => {
                    self.after_secs(60.0, Ev::Back(agent));
                }
                _ => {}
            }
        }
    }

    /// The bot hands a visitor over (they start waiting, counted as an
    /// arrival the first time, and may lose patience), takes them back
    /// (an attempt found nobody: the wait so far was lost), or falls back
    /// (they leave a message).
    fn bot_notice(&mut self, session: SessionId, notice: Notice, attempt: u32) {
        match notice {
            Notice::Transferring => {
                let Some((visitor, counted, group)) = self.with_bot.remove(&session) else {
                    return;
                };
                let counted = counted && attempt == 1;
                if counted {
                    self.r.arrivals += 1;
                    self.r.workgroups[group].arrivals += 1;
                }
                let visit = Visit {
                    joined: self.now,
                    counted,
                    group,
                };
                self.waiting.insert(session, visit);
                if let Some(patience) = self.p.patience {
                    let secs = patience.sample(&mut self.rng);
                    self.after_secs(secs, Ev::Abandon(visitor));
                }
            }
            Notice::Retrying | Notice::Fallback => {
                if let Some(v) = self.waiting.remove(&session) {
                    if v.counted {
                        self.r.abandoned += 1;
                        self.r.workgroups[v.group].abandoned += 1;
                    }
                    let visitor = self
                        .center
                        .session(session.as_str())
                        .map(|s| s.customer_id.clone());
                    if let Some(visitor) = visitor {
                        self.with_bot
                            .insert(session.clone(), (visitor, false, v.group));
                    }
                }
                if notice == Notice::Fallback {
                    self.apply(Command::BotHear {
                        session_id: session,
                        text: "please call me back".into(),
                        emotion: 0,
                    });
                }
            }
            Notice::TicketSaved | Notice::Resumed => {}
        }
    }

    fn finish(mut self) -> Report {
        let now = self.now;
        let stats = self.center.stats();
        let mut talk_total = 0u64;
        let mut staffed_total = 0u64;
        let mut utilization = Vec::with_capacity(self.agents.len());
        for (i, (id, _)) in self.agents.iter().enumerate() {
            let staffed = self.staffed_ms[i]
                + self.on_since[i].map_or(0, |s| now.saturating_since(s).as_millis() as u64);
            let talk = self.center.agent(id.as_str()).map_or(0, |a| a.talk_ms(now));
            talk_total += talk;
            staffed_total += staffed;
            utilization.push((id.to_string(), ratio(talk, staffed)));
        }
        let r = &mut self.r;
        r.service_level = ratio(r.answered_in_time, r.arrivals);
        r.p_wait = ratio(r.waited, r.arrivals);
        r.abandon_rate = ratio(r.abandoned, r.arrivals);
        r.asa_secs = mean_secs(self.wait_ms_total, r.answered);
        r.occupancy = ratio(talk_total, staffed_total);
        r.utilization = utilization;
        for g in &mut r.workgroups {
            g.service_level = ratio(g.answered_in_time, g.arrivals);
            g.abandon_rate = ratio(g.abandoned, g.arrivals);
            g.asa_secs = mean_secs(g.wait_ms_total, g.answered);
        }
        r.rejects = stats.totals.rejects;
        r.transfers = stats.totals.transfers;
        r.hours = now.saturating_since(START).as_secs_f64() / 3600.0;
        r.bots = self
            .p
            .bots
            .iter()
            .filter_map(|b| self.center.bot_stats(b.workgroup.as_str()).ok())
            .collect();
        self.r
    }
}

/// `part / whole`; 0 when `whole` is.
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The mean of `count` durations totalling `total_ms`, in seconds; 0 for none.
fn mean_secs(total_ms: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total_ms as f64 / 1000.0 / count as f64
    }
}
