//! The bot front desk: one test per transfer trigger, the weighted score at,
//! below and above its threshold, the timers at their deadlines, the
//! handoff's context and preferred agent, retries and the fallback.

mod common;

use std::time::Duration;

use common::*;
use switchboard_core::bot::{
    BotAnswer, BotMessage, BotOutcome, BotPhase, BotSettings, Cause, HandoffAsk, Weight,
};
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    Channel, Command, EventKind, Media, Party, Recipient, SessionId, SessionStatus, Speaker,
    WorkgroupSettings,
};

/// A rule bot: a greeting with options, an order lookup that collects the
/// order number, and an escalate node.
fn rules() -> serde_json::Value {
    serde_json::json!({
        "bot": {
            "kind": "rules",
            "dialog": {
                "start": "welcome",
                "unmatched": "抱歉，我没有理解。",
                "nodes": {
                    "welcome": {
                        "reply": "您好，请问有什么可以帮您？",
                        "options": ["查订单", "找经理"],
                        "routes": [
                            { "keywords": ["订单", "order"], "next": "order" },
                            { "keywords": ["经理", "manager"], "next": "escalate" }
                        ]
                    },
                    "order": {
                        "reply": "请告诉我订单号",
                        "intent": "order_status",
                        "routes": [ { "pattern": "(?P<order_no>\\d{6,})", "next": "lookup" } ]
                    },
                    "lookup": {
                        "reply": "正在查询订单 {order_no}…",
                        "action": "order_lookup",
                        "on_success": "found",
                        "on_failure": "order"
                    },
                    "found": { "reply": "订单 {order_no}：{status}", "resolve": true },
                    "escalate": { "intent": "escalate_to_human", "handoff": true }
                },
                "actions": { "order_lookup": { "url": "http://127.0.0.1:9/orders/{order_no}" } }
            }
        }
    })
}

fn webhook() -> serde_json::Value {
    serde_json::json!({ "bot": { "kind": "webhook", "url": "http://127.0.0.1:9/bot" } })
}

/// `base` with `patch` merged in at the top level of the bot settings.
fn bot(base: serde_json::Value, patch: serde_json::Value) -> BotSettings {
    let mut v = base;
    for (k, x) in patch.as_object().expect("object") {
        v[k] = x.clone();
    }
    serde_json::from_value(v).expect("valid bot settings")
}

/// A harness with workgroup `desk` fronted by `settings`, and agents
/// `agents` signed in there (Ready).
fn desk(settings: BotSettings, agents: &[&str]) -> Harness {
    let mut h = Harness::new();
    h.cmd(Command::CreateWorkgroup {
        workgroup_id: "desk".into(),
        settings: WorkgroupSettings {
            routing_mode: RoutingMode::RoundRobin,
            bot: Some(Box::new(settings)),
            ..WorkgroupSettings::default()
        },
    })
    .expect("create workgroup");
    for a in agents {
        h.register(a);
        h.member(a, &[("desk", 1)]);
    }
    h
}

fn chat_in(h: &mut Harness, v: &str) -> SessionId {
    let reply = h
        .cmd(Command::JoinQueue {
            visitor_id: v.into(),
            visitor_name: None,
            preferred_skill: Some("desk".into()),
            priority: 0,
            channel: Channel::Chat,
            question: None,
        })
        .expect("join");
    session_id(&reply)
}

fn hear(h: &mut Harness, s: &SessionId, text: &str, emotion: u8) {
    h.cmd(Command::BotHear {
        session_id: s.clone(),
        text: text.into(),
        emotion,
    })
    .expect("heard");
}

fn status(h: &Harness, s: &SessionId) -> SessionStatus {
    h.center.session(s.as_str()).expect("session").status()
}

fn chat(h: &Harness, s: &SessionId) -> switchboard_core::bot::BotChat {
    *h.center
        .session(s.as_str())
        .expect("session")
        .bot
        .clone()
        .expect("with a bot")
}

fn last_cause(h: &Harness, s: &SessionId) -> (Cause, u16, bool) {
    let c = chat(h, s);
    let d = c.last_decision().expect("a decision");
    (d.cause, d.score.0, d.handoff)
}

fn bot_said(h: &mut Harness) -> Vec<String> {
    h.take_events()
        .into_iter()
        .filter_map(|e| match e.event {
            EventKind::BotMessage { text, .. } => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn a_chat_meets_the_bot_first_and_a_call_does_not_unless_configured() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    assert_eq!(bot_said(&mut h), ["您好，请问有什么可以帮您？"]);
    assert_eq!(
        h.state_of("a1"),
        switchboard_core::AgentState::Ready,
        "nobody rung"
    );
    let call = h.join_group("v2", "desk", 0);
    assert_eq!(h.rung_for("v2").as_deref(), Some("a1"), "{call:?}");
}

#[test]
fn the_rule_bot_follows_its_routes_and_collects_fields() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    h.take_events();
    hear(&mut h, &s, "我想查订单", 0);
    assert_eq!(bot_said(&mut h), ["请告诉我订单号"]);
    hear(&mut h, &s, "是 12345678", 0);
    assert_eq!(bot_said(&mut h), ["正在查询订单 12345678…"]);
    let c = chat(&h, &s);
    assert_eq!(c.fields["order_no"], "12345678");
    assert_eq!(c.intents, ["order_status"]);
    let turn = c.turn;
    h.cmd(Command::BotReply {
        session_id: s.clone(),
        turn,
        answer: BotAnswer::Action {
            ok: true,
            fields: [("status".to_owned(), "已发货".to_owned())].into(),
        },
    })
    .expect("action result");
    assert_eq!(bot_said(&mut h), ["订单 12345678：已发货"]);
    assert!(chat(&h, &s).resolved);
    hear(&mut h, &s, "谢谢", 0);
    h.end(&s, Party::Customer);
    let c = chat(&h, &s);
    assert_eq!(c.outcome, Some(BotOutcome::Resolved));
    assert_eq!(h.center.bot_stats("desk").unwrap().counters.resolved, 1);
}

#[test]
fn the_bot_hears_its_visitors_own_words_and_nothing_else() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    let hears = |h: &Harness, from: Speaker, note: bool, file: bool| {
        h.center
            .session(s.as_str())
            .expect("the session")
            .bot_hears(&from, note, file)
    };
    let v1 = || Speaker::Visitor("v1".into());
    assert!(hears(&h, v1(), false, false));
    assert!(!hears(&h, v1(), false, true), "a file");
    assert!(!hears(&h, v1(), true, false), "a note");
    assert!(!hears(&h, Speaker::Visitor("v2".into()), false, false));
    assert!(!hears(&h, Speaker::Agent("a1".into()), false, false));
    assert!(!hears(&h, Speaker::Staff, false, false));
    hear(&mut h, &s, "转人工", 0);
    assert_ne!(status(&h, &s), SessionStatus::Bot);
    assert!(
        !hears(&h, v1(), false, false),
        "handed over: the bot is done"
    );
}

#[test]
fn an_explicit_keyword_hands_over_at_once_whatever_the_score() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "转人工", 0);
    let (cause, score, handoff) = last_cause(&h, &s);
    assert_eq!((cause, handoff), (Cause::ExplicitKeyword, true));
    assert!(score < 100, "the score alone would not have: {score}");
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"));
}

#[test]
fn the_escalate_button_and_an_escalate_node_hand_over_at_once() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1", "a2"]);
    let s = chat_in(&mut h, "v1");
    h.cmd(Command::BotEscalate {
        session_id: s.clone(),
    })
    .expect("escalate");
    assert_eq!(last_cause(&h, &s).0, Cause::Escalate);
    assert_eq!(status(&h, &s), SessionStatus::Waiting);

    let s2 = chat_in(&mut h, "v2");
    hear(&mut h, &s2, "找经理", 0);
    let c = chat(&h, &s2);
    assert_eq!(c.last_decision().unwrap().cause, Cause::Escalate);
    assert_eq!(c.intents, ["escalate_to_human"]);
    assert_eq!(status(&h, &s2), SessionStatus::Waiting);
}

/// The seed's example: emotion 0.4 + rounds 0.3 + keyword 0.3 = 1.0 hands
/// over; one part short does not.
#[test]
fn the_weighted_score_hands_over_at_the_threshold_and_not_below() {
    let patch = serde_json::json!({ "triggers": { "rounds_max": 2, "weights": { "silence": 0 } } });
    let mut h = desk(bot(rules(), patch.clone()), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "hello", 0);
    hear(&mut h, &s, "I want a refund", 0); // keyword 0.3
    assert_eq!(last_cause(&h, &s), (Cause::Message, 30, false));
    hear(&mut h, &s, "this is terrible", 80); // + emotion 0.4, rounds 3 > 2: + 0.3
    assert_eq!(last_cause(&h, &s), (Cause::Message, 100, true), "at 1.0");
    let d = chat(&h, &s).last_decision().cloned().unwrap();
    assert_eq!(
        (d.parts.emotion, d.parts.rounds, d.parts.keyword),
        (Weight(40), Weight(30), Weight(30))
    );

    // Below: the same without the keyword is 0.7.
    let mut h = desk(bot(rules(), patch.clone()), &["a1"]);
    let s = chat_in(&mut h, "v1");
    for t in ["hello", "hmm", "this is terrible"] {
        hear(&mut h, &s, t, 80);
    }
    assert_eq!(last_cause(&h, &s), (Cause::Message, 70, false));
    assert_eq!(status(&h, &s), SessionStatus::Bot);

    // Above: with emotion weighing 0.5 the three make 1.1.
    let above = serde_json::json!({ "triggers": { "rounds_max": 2,
        "weights": { "emotion": 0.5, "silence": 0 } } });
    let mut h = desk(bot(rules(), above), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "hello", 0);
    hear(&mut h, &s, "I want a refund", 0);
    hear(&mut h, &s, "this is terrible", 80);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 110, true));
}

#[test]
fn negative_emotion_counts_from_its_threshold() {
    let patch = serde_json::json!({ "triggers": { "emotion_threshold": 50, "weights": { "emotion": 1.0 } } });
    let mut h = desk(bot(rules(), patch), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "hmm", 49);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 0, false));
    hear(&mut h, &s, "hmm!", 50);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 100, true));
}

#[test]
fn rounds_above_the_maximum_count() {
    let patch = serde_json::json!({ "triggers": { "weights": { "rounds": 1.0 } } });
    let mut h = desk(bot(rules(), patch), &["a1"]);
    let s = chat_in(&mut h, "v1");
    for i in 1..=5 {
        hear(&mut h, &s, &format!("question {i}"), 0);
        assert_eq!(
            status(&h, &s),
            SessionStatus::Bot,
            "round {i} is not above 5"
        );
    }
    hear(&mut h, &s, "question 6", 0);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 100, true));
}

#[test]
fn a_weighted_keyword_counts_alone_only_with_its_weight() {
    let patch = serde_json::json!({ "triggers": { "weights": { "keyword": 1.0 } } });
    let mut h = desk(bot(rules(), patch), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "你好", 0);
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    hear(&mut h, &s, "我要投诉", 0);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 100, true));
}

#[test]
fn silence_fires_at_its_deadline() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    let greeted = h.now();
    assert_eq!(
        h.center.poll_timeout(),
        Some(greeted.saturating_add(Duration::from_secs(15)))
    );
    h.advance(Duration::from_millis(14_999));
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    h.advance(Duration::from_millis(1));
    assert_eq!(last_cause(&h, &s), (Cause::Silence, 100, true));
    assert_eq!(
        chat(&h, &s).last_decision().unwrap().at,
        greeted.saturating_add(Duration::from_secs(15))
    );
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"));
}

#[test]
fn the_bot_timeout_fires_at_its_deadline_and_a_late_answer_is_refused() {
    let mut h = desk(bot(webhook(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    assert_eq!(h.center.poll_timeout().map(|t| t > h.now()), Some(true));
    hear(&mut h, &s, "hello", 0);
    let asked = h
        .take_events()
        .into_iter()
        .find_map(|e| match (e.to, e.event) {
            (Recipient::Bot, EventKind::BotAsk { turn, text, .. }) => Some((turn, text)),
            _ => None,
        });
    assert_eq!(asked, Some((1, "hello".to_owned())));
    h.advance(Duration::from_millis(2_999));
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    h.advance(Duration::from_millis(1));
    assert_eq!(last_cause(&h, &s), (Cause::BotTimeout, 100, true));
    h.refused(Command::BotReply {
        session_id: s.clone(),
        turn: 1,
        answer: BotAnswer::Said {
            messages: vec![],
            handoff: None,
            resolve: false,
        },
    });
}

#[test]
fn an_external_bot_error_hands_over() {
    let mut h = desk(bot(webhook(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "hello", 0);
    h.cmd(Command::BotReply {
        session_id: s.clone(),
        turn: 1,
        answer: BotAnswer::Failed {
            error: "HTTP 503".into(),
        },
    })
    .expect("failure taken");
    assert_eq!(last_cause(&h, &s), (Cause::BotError, 0, true));
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"));
}

#[test]
fn an_external_bot_answers_and_hands_over_with_its_context() {
    let mut h = desk(bot(webhook(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "where is order 881234?", 0);
    h.cmd(Command::BotReply {
        session_id: s.clone(),
        turn: 1,
        answer: BotAnswer::Said {
            messages: vec![BotMessage {
                text: "Let me find someone for you.".into(),
                options: vec![],
            }],
            handoff: Some(HandoffAsk {
                reason: Some("order_not_found".into()),
                fields: [("order_no".to_owned(), "881234".to_owned())].into(),
                intents: vec!["order_status".into()],
            }),
            resolve: false,
        },
    })
    .expect("answer taken");
    let context = h
        .take_events()
        .into_iter()
        .find_map(|e| match (e.to, e.event) {
            (Recipient::Agent(a), EventKind::IncomingCall { context, .. })
                if a.as_str() == "a1" =>
            {
                context
            }
            _ => None,
        });
    let c = context.expect("incoming_call carries the context");
    assert_eq!(c.reason, Cause::BotHandoff);
    assert_eq!(c.bot_reason.as_deref(), Some("order_not_found"));
    assert_eq!(c.fields["order_no"], "881234");
    assert_eq!(c.intents, ["order_status"]);
    let lines: Vec<&str> = c.transcript.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        lines,
        ["where is order 881234?", "Let me find someone for you."]
    );
}

#[test]
fn business_actions_failing_the_maximum_times_hand_over() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "订单", 0);
    for i in 1..=3 {
        hear(&mut h, &s, "123456", 0);
        let turn = chat(&h, &s).turn;
        h.cmd(Command::BotReply {
            session_id: s.clone(),
            turn,
            answer: BotAnswer::Action {
                ok: false,
                fields: Default::default(),
            },
        })
        .expect("failure taken");
        let (cause, _, handoff) = last_cause(&h, &s);
        assert_eq!(cause, Cause::ActionFailed);
        assert_eq!(handoff, i == 3, "failure {i}");
    }
    assert_eq!(chat(&h, &s).action_failures, 3);
}

#[test]
fn an_available_agent_counts_with_its_weight() {
    let patch = serde_json::json!({ "triggers": { "weights": { "availability": 1.0 } } });
    let mut h = desk(bot(rules(), patch.clone()), &["a1"]);
    h.not_ready("a1");
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "hello", 0);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 0, false));
    h.available("a1");
    hear(&mut h, &s, "hello again", 0);
    assert_eq!(last_cause(&h, &s), (Cause::Message, 100, true));
}

#[test]
fn the_agent_who_served_the_visitor_last_is_preferred() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1", "a2"]);
    // a2 serves v1 once (a1 busy elsewhere).
    let first = chat_in(&mut h, "v1");
    h.cmd(Command::BotEscalate {
        session_id: first.clone(),
    })
    .unwrap();
    let rung = h.rung_for("v1").expect("rung");
    h.accept(&rung);
    h.end(&first, Party::Agent);
    h.advance_secs(60);
    // Round robin would now ring the other agent.
    let next = h.center.next_agent("desk").unwrap().unwrap();
    assert_ne!(next.as_str(), rung);
    let again = chat_in(&mut h, "v1");
    h.cmd(Command::BotEscalate { session_id: again }).unwrap();
    assert_eq!(h.rung_for("v1"), Some(rung));
}

#[test]
fn no_agent_means_retries_then_the_fallback_and_a_ticket() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &[]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "转人工", 0);
    let notices = |h: &mut Harness| -> Vec<String> {
        h.take_events()
            .into_iter()
            .filter_map(|e| match e.event {
                EventKind::BotNotice {
                    notice, attempt, ..
                } => Some(format!(
                    "{}:{attempt}",
                    serde_json::to_value(notice).unwrap().as_str().unwrap()
                )),
                _ => None,
            })
            .collect()
    };
    assert_eq!(notices(&mut h), ["transferring:1", "retrying:1"]);
    assert_eq!(chat(&h, &s).phase, BotPhase::Retrying);
    h.advance_secs(20);
    assert_eq!(notices(&mut h), ["transferring:2", "retrying:2"]);
    h.advance_secs(20);
    assert_eq!(notices(&mut h), ["transferring:3", "fallback:3"]);
    assert_eq!(chat(&h, &s).outcome, Some(BotOutcome::Fallback));
    hear(&mut h, &s, "请回电 13800000000", 0);
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(
        (&e.to, &e.event),
        (Recipient::Staff, EventKind::TicketCreated { text, .. }) if text == "请回电 13800000000"
    )));
    assert_eq!(status(&h, &s), SessionStatus::Ended);
    let st = h.center.bot_stats("desk").unwrap();
    assert_eq!(
        (
            st.counters.attempts,
            st.counters.attempts_failed,
            st.counters.fallback,
            st.counters.tickets
        ),
        (3, 3, 1, 1)
    );
}

#[test]
fn an_attempt_nobody_answers_returns_the_visitor_to_the_bot() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    h.not_ready("a1");
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "human", 0);
    assert_eq!(
        status(&h, &s),
        SessionStatus::Waiting,
        "a1 is signed in: queued"
    );
    h.advance_secs(60);
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    assert_eq!(chat(&h, &s).phase, BotPhase::Retrying);
    h.available("a1");
    h.advance_secs(20);
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"));
    h.accept("a1");
    let c = chat(&h, &s);
    assert_eq!((c.outcome, c.attempts), (Some(BotOutcome::HandedOver), 2));
    let st = h.center.bot_stats("desk").unwrap();
    assert_eq!(st.transfer_success_rate, Some(1.0));
    assert_eq!(
        st.to_answer_p50_ms,
        Some(120_000),
        "80 s, in the 2-minute bucket"
    );
}

#[test]
fn the_visitor_may_refuse_a_transfer_and_stay_with_the_bot() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    h.not_ready("a1");
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "human", 0);
    assert_eq!(status(&h, &s), SessionStatus::Waiting);
    h.cmd(Command::BotRefuse {
        session_id: s.clone(),
    })
    .expect("refused");
    assert_eq!(status(&h, &s), SessionStatus::Bot);
    assert_eq!(chat(&h, &s).phase, BotPhase::Talking);
    assert_eq!(
        chat(&h, &s).attempts,
        0,
        "a declined transfer is not a failed attempt"
    );
    assert!(h.queue_visitors().is_empty());
    h.refused(Command::BotRefuse { session_id: s });
    assert_eq!(h.center.bot_stats("desk").unwrap().counters.refused, 1);
}

#[test]
fn strong_emotion_raises_the_visitors_priority_on_handoff() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    h.not_ready("a1");
    let calm = chat_in(&mut h, "calm");
    hear(&mut h, &calm, "human please", 0);
    h.advance_secs(1);
    let angry = chat_in(&mut h, "angry");
    hear(&mut h, &angry, "human NOW, this is a scam", 90);
    assert_eq!(h.center.session(angry.as_str()).unwrap().priority, 2);
    assert_eq!(h.queue_visitors(), ["angry", "calm"]);
}

#[test]
fn a_visitor_who_goes_away_from_the_bot_has_left() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    h.cmd(Command::LeaveQueue {
        visitor_id: "v1".into(),
    })
    .expect("left");
    assert_eq!(chat(&h, &s).outcome, Some(BotOutcome::Left));
    let st = h.center.bot_stats("desk").unwrap();
    assert_eq!((st.counters.conversations, st.counters.left), (1, 1));
}

#[test]
fn bad_bot_settings_and_inputs_are_refused_and_change_nothing() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let mut broken = bot(rules(), serde_json::json!({}));
    if let switchboard_core::bot::BotKind::Rules { dialog } = &mut broken.bot {
        dialog.nodes.get_mut("order").unwrap().routes[0].pattern = Some("(?P<x".into());
    }
    h.refused(Command::UpdateWorkgroup {
        workgroup_id: "desk".into(),
        settings: WorkgroupSettings {
            bot: Some(Box::new(broken)),
            ..WorkgroupSettings::default()
        },
    });
    let s = chat_in(&mut h, "v1");
    // The bot cannot be taken away from a visitor talking to it.
    h.refused(Command::UpdateWorkgroup {
        workgroup_id: "desk".into(),
        settings: WorkgroupSettings::default(),
    });
    h.refused(Command::BotHear {
        session_id: s.clone(),
        text: "  ".into(),
        emotion: 0,
    });
    h.refused(Command::BotHear {
        session_id: s.clone(),
        text: "hi".into(),
        emotion: 101,
    });
    h.refused(Command::BotReply {
        session_id: s,
        turn: 9,
        answer: BotAnswer::Failed { error: "x".into() },
    });
}

#[test]
fn the_handoff_context_reaches_the_rung_agent_after_an_answer_too() {
    let mut h = desk(bot(rules(), serde_json::json!({})), &["a1"]);
    let s = chat_in(&mut h, "v1");
    hear(&mut h, &s, "order", 0);
    hear(&mut h, &s, "654321", 0);
    hear(&mut h, &s, "转人工", 0);
    let ctx = h.take_events().into_iter().find_map(|e| match e.event {
        EventKind::IncomingCall { context, .. } => context,
        _ => None,
    });
    let c = ctx.expect("context");
    assert_eq!(c.fields["order_no"], "654321");
    assert_eq!(c.reason, Cause::ExplicitKeyword);
    assert_eq!(
        c.transcript.first().map(|l| l.text.as_str()),
        Some("您好，请问有什么可以帮您？")
    );
    h.cmd(Command::AcceptCall {
        agent_id: "a1".into(),
        media: Media::Audio,
    })
    .unwrap();
    assert_eq!(chat(&h, &s).outcome, Some(BotOutcome::HandedOver));
}
