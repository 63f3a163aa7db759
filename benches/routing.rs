//! Cost of one routing decision per mode at 10, 1,000 and 100,000 Ready
//! agents: pick an agent, take it out of the Ready set (it starts ringing) and
//! put it back (it is Ready again) — the router's whole share of a call.
//!
//! `cargo bench --bench routing`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use switchboard_core::routing::{Candidate, Placing, Router, Routing, RoutingMode};
use switchboard_core::{AgentId, Prng, Timestamp, VisitorId};

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing_decision");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let visitors: Vec<VisitorId> = (0..1024).map(|i| format!("visitor_{i}").into()).collect();
    for mode in RoutingMode::ALL
        .into_iter()
        .filter(|m| *m != RoutingMode::Manual)
    {
        for n in [10usize, 1_000, 100_000] {
            let ids: Vec<AgentId> = (0..n).map(|i| format!("agent_{i:06}").into()).collect();
            let mut router = Router::new(mode);
            fn candidate(id: &AgentId, i: usize) -> Candidate<'_> {
                Candidate {
                    id,
                    idle_since: Timestamp::from_millis(i as u64),
                    active: (i % 3) as u32,
                    response_ms: (i as u64 * 7919) % 10_000,
                    weight: 1 + (i as u64 % 5),
                }
            }
            for (i, id) in ids.iter().enumerate() {
                router.insert(candidate(id, i));
            }
            let mut rng = Prng::new(1);
            let mut k = 0usize;
            let name = format!("{mode:?}");
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    let v = &visitors[k % visitors.len()];
                    let placing = Placing {
                        visitor: v,
                        last_agent: Some(&ids[k % n]),
                    };
                    let picked = router.pick(placing, &mut rng);
                    if let Some(a) = &picked {
                        router.remove(a);
                        let i = k % n;
                        router.insert(Candidate {
                            id: a,
                            ..candidate(a, i + n)
                        });
                    }
                    k += 1;
                    black_box(picked)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
