//! "What if" replays of a center's real traffic: the journal's arrivals
//! played again through the real core with changed settings (more or
//! fewer agents, another routing mode, another wrap-up), reported beside
//! what actually happened.
//!
//! Two passes over one replay loop, measured by one observer:
//!
//! 1. **Actual**: the journal's records, verbatim, at their times (as
//!    recovery replays them). Besides the figures, this pass reads off each
//!    visitor's trace: when they joined, after how long they gave up, how
//!    long their call lasted once answered, when it was transferred; and
//!    each ring's outcome (answered or declined after how long, or let ring).
//! 2. **What if**: the journal's records that are not the visitors' flow
//!    (agents signing in and out, breaks, settings), changed as asked, and
//!    the visitors replayed from their traces: each joins at the same time,
//!    gives up at the same patience, talks for the same time once answered,
//!    and an agent rung answers as it did for that visitor, or else as it
//!    did on its other rings. What the journal cannot say (the patience of a
//!    visitor who was answered, the call length of one who gave up) is drawn
//!    from the observed distributions with a seed: patience as the observed
//!    wait plus an exponential remainder with the mean the journal shows.
//!
//! A visitor a bot met first says and does with it what they did (the
//! journal's bot records, replayed on the new session at the same times),
//! so the bot decides again, and hands over when it would; their wait, and
//! their place in the figures, starts at the handoff. Visitors the bot
//! resolved never reach an agent and are not counted.
//!
//! With no change the second pass issues the same commands at the same
//! times in the same order, so the core decides the same: the figures are
//! equal, which is the test that the replay is faithful.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::Duration;

use serde::Serialize;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentId, AgentState, Center, Command, EventKind, Media, Membership, Party, Prng, Recipient,
    Reply, SessionId, Timestamp, VisitorId, WorkgroupId, DEFAULT_WORKGROUP,
};
use switchboard_store::Record;

use crate::dist::exponential;

/// How the replay differs from what happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    /// Agents added (positive) or taken away (negative) in every group.
    pub agents: i64,
    /// Agents serving each named group.
    pub groups: Vec<(WorkgroupId, Size)>,
    /// Every group's routing mode.
    pub routing: Option<RoutingMode>,
    /// After-call work, seconds.
    pub wrap_up_secs: Option<u64>,
}

/// A group's agents: exactly so many, or so many more or fewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Exactly this many.
    Set(u32),
    /// This many more (or fewer).
    Delta(i64),
}

/// What to replay and how.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ask {
    /// Count visitors who joined at or after this time (all by default).
    pub from: Option<Timestamp>,
    /// ...and before this time.
    pub to: Option<Timestamp>,
    /// The change.
    pub change: Change,
    /// Fixes the draws for what the journal does not hold.
    pub seed: u64,
}

/// One side's figures, for one group or all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Visitors who joined in the window.
    pub arrivals: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Answered within their group's threshold.
    pub answered_in_time: u64,
    /// Gave up or timed out before an answer.
    pub abandoned: u64,
    /// `answered_in_time / arrivals`.
    pub service_level: f64,
    /// Mean wait of the answered, seconds.
    pub asa_secs: f64,
    /// `abandoned / arrivals`.
    pub abandon_rate: f64,
    /// Talk time over signed-in time inside the window, of all agents for
    /// the whole center, of its members (as the replay ends) for a group:
    /// an agent in two groups counts in both, with all its calls.
    pub occupancy: Option<f64>,
    #[serde(skip)]
    wait_ms: u64,
}

/// One group, both sides.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// The workgroup (`all` for the whole center).
    pub workgroup_id: String,
    /// What happened.
    pub actual: Figures,
    /// What would have happened.
    pub whatif: Figures,
    /// `whatif - actual` service level, in points of share.
    pub service_level_change: f64,
    /// `whatif - actual` ASA, seconds.
    pub asa_change_secs: f64,
    /// `whatif - actual` abandonment, in points of share.
    pub abandon_change: f64,
}

/// Service level per hour of joining, both sides.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Hours since the window's start.
    pub hour: u64,
    /// Arrivals that hour.
    pub arrivals: u64,
    /// Actual service level of that hour's arrivals.
    pub actual: f64,
    /// What-if service level of that hour's arrivals.
    pub whatif: f64,
}

/// The replay's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Window start, ms since the epoch.
    pub from_ms: u64,
    /// Window end (exclusive), ms since the epoch.
    pub to_ms: u64,
    /// The seed of the draws.
    pub seed: u64,
    /// The change, in words.
    pub change: String,
    /// Agents added by the change.
    pub agents_added: u32,
    /// Agents whose records were left out by the change.
    pub agents_removed: Vec<String>,
    /// Records of the journal that the changed center refused (an agent's
    /// break that no longer fits, a manual assignment of a visitor who is
    /// gone): left out.
    pub records_refused: u64,
    /// Visitors whose call length or patience was drawn.
    pub drawn: u64,
    /// The whole center first, then each group.
    pub groups: Vec<GroupReport>,
    /// Service level per hour.
    pub series: Vec<Point>,
    /// Calls each agent answered, both sides, by agent id.
    pub answered_by: Vec<AgentCalls>,
}

/// One agent's answered calls, both sides.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentCalls {
    /// The agent.
    pub agent_id: String,
    /// Answered in fact (0 for an added agent).
    pub actual: u64,
    /// Answered in the replay (0 for an agent left out).
    pub whatif: u64,
}

/// Why a replay cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// The file is not a readable Switchboard journal.
    #[error(transparent)]
    Store(#[from] switchboard_store::StoreError),
    /// Nobody joined in the window.
    #[error("no visitor joined from {} to {}", Timestamp::from_millis(*.from), Timestamp::from_millis(*.to))]
    EmptyWindow {
        /// Start, ms.
        from: u64,
        /// End, ms.
        to: u64,
    },
    /// A change that cannot apply to this journal.
    #[error("{0}")]
    Change(String),
    /// The journal does not replay (it is corrupt).
    #[error("the journal does not replay: {0}")]
    Replay(String),
}

/// Replays the journal at `path` as asked.
pub fn from_journal(path: &std::path::Path, ask: &Ask) -> Result<Report, WhatIfError> {
    let (seed, records) = switchboard_store::Store::read_records(path)?;
    replay(seed, records, ask)
}

/// What one ring came to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Accept { after_ms: u64, media: Media },
    Reject { after_ms: u64 },
    Lapse,
}

/// What the journal says of one visitor.
#[derive(Clone, Debug)]
struct Visit {
    seq: u64,
    at: Timestamp,
    join: Command,
    group: WorkgroupId,
    /// Join to leave, and the leave's sequence, for one who gave up.
    left: Option<(u64, u64)>,
    /// Removed by the core's queue timeout.
    timed_out: bool,
    /// Join to answer, for one who was answered.
    waited: Option<u64>,
    /// Answer to end, who ended it and the end's sequence (None: the core).
    handle: Option<(u64, Party, Option<u64>)>,
    /// Answer to transfer, the target and the sequence.
    transfers: Vec<(u64, AgentId, u64)>,
    /// Ring outcomes per agent, in order, with the answer's sequence.
    rings: HashMap<AgentId, VecDeque<(Outcome, Option<u64>)>>,
    /// For a visitor a bot met first, what they said and did with it: the
    /// journal's records about their session while with the bot, with
    /// their times and sequences.
    bot: Option<Vec<(Timestamp, u64, Command)>>,
}

/// A visitor during a pass.
#[derive(Clone, Debug, Default)]
struct Live {
    session: Option<SessionId>,
    joined: Option<Timestamp>,
    answered: Option<Timestamp>,
    ended: bool,
}

/// An action at a time; ties go by `key` (the journal's sequence for what
/// the journal did, after it for what is drawn), then by insertion.
#[derive(Clone, Debug)]
enum Action {
    Record(Record),
    Join(usize),
    Leave(usize),
    Answer(usize, AgentId, Outcome),
    End(usize, Party),
    Transfer(usize, AgentId),
    /// A visitor's step with the bot, on their session of this pass.
    Bot(usize, Command),
    /// An agent set aside for missed rings comes back.
    Back(AgentId),
    Mark,
}

/// Keys of actions the journal does not hold: after every record at the
/// same millisecond.
const DRAWN: u64 = u64::MAX / 2;

/// Which pass, and what it needs.
enum Mode {
    /// Records verbatim; the traces are read off.
    Actual {
        visits: Vec<Visit>,
        /// Each ringing agent's visitor and ring start.
        ringing: HashMap<AgentId, (usize, Timestamp)>,
        returns: Returns,
    },
    /// Visitors from their traces.
    WhatIf(Box<Model>),
}

/// Agents set aside by the core for missed rings, and how long each took
/// to come back (the journal's `AgentAvailable` after it).
#[derive(Clone, Debug, Default)]
struct Returns {
    /// Set aside since.
    away: HashMap<AgentId, Timestamp>,
    /// Per agent, in order: away for how long, and the return's sequence.
    taken: HashMap<AgentId, VecDeque<(u64, u64)>>,
    /// The sequences of those returns: the second pass draws its own.
    seqs: BTreeSet<u64>,
}

/// The traces and the observed distributions for the second pass.
struct Model {
    visits: Vec<Visit>,
    rng: Prng,
    /// Mean patience (time at risk over abandonments), if anyone gave up.
    patience_secs: Option<f64>,
    /// Observed call lengths per group, and all.
    handles: BTreeMap<WorkgroupId, Vec<u64>>,
    all_handles: Vec<u64>,
    /// Observed ring outcomes per agent, and all.
    agent_rings: HashMap<AgentId, Vec<Outcome>>,
    all_rings: Vec<Outcome>,
    /// Returns after missed rings, per agent in order; and all of them.
    returns: HashMap<AgentId, VecDeque<(u64, u64)>>,
    all_returns: Vec<u64>,
    drawn: u64,
}

/// One pass of the replay loop, measured the same way in both.
struct Pass {
    center: Option<Center>,
    seed: u64,
    mode: Mode,
    heap: BinaryHeap<Reverse<(Timestamp, u64, u64, usize)>>,
    actions: Vec<Option<Action>>,
    counter: u64,
    now: Timestamp,
    window: (Timestamp, Timestamp),
    live: Vec<Live>,
    by_session: HashMap<SessionId, usize>,
    /// Signed in since, per agent; signed-in ms inside the window so far.
    on_since: BTreeMap<AgentId, Timestamp>,
    staffed_ms: BTreeMap<AgentId, u64>,
    talk_at_mark: BTreeMap<AgentId, u64>,
    refused: u64,
    /// Visitors the bot met first, by visitor id (their leaving names them so).
    bot_visitors: HashMap<VisitorId, usize>,
}

impl Pass {
    fn new(seed: u64, window: (Timestamp, Timestamp), mode: Mode) -> Pass {
        Pass {
            center: None,
            seed,
            mode,
            heap: BinaryHeap::new(),
            actions: Vec::new(),
            counter: 0,
            now: Timestamp::EPOCH,
            window,
            live: Vec::new(),
            by_session: HashMap::new(),
            on_since: BTreeMap::new(),
            staffed_ms: BTreeMap::new(),
            talk_at_mark: BTreeMap::new(),
            refused: 0,
            bot_visitors: HashMap::new(),
        }
    }

    fn at(&mut self, t: Timestamp, key: Option<u64>, action: Action) {
        self.counter += 1;
        self.actions.push(Some(action));
        let key = key.unwrap_or(DRAWN + self.counter);
        self.heap
            .push(Reverse((t, key, self.counter, self.actions.len() - 1)));
    }

    /// Plays every action and the core's timers between them, in order,
    /// until no action is left.
    fn run(&mut self) -> Result<(), WhatIfError> {
        while let Some(Reverse((next, ..))) = self.heap.peek().copied() {
            let timer = self.center.as_ref().and_then(Center::poll_timeout);
            let action = match timer {
                Some(due) if due <= next => {
                    self.now = self.now.max(due);
                    if let Some(c) = self.center.as_mut() {
                        c.handle_timeout(due);
                    }
                    None
                }
                _ => {
                    let Some(Reverse((t, key, _, i))) = self.heap.pop() else {
                        break;
                    };
                    self.now = self.now.max(t);
                    self.actions[i].take().map(|a| (key, a))
                }
            };
            let seq = action.as_ref().map(|(k, _)| *k).filter(|k| *k < DRAWN);
            if let Some((_, a)) = action {
                self.act(a, seq)?;
            }
            while let Some(e) = self.center.as_mut().and_then(Center::poll_event) {
                self.observe(seq, e.to, e.event);
            }
        }
        Ok(())
    }

    fn apply(&mut self, cmd: Command) -> Result<Reply, String> {
        let now = self.now;
        let c = self
            .center
            .as_mut()
            .ok_or("a command before any settings")?;
        c.apply(now, cmd).map_err(|e| e.to_string())
    }

    fn act(&mut self, action: Action, seq: Option<u64>) -> Result<(), WhatIfError> {
        let now = self.now;
        match action {
            Action::Record(Record::Config(config)) => match self.center.as_mut() {
                None => {
                    let c = Center::new(config, self.seed)
                        .map_err(|e| WhatIfError::Replay(e.to_string()))?;
                    self.center = Some(c);
                }
                Some(c) => {
                    c.handle_timeout(now);
                    if let Err(e) = c.reconfigure(config) {
                        self.refuse(e.to_string())?;
                    }
                }
            },
            Action::Record(Record::Command(cmd)) => self.record(cmd, seq)?,
            Action::Record(Record::Tick) => {
                if let Some(c) = self.center.as_mut() {
                    c.handle_timeout(now);
                }
            }
            Action::Join(v) => {
                let join = match &self.mode {
                    Mode::WhatIf(m) => m.visits[v].join.clone(),
                    Mode::Actual { .. } => return Ok(()),
                };
                match self.apply(join) {
                    Ok(reply) => {
                        self.joined(v, &reply);
                        if let Mode::WhatIf(m) = &self.mode {
                            let steps = m.visits[v].bot.clone().unwrap_or_default();
                            for (t, seq, cmd) in steps {
                                self.at(t, Some(seq), Action::Bot(v, cmd));
                            }
                        }
                    }
                    Err(e) => self.refuse(e)?,
                }
            }
            Action::Bot(v, cmd) => {
                let Some(sid) = self.open_session(v) else {
                    return Ok(());
                };
                if let Err(e) = self.apply(with_session(cmd, sid)) {
                    self.refuse(e)?;
                }
            }
            Action::Leave(v) => {
                let l = &self.live[v];
                if let (Some(sid), None, false) = (&l.session, l.answered, l.ended) {
                    let visitor = self
                        .center
                        .as_ref()
                        .and_then(|c| c.session(sid.as_str()))
                        .map(|s| s.customer_id.clone());
                    if let Some(visitor_id) = visitor {
                        let _ = self.apply(Command::LeaveQueue { visitor_id });
                    }
                }
            }
            Action::Answer(v, agent, outcome) => {
                let Some(sid) = self.live[v].session.clone() else {
                    return Ok(());
                };
                // Only the ring this answer was drawn for.
                let rung = self
                    .center
                    .as_ref()
                    .and_then(|c| c.agent(agent.as_str()))
                    .is_some_and(|a| a.offer.as_ref() == Some(&sid));
                if rung {
                    let _ = self.apply(match outcome {
                        Outcome::Accept { media, .. } => Command::AcceptCall {
                            agent_id: agent,
                            media,
                        },
                        _ => Command::RejectCall { agent_id: agent },
                    });
                }
            }
            Action::End(v, by) => {
                if let Some(sid) = self.open_session(v) {
                    let _ = self.apply(Command::EndSession {
                        session_id: sid,
                        by,
                    });
                }
            }
            Action::Transfer(v, target) => {
                if let Some(sid) = self.open_session(v) {
                    let _ = self.apply(Command::TransferSession {
                        session_id: sid,
                        target_agent_id: target,
                    });
                }
            }
            Action::Back(agent_id) => {
                let _ = self.apply(Command::AgentAvailable { agent_id });
            }
            Action::Mark => {
                if let Some(c) = self.center.as_ref() {
                    for a in c.agents() {
                        self.talk_at_mark.insert(a.id.clone(), a.talk_ms(now));
                        if a.state != AgentState::Offline {
                            self.on_since.insert(a.id.clone(), now);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// In the first pass, the visitor a record is a bot step of: a bot
    /// command about their session, or their leaving while still with it.
    fn with_bot(&self, cmd: &Command) -> Option<usize> {
        let Mode::Actual { visits, .. } = &self.mode else {
            return None;
        };
        let v = match cmd {
            Command::BotHear { session_id, .. }
            | Command::BotReply { session_id, .. }
            | Command::BotEscalate { session_id }
            | Command::BotRefuse { session_id }
            | Command::EndSession { session_id, .. } => *self.by_session.get(session_id)?,
            Command::LeaveQueue { visitor_id } => *self.bot_visitors.get(visitor_id)?,
            _ => return None,
        };
        let leaving = matches!(cmd, Command::EndSession { .. } | Command::LeaveQueue { .. });
        let with_bot = self
            .live
            .get(v)
            .is_some_and(|l| l.joined.is_none() && !l.ended);
        (visits.get(v)?.bot.is_some() && (with_bot || !leaving)).then_some(v)
    }

    fn open_session(&self, v: usize) -> Option<SessionId> {
        let l = &self.live[v];
        l.session.clone().filter(|_| !l.ended)
    }

    /// A journal record: applied as is; in the actual pass, read into the
    /// traces.
    fn record(&mut self, cmd: Command, seq: Option<u64>) -> Result<(), WhatIfError> {
        let agent = agent_named(&cmd).cloned();
        let offer = agent.as_ref().and_then(|a| {
            let c = self.center.as_ref()?;
            c.agent(a.as_str())?.offer.clone()
        });
        let transfer = match &cmd {
            Command::TransferSession {
                session_id,
                target_agent_id,
            } => Some((session_id.clone(), target_agent_id.clone())),
            _ => None,
        };
        let join = matches!(
            cmd,
            Command::JoinQueue { .. } | Command::CreateSession { .. }
        )
        .then(|| cmd.clone());
        let accept = match &cmd {
            Command::AcceptCall { media, .. } => Some(*media),
            Command::RejectCall { .. } => None,
            _ => None,
        };
        let answering = matches!(cmd, Command::AcceptCall { .. } | Command::RejectCall { .. });
        let available = matches!(cmd, Command::AgentAvailable { .. });
        let with_bot = self.with_bot(&cmd);
        let joiner = match &cmd {
            Command::JoinQueue { visitor_id, .. } => Some(visitor_id.clone()),
            Command::CreateSession { customer_id, .. } => Some(customer_id.clone()),
            _ => None,
        };
        let step = with_bot.map(|v| (v, self.now, seq.unwrap_or(0), cmd.clone()));
        let reply = match self.apply(cmd) {
            Ok(reply) => reply,
            Err(e) => return self.refuse(e),
        };
        if let Some(agent) = &agent {
            self.staffing(agent);
        }
        let now = self.now;
        let seq = seq.unwrap_or(0);
        let Mode::Actual {
            visits,
            ringing,
            returns,
        } = &mut self.mode
        else {
            return Ok(());
        };
        if let Some((v, at, seq, cmd)) = step {
            if let Some(steps) = visits[v].bot.as_mut() {
                steps.push((at, seq, cmd));
            }
        }
        if available {
            if let Some(agent) = &agent {
                if let Some(since) = returns.away.remove(agent) {
                    let away = now.saturating_since(since).as_millis() as u64;
                    returns
                        .taken
                        .entry(agent.clone())
                        .or_default()
                        .push_back((away, seq));
                    returns.seqs.insert(seq);
                }
            }
        }
        if let Some(join) = join {
            let (Reply::Queued { session_id, .. }
            | Reply::Assigned { session_id, .. }
            | Reply::WithBot { session_id }) = &reply
            else {
                return Ok(());
            };
            let group = self
                .center
                .as_ref()
                .and_then(|c| c.session(session_id.as_str()))
                .map_or_else(|| DEFAULT_WORKGROUP.into(), |s| s.workgroup.clone());
            visits.push(Visit {
                seq,
                at: now,
                join,
                group,
                left: None,
                timed_out: false,
                waited: None,
                handle: None,
                transfers: Vec::new(),
                rings: HashMap::new(),
                bot: matches!(reply, Reply::WithBot { .. }).then(Vec::new),
            });
            let v = visits.len() - 1;
            if let (Reply::WithBot { .. }, Some(visitor)) = (&reply, joiner) {
                self.bot_visitors.insert(visitor, v);
            }
            self.joined(v, &reply);
            return Ok(());
        }
        if answering {
            if let (Some(agent), Some(_)) = (agent, offer) {
                if let Some((v, since)) = ringing.remove(&agent) {
                    let after_ms = now.saturating_since(since).as_millis() as u64;
                    let outcome = match accept {
                        Some(media) => Outcome::Accept { after_ms, media },
                        None => Outcome::Reject { after_ms },
                    };
                    visits[v]
                        .rings
                        .entry(agent)
                        .or_default()
                        .push_back((outcome, Some(seq)));
                }
            }
        }
        if let Some((sid, target)) = transfer {
            if let Some(&v) = self.by_session.get(&sid) {
                if let Some(answered) = self.live[v].answered {
                    let after = now.saturating_since(answered).as_millis() as u64;
                    visits[v].transfers.push((after, target, seq));
                }
            }
        }
        Ok(())
    }

    fn refuse(&mut self, why: String) -> Result<(), WhatIfError> {
        if matches!(self.mode, Mode::Actual { .. }) {
            return Err(WhatIfError::Replay(why));
        }
        self.refused += 1;
        Ok(())
    }

    /// Visitor `v`'s join was answered: queued or rung at once (they wait
    /// from now), or with the bot (they wait from its handoff).
    fn joined(&mut self, v: usize, reply: &Reply) {
        let (Reply::Queued { session_id, .. }
        | Reply::Assigned { session_id, .. }
        | Reply::WithBot { session_id }) = reply
        else {
            return;
        };
        if self.live.len() <= v {
            self.live.resize(v + 1, Live::default());
        }
        self.live[v].session = Some(session_id.clone());
        self.by_session.insert(session_id.clone(), v);
        if !matches!(reply, Reply::WithBot { .. }) {
            self.queued(v);
        }
    }

    /// Visitor `v` starts waiting for an agent now.
    fn queued(&mut self, v: usize) {
        self.live[v].joined = Some(self.now);
        let joined = self.now;
        if let Mode::WhatIf(m) = &mut self.mode {
            if let Some((patience, key)) = m.patience(v) {
                self.at(joined.saturating_add(ms(patience)), key, Action::Leave(v));
            }
        }
    }

    /// Reacts to what the core said: measures, reads traces (actual) or
    /// schedules the visitors' and agents' next steps (what if).
    fn observe(&mut self, seq: Option<u64>, to: Recipient, event: EventKind) {
        let now = self.now;
        match (to, event) {
            (Recipient::Staff, EventKind::BotHandoff { session_id, .. }) => {
                let Some(&v) = self.by_session.get(&session_id) else {
                    return;
                };
                if self.live[v].joined.is_none() && !self.live[v].ended {
                    self.queued(v);
                }
            }
            (Recipient::Agent(agent), EventKind::IncomingCall { session_id, .. }) => {
                let Some(&v) = self.by_session.get(&session_id) else {
                    return;
                };
                match &mut self.mode {
                    Mode::Actual {
                        visits, ringing, ..
                    } => {
                        // A ring still open was withdrawn unanswered.
                        if let Some((old, _)) = ringing.insert(agent.clone(), (v, now)) {
                            lapsed(visits, old, agent);
                        }
                    }
                    Mode::WhatIf(m) => {
                        let (outcome, key) = m.ring(v, &agent);
                        let after = match outcome {
                            Outcome::Accept { after_ms, .. } | Outcome::Reject { after_ms } => {
                                after_ms
                            }
                            Outcome::Lapse => return,
                        };
                        self.at(
                            now.saturating_add(ms(after)),
                            key,
                            Action::Answer(v, agent, outcome),
                        );
                    }
                }
            }
            (Recipient::Agent(agent), EventKind::RingTimeout { .. }) => {
                if let Mode::Actual {
                    visits, ringing, ..
                } = &mut self.mode
                {
                    if let Some((v, _)) = ringing.remove(&agent) {
                        lapsed(visits, v, agent);
                    }
                }
            }
            (Recipient::Agent(agent), EventKind::AgentNoAnswer { .. }) => match &mut self.mode {
                Mode::Actual { returns, .. } => {
                    returns.away.insert(agent, now);
                }
                Mode::WhatIf(m) => {
                    let (away, key) = m.back(&agent);
                    self.at(now.saturating_add(ms(away)), key, Action::Back(agent));
                }
            },
            (Recipient::Visitor(_), EventKind::CallAccepted { session_id, .. }) => {
                let Some(&v) = self.by_session.get(&session_id) else {
                    return;
                };
                if self.live[v].answered.is_some() {
                    return;
                }
                self.live[v].answered = Some(now);
                let joined = self.live[v].joined.unwrap_or(now);
                if let Mode::Actual { visits, .. } = &mut self.mode {
                    visits[v].waited = Some(now.saturating_since(joined).as_millis() as u64);
                }
                if let Mode::WhatIf(m) = &mut self.mode {
                    let end = m.handle(v);
                    let transfers = m.visits[v].transfers.clone();
                    if let Some((handle, by, key)) = end {
                        self.at(now.saturating_add(ms(handle)), key, Action::End(v, by));
                    }
                    for (after, target, key) in transfers {
                        self.at(
                            now.saturating_add(ms(after)),
                            Some(key),
                            Action::Transfer(v, target),
                        );
                    }
                }
            }
            (
                Recipient::Visitor(_),
                EventKind::CallEnded {
                    session_id,
                    ended_by,
                    ..
                },
            ) => {
                let Some(&v) = self.by_session.get(&session_id) else {
                    return;
                };
                let l = &mut self.live[v];
                l.ended = true;
                if l.joined.is_none() {
                    return; // ended with the bot, never waiting for an agent
                }
                let (joined, answered) = (l.joined.unwrap_or(now), l.answered);
                if let Mode::Actual {
                    visits, ringing, ..
                } = &mut self.mode
                {
                    // Rings open when the visitor went were not answered.
                    let open: Vec<AgentId> = ringing
                        .iter()
                        .filter(|(_, (rung, _))| *rung == v)
                        .map(|(agent, _)| agent.clone())
                        .collect();
                    for agent in open {
                        ringing.remove(&agent);
                        lapsed(visits, v, agent);
                    }
                    let visit = &mut visits[v];
                    match (answered, seq) {
                        (Some(a), _) => {
                            let talk = now.saturating_since(a).as_millis() as u64;
                            visit.handle = Some((talk, ended_by, seq));
                        }
                        (None, Some(seq)) => {
                            let waited = now.saturating_since(joined).as_millis() as u64;
                            visit.left = Some((waited, seq));
                        }
                        (None, None) => visit.timed_out = true,
                    }
                }
            }
            _ => {}
        }
    }

    /// Keeps the signed-in time of `agent` inside the window.
    fn staffing(&mut self, agent: &AgentId) {
        let on = self
            .center
            .as_ref()
            .and_then(|c| c.agent(agent.as_str()))
            .is_some_and(|a| a.state != AgentState::Offline);
        match (on, self.on_since.get(agent).copied()) {
            (true, None) => {
                self.on_since.insert(agent.clone(), self.now);
            }
            (false, Some(since)) => {
                self.on_since.remove(agent);
                let ms = self.clipped(since, self.now);
                *self.staffed_ms.entry(agent.clone()).or_default() += ms;
            }
            _ => {}
        }
    }

    fn clipped(&self, from: Timestamp, to: Timestamp) -> u64 {
        let (a, b) = (from.max(self.window.0), to.min(self.window.1));
        b.saturating_since(a).as_millis() as u64
    }

    /// `agent`'s signed-in time inside the window, up to `end`.
    fn staffed(&self, agent: &AgentId, end: Timestamp) -> u64 {
        let open = self
            .on_since
            .get(agent)
            .map_or(0, |s| self.clipped(*s, end));
        self.staffed_ms.get(agent).copied().unwrap_or(0) + open
    }

    /// Talk time over signed-in time inside the window, up to `last`, the
    /// journal's last record (the same end for both passes), of the agents
    /// in group `g` as the pass ends (all agents for None).
    fn occupancy(&self, last: Timestamp, g: Option<&WorkgroupId>) -> Option<f64> {
        let c = self.center.as_ref()?;
        let end = last.min(self.window.1);
        let (mut talk, mut staffed) = (0u64, 0u64);
        for a in c.agents() {
            if g.is_some_and(|g| !a.workgroups.contains_key(g)) {
                continue;
            }
            let before = self.talk_at_mark.get(&a.id).copied().unwrap_or(0);
            talk += a.talk_ms(end).saturating_sub(before);
            staffed += self.staffed(&a.id, end);
        }
        (staffed > 0).then(|| talk as f64 / staffed as f64)
    }
}

/// Notes that `agent` let visitor `v`'s ring go unanswered.
fn lapsed(visits: &mut [Visit], v: usize, agent: AgentId) {
    let rings = visits[v].rings.entry(agent).or_default();
    rings.push_back((Outcome::Lapse, None));
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

impl Model {
    /// A visitor's patience from joining, and the key of the leave: the
    /// journal's for one who gave up; for one who was answered, the wait
    /// they had plus a drawn remainder (exponential, so the draw does not
    /// depend on how long they had waited).
    fn patience(&mut self, v: usize) -> Option<(u64, Option<u64>)> {
        let visit = &self.visits[v];
        if let Some((waited, seq)) = visit.left {
            return Some((waited, Some(seq)));
        }
        if visit.timed_out {
            return None;
        }
        let mean = self.patience_secs?;
        // Answered: they waited at least as long as they did.
        let waited = visit.waited.unwrap_or(0);
        self.drawn += 1;
        let extra = exponential(&mut self.rng, mean) * 1000.0;
        Some((waited + extra.round() as u64, None))
    }

    /// How long visitor `v` talks once answered, who hangs up, and the
    /// key; None for a call still going when the journal ends.
    fn handle(&mut self, v: usize) -> Option<(u64, Party, Option<u64>)> {
        let visit = &self.visits[v];
        if let Some(handle) = visit.handle {
            return Some(handle);
        }
        if visit.waited.is_some() {
            return None;
        }
        self.drawn += 1;
        let pool = self
            .handles
            .get(&self.visits[v].group)
            .filter(|p| !p.is_empty())
            .unwrap_or(&self.all_handles);
        let talk = if pool.is_empty() {
            180_000
        } else {
            pool[self.rng.below(pool.len() as u64) as usize]
        };
        Some((talk, Party::Agent, None))
    }

    /// How long `agent`, set aside for missed rings, stays away: as long as
    /// it did the same time in fact, else the median of all returns (60 s
    /// if there were none).
    fn back(&mut self, agent: &AgentId) -> (u64, Option<u64>) {
        if let Some((away, seq)) = self.returns.get_mut(agent).and_then(VecDeque::pop_front) {
            return (away, Some(seq));
        }
        let median = self.all_returns.get(self.all_returns.len() / 2);
        (median.copied().unwrap_or(60_000), None)
    }

    /// How `agent` answers a ring for visitor `v`: as it did for that
    /// visitor, else as it did on one of its rings, else as anyone did.
    fn ring(&mut self, v: usize, agent: &AgentId) -> (Outcome, Option<u64>) {
        if let Some(next) = self.visits[v]
            .rings
            .get_mut(agent)
            .and_then(VecDeque::pop_front)
        {
            return next;
        }
        let pool = self
            .agent_rings
            .get(agent)
            .filter(|p| !p.is_empty())
            .unwrap_or(&self.all_rings);
        if pool.is_empty() {
            return (
                Outcome::Accept {
                    after_ms: 0,
                    media: Media::Video,
                },
                None,
            );
        }
        (pool[self.rng.below(pool.len() as u64) as usize], None)
    }
}

/// Replays `records` (a journal made with `seed`) as asked.
pub fn replay(
    seed: u64,
    records: Vec<(Timestamp, Record)>,
    ask: &Ask,
) -> Result<Report, WhatIfError> {
    let joins: Vec<Timestamp> = records
        .iter()
        .filter(|(_, r)| matches!(r, Record::Command(c) if is_join(c)))
        .map(|(t, _)| *t)
        .collect();
    let from = ask
        .from
        .or_else(|| joins.first().copied())
        .unwrap_or(Timestamp::EPOCH);
    let to = ask
        .to
        .unwrap_or_else(|| joins.last().map_or(from, |t| t.saturating_add(ms(1))));
    if !joins.iter().any(|t| *t >= from && *t < to) {
        return Err(WhatIfError::EmptyWindow {
            from: from.as_millis(),
            to: to.as_millis(),
        });
    }
    let window = (from, to);
    let last = records.last().map_or(to, |(t, _)| *t);

    let mut actual = Pass::new(
        seed,
        window,
        Mode::Actual {
            visits: Vec::new(),
            ringing: HashMap::new(),
            returns: Returns::default(),
        },
    );
    actual.at(from, Some(0), Action::Mark);
    for (i, (t, r)) in records.iter().enumerate() {
        actual.at(*t, Some(i as u64 + 1), Action::Record(r.clone()));
    }
    actual.run()?;
    let (visits, returns) = match std::mem::replace(
        &mut actual.mode,
        Mode::Actual {
            visits: Vec::new(),
            ringing: HashMap::new(),
            returns: Returns::default(),
        },
    ) {
        Mode::Actual {
            visits, returns, ..
        } => (visits, returns),
        Mode::WhatIf(_) => (Vec::new(), Returns::default()),
    };

    let mut plan = Plan::new(&records, &ask.change)?;
    let model = Model::observe(visits.clone(), &returns, ask.seed);
    let mut whatif = Pass::new(seed, window, Mode::WhatIf(Box::new(model)));
    whatif.at(from, Some(0), Action::Mark);
    for (i, (t, r)) in records.into_iter().enumerate() {
        let seq = i as u64 + 1;
        if returns.seqs.contains(&seq) {
            continue;
        }
        if let Some(r) = plan.record(r) {
            whatif.at(t, Some(seq), Action::Record(r));
        }
    }
    for (v, visit) in visits.iter().enumerate() {
        whatif.at(visit.at, Some(visit.seq), Action::Join(v));
    }
    for cmd in plan.added() {
        whatif.at(from, Some(0), Action::Record(Record::Command(cmd)));
    }
    whatif.run()?;
    let drawn = match &whatif.mode {
        Mode::WhatIf(m) => m.drawn,
        Mode::Actual { .. } => 0,
    };
    let thresholds: BTreeMap<WorkgroupId, u64> = actual
        .center
        .as_ref()
        .map(|c| {
            c.workgroups()
                .map(|g| (g.id.clone(), g.settings.service_level_secs))
                .collect()
        })
        .unwrap_or_default();
    let a = Measure::of(&actual, &visits, &thresholds, last);
    let w = Measure::of(&whatif, &visits, &thresholds, last);
    let mut groups = vec![GroupReport::new("all", a.all.clone(), w.all.clone())];
    for (g, fig) in &a.groups {
        let other = w.groups.get(g).cloned().unwrap_or_default();
        groups.push(GroupReport::new(g.as_str(), fig.clone(), other));
    }
    let series = a
        .hours
        .iter()
        .zip(&w.hours)
        .enumerate()
        .map(|(hour, ((n, ia), (_, iw)))| Point {
            hour: hour as u64,
            arrivals: *n,
            actual: ratio(*ia, *n),
            whatif: ratio(*iw, *n),
        })
        .collect();
    let answered = |pass: &Pass| -> BTreeMap<String, u64> {
        pass.center.as_ref().map_or_else(BTreeMap::new, |c| {
            c.agents()
                .iter()
                .map(|a| (a.id.to_string(), a.stats.answered))
                .collect()
        })
    };
    let (by_a, by_w) = (answered(&actual), answered(&whatif));
    let ids: BTreeSet<&String> = by_a.keys().chain(by_w.keys()).collect();
    let answered_by = ids
        .into_iter()
        .map(|id| AgentCalls {
            agent_id: id.clone(),
            actual: by_a.get(id).copied().unwrap_or(0),
            whatif: by_w.get(id).copied().unwrap_or(0),
        })
        .collect();
    Ok(Report {
        answered_by,
        from_ms: from.as_millis(),
        to_ms: to.as_millis(),
        seed: ask.seed,
        change: ask.change.describe(),
        agents_added: plan.added,
        agents_removed: plan.removed.iter().map(ToString::to_string).collect(),
        records_refused: whatif.refused,
        drawn,
        groups,
        series,
    })
}

fn is_join(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::JoinQueue { .. } | Command::CreateSession { .. }
    )
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One pass's figures: the whole center, per group, per hour.
struct Measure {
    all: Figures,
    groups: BTreeMap<WorkgroupId, Figures>,
    /// Arrivals and answered in time per hour of the window.
    hours: Vec<(u64, u64)>,
}

impl Measure {
    fn of(
        pass: &Pass,
        visits: &[Visit],
        thresholds: &BTreeMap<WorkgroupId, u64>,
        last: Timestamp,
    ) -> Measure {
        let mut m = Measure {
            all: Figures::default(),
            groups: BTreeMap::new(),
            hours: Vec::new(),
        };
        let (from, to) = pass.window;
        for (v, visit) in visits.iter().enumerate() {
            if visit.at < from || visit.at >= to {
                continue;
            }
            let l = pass.live.get(v).cloned().unwrap_or_default();
            if visit.bot.is_some() && l.joined.is_none() {
                continue; // the bot's alone: no agent was asked
            }
            let threshold = thresholds.get(&visit.group).copied().unwrap_or(20) * 1000;
            let hour = (visit.at.saturating_since(from).as_secs() / 3600) as usize;
            if m.hours.len() <= hour {
                m.hours.resize(hour + 1, (0, 0));
            }
            m.hours[hour].0 += 1;
            let group = m.groups.entry(visit.group.clone()).or_default();
            for f in [&mut m.all, group] {
                f.arrivals += 1;
                match (l.answered, l.joined) {
                    (Some(a), Some(j)) => {
                        let wait = a.saturating_since(j).as_millis() as u64;
                        f.answered += 1;
                        f.wait_ms += wait;
                        f.answered_in_time += u64::from(wait <= threshold);
                    }
                    _ if l.ended => f.abandoned += 1,
                    _ => {}
                }
            }
            if let (Some(a), Some(j)) = (l.answered, l.joined) {
                m.hours[hour].1 += u64::from(a.saturating_since(j).as_millis() as u64 <= threshold);
            }
        }
        for f in std::iter::once(&mut m.all).chain(m.groups.values_mut()) {
            f.service_level = ratio(f.answered_in_time, f.arrivals);
            f.abandon_rate = ratio(f.abandoned, f.arrivals);
            f.asa_secs = if f.answered == 0 {
                0.0
            } else {
                f.wait_ms as f64 / 1000.0 / f.answered as f64
            };
        }
        m.all.occupancy = pass.occupancy(last, None);
        for (g, f) in &mut m.groups {
            f.occupancy = pass.occupancy(last, Some(g));
        }
        m
    }
}

impl GroupReport {
    fn new(id: &str, actual: Figures, whatif: Figures) -> GroupReport {
        GroupReport {
            workgroup_id: id.to_owned(),
            service_level_change: whatif.service_level - actual.service_level,
            asa_change_secs: whatif.asa_secs - actual.asa_secs,
            abandon_change: whatif.abandon_rate - actual.abandon_rate,
            actual,
            whatif,
        }
    }
}

impl Model {
    /// The second pass's model, from the first pass's traces.
    fn observe(visits: Vec<Visit>, returns: &Returns, seed: u64) -> Model {
        let (mut at_risk_ms, mut gave_up) = (0u64, 0u64);
        let mut handles: BTreeMap<WorkgroupId, Vec<u64>> = BTreeMap::new();
        let mut all_handles = Vec::new();
        let mut agent_rings: HashMap<AgentId, Vec<Outcome>> = HashMap::new();
        let mut all_rings = Vec::new();
        for visit in &visits {
            if let Some((waited, _)) = visit.left {
                at_risk_ms += waited;
                gave_up += 1;
            }
            at_risk_ms += visit.waited.unwrap_or(0);
            if let Some((talk, ..)) = visit.handle {
                handles.entry(visit.group.clone()).or_default().push(talk);
                all_handles.push(talk);
            }
            // In join order, then agent order: the pools' order is fixed.
            let mut agents: Vec<&AgentId> = visit.rings.keys().collect();
            agents.sort();
            for agent in agents {
                for (outcome, _) in &visit.rings[agent] {
                    agent_rings.entry(agent.clone()).or_default().push(*outcome);
                    all_rings.push(*outcome);
                }
            }
        }
        let mut all_returns: Vec<u64> = returns
            .taken
            .values()
            .flat_map(|q| q.iter().map(|(away, _)| *away))
            .collect();
        all_returns.sort_unstable();
        Model {
            returns: returns.taken.clone(),
            all_returns,
            visits,
            rng: Prng::new(seed),
            patience_secs: (gave_up > 0).then(|| at_risk_ms as f64 / 1000.0 / gave_up as f64),
            handles,
            all_handles,
            agent_rings,
            all_rings,
            drawn: 0,
        }
    }
}

impl Change {
    /// The change in words, for the report.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.agents != 0 {
            parts.push(format!("agents {:+}", self.agents));
        }
        for (g, size) in &self.groups {
            parts.push(match size {
                Size::Set(n) => format!("group {g}={n}"),
                Size::Delta(d) => format!("group {g}{d:+}"),
            });
        }
        if let Some(mode) = self.routing {
            parts.push(format!("routing {}", mode_name(mode)));
        }
        if let Some(w) = self.wrap_up_secs {
            parts.push(format!("wrap-up {w} s"));
        }
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// A routing mode as the API spells it.
pub fn mode_name(mode: RoutingMode) -> String {
    serde_json::to_value(mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// How the change applies to this journal's records: whose are left out,
/// who is added, what settings change.
struct Plan {
    removed: BTreeSet<AgentId>,
    /// Agents to add, each with its workgroups.
    adds: Vec<Vec<Membership>>,
    added: u32,
    routing: Option<RoutingMode>,
    wrap_up_secs: Option<u64>,
}

impl Plan {
    fn new(records: &[(Timestamp, Record)], change: &Change) -> Result<Plan, WhatIfError> {
        let mut agents: Vec<AgentId> = Vec::new();
        let mut memberships: HashMap<AgentId, Vec<WorkgroupId>> = HashMap::new();
        let mut groups: Vec<WorkgroupId> = vec![DEFAULT_WORKGROUP.into()];
        for (_, r) in records {
            match r {
                Record::Command(Command::RegisterAgent { agent_id, .. })
                    if !agents.contains(agent_id) =>
                {
                    agents.push(agent_id.clone());
                }
                Record::Command(Command::SetAgentWorkgroups {
                    agent_id,
                    workgroups,
                }) => {
                    let ids = workgroups.iter().map(|m| m.workgroup_id.clone()).collect();
                    memberships.insert(agent_id.clone(), ids);
                }
                Record::Command(Command::CreateWorkgroup { workgroup_id, .. }) => {
                    groups.push(workgroup_id.clone());
                }
                _ => {}
            }
        }
        let member_of = |a: &AgentId, g: &WorkgroupId| {
            memberships
                .get(a)
                .map_or(g.as_str() == DEFAULT_WORKGROUP, |m| m.contains(g))
        };
        let mut plan = Plan {
            removed: BTreeSet::new(),
            adds: Vec::new(),
            added: 0,
            routing: change.routing,
            wrap_up_secs: change.wrap_up_secs,
        };
        let everywhere: Vec<Membership> = groups
            .iter()
            .take(switchboard_core::MEMBERSHIPS_MAX)
            .map(|g| Membership {
                workgroup_id: g.clone(),
                level: 1,
            })
            .collect();
        plan.resize(&agents, change.agents, &everywhere, "agents")?;
        for (g, size) in &change.groups {
            if !groups.contains(g) {
                return Err(WhatIfError::Change(format!(
                    "--group: the journal has no workgroup {g:?}"
                )));
            }
            let members: Vec<AgentId> = agents
                .iter()
                .filter(|a| member_of(a, g) && !plan.removed.contains(*a))
                .cloned()
                .collect();
            let delta = match size {
                Size::Set(n) => i64::from(*n) - members.len() as i64,
                Size::Delta(d) => *d,
            };
            let only = vec![Membership {
                workgroup_id: g.clone(),
                level: 1,
            }];
            plan.resize(&members, delta, &only, &format!("group {g}"))?;
        }
        Ok(plan)
    }

    /// Adds `delta` agents with `memberships`, or leaves out the last
    /// `-delta` of `agents`.
    fn resize(
        &mut self,
        agents: &[AgentId],
        delta: i64,
        memberships: &[Membership],
        what: &str,
    ) -> Result<(), WhatIfError> {
        if delta < 0 {
            let n = delta.unsigned_abs() as usize;
            if n > agents.len() {
                return Err(WhatIfError::Change(format!(
                    "{what}: cannot take away {n} agents, the journal has {}",
                    agents.len()
                )));
            }
            self.removed
                .extend(agents[agents.len() - n..].iter().cloned());
        }
        for _ in 0..delta.max(0) {
            self.adds.push(memberships.to_vec());
        }
        Ok(())
    }

    /// The commands that add the new agents, Ready from the window's start.
    fn added(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        for (i, workgroups) in self.adds.iter().enumerate() {
            let agent_id = AgentId::from(format!("whatif-{:03}", i + 1));
            out.push(Command::RegisterAgent {
                agent_id: agent_id.clone(),
                agent_name: None,
            });
            out.push(Command::SetAgentWorkgroups {
                agent_id,
                workgroups: workgroups.clone(),
            });
        }
        self.added = self.adds.len() as u32;
        out
    }

    /// A journal record as the changed center sees it; None: left out.
    fn record(&self, r: Record) -> Option<Record> {
        match r {
            Record::Config(mut c) => {
                if let Some(mode) = self.routing {
                    c.routing_mode = mode;
                }
                if let Some(w) = self.wrap_up_secs {
                    c.wrap_up_secs = w;
                }
                c.max_agents = c.max_agents.saturating_add(self.adds.len());
                Some(Record::Config(c))
            }
            Record::Command(cmd) if is_flow(&cmd) => None,
            Record::Command(cmd) if agent_named(&cmd).is_some_and(|a| self.removed.contains(a)) => {
                None
            }
            Record::Command(Command::CreateWorkgroup {
                workgroup_id,
                mut settings,
            }) => {
                settings.routing_mode = self.routing.unwrap_or(settings.routing_mode);
                Some(Record::Command(Command::CreateWorkgroup {
                    workgroup_id,
                    settings,
                }))
            }
            Record::Command(Command::UpdateWorkgroup {
                workgroup_id,
                mut settings,
            }) => {
                settings.routing_mode = self.routing.unwrap_or(settings.routing_mode);
                Some(Record::Command(Command::UpdateWorkgroup {
                    workgroup_id,
                    settings,
                }))
            }
            other => Some(other),
        }
    }
}

/// Whether a command is the visitors' flow, which the second pass replays
/// from the traces rather than from the records.
fn is_flow(cmd: &Command) -> bool {
    is_join(cmd)
        || matches!(
            cmd,
            Command::LeaveQueue { .. }
                | Command::AcceptCall { .. }
                | Command::RejectCall { .. }
                | Command::EndSession { .. }
                | Command::TransferSession { .. }
                | Command::BotHear { .. }
                | Command::BotReply { .. }
                | Command::BotEscalate { .. }
                | Command::BotRefuse { .. }
        )
}

/// `cmd`, about the session `session` instead of the one it names (a bot
/// step replayed on the visitor's session of the second pass).
fn with_session(cmd: Command, session: SessionId) -> Command {
    match cmd {
        Command::BotHear { text, emotion, .. } => Command::BotHear {
            session_id: session,
            text,
            emotion,
        },
        Command::BotReply { turn, answer, .. } => Command::BotReply {
            session_id: session,
            turn,
            answer,
        },
        Command::BotEscalate { .. } => Command::BotEscalate {
            session_id: session,
        },
        Command::BotRefuse { .. } => Command::BotRefuse {
            session_id: session,
        },
        Command::EndSession { by, .. } => Command::EndSession {
            session_id: session,
            by,
        },
        other => other,
    }
}

/// The agent a command is about: for signed-in time, and to leave out the
/// records of agents the change takes away.
fn agent_named(cmd: &Command) -> Option<&AgentId> {
    match cmd {
        Command::RegisterAgent { agent_id, .. }
        | Command::AgentOffline { agent_id }
        | Command::AgentAvailable { agent_id }
        | Command::AgentNotReady { agent_id, .. }
        | Command::AcceptCall { agent_id, .. }
        | Command::RejectCall { agent_id }
        | Command::SetAgentWeight { agent_id, .. }
        | Command::SetAgentCapacity { agent_id, .. }
        | Command::SetAgentWorkgroups { agent_id, .. }
        | Command::AssignSession { agent_id, .. } => Some(agent_id),
        _ => None,
    }
}

/// `G=N`, `G=+N` or `G=-N`.
pub fn parse_group(text: &str) -> Result<(WorkgroupId, Size), String> {
    let bad = || format!("--group: {text:?} is not <workgroup>=<N|+N|-N>");
    let (g, n) = text.split_once('=').ok_or_else(bad)?;
    if g.is_empty() {
        return Err(bad());
    }
    let size = if n.starts_with(['+', '-']) {
        Size::Delta(n.parse().map_err(|_| bad())?)
    } else {
        Size::Set(n.parse().map_err(|_| bad())?)
    };
    Ok((g.into(), size))
}

impl Report {
    /// The report as a table for people.
    pub fn render(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let pts = |x: f64| format!("{:+.1} pts", x * 100.0);
        let mut out = format!(
            "what if: {}\nwindow: {} to {} ({:.1} h), seed {}\n",
            self.change,
            Timestamp::from_millis(self.from_ms),
            Timestamp::from_millis(self.to_ms),
            (self.to_ms - self.from_ms) as f64 / 3_600_000.0,
            self.seed
        );
        if self.agents_added > 0 {
            out += &format!("agents added: {}\n", self.agents_added);
        }
        if !self.agents_removed.is_empty() {
            out += &format!("agents left out: {}\n", self.agents_removed.join(", "));
        }
        out += &format!(
            "journal records the changed center refused: {}; visitors with a drawn call length or patience: {}\n\n",
            self.records_refused, self.drawn
        );
        out += &format!(
            "{:<16} {:<16} {:>10} {:>10} {:>12}\n",
            "workgroup", "", "actual", "what if", "change"
        );
        for g in &self.groups {
            let (a, w) = (&g.actual, &g.whatif);
            let rows = [
                (
                    "arrivals",
                    a.arrivals.to_string(),
                    w.arrivals.to_string(),
                    String::new(),
                ),
                (
                    "service level",
                    pct(a.service_level),
                    pct(w.service_level),
                    pts(g.service_level_change),
                ),
                (
                    "ASA",
                    format!("{:.1} s", a.asa_secs),
                    format!("{:.1} s", w.asa_secs),
                    format!("{:+.1} s", g.asa_change_secs),
                ),
                (
                    "abandoned",
                    pct(a.abandon_rate),
                    pct(w.abandon_rate),
                    pts(g.abandon_change),
                ),
            ];
            for (i, (k, x, y, d)) in rows.iter().enumerate() {
                let name = if i == 0 { g.workgroup_id.as_str() } else { "" };
                out += &format!("{name:<16} {k:<16} {x:>10} {y:>10} {d:>12}\n");
            }
            if let (Some(x), Some(y)) = (a.occupancy, w.occupancy) {
                out += &format!(
                    "{:<16} {:<16} {:>10} {:>10} {:>12}\n",
                    "",
                    "occupancy",
                    pct(x),
                    pct(y),
                    pts(y - x)
                );
            }
        }
        out
    }

    /// Service level by hour of joining, actual (grey) and what if (blue).
    pub fn svg(&self) -> String {
        let (w, h, pad) = (800.0, 260.0, 40.0);
        let n = self.series.len().max(1) as f64;
        let x = |i: f64| pad + (w - 2.0 * pad) * (i + 0.5) / n;
        let y = |v: f64| h - pad - (h - 2.0 * pad) * v;
        let line = |pick: fn(&Point) -> f64, color: &str| {
            let pts: Vec<String> = self
                .series
                .iter()
                .filter(|p| p.arrivals > 0)
                .map(|p| format!("{:.1},{:.1}", x(p.hour as f64), y(pick(p))))
                .collect();
            format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                pts.join(" ")
            )
        };
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
             <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
             <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/>\
             <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#888\"/>\
             <text x=\"{pad}\" y=\"20\" font-size=\"13\" font-family=\"sans-serif\">Service level by hour of joining: actual (grey) and what if: {change} (blue)</text>\
             <text x=\"4\" y=\"{t}\" font-size=\"11\" font-family=\"sans-serif\">100%</text>\
             <text x=\"4\" y=\"{b}\" font-size=\"11\" font-family=\"sans-serif\">0%</text>\
             {actual}{whatif}</svg>\n",
            b = h - pad,
            r = w - pad,
            t = pad + 4.0,
            change = self.change.replace('&', "&amp;").replace('<', "&lt;"),
            actual = line(|p| p.actual, "#999"),
            whatif = line(|p| p.whatif, "#1769e0"),
        )
    }
}
