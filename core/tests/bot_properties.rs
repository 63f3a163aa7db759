//! Property test of the front desk: random visitors talking to a rule bot
//! and a webhook bot, agents coming and going, answers, refusals and time.
//! After every step the invariants hold; every bot conversation that ends
//! ends resolved, handed over, in the fallback or left; and replaying the
//! accepted inputs on a fresh center gives the same decisions and events.

use std::time::Duration;

use proptest::prelude::*;
use switchboard_core::bot::{BotAnswer, BotOutcome, BotSettings};
use switchboard_core::{
    Center, Channel, Command, Config, Event, Media, Membership, Party, SessionStatus, Timestamp,
    WorkgroupSettings,
};

const T0: Timestamp = Timestamp::from_millis(1_778_151_900_000);
const AGENTS: usize = 3;
const VISITORS: usize = 6;
const GROUPS: [&str; 2] = ["rules", "hook"];

#[derive(Clone, Debug)]
enum Op {
    Join(usize, usize, bool),
    Say(usize, usize, u8),
    Answer(usize, u8),
    Escalate(usize),
    Refuse(usize),
    Leave(usize),
    End(usize),
    Ready(usize),
    Pause(usize),
    Accept(usize),
    Reject(usize),
    HangUp(usize),
    Advance(u64),
}

const WORDS: [&str; 6] = [
    "hello",
    "订单",
    "123456",
    "转人工",
    "refund please",
    "this is awful",
];

fn op() -> impl Strategy<Value = Op> {
    let v = 0..VISITORS;
    let a = 0..AGENTS;
    prop_oneof![
        3 => (v.clone(), 0..GROUPS.len(), any::<bool>()).prop_map(|(v, g, c)| Op::Join(v, g, c)),
        6 => (v.clone(), 0..WORDS.len(), 0u8..=100).prop_map(|(v, w, e)| Op::Say(v, w, e)),
        3 => (v.clone(), 0u8..4).prop_map(|(v, k)| Op::Answer(v, k)),
        1 => v.clone().prop_map(Op::Escalate),
        1 => v.clone().prop_map(Op::Refuse),
        1 => v.clone().prop_map(Op::Leave),
        1 => v.clone().prop_map(Op::End),
        2 => a.clone().prop_map(Op::Ready),
        1 => a.clone().prop_map(Op::Pause),
        3 => a.clone().prop_map(Op::Accept),
        1 => a.clone().prop_map(Op::Reject),
        2 => a.clone().prop_map(Op::HangUp),
        4 => prop_oneof![0u64..5_000, 10_000u64..70_000].prop_map(Op::Advance),
    ]
}

fn bots() -> [BotSettings; 2] {
    let rules = serde_json::json!({
        "bot": { "kind": "rules", "dialog": {
            "start": "hi",
            "nodes": {
                "hi": { "reply": "hi", "routes": [ { "keywords": ["订单"], "next": "ask" } ] },
                "ask": { "reply": "number?", "routes": [ { "pattern": "(?P<n>\\d{6})", "next": "look" } ] },
                "look": { "action": "find", "on_success": "done", "on_failure": "ask" },
                "done": { "reply": "found {n}", "resolve": true }
            },
            "actions": { "find": { "url": "http://127.0.0.1:9/{n}" } }
        } },
        "video": true,
        "handoff": { "attempt_secs": 30, "retry_secs": 10 }
    });
    let hook = serde_json::json!({
        "bot": { "kind": "webhook", "url": "http://127.0.0.1:9/bot" },
        "triggers": { "rounds_max": 3 }
    });
    [
        serde_json::from_value(rules).expect("rules"),
        serde_json::from_value(hook).expect("hook"),
    ]
}

fn setup(c: &mut Center, inputs: &mut Vec<(Timestamp, Command)>) {
    let mut cmds = Vec::new();
    for (g, bot) in GROUPS.iter().zip(bots()) {
        cmds.push(Command::CreateWorkgroup {
            workgroup_id: (*g).into(),
            settings: WorkgroupSettings {
                bot: Some(Box::new(bot)),
                ..WorkgroupSettings::default()
            },
        });
    }
    for a in 0..AGENTS {
        cmds.push(Command::RegisterAgent {
            agent_id: format!("a{a}").into(),
            agent_name: None,
        });
        cmds.push(Command::SetAgentWorkgroups {
            agent_id: format!("a{a}").into(),
            workgroups: GROUPS
                .iter()
                .map(|g| Membership {
                    workgroup_id: (*g).into(),
                    level: 1,
                })
                .collect(),
        });
    }
    for cmd in cmds {
        c.apply(T0, cmd.clone()).expect("setup");
        inputs.push((T0, cmd));
    }
}

/// Turns an op into a command against the current state, if it makes one.
fn command(c: &Center, op: &Op) -> Option<Command> {
    let session = |v: usize| c.visitor(&format!("v{v}")).ok().map(|s| s.session_id);
    let agent = |a: usize| format!("a{a}").into();
    let call = |a: usize| {
        c.agent(&format!("a{a}"))
            .and_then(|x| x.calls.first().map(|k| k.session_id.clone()))
    };
    Some(match op {
        Op::Join(v, g, chat) => Command::JoinQueue {
            visitor_id: format!("v{v}").into(),
            visitor_name: None,
            preferred_skill: Some(GROUPS[*g].into()),
            priority: 0,
            channel: if *chat { Channel::Chat } else { Channel::Video },
            question: None,
        },
        Op::Say(v, w, e) => Command::BotHear {
            session_id: session(*v)?,
            text: WORDS[*w].into(),
            emotion: *e,
        },
        Op::Answer(v, kind) => {
            let s = session(*v)?;
            let turn = c.session(s.as_str())?.bot.as_ref()?.turn;
            let answer = match kind {
                0 => BotAnswer::Said {
                    messages: vec![],
                    handoff: None,
                    resolve: true,
                },
                1 => BotAnswer::Said {
                    messages: vec![],
                    handoff: Some(Default::default()),
                    resolve: false,
                },
                2 => BotAnswer::Action {
                    ok: true,
                    fields: Default::default(),
                },
                _ => BotAnswer::Failed {
                    error: "503".into(),
                },
            };
            Command::BotReply {
                session_id: s,
                turn,
                answer,
            }
        }
        Op::Escalate(v) => Command::BotEscalate {
            session_id: session(*v)?,
        },
        Op::Refuse(v) => Command::BotRefuse {
            session_id: session(*v)?,
        },
        Op::Leave(v) => Command::LeaveQueue {
            visitor_id: format!("v{v}").into(),
        },
        Op::End(v) => Command::EndSession {
            session_id: session(*v)?,
            by: Party::Customer,
        },
        Op::Ready(a) => Command::AgentAvailable {
            agent_id: agent(*a),
        },
        Op::Pause(a) => Command::AgentNotReady {
            agent_id: agent(*a),
            reason: None,
        },
        Op::Accept(a) => Command::AcceptCall {
            agent_id: agent(*a),
            media: Media::Audio,
        },
        Op::Reject(a) => Command::RejectCall {
            agent_id: agent(*a),
        },
        Op::HangUp(a) => Command::EndSession {
            session_id: call(*a)?,
            by: Party::Agent,
        },
        Op::Advance(_) => return None,
    })
}

fn drain(c: &mut Center, events: &mut Vec<Event>) {
    while let Some(e) = c.poll_event() {
        events.push(e);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_bot_conversation_ends_well_and_replays_alike(ops in prop::collection::vec(op(), 1..160)) {
        let mut c = Center::new(Config::default(), 11).expect("config");
        let mut inputs = Vec::new();
        setup(&mut c, &mut inputs);
        let mut events = Vec::new();
        let mut now = T0;
        // Inputs as the journal keeps them: accepted commands with their time,
        // and the times the driver woke for timers.
        let mut wakes: Vec<(Timestamp, Option<Command>)> = Vec::new();
        for op in &ops {
            if let Op::Advance(ms) = op {
                now = now.saturating_add(Duration::from_millis(*ms));
                c.handle_timeout(now);
                wakes.push((now, None));
            } else if let Some(cmd) = command(&c, op) {
                let before = c.clone();
                match c.apply(now, cmd.clone()) {
                    Ok(_) => wakes.push((now, Some(cmd))),
                    Err(e) => {
                        // A refusal fires due timers first, as every input does.
                        let mut fired = before;
                        fired.handle_timeout(now);
                        prop_assert!(c == fired, "refused {cmd:?} ({e}) changed state");
                        wakes.push((now, None));
                    }
                }
            }
            drain(&mut c, &mut events);
            c.check_invariants().map_err(TestCaseError::fail)?;
            for s in c.sessions() {
                if let Some(b) = &s.bot {
                    let ended = s.status() == SessionStatus::Ended;
                    // Open: no outcome yet, or handed over (Active), or in the fallback.
                    if !ended {
                        prop_assert!(matches!(
                            b.outcome,
                            None | Some(BotOutcome::HandedOver | BotOutcome::Fallback)
                        ));
                    } else {
                        prop_assert!(matches!(
                            b.outcome,
                            Some(BotOutcome::Resolved | BotOutcome::HandedOver | BotOutcome::Fallback | BotOutcome::Left)
                        ));
                    }
                }
            }
        }
        // Counters agree with the conversations that ended.
        for g in GROUPS {
            let st = c.bot_stats(g).expect("group");
            let k = &st.counters;
            prop_assert!(k.resolved + k.handed_over + k.fallback + k.left <= k.conversations);
            // Every handoff starts at least one attempt; an answer needs one.
            prop_assert!(k.handed_over <= k.handoffs && k.attempts >= k.handoffs, "{k:?}");
            prop_assert!(k.attempts_failed <= k.attempts, "{k:?}");
        }

        // The replay: a fresh center fed the same inputs at the same times.
        let mut r = Center::new(Config::default(), 11).expect("config");
        for (at, cmd) in &inputs {
            r.apply(*at, cmd.clone()).expect("setup replays");
        }
        let mut replayed = Vec::new();
        drain(&mut r, &mut replayed);
        let mut first = Vec::new();
        let mut again = Center::new(Config::default(), 11).expect("config");
        for (at, cmd) in &inputs {
            again.apply(*at, cmd.clone()).expect("setup");
        }
        drain(&mut again, &mut first);
        for (at, cmd) in &wakes {
            match cmd {
                Some(cmd) => { r.apply(*at, cmd.clone()).expect("an accepted command replays"); }
                None => r.handle_timeout(*at),
            }
            drain(&mut r, &mut replayed);
        }
        prop_assert!(r == c, "the replayed center differs");
        let decisions = |c: &Center| -> Vec<String> {
            c.sessions().iter().filter_map(|s| s.bot.as_ref())
                .flat_map(|b| b.decisions.iter().map(|d| format!("{d:?}")))
                .collect()
        };
        prop_assert_eq!(decisions(&r), decisions(&c));
        prop_assert_eq!(replayed.len(), events.len());
        prop_assert!(replayed == events, "the replay emitted other events");
    }
}
