//! The owner of all contact-center state, and its public API in quinn-proto
//! order: getters, `handle_*` inputs, `poll_*` outputs.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use foldhash::quality::FixedState;

use crate::agent::ResumeReason;
use crate::forecast::{Forecast, Forecasts};
use crate::limits::{check_text, NAME_MAX};
use crate::queue::KeyGen;
use crate::routing::Placing;
use crate::session::{title_of, Arrival, NewSession, Stage};
use crate::stats::{Counts, DayCounts, DayTrend, RatingStats, Stats, Totals, WorkgroupStats};
use crate::timers::{Deadline, Due, Lane, Timers};
use crate::workgroup::{joined_workgroup, Workgroup, WorkgroupSettings, DEFAULT_WORKGROUP};
use crate::{
    Agent, AgentId, Channel, Command, Config, ConfigError, CoreError, EndReason, Event, EventKind,
    Party, Prng, Recipient, Reply, Session, SessionId, SessionStatus, Timestamp, VisitorId,
    WorkgroupId,
};

/// Hash maps with a hasher seeded from the center's seed: fast, and the same
/// layout for the same seed.
pub(crate) type Map<K, V> = HashMap<K, V, FixedState>;

/// Events waiting to be drained by the driver.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox(VecDeque<Event>);

impl Outbox {
    pub(crate) fn push(&mut self, to: Recipient, event: EventKind) {
        self.0.push_back(Event { to, event });
    }
}

/// Everything the center decides from. Equal states behave identically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    /// Seed of the hash maps' hasher, kept so a restored snapshot hashes alike.
    pub(crate) hash_seed: u64,
    pub(crate) rng: Prng,
    /// The latest time seen; inputs never move it backwards.
    pub(crate) now: Timestamp,
    /// Boxed: a session is large, and a table of small slots probes faster.
    pub(crate) sessions: Map<SessionId, Box<Session>>,
    /// Ended sessions still held, oldest first.
    pub(crate) ended: VecDeque<SessionId>,
    pub(crate) agents: Map<AgentId, Agent>,
    /// Each visitor's open session.
    pub(crate) visitors: Map<VisitorId, SessionId>,
    /// Workgroups by id, each with its queue and Ready agents.
    pub(crate) groups: BTreeMap<WorkgroupId, Workgroup>,
    /// Queue keys for every group's queue.
    pub(crate) keys: KeyGen,
    /// Groups the next dispatch looks at; empty between inputs.
    pub(crate) dirty: BTreeSet<WorkgroupId>,
    /// Agents just Ready with visitors held for them; empty between inputs.
    pub(crate) held_ready: BTreeSet<AgentId>,
    /// Each remembered visitor's last agent, with the generation of the entry.
    pub(crate) last_agent: Map<VisitorId, (AgentId, u64)>,
    /// Remembered visitors, oldest first, to forget beyond `recent_visitors_max`.
    pub(crate) last_agent_order: VecDeque<(VisitorId, u64)>,
    pub(crate) last_agent_gen: u64,
    pub(crate) timers: Timers,
    pub(crate) counts: Counts,
    pub(crate) totals: Totals,
    pub(crate) ratings: RatingStats,
    pub(crate) trend: BTreeMap<u64, DayCounts>,
    /// The staffing advice, derived from the groups' traffic: not part of
    /// the decision state, so neither snapshotted nor compared.
    #[serde(skip)]
    pub(crate) forecasts: Forecasts,
    /// A bug this center was told to have; never journaled or snapshotted.
    #[cfg(feature = "fault-injection")]
    #[serde(skip)]
    pub(crate) fault: Option<crate::Fault>,
}

/// What a visitor's page sees when it asks where the visitor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorStatus {
    /// The visitor's open session.
    pub session_id: SessionId,
    /// Waiting or Active.
    pub status: SessionStatus,
    /// 1-based place in the queue while queued; None while rung or in a call.
    pub position: Option<usize>,
    /// Visitors queued in their workgroup.
    pub queue_length: usize,
    /// The agent being rung or talking to the visitor.
    pub agent_id: Option<AgentId>,
    /// While queued: how long the wait may still be, in ms
    /// ([`Center::estimated_wait`]); None if nobody who could answer is in.
    pub estimated_wait_ms: Option<u64>,
}

/// A whole contact center as a deterministic state machine.
///
/// Drive it like str0m or quinn-proto: feed inputs with the current time,
/// drain [`poll_event`](Center::poll_event) after each, and call
/// [`handle_timeout`](Center::handle_timeout) when
/// [`poll_timeout`](Center::poll_timeout) is due. Same seed and same inputs
/// give the same events, byte for byte.
///
/// Timers fire at their own deadlines: whether `handle_timeout` runs exactly
/// on time, late, or not at all before the next command (which fires what is
/// due first), the resulting state is the same. So a journal of commands and
/// their times is enough to rebuild the center exactly.
#[derive(Clone, Debug)]
pub struct Center {
    state: State,
    outbox: Outbox,
}

/// Equality of decision state; undelivered events are outputs, not state.
impl PartialEq for Center {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl Center {
    /// A center with no agents and no visitors, whose randomness (session
    /// ids, random routing) is fixed by `seed`.
    pub fn new(config: Config, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let hasher = FixedState::with_seed(seed);
        let default = WorkgroupId::from(DEFAULT_WORKGROUP);
        let settings = WorkgroupSettings {
            routing_mode: config.routing_mode,
            ..WorkgroupSettings::default()
        };
        let groups = BTreeMap::from([(default.clone(), Workgroup::new(default, settings))]);
        Ok(Center {
            state: State {
                config,
                hash_seed: seed,
                rng: Prng::new(seed),
                now: Timestamp::EPOCH,
                sessions: Map::with_hasher(hasher.clone()),
                ended: VecDeque::new(),
                agents: Map::with_hasher(hasher.clone()),
                visitors: Map::with_hasher(hasher.clone()),
                groups,
                keys: KeyGen::default(),
                dirty: BTreeSet::new(),
                held_ready: BTreeSet::new(),
                last_agent: Map::with_hasher(hasher),
                last_agent_order: VecDeque::new(),
                last_agent_gen: 0,
                timers: Timers::default(),
                counts: Counts::default(),
                totals: Totals::default(),
                ratings: RatingStats::default(),
                trend: BTreeMap::new(),
                forecasts: Forecasts::default(),
                #[cfg(feature = "fault-injection")]
                fault: None,
            },
            outbox: Outbox::default(),
        })
    }

    // ---- getters ----

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// When the offer of session `s` lapses, while an agent is rung for it.
    pub fn ring_deadline(&self, s: &Session) -> Option<Timestamp> {
        s.ringing_since()
            .map(|since| since.saturating_add(self.config().accept_timeout()))
    }

    /// The latest time the center has seen.
    pub fn now(&self) -> Timestamp {
        self.state.now
    }

    /// A session by id (ended ones too, until forgotten).
    pub fn session(&self, id: &str) -> Option<&Session> {
        self.state.sessions.get(id).map(|s| &**s)
    }

    /// All sessions held, oldest first.
    pub fn sessions(&self) -> Vec<&Session> {
        let mut all: Vec<&Session> = self.state.sessions.values().map(|s| &**s).collect();
        all.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        all
    }

    /// An agent by id.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.state.agents.get(id)
    }

    /// All registered agents, by id.
    pub fn agents(&self) -> Vec<&Agent> {
        let mut all: Vec<&Agent> = self.state.agents.values().collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The queued sessions of every workgroup, next first. O(n log n): for
    /// display.
    pub fn queue(&self) -> impl Iterator<Item = &Session> + '_ {
        let mut all: Vec<_> = self
            .state
            .groups
            .values()
            .flat_map(|g| g.queue.iter())
            .collect();
        all.sort_unstable_by_key(|(key, _)| **key);
        all.into_iter()
            .filter_map(|(_, id)| self.state.sessions.get(id).map(|s| &**s))
    }

    /// How many visitors are queued (not counting those being rung), in all
    /// workgroups. O(workgroups).
    pub fn queue_len(&self) -> usize {
        self.state.queued()
    }

    /// Agents Ready now, in O(1) (unlike [`Center::stats`], which looks
    /// at every queued visitor for the longest wait).
    pub fn ready_agents(&self) -> usize {
        self.state.counts.agents[crate::AgentState::Ready.index()]
    }

    /// A workgroup by id.
    pub fn workgroup(&self, id: &str) -> Option<&Workgroup> {
        self.state.groups.get(id)
    }

    /// Whether a visitor without a link (the public entry) may join the
    /// workgroup `preferred_skill` names, or the default: unless that group
    /// closed its public entry. An unknown group is the join's to refuse.
    pub fn takes_public_join(&self, preferred_skill: Option<&str>) -> bool {
        self.workgroup(joined_workgroup(preferred_skill).as_str())
            .is_none_or(|g| g.settings.public_join)
    }

    /// All workgroups, by id.
    pub fn workgroups(&self) -> impl Iterator<Item = &Workgroup> + '_ {
        self.state.groups.values()
    }

    /// A workgroup's queue, service level and agents right now.
    pub fn workgroup_stats(&self, id: &str) -> Result<WorkgroupStats, CoreError> {
        self.state.workgroup_stats(id)
    }

    /// Where a visitor with an open session stands.
    pub fn visitor(&self, id: &str) -> Result<VisitorStatus, CoreError> {
        let s = self
            .state
            .visitors
            .get(id)
            .and_then(|sid| self.state.sessions.get(sid))
            .ok_or_else(|| CoreError::VisitorNotFound(VisitorId::from(id)))?;
        let queue = self.state.groups.get(&s.workgroup).map(|g| &g.queue);
        let (position, agent_id) = match &s.stage {
            Stage::Queued { key } => (queue.map(|q| q.position(*key)), None),
            Stage::Held { key, agent, .. } => {
                let line = self.state.agents.get(agent).map(|a| &a.held);
                (line.map(|l| l.position(*key)), None)
            }
            Stage::Ringing { agent, .. } | Stage::Active { agent } => (None, Some(agent.clone())),
            Stage::Ended | Stage::Bot => (None, None),
        };
        let estimated_wait_ms = match (&s.stage, position) {
            (Stage::Queued { .. } | Stage::Held { .. }, Some(p)) => {
                self.estimated_wait(&s.workgroup, p)
            }
            _ => None,
        };
        Ok(VisitorStatus {
            session_id: s.id.clone(),
            status: s.status(),
            position,
            queue_length: queue.map_or(0, |q| q.len()),
            agent_id,
            estimated_wait_ms,
        })
    }

    /// How long the visitor at `position` in `group`'s queue may still wait:
    /// the group's signed-in agents serve like that many parallel servers,
    /// each freed after the handling time of the group's [`Forecast`], so
    /// places come free every `handle / servers` and the visitor needs
    /// `position` of them. None while nobody who could answer is signed in.
    pub fn estimated_wait(&self, group: &WorkgroupId, position: usize) -> Option<u64> {
        let (staffing, forecast) = self.state.forecasts.get(group.as_str())?;
        let handle_ms = (forecast.aht_secs * 1000.0) as u64;
        (staffing.servers > 0)
            .then(|| handle_ms.saturating_mul(position as u64) / u64::from(staffing.servers))
    }

    /// The staffing advice for workgroup `id`, as of the last
    /// [`refresh_forecasts`](Center::refresh_forecasts); None before it.
    pub fn forecast(&self, id: &str) -> Option<&Forecast> {
        self.state.forecasts.get(id).map(|(_, f)| f)
    }

    /// Brings the staffing advice up to date at the center's time: every
    /// group's once a minute completes, and a group's when its members sign
    /// in or out or its settings change; O(1) otherwise. The traffic is
    /// counted on every input regardless; only this costs Erlang A
    /// (milliseconds per group), so a server calls it after each batch of
    /// inputs and a replay that needs no advice never does. Returns whether
    /// any group's advice was recomputed.
    pub fn refresh_forecasts(&mut self) -> bool {
        let now = self.state.now;
        self.state.refresh_forecasts(now)
    }

    /// Workgroup `id`'s front desk: rates, latencies and counters.
    pub fn bot_stats(&self, id: &str) -> Result<crate::bot::BotStats, CoreError> {
        let g = self
            .state
            .groups
            .get(id)
            .ok_or_else(|| CoreError::WorkgroupNotFound(WorkgroupId::from(id)))?;
        Ok(crate::bot::BotStats::new(g.id.clone(), &g.bot))
    }

    /// The agent workgroup `id` would ring next for its next visitor (or a
    /// new one), advancing nothing: the routing state for display.
    pub fn next_agent(&self, id: &str) -> Result<Option<AgentId>, CoreError> {
        let st = &self.state;
        let g = st
            .groups
            .get(id)
            .ok_or_else(|| CoreError::WorkgroupNotFound(WorkgroupId::from(id)))?;
        Ok(st.next_agent_in(g))
    }

    /// Sessions, agents, queue, ratings and totals.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Sessions created, answered and completed per UTC day, for the last
    /// `days` days (1 to 366) up to today, oldest first.
    pub fn trend(&self, days: u32) -> Result<Vec<DayTrend>, CoreError> {
        self.state.trend(days)
    }

    /// Gives the center a deliberate bug, for proving a checker can fail.
    #[cfg(feature = "fault-injection")]
    pub fn inject(&mut self, fault: crate::Fault) {
        self.state.fault = Some(fault);
    }

    /// Checks every internal invariant; the error names the first broken one.
    /// Costs O(state): for tests and simulation, not for the hot path.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.state.check_invariants()
    }

    /// The whole decision state, to be stored so that recovery replays only
    /// the commands journaled after it. Borrows: serializing it copies nothing.
    pub fn snapshot(&self) -> SnapshotRef<'_> {
        SnapshotRef {
            version: Snapshot::VERSION,
            state: &self.state,
        }
    }

    /// Sessions and agents held: the size of a snapshot, in entries. O(1).
    pub fn footprint(&self) -> usize {
        self.state.sessions.len() + self.state.agents.len()
    }

    /// A center exactly as it was when `snapshot` was taken.
    pub fn restore(snapshot: Snapshot) -> Result<Self, RestoreError> {
        if snapshot.version != Snapshot::VERSION {
            return Err(RestoreError::Version(snapshot.version));
        }
        let mut state = snapshot.state;
        let hasher = FixedState::with_seed(state.hash_seed);
        state.sessions = rehash(state.sessions, &hasher);
        state.agents = rehash(state.agents, &hasher);
        state.visitors = rehash(state.visitors, &hasher);
        state.check_invariants().map_err(RestoreError::Invariant)?;
        Ok(Center {
            state,
            outbox: Outbox::default(),
        })
    }

    /// Replaces the settings. New bounds apply to new admissions and must not
    /// be below what is in use now; new timeouts apply to everything in
    /// flight, counted from when each wait began.
    pub fn reconfigure(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        let st = &mut self.state;
        let in_use = [
            ("max_queue_size", config.max_queue_size, st.counts.waiting),
            (
                "max_sessions",
                config.max_sessions,
                st.counts.waiting + st.counts.active + st.counts.bot,
            ),
            ("max_agents", config.max_agents, st.agents.len()),
        ];
        for (key, max, used) in in_use {
            if max < used {
                return Err(ConfigError {
                    key,
                    reason: "is below what is in use now",
                });
            }
        }
        let durations = |c: &Config| {
            [
                c.accept_timeout_secs,
                c.queue_timeout_secs,
                c.session_timeout_secs,
                c.wrap_up_secs,
                c.reject_delay_secs,
                c.recent_wait_secs,
            ]
        };
        let timeouts_changed = durations(&config) != durations(&st.config);
        let mode_changed = config.routing_mode != st.config.routing_mode;
        st.config = config;
        st.forget_ended_beyond_limit();
        st.forget_agents_beyond_limit();
        if mode_changed {
            let default = WorkgroupId::from(DEFAULT_WORKGROUP);
            if let Some(g) = st.groups.get_mut(&default) {
                g.settings.routing_mode = st.config.routing_mode;
            }
            st.rebuild_group(&default);
        }
        if timeouts_changed {
            st.rearm_timers();
        }
        // Leaving manual routing may pair queued visitors with Ready agents.
        let now = st.now;
        st.after_input(&mut self.outbox, now);
        Ok(())
    }

    // ---- inputs ----

    /// Applies one command at `now`. Timers due by `now` fire first, so the
    /// outcome does not depend on when the driver last called `handle_timeout`.
    /// A refused command leaves the state as it was.
    pub fn apply(&mut self, now: Timestamp, command: Command) -> Result<Reply, CoreError> {
        self.handle_timeout(now);
        let now = self.state.now;
        let (st, out) = (&mut self.state, &mut self.outbox);
        let reply = match command {
            Command::CreateSession {
                title,
                customer_id,
                customer_name,
                description,
            } => {
                check_text("title", Some(&title), true, NAME_MAX)?;
                st.open_session(
                    out,
                    now,
                    NewSession {
                        arrival: Arrival::Link,
                        title,
                        customer_id,
                        customer_name,
                        description,
                        preferred_skill: None,
                        priority: 0,
                        channel: Channel::Video,
                    },
                )
            }
            Command::JoinQueue {
                visitor_id,
                visitor_name,
                preferred_skill,
                priority,
                channel,
                question,
            } => {
                // A join is titled by the visitor's question, which the
                // agent reads in full as the description.
                st.open_session(
                    out,
                    now,
                    NewSession {
                        arrival: Arrival::Entry,
                        title: title_of(question.as_deref()),
                        customer_id: visitor_id,
                        customer_name: visitor_name,
                        description: question,
                        preferred_skill,
                        priority,
                        channel,
                    },
                )
            }
            Command::LeaveQueue { visitor_id } => st.leave_queue(out, now, &visitor_id),
            Command::EndSession { session_id, by } => st.end_session(out, now, &session_id, by),
            Command::AssignSession {
                session_id,
                agent_id,
            } => st.assign_session(out, now, &session_id, &agent_id),
            Command::TransferSession {
                session_id,
                target_agent_id,
            } => st.transfer(out, now, &session_id, &target_agent_id),
            Command::SetMute {
                session_id,
                target,
                muted,
            } => st.set_mute(out, &session_id, target, muted),
            Command::RateSession {
                session_id,
                rating,
                comment,
            } => st.rate(now, &session_id, rating, comment),
            Command::RegisterAgent {
                agent_id,
                agent_name,
            } => st.register_agent(now, &agent_id, agent_name),
            Command::SetAgentWeight { agent_id, weight } => st.set_weight(&agent_id, weight),
            Command::SetAgentCapacity {
                agent_id,
                max_concurrent,
            } => st.set_capacity(&agent_id, max_concurrent),
            Command::SetAgentWorkgroups {
                agent_id,
                workgroups,
            } => st.set_workgroups(&agent_id, workgroups),
            Command::CreateWorkgroup {
                workgroup_id,
                settings,
            } => st.create_workgroup(workgroup_id, settings),
            Command::UpdateWorkgroup {
                workgroup_id,
                settings,
            } => st.update_workgroup(now, &workgroup_id, settings),
            Command::AgentAvailable { agent_id } => st.set_ready(now, &agent_id, None),
            Command::AgentNotReady { agent_id, reason } => {
                st.set_ready(now, &agent_id, Some(reason))
            }
            Command::AgentOffline { agent_id } => st.agent_offline(out, now, &agent_id),
            Command::AcceptCall { agent_id, media } => st.accept_call(out, now, &agent_id, media),
            Command::RejectCall { agent_id } => st.reject_call(out, now, &agent_id),
            Command::BotHear {
                session_id,
                text,
                emotion,
            } => st.bot_hear(out, now, &session_id, &text, emotion),
            Command::BotReply {
                session_id,
                turn,
                answer,
            } => st.bot_reply(out, now, &session_id, turn, answer),
            Command::BotEscalate { session_id } => st.bot_escalate(out, now, &session_id),
            Command::BotRefuse { session_id } => st.bot_refuse(out, now, &session_id),
        }?;
        st.after_input(out, now);
        Ok(reply)
    }

    /// Fires every timer due by `now`, each at its own deadline. Calling it
    /// early, late or twice is harmless.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let st = &mut self.state;
        st.now = st.now.max(now);
        while let Some(due) = st.timers.pop_due(st.now) {
            let at = st.fire(&mut self.outbox, due);
            st.after_input(&mut self.outbox, at);
        }
    }

    // ---- outputs ----

    /// The next deadline at which [`handle_timeout`](Center::handle_timeout)
    /// has work to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.state.timers.next_deadline()
    }

    /// The next outbound event, in the order they happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.outbox.0.pop_front()
    }
}

/// A center's decision state, read back from storage. Opaque: only
/// [`Center::restore`] reads it.
#[derive(Clone, Debug, Deserialize)]
pub struct Snapshot {
    version: u32,
    state: State,
}

/// A center's decision state, borrowed for serialization; it deserializes as
/// a [`Snapshot`].
#[derive(Debug, Serialize)]
pub struct SnapshotRef<'a> {
    version: u32,
    state: &'a State,
}

impl Snapshot {
    /// Bumped whenever the state's shape changes.
    pub const VERSION: u32 = 2;
}

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// It was written by a different snapshot format version.
    #[error("snapshot format version {0} is not {expected}", expected = Snapshot::VERSION)]
    Version(u32),
    /// Its contents break an invariant: it is corrupt.
    #[error("snapshot is inconsistent: {0}")]
    Invariant(String),
}

fn rehash<K: Eq + core::hash::Hash, V>(map: Map<K, V>, hasher: &FixedState) -> Map<K, V> {
    let mut out = Map::with_capacity_and_hasher(map.len(), hasher.clone());
    out.extend(map);
    out
}

impl State {
    /// The agent workgroup `g` would ring next for its next visitor (or a
    /// new one), advancing nothing.
    pub(crate) fn next_agent_in(&self, g: &Workgroup) -> Option<AgentId> {
        let visitor = g
            .front()
            .and_then(|(_, sid)| self.sessions.get(sid))
            .map(|s| s.customer_id.clone())
            .unwrap_or_else(|| VisitorId::from(""));
        g.peek(self.placing(&visitor), &self.rng)
    }

    /// What routing may weigh about `visitor`.
    pub(crate) fn placing<'a>(&'a self, visitor: &'a VisitorId) -> Placing<'a> {
        Placing {
            visitor,
            last_agent: self.last_agent.get(visitor).map(|(a, _)| a),
        }
    }

    /// Remembers that `agent` served `visitor`, for `recent` routing.
    pub(crate) fn remember_agent(&mut self, visitor: &VisitorId, agent: &AgentId) {
        self.last_agent_gen += 1;
        let gen = self.last_agent_gen;
        self.last_agent
            .insert(visitor.clone(), (agent.clone(), gen));
        self.last_agent_order.push_back((visitor.clone(), gen));
        self.forget_agents_beyond_limit();
    }

    fn forget_agents_beyond_limit(&mut self) {
        while self.last_agent.len() > self.config.recent_visitors_max {
            let Some((visitor, gen)) = self.last_agent_order.pop_front() else {
                break;
            };
            // Only the entry this record made; a later visit replaced it.
            if self
                .last_agent
                .get(&visitor)
                .is_some_and(|(_, g)| *g == gen)
            {
                self.last_agent.remove(&visitor);
            }
        }
        // A visitor remembered again leaves a stale record behind; once stale
        // records outnumber live ones, drop them all (amortized O(1)), so the
        // order stays within twice the map.
        if self.last_agent_order.len() > 2 * self.last_agent.len() + 16 {
            let live = &self.last_agent;
            self.last_agent_order
                .retain(|(v, g)| live.get(v).is_some_and(|(_, lg)| lg == g));
        }
    }

    /// Visitors queued in all workgroups.
    pub(crate) fn queued(&self) -> usize {
        self.groups.values().map(|g| g.queue.len()).sum()
    }

    /// Fresh routers for workgroup `id`'s mode, holding its Ready members.
    /// O(agents): for configuration changes only.
    pub(crate) fn rebuild_group(&mut self, id: &WorkgroupId) {
        let Some(g) = self.groups.get_mut(id) else {
            return;
        };
        g.reset_tiers();
        let mut ready: Vec<&Agent> = self
            .agents
            .values()
            .filter(|a| a.state == crate::AgentState::Ready && a.workgroups.contains_key(id))
            .collect();
        ready.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for a in ready {
            g.insert(a.workgroups[id], a.candidate());
        }
        self.dirty.insert(id.clone());
    }

    /// Re-arms every timer from when its wait began, under the current
    /// timeouts, in start order so that each lane stays in deadline order.
    fn rearm_timers(&mut self) {
        self.timers.clear_lanes();
        let mut open: Vec<(Timestamp, SessionId)> = self
            .sessions
            .values()
            .filter(|s| s.status() != SessionStatus::Ended)
            .map(|s| (s.created_at, s.id.clone()))
            .collect();
        open.sort_unstable();
        let mut waiting: Vec<(Timestamp, SessionId)> = Vec::new();
        let mut ringing: Vec<(Timestamp, SessionId)> = Vec::new();
        let (st, qt, at) = (
            self.config.session_timeout(),
            self.config.queue_timeout(),
            self.config.accept_timeout(),
        );
        for (created, id) in open {
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            let deadline = created.saturating_add(st).max(self.now);
            s.timeout_timer = Some(self.timers.arm(Lane::Session, deadline, id.clone()));
            if s.status() == SessionStatus::Waiting {
                waiting.push((s.waiting_since(), id.clone()));
            }
            match &mut s.stage {
                Stage::Ringing { since, .. } => ringing.push((*since, id)),
                Stage::Held { until, .. } => {
                    *until = s
                        .queued_at
                        .unwrap_or(created)
                        .saturating_add(self.config.recent_wait())
                        .max(self.now);
                    self.timers.arm_at(Deadline::Hold, *until, id);
                }
                _ => {}
            }
        }
        // Armed from joining the queue until answered, even if it fired
        // while the visitor was being rung: a longer timeout gives it time
        // again. In order of joining, so the lane stays in deadline order.
        waiting.sort_unstable();
        for (since, id) in waiting {
            let deadline = since.saturating_add(qt).max(self.now);
            let key = self.timers.arm(Lane::Queue, deadline, id.clone());
            if let Some(s) = self.sessions.get_mut(&id) {
                s.queue_timer = Some(key);
            }
        }
        // Agents' pauses, from when each began.
        let mut paused: Vec<(Timestamp, AgentId, ResumeReason)> = self
            .agents
            .values()
            .filter_map(|a| a.resume.map(|r| (r.since, a.id.clone(), r.reason)))
            .collect();
        paused.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (since, id, reason) in paused {
            let length = match reason {
                ResumeReason::WrapUp => self.config.wrap_up(),
                ResumeReason::RejectDelay => self.config.reject_delay(),
            };
            self.pause_from(self.now, since, &id, reason, length);
        }
        ringing.sort_unstable();
        for (since, id) in ringing {
            let deadline = since.saturating_add(at).max(self.now);
            let key = self.timers.arm(Lane::Ring, deadline, id.clone());
            if let Some(Stage::Ringing { timer, .. }) =
                self.sessions.get_mut(&id).map(|s| &mut s.stage)
            {
                *timer = key;
            }
        }
    }

    /// Runs after every accepted input: ring whoever can be rung now, and keep
    /// the safety-net tick armed while anyone waits.
    fn after_input(&mut self, out: &mut Outbox, now: Timestamp) {
        self.dispatch(out, now);
        if !self.timers.tick_armed() && self.queued() > 0 {
            let at = now.saturating_add(self.config.dispatch_interval());
            self.timers.arm_tick(at);
        }
    }

    /// Acts on a timer that fell due; returns its deadline, the time at which
    /// it takes effect.
    fn fire(&mut self, out: &mut Outbox, due: Due) -> Timestamp {
        match due {
            Due::Timer(Lane::Ring, at, id) => {
                self.ring_timeout(out, at, &id);
                at
            }
            Due::Timer(Lane::Queue, at, id) => {
                // Only a visitor still in the queue times out; one being rung
                // is checked again if they come back to the queue.
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.queue_timer = None;
                    if s.is_queued() {
                        self.queue_timeout(out, at, &id);
                    }
                }
                at
            }
            Due::Timer(Lane::Session, at, id) => {
                let open = self
                    .sessions
                    .get(&id)
                    .is_some_and(|s| s.status() != SessionStatus::Ended);
                if open {
                    self.finish(out, at, &id, EndReason::SessionTimeout, Party::System);
                }
                at
            }
            Due::Agent(lane, at, agent) => {
                self.resume(at, &agent, lane);
                at
            }
            Due::At(Deadline::Overflow, at, id) => {
                self.place_overflow(at, &id);
                at
            }
            Due::At(Deadline::Hold, at, id) => {
                self.release_hold(at, &id);
                at
            }
            Due::Bot(at, id) => {
                self.bot_due(out, at, &id);
                at
            }
            Due::Tick(at) => {
                // The safety net: look at every group again.
                self.dirty.extend(self.groups.keys().cloned());
                at
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembering_the_same_visitors_again_and_again_stays_bounded() {
        let mut c = Center::new(Config::default(), 1).unwrap();
        let st = &mut c.state;
        st.remember_agent(&"old".into(), &"a1".into());
        for _ in 0..10_000 {
            st.remember_agent(&"regular".into(), &"a2".into());
        }
        assert_eq!(st.last_agent.len(), 2);
        assert!(
            st.last_agent_order.len() <= 2 * 2 + 16 + 1,
            "{}",
            st.last_agent_order.len()
        );
        let last = |v: &str| st.last_agent.get(v).map(|(a, _)| a.to_string());
        assert_eq!(
            (last("old"), last("regular")),
            (Some("a1".into()), Some("a2".into()))
        );
    }
}
