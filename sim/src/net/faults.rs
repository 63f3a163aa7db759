//! The faults of a run, drawn from its seed before it starts: partitions
//! and repairs between each client host and the server, holds (links that
//! stall, then deliver late), server crashes and restarts, and message
//! latency.

use std::time::Duration;

use switchboard_core::Prng;

use crate::dist::{exponential, uniform};

/// Which kinds of fault a run suffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Client ↔ server links cut, then repaired.
    pub partitions: bool,
    /// Client ↔ server links stalled, then released.
    pub holds: bool,
    /// The server crashed and restarted from its journal.
    pub crashes: bool,
    /// Message latency up to 250 ms instead of up to 5 ms.
    pub latency: bool,
}

impl Mix {
    /// Every kind of fault.
    pub fn all() -> Mix {
        Mix {
            partitions: true,
            holds: true,
            crashes: true,
            latency: true,
        }
    }

    /// No faults at all.
    pub fn none() -> Mix {
        Mix {
            partitions: false,
            holds: false,
            crashes: false,
            latency: false,
        }
    }

    /// A random mix, for swarm testing: each kind on with even odds.
    pub fn random(rng: &mut Prng) -> Mix {
        let mut coin = || rng.below(2) == 1;
        Mix {
            partitions: coin(),
            holds: coin(),
            crashes: coin(),
            latency: coin(),
        }
    }

    /// `partitions+holds+crashes+latency`, or `none`.
    pub fn name(&self) -> String {
        let on = [
            (self.partitions, "partitions"),
            (self.holds, "holds"),
            (self.crashes, "crashes"),
            (self.latency, "latency"),
        ];
        let names: Vec<&str> = on.iter().filter(|(b, _)| *b).map(|(_, n)| *n).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join("+")
        }
    }

    /// Parses [`Mix::name`]'s form.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut mix = Mix::none();
        if text == "none" {
            return Ok(mix);
        }
        if text == "all" {
            return Ok(Mix::all());
        }
        for part in text.split('+') {
            match part {
                "partitions" => mix.partitions = true,
                "holds" => mix.holds = true,
                "crashes" => mix.crashes = true,
                "latency" => mix.latency = true,
                other => return Err(format!("unknown fault kind {other:?}")),
            }
        }
        Ok(mix)
    }

    /// Most latency a message suffers.
    pub fn max_latency(&self) -> Duration {
        Duration::from_millis(if self.latency { 250 } else { 5 })
    }
}

/// One change to the network or the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Cut client host `n` from the server.
    Partition(usize),
    /// Reconnect client host `n`.
    Repair(usize),
    /// Stall client host `n`'s link.
    Hold(usize),
    /// Deliver what the stalled link kept.
    Release(usize),
    /// Kill the server.
    Crash,
    /// Start the server again from its journal.
    Restart,
}

/// Draws the faults of the first `window` of a run with `clients` client
/// hosts, in time order.
pub fn schedule(
    mix: Mix,
    clients: usize,
    window: Duration,
    rng: &mut Prng,
) -> Vec<(Duration, Action)> {
    let mut plan = Vec::new();
    let mut spans =
        |mean_gap: f64, min: f64, max: f64, start: Action, end: Action, rng: &mut Prng| {
            let mut t = exponential(rng, mean_gap);
            while t < window.as_secs_f64() {
                let length = min + (max - min) * uniform(rng);
                plan.push((Duration::from_secs_f64(t), start));
                plan.push((Duration::from_secs_f64(t + length), end));
                t += length + exponential(rng, mean_gap);
            }
        };
    for n in 0..clients {
        if mix.partitions {
            spans(
                90.0,
                3.0,
                45.0,
                Action::Partition(n),
                Action::Repair(n),
                rng,
            );
        }
        if mix.holds {
            spans(60.0, 1.0, 8.0, Action::Hold(n), Action::Release(n), rng);
        }
    }
    if mix.crashes {
        spans(120.0, 0.0, 10.0, Action::Crash, Action::Restart, rng);
    }
    // Stable: a crash and its restart at the same instant keep their order.
    plan.sort_by_key(|(at, _)| *at);
    plan
}
