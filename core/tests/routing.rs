//! Each routing mode's contract, on the router alone.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use switchboard_core::routing::{Candidate, Placing, Router, Routing, RoutingMode};
use switchboard_core::{AgentId, Prng, Timestamp, VisitorId};

fn agent(i: usize) -> AgentId {
    format!("agent_{i:05}").into()
}

/// A router of `mode` holding agents 0..n, agent i with `key(i)` for every
/// ranked field and weight `weight(i)`.
fn router(
    mode: RoutingMode,
    n: usize,
    key: impl Fn(usize) -> u64,
    weight: impl Fn(usize) -> u64,
) -> Router {
    let mut r = Router::new(mode);
    for i in 0..n {
        let id = agent(i);
        r.insert(Candidate {
            id: &id,
            idle_since: Timestamp::from_millis(key(i)),
            active: key(i) as u32,
            response_ms: key(i),
            weight: weight(i),
        });
    }
    r
}

fn visitor(i: usize) -> VisitorId {
    format!("visitor_{i}").into()
}

fn placing(v: &VisitorId) -> Placing<'_> {
    Placing {
        visitor: v,
        last_agent: None,
    }
}

proptest! {
    #[test]
    fn round_robin_is_fair(n in 1usize..30, picks in 1usize..400) {
        let mut r = router(RoutingMode::RoundRobin, n, |_| 0, |_| 1);
        let mut rng = Prng::new(1);
        let mut counts = BTreeMap::new();
        let v = visitor(0);
        for _ in 0..picks {
            *counts.entry(r.pick(placing(&v), &mut rng).unwrap()).or_insert(0) += 1;
        }
        let max = counts.values().max().copied().unwrap_or(0);
        let min = if counts.len() < n { 0 } else { counts.values().min().copied().unwrap_or(0) };
        prop_assert!(max - min <= 1, "{counts:?}");
    }

    #[test]
    fn ranked_modes_pick_the_minimum(keys in prop::collection::vec(0u64..50, 1..60)) {
        let mut rng = Prng::new(2);
        let v = visitor(0);
        for mode in [RoutingMode::LeastActive, RoutingMode::LongestIdle, RoutingMode::FastestResponse] {
            let r = router(mode, keys.len(), |i| keys[i], |_| 1);
            let picked = r.choose(placing(&v), &mut rng).unwrap();
            let i: usize = picked.as_str()["agent_".len()..].parse().unwrap();
            let min = *keys.iter().min().unwrap();
            prop_assert_eq!(keys[i], min, "{:?} picked {} with {}", mode, picked, keys[i]);
            // Ties go to the lowest id.
            prop_assert_eq!(i, keys.iter().position(|k| *k == min).unwrap());
        }
    }

    #[test]
    fn every_mode_picks_only_ready_agents_and_peek_never_advances(
        ops in prop::collection::vec((0usize..12, any::<bool>()), 1..80),
        mode in prop::sample::select(RoutingMode::ALL.to_vec()),
    ) {
        let mut r = Router::new(mode);
        let mut ready = BTreeSet::new();
        let mut rng = Prng::new(3);
        for (i, (a, add)) in ops.iter().enumerate() {
            let id = agent(*a);
            if *add {
                r.insert(Candidate { id: &id, idle_since: Timestamp::from_millis(i as u64), active: 0, response_ms: 10 * *a as u64, weight: 1 + *a as u64 });
                ready.insert(id);
            } else {
                r.remove(&id);
                ready.remove(&id);
            }
            prop_assert_eq!(r.len(), ready.len());
            let v = visitor(i);
            let seen = r.peek(placing(&v), &rng);
            prop_assert_eq!(&r.peek(placing(&v), &rng), &seen, "peek changed something");
            let picked = r.pick(placing(&v), &mut rng);
            prop_assert_eq!(&picked, &seen, "pick differs from peek");
            match (&picked, mode) {
                (None, RoutingMode::Manual) => {}
                (None, _) => prop_assert!(ready.is_empty()),
                (Some(_), RoutingMode::Manual) => prop_assert!(false, "manual picked"),
                (Some(p), _) => prop_assert!(ready.contains(p), "picked {} not ready", p),
            }
        }
    }

    #[test]
    fn consistent_hash_keeps_each_visitor_with_its_agent(n in 1usize..40, vs in prop::collection::vec(0usize..10_000, 1..50)) {
        let r = router(RoutingMode::ConsistentHash, n, |_| 0, |_| 1);
        let mut rng = Prng::new(4);
        for v in vs {
            let v = visitor(v);
            let first = r.choose(placing(&v), &mut rng);
            for _ in 0..3 {
                prop_assert_eq!(&r.choose(placing(&v), &mut rng), &first);
            }
        }
    }
}

fn assignment(r: &Router, visitors: usize) -> Vec<AgentId> {
    let mut rng = Prng::new(5);
    (0..visitors)
        .map(|v| r.choose(placing(&visitor(v)), &mut rng).unwrap())
        .collect()
}

#[test]
fn consistent_hash_moves_about_one_nth_when_an_agent_joins_or_leaves() {
    let (n, visitors) = (20, 20_000);
    let mut r = router(RoutingMode::ConsistentHash, n, |_| 0, |_| 1);
    let before = assignment(&r, visitors);
    let newcomer = agent(n);
    r.insert(Candidate {
        id: &newcomer,
        idle_since: Timestamp::EPOCH,
        active: 0,
        response_ms: 0,
        weight: 1,
    });
    let after = assignment(&r, visitors);
    let moved: Vec<usize> = (0..visitors).filter(|v| before[*v] != after[*v]).collect();
    // Expected 1/(n+1) ≈ 4.8%; virtual nodes keep it within a factor of 2.
    let share = moved.len() as f64 / visitors as f64;
    assert!(
        share > 0.5 / (n + 1) as f64 && share < 2.0 / (n + 1) as f64,
        "moved {share}"
    );
    assert!(
        moved.iter().all(|v| after[*v] == newcomer),
        "only to the newcomer"
    );

    // Leaving: exactly that agent's visitors move; everyone else stays.
    let leaver = agent(3);
    r.remove(&leaver);
    let gone = assignment(&r, visitors);
    for v in 0..visitors {
        if after[v] == leaver {
            assert_ne!(gone[v], leaver);
        } else {
            assert_eq!(
                gone[v], after[v],
                "visitor {v} moved though its agent stayed"
            );
        }
    }
    // Not `hash % n`: load is spread within a reasonable band.
    let mut load = BTreeMap::new();
    for a in &gone {
        *load.entry(a).or_insert(0usize) += 1;
    }
    let mean = visitors as f64 / load.len() as f64;
    assert!(
        load.values()
            .all(|l| (*l as f64) < 2.0 * mean && (*l as f64) > 0.4 * mean),
        "{load:?}"
    );
}

#[test]
fn weighted_random_follows_the_weights() {
    let weights = [1u64, 2, 3, 4];
    let mut r = router(
        RoutingMode::WeightedRandom,
        weights.len(),
        |_| 0,
        |i| weights[i],
    );
    let mut rng = Prng::new(6);
    let draws = 100_000;
    let mut counts = [0usize; 4];
    let v = visitor(0);
    for _ in 0..draws {
        let a = r.pick(placing(&v), &mut rng).unwrap();
        counts[a.as_str()["agent_".len()..].parse::<usize>().unwrap()] += 1;
    }
    let total: u64 = weights.iter().sum();
    for (i, c) in counts.iter().enumerate() {
        let expected = draws as f64 * weights[i] as f64 / total as f64;
        // 5 standard deviations of a binomial count.
        let sd = (expected * (1.0 - weights[i] as f64 / total as f64)).sqrt();
        assert!(
            (*c as f64 - expected).abs() < 5.0 * sd,
            "agent {i}: {c} vs {expected:.0} ({counts:?})"
        );
    }
    // A removed agent is never drawn, and its weight no longer counts.
    r.remove(&agent(3));
    for _ in 0..1_000 {
        assert_ne!(r.pick(placing(&v), &mut rng), Some(agent(3)));
    }
}

#[test]
fn random_is_uniform_and_seeded() {
    let r = router(RoutingMode::Random, 5, |_| 0, |_| 1);
    let draw = |seed| {
        let mut rng = Prng::new(seed);
        (0..50_000)
            .map(|i| r.choose(placing(&visitor(i)), &mut rng).unwrap())
            .collect::<Vec<_>>()
    };
    let a = draw(7);
    assert_eq!(a, draw(7), "same seed, same choices");
    assert_ne!(a, draw(8));
    let mut counts = BTreeMap::new();
    for x in &a {
        *counts.entry(x).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|c| (9_000..11_000).contains(c)),
        "{counts:?}"
    );
}

#[test]
fn recent_prefers_the_last_agent_when_ready() {
    let mut r = router(RoutingMode::Recent, 5, |_| 0, |_| 1);
    let mut rng = Prng::new(9);
    let v = visitor(1);
    let last = agent(3);
    let with_last = Placing {
        visitor: &v,
        last_agent: Some(&last),
    };
    for _ in 0..3 {
        assert_eq!(r.pick(with_last, &mut rng), Some(last.clone()));
    }
    // Not Ready: the round-robin fallback decides.
    r.remove(&last);
    let fallback = r.pick(with_last, &mut rng).unwrap();
    assert_ne!(fallback, last);
}

#[test]
fn longest_idle_follows_idle_time_not_id() {
    let idle = [50u64, 10, 30];
    let mut r = router(RoutingMode::LongestIdle, 3, |i| idle[i], |_| 1);
    let mut rng = Prng::new(10);
    let v = visitor(0);
    let mut order = Vec::new();
    while let Some(a) = r.pick(placing(&v), &mut rng) {
        r.remove(&a);
        order.push(a);
    }
    assert_eq!(order, [agent(1), agent(2), agent(0)]);
}
