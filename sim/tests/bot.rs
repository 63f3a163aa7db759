//! A bot in front of a group in a scenario: the queue sees only the
//! visitors it hands over, so the same agents give a better service, and
//! the core's own counters report the bot's share and reasons.

use switchboard_sim::des;
use switchboard_sim::scenario::{summary, Scenario};

const BOT: &str = include_str!("../scenarios/bot.yaml");

#[test]
fn a_bot_takes_its_share_and_the_queue_gets_easier() {
    let with = Scenario::parse(BOT).unwrap().params().unwrap();
    let mut without = with.clone();
    without.bots.clear();
    let (b, n) = (
        des::run(&with, &mut |_| {}).unwrap(),
        des::run(&without, &mut |_| {}).unwrap(),
    );
    let bot = &b.bots[0];
    let c = &bot.counters;
    assert!(c.conversations > 800, "8 h at 120/h: {}", c.conversations);
    // About 40% resolved alone (960 conversations: well within ±5 points).
    let resolved = bot.resolved_rate.unwrap();
    assert!((0.35..0.45).contains(&resolved), "{resolved}");
    // Every handoff is one of the three ways, roughly in the planned mix.
    let way = |k: &str| *c.reasons.get(k).unwrap_or(&0) as f64 / c.handoffs as f64;
    assert!(
        (0.5..0.7).contains(&way("explicit_keyword")),
        "{:?}",
        c.reasons
    );
    assert!((0.2..0.4).contains(&way("escalate")), "{:?}", c.reasons);
    assert!((0.03..0.17).contains(&way("emotion")), "{:?}", c.reasons);
    // The queue sees the handed-over visitors only, all settled.
    assert_eq!(b.arrivals, c.handoffs);
    assert_eq!(b.answered + b.abandoned, b.arrivals);
    assert!(
        b.arrivals < n.arrivals * 7 / 10,
        "{} vs {}",
        b.arrivals,
        n.arrivals
    );
    assert!(
        b.service_level > n.service_level + 0.05,
        "{} vs {}",
        b.service_level,
        n.service_level
    );
    assert!(b.occupancy < n.occupancy);
    let text = summary(&with, &b);
    assert!(text.contains("resolved by the bot"), "{text}");
}

#[test]
fn bad_bot_plans_are_refused() {
    for (from, to) in [
        ("resolved: 0.4", "resolved: 1.4"),
        ("keyword: 0.6", "shouting: 0.6"),
        ("mean_secs: 60", "mean_secs: -1"),
    ] {
        let text = BOT.replace(from, to);
        let parsed = Scenario::parse(&text).and_then(|s| s.params());
        assert!(parsed.is_err(), "{to} accepted");
    }
}
