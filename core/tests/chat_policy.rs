//! The chat policy, branch by branch: a session's conversation (participant
//! or supervisor), direct messages, workgroup channels, notes, sending on a
//! read-only conversation, closing a chat, notifications and canned replies.

mod common;

use common::*;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentId, ChatAccess, ChatRefusal, Chatter, Closer, CoreError, Party, SessionId, Speaker,
    VisitorId, WorkgroupId,
};

fn agent_(id: &str) -> Chatter {
    Chatter {
        speaker: Speaker::Agent(id.into()),
        supervisor: false,
    }
}

fn visitor_(id: &str) -> Chatter {
    Chatter {
        speaker: Speaker::Visitor(id.into()),
        supervisor: false,
    }
}

fn staff(supervisor: bool) -> Chatter {
    Chatter {
        speaker: Speaker::Staff,
        supervisor,
    }
}

fn supervising(agent: &str) -> Chatter {
    Chatter {
        supervisor: true,
        ..agent_(agent)
    }
}

/// a1 holds v1's call; a2 is another agent.
fn a_call() -> (Harness, SessionId) {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.not_ready("a2");
    h.join("v1");
    let sid = h.accept("a1");
    (h, sid)
}

#[test]
fn a_session_is_its_participants_and_supervisors() {
    let (h, sid) = a_call();
    let c = &h.center;
    let holder = c.session_chat(&sid, &agent_("a1")).expect("the holder");
    assert!(holder.read && holder.write && holder.notes);
    let v = c.session_chat(&sid, &visitor_("v1")).expect("its visitor");
    assert!(v.read && v.write && !v.notes);
    assert_eq!(
        c.session_chat(&sid, &agent_("a2")),
        Err(ChatRefusal::NotParticipant(sid.clone()))
    );
    assert_eq!(
        c.session_chat(&sid, &visitor_("v9")),
        Err(ChatRefusal::NotParticipant(sid.clone()))
    );
    assert_eq!(
        c.session_chat(&sid, &staff(false)).map(|a| a.read),
        Ok(true),
        "staff speak as staff"
    );
    // An agent who also supervises reads a call they take no part in, as staff.
    let sup = c
        .session_chat(&sid, &supervising("a2"))
        .expect("a supervisor");
    assert!(sup.read && !sup.write && sup.notes);
    let missing = SessionId::from("cs_missing");
    assert_eq!(
        c.session_chat(&missing, &agent_("a1")),
        Err(ChatRefusal::Missing(CoreError::SessionNotFound(missing)))
    );
}

#[test]
fn sending_needs_write_and_notes_need_notes() {
    let (mut h, sid) = a_call();
    let visitor = h.center.session_chat(&sid, &visitor_("v1")).unwrap();
    assert_eq!(visitor.check_send(false), Ok(()));
    assert_eq!(visitor.check_send(true), Err(ChatRefusal::NoNotes));
    let holder = h.center.session_chat(&sid, &agent_("a1")).unwrap();
    assert_eq!(holder.check_send(true), Ok(()));
    h.end(&sid, Party::Customer);
    let after = h.center.session_chat(&sid, &agent_("a1")).unwrap();
    assert_eq!(after.check_send(false), Err(ChatRefusal::Closed));
    assert_eq!(after.check_send(true), Ok(()), "wrap-up notes");
    assert!(ChatAccess::reaches_visitor(false));
    assert!(
        !ChatAccess::reaches_visitor(true),
        "a note never reaches the visitor"
    );
}

#[test]
fn direct_messages_are_between_two_agents_in_one_conversation() {
    let (h, _) = a_call();
    let c = &h.center;
    let pair = [AgentId::from("a1"), AgentId::from("a2")];
    assert_eq!(c.direct_chat(&agent_("a1"), &"a2".into()), Ok(pair.clone()));
    assert_eq!(c.direct_chat(&agent_("a2"), &"a1".into()), Ok(pair));
    assert_eq!(
        c.direct_chat(&agent_("a1"), &"a1".into()),
        Err(ChatRefusal::ToSelf)
    );
    assert_eq!(
        c.direct_chat(&agent_("a1"), &"a9".into()),
        Err(ChatRefusal::Missing(CoreError::AgentNotFound("a9".into())))
    );
    for who in [visitor_("v1"), staff(true)] {
        assert_eq!(
            c.direct_chat(&who, &"a1".into()),
            Err(ChatRefusal::NotAnAgent)
        );
    }
}

#[test]
fn a_channel_is_its_members_and_supervisors() {
    let mut h = Harness::new();
    h.group("sales", RoutingMode::RoundRobin, None);
    h.register("a1");
    h.register("a2");
    h.member("a1", &[("sales", 1)]);
    let sales = WorkgroupId::from("sales");
    let c = &h.center;
    assert_eq!(
        c.channel_chat(&agent_("a1"), &sales),
        Ok(vec![AgentId::from("a1")])
    );
    assert_eq!(
        c.channel_chat(&agent_("a2"), &sales),
        Err(ChatRefusal::NotMember(sales.clone()))
    );
    assert_eq!(
        c.channel_chat(&visitor_("v1"), &sales),
        Err(ChatRefusal::NotMember(sales.clone()))
    );
    assert!(c.channel_chat(&supervising("a2"), &sales).is_ok());
    assert!(c.channel_chat(&staff(true), &sales).is_ok());
    let nowhere = WorkgroupId::from("nowhere");
    assert_eq!(
        c.channel_chat(&staff(true), &nowhere),
        Err(ChatRefusal::Missing(CoreError::WorkgroupNotFound(nowhere)))
    );
}

#[test]
fn the_holding_agent_or_a_supervisor_closes_a_chat_and_records_the_wrap_up() {
    let (mut h, sid) = a_call();
    let c = &h.center;
    let ending = |by| Ok(Closer { by, ends: true });
    assert_eq!(c.chat_closer(&sid, &agent_("a1")), ending(Party::Agent));
    assert_eq!(
        c.chat_closer(&sid, &supervising("a2")),
        ending(Party::Admin)
    );
    assert_eq!(c.chat_closer(&sid, &staff(true)), ending(Party::Admin));
    assert_eq!(
        c.chat_closer(&sid, &visitor_("v1")),
        Err(ChatRefusal::NotCloser)
    );
    assert_eq!(
        c.chat_closer(&sid, &agent_("a2")),
        Err(ChatRefusal::NotParticipant(sid.clone()))
    );
    // Once it has ended, the last agent or a supervisor records the
    // wrap-up, which ends nothing; the others still may not.
    h.end(&sid, Party::Customer);
    let c = &h.center;
    let wrap_up = |by| Ok(Closer { by, ends: false });
    assert_eq!(c.chat_closer(&sid, &agent_("a1")), wrap_up(Party::Agent));
    assert_eq!(c.chat_closer(&sid, &staff(true)), wrap_up(Party::Admin));
    for who in [visitor_("v1"), agent_("a2")] {
        assert!(c.chat_closer(&sid, &who).is_err(), "{who:?}");
    }
}

#[test]
fn supervisors_notify_and_agents_expand_canned_replies_in_messages() {
    assert_eq!(staff(true).may_notify(), Ok(()));
    assert_eq!(supervising("a1").may_notify(), Ok(()));
    for who in [agent_("a1"), visitor_("v1"), staff(false)] {
        assert_eq!(who.may_notify(), Err(ChatRefusal::NotNotifier));
    }
    assert!(agent_("a1").expands_canned(false));
    assert!(
        !agent_("a1").expands_canned(true),
        "a note keeps what was typed"
    );
    assert!(!visitor_("v1").expands_canned(false));
    assert!(!staff(true).expands_canned(false));
}

#[test]
fn the_agent_serving_a_visitor_reads_their_earlier_sessions_and_nobody_else() {
    let (mut h, first) = a_call();
    h.end(&first, Party::Customer);
    h.not_ready("a1");
    h.available("a2");
    h.advance_secs(60);
    h.join("v1");
    let second = h.accept("a2");
    let c = &h.center;
    let v1 = VisitorId::from("v1");
    assert!(c.serves_customer(&AgentId::from("a2"), &v1));
    assert!(!c.serves_customer(&AgentId::from("a1"), &v1));
    // a2 reads the first call's conversation, notes included, but not to write.
    let earlier = c.session_chat(&first, &agent_("a2")).expect("a2 serves v1");
    assert_eq!(
        earlier,
        ChatAccess {
            read: true,
            write: false,
            notes: true
        }
    );
    let history = c
        .customer_history(&agent_("a2"), &v1)
        .expect("a2 serves v1");
    let ids: Vec<&SessionId> = history.iter().map(|s| &s.id).collect();
    assert_eq!(ids, [&second, &first], "newest first");
    assert_eq!(
        c.customer_history(&staff(true), &v1).map(|h| h.len()),
        Ok(2)
    );
    // a1 served v1 once, not now: neither history nor the old conversation.
    assert_eq!(
        c.customer_history(&agent_("a1"), &v1).map(|h| h.len()),
        Err(ChatRefusal::NotServing(v1.clone()))
    );
    assert_eq!(
        c.customer_history(&staff(false), &v1).map(|h| h.len()),
        Err(ChatRefusal::NotServing(v1.clone()))
    );
}
