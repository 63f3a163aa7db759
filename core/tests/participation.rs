//! The participation rule: how an agent stands in a session, which every
//! door of the server asks (see `Session::agent_part`), through a call's
//! whole life: rung, answered, rung again elsewhere, ended.

mod common;

use common::*;
use switchboard_core::{AgentId, AgentPart, Party, SessionId};

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
