//! Core throughput: whole visitor lifecycles (join -> ring -> accept -> end ->
//! rate) through `switchboard-core`, and how per-command cost changes with the
//! number of agents and of queued visitors.
//!
//! `cargo bench --bench core` — each iteration is 4 commands; criterion's
//! throughput line reads as commands per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard_core::{
    AgentId, Center, Command, Config, Media, Party, Reply, SessionId, Timestamp, VisitorId,
};

const COMMANDS_PER_LIFECYCLE: u64 = 4;

/// A center in steady state: `agents` agents all Busy, `queued` visitors waiting.
struct SteadyState {
    center: Center,
    agents: Vec<AgentId>,
    next: usize,
    now: Timestamp,
}

impl SteadyState {
    fn new(agents: usize, queued: usize) -> Self {
        let day = 86_400 * 365;
        let config = Config {
            max_agents: agents + 1,
            max_sessions: agents + queued + 1,
            max_queue_size: agents + queued + 1,
            queue_timeout_secs: day,
            session_timeout_secs: day,
            ..Config::default()
        };
        let mut center = Center::new(config, 1).expect("valid config");
        let now = Timestamp::from_millis(1_778_151_900_000);
        let ids: Vec<AgentId> = (0..agents)
            .map(|i| format!("agent_{i:06}").into())
            .collect();
        for (i, a) in ids.iter().enumerate() {
            let reg = Command::RegisterAgent {
                agent_id: a.clone(),
                agent_name: None,
            };
            center.apply(now, reg).expect("register");
            let join = Command::JoinQueue {
                visitor_id: format!("busy_{i}").into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            };
            center.apply(now, join).expect("join");
            let accept = Command::AcceptCall {
                agent_id: a.clone(),
                media: Media::Video,
            };
            center.apply(now, accept).expect("accept");
        }
        for i in 0..queued {
            let join = Command::JoinQueue {
                visitor_id: format!("queued_{i}").into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            };
            center.apply(now, join).expect("join queue");
        }
        while center.poll_event().is_some() {}
        SteadyState {
            center,
            agents: ids,
            next: 0,
            now,
        }
    }

    /// One lifecycle: an agent ends its call and the visitor rates it; the
    /// same visitor comes back (rung at once, or queued behind the others);
    /// the agent, rung with the next visitor, answers. The queue length and
    /// the number of Busy agents are the same after as before.
    fn lifecycle(&mut self) {
        let agent = self.agents[self.next % self.agents.len()].clone();
        self.next += 1;
        self.now = self.now.saturating_add(Duration::from_millis(1));
        let c = &mut self.center;
        let session: SessionId = match c
            .agent(agent.as_str())
            .and_then(|a| a.sessions().next().cloned())
        {
            Some(s) => s,
            None => unreachable!("every agent is busy between lifecycles"),
        };
        let visitor: VisitorId = match c.session(session.as_str()) {
            Some(s) => s.customer_id.clone(),
            None => unreachable!("the session exists"),
        };
        let end = Command::EndSession {
            session_id: session.clone(),
            by: Party::Customer,
        };
        black_box(c.apply(self.now, end).ok());
        let rate = Command::RateSession {
            session_id: session,
            rating: 5,
            comment: None,
        };
        black_box(c.apply(self.now, rate).ok());
        let join = Command::JoinQueue {
            visitor_id: visitor,
            visitor_name: None,
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: None,
        };
        black_box(c.apply(self.now, join).ok());
        let accept = Command::AcceptCall {
            agent_id: agent,
            media: Media::Video,
        };
        let reply = c.apply(self.now, accept);
        debug_assert!(matches!(reply, Ok(Reply::Accepted { .. })));
        while let Some(e) = c.poll_event() {
            black_box(e);
        }
    }
}

fn lifecycles(c: &mut Criterion) {
    let mut g = c.benchmark_group("lifecycle");
    g.throughput(Throughput::Elements(COMMANDS_PER_LIFECYCLE));
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    let mut s = SteadyState::new(1_000, 0);
    g.bench_function("1000_agents", |b| b.iter(|| s.lifecycle()));
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_command");
    g.throughput(Throughput::Elements(COMMANDS_PER_LIFECYCLE));
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for agents in [10, 1_000, 100_000] {
        for queued in [0, 10_000] {
            let mut s = SteadyState::new(agents, queued);
            g.bench_function(format!("agents_{agents}_queued_{queued}"), |b| {
                b.iter(|| s.lifecycle())
            });
        }
    }
    g.finish();
}

/// The front desk's cost per visitor message: the rule bot weighs the
/// triggers (keywords, emotion, rounds), records the decision, matches the
/// dialog's routes (a regular expression among them) and answers. Each
/// iteration is one message; a visitor talks 4 rounds, then a fresh one
/// joins (under the rounds limit, so no handoff: the decision alone).
fn bot_decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("bot");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    let settings: switchboard_core::bot::BotSettings = serde_json::from_value(serde_json::json!({
        "bot": { "kind": "rules", "dialog": {
            "start": "hi",
            "nodes": {
                "hi": { "reply": "您好，请问有什么可以帮您？", "routes": [
                    { "keywords": ["退货", "return"], "next": "hi" },
                    { "pattern": "(?P<order_no>\\d{6,})", "next": "hi" }
                ] }
            }
        } }
    }))
    .expect("bot settings");
    let mut center = Center::new(Config::default(), 1).expect("config");
    let now = Timestamp::from_millis(1_778_151_900_000);
    let group = Command::UpdateWorkgroup {
        workgroup_id: "default".into(),
        settings: switchboard_core::WorkgroupSettings {
            bot: Some(Box::new(settings)),
            ..Default::default()
        },
    };
    center.apply(now, group).expect("bot");
    let (mut visitor, mut said, mut session) = (0u64, 0u32, None);
    g.bench_function("decision_per_message", |b| {
        b.iter(|| {
            if said % 4 == 0 {
                if let Some(s) = session.take() {
                    let end = Command::EndSession {
                        session_id: s,
                        by: Party::Customer,
                    };
                    center.apply(now, end).expect("end");
                }
                visitor += 1;
                let join = Command::JoinQueue {
                    visitor_id: format!("v{visitor}").into(),
                    visitor_name: None,
                    preferred_skill: None,
                    priority: 0,
                    channel: switchboard_core::Channel::Chat,
                    question: None,
                };
                if let Ok(Reply::WithBot { session_id }) = center.apply(now, join) {
                    session = Some(session_id);
                }
            }
            said += 1;
            let hear = Command::BotHear {
                session_id: session.clone().expect("with the bot"),
                text: "我的订单号是 12345678，还没到".into(),
                emotion: 20,
            };
            black_box(center.apply(now, hear).expect("heard"));
            while let Some(e) = center.poll_event() {
                black_box(e);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, lifecycles, scaling, bot_decision);
criterion_main!(benches);
