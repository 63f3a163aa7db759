//! The log and the election against a real three-member etcd on loopback.

use std::sync::Arc;
use std::time::Duration;

use switchboard_cluster::testing::EtcdCluster;
use switchboard_cluster::{
    join, AppendError, Etcd, EtcdError, Joined, Keys, Log, Role, Settings, Term,
};
use tokio::sync::mpsc;

fn log_of(etcd: &EtcdCluster, prefix: &str) -> Log {
    let client = Etcd::new(&etcd.urls(), Duration::from_secs(2)).expect("urls");
    Log::new(Arc::new(client), Keys::new(prefix))
}

fn settings(node: &str) -> Settings {
    Settings {
        node: node.into(),
        advertise: format!("http://{node}.test"),
        ttl_secs: 2,
    }
}

/// Waits until `joined` has the role `want` says.
async fn role_until(joined: &mut Joined, want: impl Fn(&Role) -> bool) -> Role {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let now = joined.role.borrow_and_update().clone();
            if want(&now) {
                return now;
            }
            joined.role.changed().await.expect("membership ended");
        }
    })
    .await
    .expect("role not reached in 15 s")
}

fn term(role: &Role) -> Term {
    match role {
        Role::Leader(t) => t.clone(),
        other => panic!("not leading: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_appends_and_a_deposed_one_is_fenced() {
    let etcd = EtcdCluster::start(3);
    let log = log_of(&etcd, "t1");
    let mut a = join(log.clone(), settings("a")).await.expect("a joins");
    let first = term(&role_until(&mut a, |r| matches!(r, Role::Leader(_))).await);
    let mut b = join(log.clone(), settings("b")).await.expect("b joins");
    let seen = role_until(&mut b, |r| matches!(r, Role::Follower { leader: Some(_) })).await;
    assert_eq!(
        seen,
        Role::Follower {
            leader: Some(switchboard_cluster::Leader {
                node: "a".into(),
                url: "http://a.test".into()
            })
        }
    );

    assert_eq!(log.append(&first, 0, b"one").await.expect("append"), 1);
    assert_eq!(log.append(&first, 1, b"two").await.expect("append"), 2);
    // A writer that saw an old head is fenced, and told the head.
    match log.append(&first, 1, b"stale").await {
        Err(AppendError::Fenced {
            head: 2,
            leader: Some(l),
        }) if l == "a" => {}
        other => panic!("expected fenced at head 2, got {other:?}"),
    }
    // Nobody but the leader's term appends.
    let forged = Term {
        node: "b".into(),
        revision: first.revision + 1,
    };
    assert!(matches!(
        log.append(&forged, 2, b"x").await,
        Err(AppendError::Fenced { .. })
    ));

    // a leaves: b leads within the poll, and a's old term is fenced.
    a.handle.leave().await;
    let second = term(&role_until(&mut b, |r| matches!(r, Role::Leader(_))).await);
    assert_ne!(second.revision, first.revision);
    assert!(matches!(
        log.append(&first, 2, b"late").await,
        Err(AppendError::Fenced { .. })
    ));
    assert_eq!(
        log.append(&second, 2, b"three").await.expect("b appends"),
        3
    );

    let entries: Vec<Vec<u8>> = log
        .read(0, 0)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(
        entries,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_id_already_alive_is_refused() {
    let etcd = EtcdCluster::start(1);
    let log = log_of(&etcd, "t2");
    let _a = join(log.clone(), settings("a")).await.expect("a joins");
    match join(log, settings("a")).await {
        Err(switchboard_cluster::member::JoinError::Duplicate(id, url)) => {
            assert_eq!((id.as_str(), url.as_str()), ("a", "http://a.test"));
        }
        other => panic!("expected a duplicate, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_hands_over_without_the_leader_saying_so() {
    let etcd = EtcdCluster::start(1);
    let log = log_of(&etcd, "t3");
    let mut a = join(log.clone(), settings("a")).await.expect("a joins");
    let first = term(&role_until(&mut a, |r| matches!(r, Role::Leader(_))).await);
    let mut b = join(log.clone(), settings("b")).await.expect("b joins");
    let lease = etcd_lease_of(&log, "a").await;
    // The lease ends under a's feet (as a lapse would): a learns only at
    // its next renewal; b takes over meanwhile.
    log.etcd().revoke(lease).await.expect("revoke a's lease");
    let second = term(&role_until(&mut b, |r| matches!(r, Role::Leader(_))).await);
    assert!(second.revision > first.revision);
    assert!(matches!(
        log.append(&first, 0, b"old").await,
        Err(AppendError::Fenced { .. })
    ));
    assert_eq!(log.append(&second, 0, b"new").await.expect("append"), 1);
}

async fn etcd_lease_of(log: &Log, node: &str) -> i64 {
    log.etcd()
        .get(&log.keys().node(node))
        .await
        .expect("read")
        .expect("registered")
        .lease
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_down_goes_on_two_down_refuses_then_resumes_with_nothing_lost() {
    let mut etcd = EtcdCluster::start(3);
    let log = log_of(&etcd, "t4");
    let mut a = join(log.clone(), settings("a")).await.expect("a joins");
    let t = term(&role_until(&mut a, |r| matches!(r, Role::Leader(_))).await);
    let (tx, mut rx) = mpsc::channel(64);
    let tail = tokio::spawn(switchboard_cluster::tail(log.clone(), 0, tx));

    let mut head = log.append(&t, 0, b"1").await.expect("append");
    etcd.kill(0);
    for i in 0..5 {
        // The first may meet the dead member's pooled connection.
        head = match log.append(&t, head, format!("a{i}").as_bytes()).await {
            Ok(seq) => seq,
            Err(AppendError::Etcd(_)) => log
                .append(&t, head, format!("a{i}").as_bytes())
                .await
                .expect("retry on a live member"),
            Err(e) => panic!("{e}"),
        };
    }
    assert_eq!(head, 6);
    etcd.kill(1);
    // No quorum: refused, never acknowledged.
    match log.append(&t, head, b"lost?").await {
        Err(AppendError::Etcd(EtcdError::Unavailable { .. })) => {}
        other => panic!("expected unavailable without quorum, got {other:?}"),
    }
    etcd.restart(1);
    etcd.wait_healthy();
    // The lease may have lapsed meanwhile: whoever leads now appends.
    let t = term(&role_until(&mut a, |r| matches!(r, Role::Leader(_))).await);
    // The refused append was never acknowledged, but etcd may still have
    // committed it once quorum came back (a timed-out proposal is not a
    // withdrawn one): then it is there once, as sent. Whoever reads the log
    // applies it; a client that retries is the command id's business.
    let head_now = log.head().await.expect("head");
    if head_now == 7 {
        let last = log.read(6, 0).await.expect("read");
        assert_eq!(last, vec![(7, b"lost?".to_vec())]);
    } else {
        assert_eq!(head_now, 6);
    }
    let end = log.append(&t, head_now, b"next").await.expect("resumes");
    assert_eq!(end, head_now + 1);

    let mut seen = Vec::new();
    while seen.len() < end as usize {
        let (seq, _) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("tail delivers")
            .expect("tail open");
        seen.push(seq);
    }
    assert_eq!(
        seen,
        (1..=end).collect::<Vec<u64>>(),
        "every entry once, in order"
    );
    tail.abort();
}
