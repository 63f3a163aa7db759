//! Chat payloads: written with a turn, paged both ways, retries found by
//! client id, notes kept from visitors, watermarks only move forward.

use switchboard_core::Config;
use switchboard_store::{ChatWrites, MessageRow, Receipt, Store};

fn msg(seq: u64, kind: &str) -> MessageRow {
    MessageRow {
        conversation: "cs_a".into(),
        seq,
        sender: "customer:v1".into(),
        sender_name: "V".into(),
        client_id: Some(format!("c{seq}")),
        kind: kind.into(),
        body: format!("m{seq}"),
        attachment_id: None,
        data: None,
        at_ms: seq as i64,
    }
}

fn seqs(rows: &[MessageRow]) -> Vec<u64> {
    rows.iter().map(|m| m.seq).collect()
}

#[test]
fn history_pages_before_and_after_and_hides_notes_from_visitors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let (mut store, _, _) = Store::open(&path, &Config::default(), 1, 0).unwrap();
        let mut w = ChatWrites::default();
        for seq in 1..=10 {
            w.messages
                .push(msg(seq, if seq == 5 { "note" } else { "text" }));
        }
        w.receipts.push(Receipt {
            conversation: "cs_a".into(),
            reader: "agent".into(),
            delivered: 8,
            read: 6,
        });
        store.append_all(&[], &[], &[], &w).unwrap();
        let back = ChatWrites {
            receipts: vec![Receipt {
                conversation: "cs_a".into(),
                reader: "agent".into(),
                delivered: 3,
                read: 7,
            }],
            ..ChatWrites::default()
        };
        store.append_all(&[], &[], &[], &back).unwrap();
    }
    // Reopened: everything acknowledged is still there.
    let (store, _, _) = Store::open(&path, &Config::default(), 1, 0).unwrap();
    assert_eq!(store.last_seq("cs_a").unwrap(), 10);
    assert_eq!(store.last_seq("cs_other").unwrap(), 0);
    let all = store.history("cs_a", None, None, 100, true).unwrap();
    assert_eq!(seqs(&all), (1..=10).collect::<Vec<_>>());
    let visitor = store.history("cs_a", None, None, 100, false).unwrap();
    assert!(
        !seqs(&visitor).contains(&5),
        "a note reached a visitor's history"
    );
    assert_eq!(
        seqs(&store.history("cs_a", None, Some(9), 3, true).unwrap()),
        vec![6, 7, 8],
        "before: the newest page below, oldest first"
    );
    assert_eq!(
        seqs(&store.history("cs_a", Some(2), None, 3, true).unwrap()),
        vec![3, 4, 5]
    );
    let retry = store.by_client_id("cs_a", "customer:v1", "c4").unwrap();
    assert_eq!(retry.map(|m| m.seq), Some(4));
    assert!(store
        .by_client_id("cs_a", "agent:a1", "c4")
        .unwrap()
        .is_none());
    assert_eq!(store.unread("cs_a", 0, "customer:").unwrap(), 10);
    assert_eq!(store.unread("cs_a", 7, "customer:").unwrap(), 3);
    assert_eq!(store.unread("cs_a", 0, "agent:").unwrap(), 0);
    let marks = store.receipts("cs_a").unwrap();
    assert_eq!(
        (marks[0].delivered, marks[0].read),
        (8, 7),
        "watermarks never move back"
    );
}
