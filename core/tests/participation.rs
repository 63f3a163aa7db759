//! The participation rules every door of the server asks: how an agent
//! stands in a session (`Session::agent_part`), through a call's whole life,
//! and which call an agent's frame means when it names none
//! (`Agent::only_call`), and as which party each may end a session
//! (`Session::ending_party`), and what a visitor's credential may still do
//! (`Session::visitor_may_act`).

mod common;

use common::*;
use switchboard_core::{AgentId, AgentPart, Config, Party, SessionId, Speaker};

fn part(h: &Harness, sid: &SessionId, agent: &str) -> Option<AgentPart> {
    h.center
        .session(sid.as_str())
        .expect("the session")
        .agent_part(&AgentId::from(agent))
}

fn call_agent(h: &Harness, sid: &SessionId) -> Option<String> {
    let s = h.center.session(sid.as_str()).expect("the session");
    s.call_agent().map(|a| a.to_string())
}

#[test]
fn an_agent_is_ringing_then_holding_then_last_and_any_other_agent_has_no_part() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.not_ready("a2");
    h.join("v1");
    let v1 = h.session_of_visitor("v1");
    assert_eq!(part(&h, &v1, "a1"), Some(AgentPart::Ringing));
    assert_eq!(part(&h, &v1, "a2"), None);
    assert_eq!(call_agent(&h, &v1).as_deref(), Some("a1"));

    let sid = h.accept("a1");
    assert_eq!(part(&h, &v1, "a1"), Some(AgentPart::Holding));
    assert_eq!(part(&h, &v1, "a2"), None);
    assert_eq!(call_agent(&h, &v1).as_deref(), Some("a1"));

    h.end(&sid, Party::Customer);
    assert_eq!(part(&h, &v1, "a1"), Some(AgentPart::Last));
    assert_eq!(call_agent(&h, &v1), None, "an ended call has no side");
}

#[test]
fn a_rejected_ring_leaves_no_part_and_the_next_agent_rung_takes_the_call_side() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let v1 = h.session_of_visitor("v1");
    assert_eq!(part(&h, &v1, "a1"), Some(AgentPart::Ringing));
    h.register("a2");
    h.reject("a1");
    // a1 never held it: nothing; a2, Ready, is rung now.
    assert_eq!(part(&h, &v1, "a1"), None);
    assert_eq!(part(&h, &v1, "a2"), Some(AgentPart::Ringing));
    assert_eq!(call_agent(&h, &v1).as_deref(), Some("a2"));
}

#[test]
fn a_frame_naming_no_call_means_the_agents_only_one_and_none_with_two() {
    let mut h = Harness::with_config(Config {
        max_concurrent: 2,
        ..Config::default()
    });
    h.register("a1");
    let only = |h: &Harness| h.center.agent("a1").and_then(|a| a.only_call().cloned());
    assert_eq!(only(&h), None, "no call");
    h.join("v1");
    let v1 = h.session_of_visitor("v1");
    assert_eq!(only(&h), Some(v1.clone()), "the offer being rung");
    h.accept("a1");
    assert_eq!(only(&h), Some(v1.clone()), "the call");
    h.join("v2");
    assert_eq!(only(&h), None, "a call and an offer: the client must say");
    h.accept("a1");
    assert_eq!(only(&h), None, "two calls");
    h.end(&v1, Party::Customer);
    assert_eq!(only(&h), Some(h.session_of_visitor("v2")));
}

#[test]
fn a_session_is_ended_as_its_visitor_its_agent_or_staff_and_by_nobody_else() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.not_ready("a2");
    h.join("v1");
    let sid = h.session_of_visitor("v1");
    let party = |h: &Harness, who: Speaker, supervisor: bool| {
        h.center
            .session(sid.as_str())
            .expect("the session")
            .ending_party(&who, supervisor)
    };
    let agent = |id: &str| Speaker::Agent(id.into());
    assert_eq!(party(&h, agent("a1"), false), Some(Party::Agent), "rung");
    h.accept("a1");
    assert_eq!(party(&h, agent("a1"), false), Some(Party::Agent), "holding");
    assert_eq!(
        party(&h, agent("a1"), true),
        Some(Party::Agent),
        "a supervisor holding the call hangs up as its agent"
    );
    let visitor = |id: &str| Speaker::Visitor(id.into());
    assert_eq!(party(&h, visitor("v1"), false), Some(Party::Customer));
    assert_eq!(party(&h, visitor("v2"), false), None);
    assert_eq!(party(&h, agent("a2"), false), None);
    assert_eq!(party(&h, agent("a2"), true), Some(Party::Admin));
    assert_eq!(party(&h, Speaker::Staff, true), Some(Party::Admin));
    assert_eq!(party(&h, Speaker::Staff, false), None);
    h.end(&sid, Party::Customer);
    assert_eq!(party(&h, agent("a1"), false), Some(Party::Agent), "last");
}

#[test]
fn a_visitors_credential_acts_while_the_session_is_open_and_then_only_rates() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.session_of_visitor("v1");
    let may = |h: &Harness, rating: bool| {
        h.center
            .session(sid.as_str())
            .expect("the session")
            .visitor_may_act(rating)
    };
    assert!(may(&h, false) && may(&h, true), "rung");
    h.accept("a1");
    assert!(may(&h, false) && may(&h, true), "in the call");
    h.end(&sid, Party::Agent);
    assert!(!may(&h, false), "ended: no more chat, media or hang-up");
    assert!(may(&h, true), "ended: the rating is still theirs");
}
