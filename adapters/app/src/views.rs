//! The JSON the API shows for sessions, agents and the queue. Times are
//! RFC 3339 (UTC); durations are seconds or milliseconds as named.

use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use switchboard_core::bot::{BotKind, BotOutcome, BotPhase, BotSettings};

use switchboard_core::{
    Agent, AgentId, AgentState, Arrival, Center, Channel, EndReason, Forecast, Media, Party,
    Rating, RoomId, Session, SessionId, SessionStatus, Stats, Timestamp, VisitorId, Workgroup,
    WorkgroupId, DEFAULT_WORKGROUP,
};

/// JSON of a value that is plain data, for views that add fields to it.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A group's bot settings as shown: the secret replaced by whether one is set.
pub fn bot_settings(b: &BotSettings) -> Value {
    let mut v = to_json(b);
    if let BotKind::Webhook { secret, .. } = &b.bot {
        if let Some(bot) = v["bot"].as_object_mut() {
            bot.remove("secret");
            bot.insert("secret_set".into(), json!(secret.is_some()));
        }
    }
    v
}

/// A time, written as RFC 3339 straight into the output.
struct Time(Timestamp);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

fn time(t: Option<Timestamp>) -> Option<Time> {
    t.map(Time)
}

/// A session, as `GET /sessions/{id}` shows it.
#[derive(Serialize)]
pub struct SessionView<'a> {
    session_id: &'a SessionId,
    room_id: RoomId,
    /// `link`, `entry`, or `bot` (the workgroup's bot fronted it).
    arrival: &'static str,
    title: &'a str,
    description: &'a Option<String>,
    customer_id: &'a VisitorId,
    customer_name: &'a Option<String>,
    preferred_skill: &'a Option<String>,
    workgroup_id: &'a WorkgroupId,
    priority: u8,
    status: SessionStatus,
    agent_id: &'a Option<AgentId>,
    ringing_agent_id: Option<&'a AgentId>,
    /// When the offer to `ringing_agent_id` lapses.
    ringing_until: Option<Time>,
    media: &'a Option<Media>,
    channel: Channel,
    created_at: Time,
    started_at: Option<Time>,
    ended_at: Option<Time>,
    duration_secs: Option<u64>,
    end_reason: &'a Option<EndReason>,
    ended_by: &'a Option<Party>,
    transfers: u32,
    agent_muted: bool,
    customer_muted: bool,
    rating: Option<RatingView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<BotBrief>,
}

/// Where a session's conversation with its bot stands.
#[derive(Serialize)]
pub struct BotBrief {
    phase: BotPhase,
    outcome: Option<BotOutcome>,
    attempts: u32,
}

/// What staff and agents see of the bot's conversation: the handoff's
/// context, the decisions with their scores, the ticket.
pub fn bot_detail(s: &Session) -> Value {
    match &s.bot {
        None => Value::Null,
        Some(b) => json!({
            "phase": b.phase,
            "outcome": b.outcome,
            "attempts": b.attempts,
            "handoff": b.handoff,
            "decisions": b.decisions,
            "ticket": b.ticket,
        }),
    }
}

/// A session, as `GET /sessions/{id}` shows it.
pub fn session<'a>(c: &Center, s: &'a Session) -> SessionView<'a> {
    let now = c.now();
    SessionView {
        session_id: &s.id,
        room_id: s.room_id(),
        arrival: match (s.bot.is_some(), s.arrival) {
            (true, _) => "bot",
            (false, Arrival::Link) => "link",
            (false, Arrival::Entry) => "entry",
        },
        title: &s.title,
        description: &s.description,
        customer_id: &s.customer_id,
        customer_name: &s.customer_name,
        preferred_skill: &s.preferred_skill,
        workgroup_id: &s.workgroup,
        priority: s.priority,
        status: s.status(),
        agent_id: &s.agent_id,
        ringing_agent_id: s.ringing_agent(),
        ringing_until: time(c.ring_deadline(s)),
        media: &s.media,
        channel: s.channel,
        created_at: Time(s.created_at),
        started_at: time(s.started_at),
        ended_at: time(s.ended_at),
        duration_secs: s.duration(now).map(|d| d.as_secs()),
        end_reason: &s.end_reason,
        ended_by: &s.ended_by,
        transfers: s.transfers,
        agent_muted: s.agent_muted,
        customer_muted: s.customer_muted,
        rating: s.rating.as_ref().map(|r| rating(s, r)),
        bot: s.bot.as_ref().map(|b| BotBrief {
            phase: b.phase,
            outcome: b.outcome,
            attempts: b.attempts,
        }),
    }
}

/// A session's rating.
#[derive(Serialize)]
pub struct RatingView<'a> {
    session_id: &'a SessionId,
    rating: u8,
    comment: &'a Option<String>,
    rated_at: Time,
}

/// A session's rating.
pub fn rating<'a>(s: &'a Session, r: &'a Rating) -> RatingView<'a> {
    RatingView {
        session_id: &s.id,
        rating: r.rating,
        comment: &r.comment,
        rated_at: Time(r.rated_at),
    }
}

/// An agent, as `GET /agents` shows it. `session_id` is the one session it
/// holds (offer first), as the seed has it; `sessions` lists all of them.
#[derive(Serialize)]
pub struct AgentView<'a> {
    agent_id: &'a AgentId,
    agent_name: &'a str,
    status: AgentState,
    session_id: Option<&'a SessionId>,
    sessions: Vec<&'a SessionId>,
    max_concurrent: u32,
    workgroups: Vec<Membership<'a>>,
    status_since: Time,
    idle_since: Time,
    weight: u32,
    response_ms: Option<u64>,
    no_answer: u32,
    resume: Option<ResumeView>,
    /// Why it takes no calls, while it does not want them.
    not_ready: Option<AwayView<'a>>,
    stats: AgentStatsView,
}

#[derive(Serialize)]
struct AwayView<'a> {
    reason: &'a str,
    since: Time,
}

#[derive(Serialize)]
struct Membership<'a> {
    workgroup_id: &'a WorkgroupId,
    level: u8,
}

#[derive(Serialize)]
struct ResumeView {
    reason: switchboard_core::ResumeReason,
    since: Time,
    until: Time,
}

#[derive(Serialize)]
struct AgentStatsView {
    offered: u64,
    answered: u64,
    rejected: u64,
    timed_out: u64,
    avg_ring_to_accept_ms: Option<u64>,
    talk_ms: u64,
    ready_ms: u64,
    ratings: u64,
    avg_rating: Option<f64>,
    transferred_in: u64,
    /// Time not ready, per reason.
    not_ready_ms: BTreeMap<String, u64>,
}

/// An agent, as `GET /agents` shows it.
pub fn agent(a: &Agent, now: Timestamp) -> AgentView<'_> {
    let st = &a.stats;
    AgentView {
        agent_id: &a.id,
        agent_name: &a.name,
        status: a.state,
        session_id: a.sessions().next(),
        sessions: a.sessions().collect(),
        max_concurrent: a.max_concurrent,
        workgroups: a
            .workgroups
            .iter()
            .map(|(g, level)| Membership {
                workgroup_id: g,
                level: *level,
            })
            .collect(),
        status_since: Time(a.state_since),
        idle_since: Time(a.idle_since),
        weight: a.weight,
        response_ms: a.response_ms,
        no_answer: a.no_answer,
        resume: a.resume.map(|r| ResumeView {
            reason: r.reason,
            since: Time(r.since),
            until: Time(r.until),
        }),
        not_ready: a.away.as_ref().map(|w| AwayView {
            reason: &w.reason,
            since: Time(w.since),
        }),
        stats: AgentStatsView {
            offered: st.offered,
            answered: st.answered,
            rejected: st.rejected,
            timed_out: st.timed_out,
            avg_ring_to_accept_ms: st.ring_to_accept_ms_total.checked_div(st.answered),
            talk_ms: a.talk_ms(now),
            ready_ms: a.ready_ms(now),
            ratings: st.ratings,
            avg_rating: (st.ratings > 0).then(|| st.rating_sum as f64 / st.ratings as f64),
            transferred_in: st.transferred_in,
            not_ready_ms: a.away_ms(now),
        },
    }
}

/// Agents as a list with its count.
#[derive(Serialize)]
pub struct AgentList<'a> {
    count: usize,
    agents: Vec<AgentView<'a>>,
    /// The reasons an agent may give for Not ready, first the default.
    not_ready_reasons: &'a [String],
}

/// Agents as a list with its count.
pub fn agents<'a>(c: &'a Center, list: impl Iterator<Item = &'a Agent>) -> AgentList<'a> {
    let agents: Vec<AgentView> = list.map(|a| agent(a, c.now())).collect();
    AgentList {
        count: agents.len(),
        agents,
        not_ready_reasons: &c.config().not_ready_reasons,
    }
}

/// Sessions as a list with its count.
#[derive(Serialize)]
pub struct SessionList<'a> {
    count: usize,
    sessions: Vec<SessionView<'a>>,
}

/// Sessions as a list with its count.
pub fn sessions<'a>(c: &Center, list: impl Iterator<Item = &'a Session>) -> SessionList<'a> {
    let sessions: Vec<SessionView> = list.map(|s| session(c, s)).collect();
    SessionList {
        count: sessions.len(),
        sessions,
    }
}

/// The queue: its figures and who waits, next first.
pub fn queue(center: &Center) -> Value {
    let now = center.now();
    let stats = center.stats();
    let entries: Vec<Value> = center
        .queue()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "position": i + 1,
                "visitor_id": s.customer_id,
                "visitor_name": s.visitor_name(),
                "session_id": s.id,
                "preferred_skill": s.preferred_skill,
                "workgroup_id": s.workgroup,
                "waited_ms": now.saturating_since(s.created_at).as_millis() as u64,
            })
        })
        .collect();
    json!({
        "length": stats.queue.length,
        "max": stats.queue.max,
        "waiting": stats.sessions.waiting,
        "longest_wait_ms": stats.queue.longest_wait_ms,
        "ready_agents": stats.agents.ready,
        "next_agent_id": center.next_agent(DEFAULT_WORKGROUP).ok().flatten(),
        "entries": entries,
    })
}

/// A workgroup: its settings and its figures right now.
pub fn workgroup(center: &Center, g: &Workgroup) -> Value {
    let mut v = match center.workgroup_stats(g.id.as_str()) {
        Ok(stats) => to_json(&stats),
        Err(_) => json!({}),
    };
    v["name"] = json!(g.name());
    v["overflow_after_secs"] = json!(g.settings.overflow_after_secs);
    v["overflow_to"] = json!(g.settings.overflow_to);
    v["public_join"] = json!(g.settings.public_join);
    v["read_receipts"] = json!(g.settings.read_receipts);
    v["service_level_percent"] = json!(g.settings.service_level_percent);
    v["forecast"] = forecast(center.forecast(g.id.as_str()));
    v["bot"] = json!(g.settings.bot.as_deref().map(bot_settings));
    v["bot_stats"] = json!(center.bot_stats(g.id.as_str()).ok());
    if let Some(sl) = v["service_level"].as_f64() {
        v["service_level"] = json!((sl * 10_000.0).round() / 10_000.0);
    }
    v
}

/// A group's staffing advice, figures rounded for people; null before the
/// engine's first turn computed it.
pub fn forecast(f: Option<&Forecast>) -> Value {
    let Some(f) = f else {
        return Value::Null;
    };
    let round = |x: f64, places: i32| {
        let k = 10f64.powi(places);
        (x * k).round() / k
    };
    let mut v = to_json(f);
    v["arrivals_per_hour"] = json!(f.arrivals_per_hour.map(|x| round(x, 1)));
    v["arrivals_per_hour_60"] = json!(f.arrivals_per_hour_60.map(|x| round(x, 1)));
    v["aht_secs"] = json!(round(f.aht_secs, 1));
    v["patience_secs"] = json!(f.patience_secs.map(|x| round(x, 1)));
    v["service_level_expected"] = json!(f.service_level_expected.map(|x| round(x, 4)));
    v["abandon_expected"] = json!(f.abandon_expected.map(|x| round(x, 4)));
    v["expected_wait_secs"] = json!(f.expected_wait_secs.map(|x| round(x, 1)));
    v
}

/// The seed's overall `/stats`.
pub fn stats(stats: &Stats) -> Value {
    let mut v = to_json(stats);
    v["ratings"] = ratings(stats);
    v
}

/// Ratings: total, average and the 1-5 distribution.
pub fn ratings(stats: &Stats) -> Value {
    let r = &stats.ratings;
    let d = r.distribution;
    json!({
        "total": r.total,
        "average": (r.average() * 100.0).round() / 100.0,
        "distribution": { "1": d[0], "2": d[1], "3": d[2], "4": d[3], "5": d[4] },
    })
}
