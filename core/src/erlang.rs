//! Queueing theory for staffing: Erlang C (M/M/n, nobody gives up) and
//! Erlang A (M/M/n+M, exponential patience). Pure arithmetic, so it lives in
//! the core: the live forecast and the simulator's planner share it.
//!
//! Erlang C uses the Erlang B recursion, which never forms `a^n / n!`, so it
//! is exact to rounding for thousands of agents. Erlang A's textbook closed
//! forms go through incomplete gamma functions that cancel badly for long
//! patience; instead this solves the birth-death chain directly, in log
//! space, truncated where the tail is below 1e-18, and integrates each
//! waiting position's time to service with an exponential integrator, which
//! is stable whatever the rates.

/// What a staffing level gives, for arrivals in steady state.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Service {
    /// Share of arrivals answered within the threshold (abandoned ones count
    /// as not answered in time).
    pub service_level: f64,
    /// Share of arrivals who wait at all (find every agent busy).
    pub p_wait: f64,
    /// Average wait of answered arrivals, in seconds.
    pub asa_secs: f64,
    /// Share of arrivals who give up before being answered.
    pub abandon: f64,
    /// Average share of time agents are busy.
    pub occupancy: f64,
}

/// A queue to analyse: `agents` servers, Poisson arrivals at `rate` per
/// second, exponential handling with mean `aht_secs`, and optional
/// exponential patience with mean `patience_secs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Queue {
    /// Servers (agents).
    pub agents: u32,
    /// Arrivals per second.
    pub rate: f64,
    /// Mean handling time, seconds.
    pub aht_secs: f64,
    /// Mean patience, seconds; None: nobody gives up.
    pub patience_secs: Option<f64>,
}

impl Queue {
    /// Offered load in Erlangs.
    pub fn load(&self) -> f64 {
        self.rate * self.aht_secs
    }

    /// Service within `threshold_secs`. Without patience and with load at
    /// or above the agents, the queue grows without bound: None.
    pub fn service(&self, threshold_secs: f64) -> Option<Service> {
        self.service_in_steps(threshold_secs, STEPS)
    }

    /// [`service`](Queue::service) with Erlang A's waiting-time integral
    /// taken in `steps` steps (its cost is linear in them): fewer for live
    /// advice recomputed every minute, where 1e-4 in the service level is
    /// more precision than the traffic estimates carry.
    pub fn service_in_steps(&self, threshold_secs: f64, steps: usize) -> Option<Service> {
        match self.patience_secs {
            None => self.erlang_c(threshold_secs),
            Some(p) => Some(self.erlang_a(threshold_secs, p, steps.max(1))),
        }
    }

    /// Erlang C: probability of waiting C, service level
    /// `1 - C·exp(-(n - a)·T/AHT)`, ASA `C·AHT/(n - a)`.
    fn erlang_c(&self, t: f64) -> Option<Service> {
        let (n, a) = (f64::from(self.agents), self.load());
        if a >= n {
            return None;
        }
        let c = erlang_c(self.agents, a);
        Some(Service {
            service_level: 1.0 - c * (-(n - a) * t / self.aht_secs).exp(),
            p_wait: c,
            asa_secs: c * self.aht_secs / (n - a),
            abandon: 0.0,
            occupancy: a / n,
        })
    }

    /// Erlang A by the birth-death chain: states k = callers present; death
    /// rate `min(k, n)·μ + max(k - n, 0)·θ`. An arrival seeing `j` callers
    /// waiting ahead passes `j + 1` stages, at stage `i` (i ahead) leaving
    /// for service at rate `nμ + iθ` and abandoning at `θ`.
    fn erlang_a(&self, t: f64, patience: f64, steps: usize) -> Service {
        let n = self.agents as usize;
        let (lambda, mu, theta) = (self.rate, 1.0 / self.aht_secs, 1.0 / patience);
        let pi = stationary(n, lambda, mu, theta);
        let busy: f64 = pi
            .iter()
            .enumerate()
            .map(|(k, p)| p * k.min(n) as f64)
            .sum();
        let free: f64 = pi[..n.min(pi.len())].iter().sum();
        let waiting = &pi[n.min(pi.len())..];
        // Per stage: rate out s_i = nμ + (i + 1)θ, of which nμ + iθ is progress.
        let progress = |i: usize| n as f64 * mu + i as f64 * theta;
        let (mut served_p, mut mean_to_service) = (1.0, 0.0);
        let mut served = Vec::with_capacity(waiting.len());
        let mut asa_num = 0.0;
        for (j, p) in waiting.iter().enumerate() {
            let s = progress(j) + theta;
            served_p *= progress(j) / s;
            mean_to_service += 1.0 / s;
            served.push(served_p);
            asa_num += p * served_p * mean_to_service;
        }
        let answered_late: f64 = waiting.iter().zip(&served).map(|(p, s)| p * s).sum();
        let in_time = served_within(n as f64 * mu, theta, waiting.len(), t, steps);
        let sl_late: f64 = waiting
            .iter()
            .zip(&served)
            .zip(&in_time)
            .map(|((p, s), f)| p * s * f)
            .sum();
        Service {
            service_level: free + sl_late,
            p_wait: 1.0 - free,
            asa_secs: asa_num / (free + answered_late),
            abandon: 1.0 - free - answered_late,
            occupancy: busy / n as f64,
        }
    }
}

/// Erlang C's probability of waiting for `n` agents at `a` Erlangs (a < n),
/// from the Erlang B recursion `B(k) = a·B(k-1) / (k + a·B(k-1))`.
pub fn erlang_c(n: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    let n = f64::from(n);
    n * b / (n - a * (1.0 - b))
}

/// Steps of the waiting-time integral for the planner's exact figures.
const STEPS: usize = 4000;

/// Most waiting states the chain is solved for.
const STATES_MAX: usize = 1_000_000;

/// Stationary distribution of the M/M/n+M chain, normalized, truncated
/// once terms fall below 1e-18 of the largest past the servers.
fn stationary(n: usize, lambda: f64, mu: f64, theta: f64) -> Vec<f64> {
    let mut logs = vec![0.0f64];
    let mut max = 0.0f64;
    let mut k = 0usize;
    loop {
        k += 1;
        let death = k.min(n) as f64 * mu + k.saturating_sub(n) as f64 * theta;
        let next = logs[k - 1] + lambda.ln() - death.ln();
        logs.push(next);
        max = max.max(next);
        let negligible = next - max < -41.5 && death > lambda;
        // The cap only binds for absurd inputs (days of patience under
        // overload); the planner refuses those before they get here.
        if k > n && (negligible || k > n + STATES_MAX) {
            break;
        }
    }
    let weights: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// For an arrival with `j` callers ahead (j = 0..stages), the probability of
/// reaching service within `t` *given* it does not abandon: the CDF at `t`
/// of a sum of exponentials with rates `base + (i + 1)·theta`, i = 0..=j.
/// Each stage's CDF follows from the one before by `u_j' = s_j (u_{j-1} -
/// u_j)`, integrated exactly over each step for a piecewise-linear `u_{j-1}`.
fn served_within(base: f64, theta: f64, stages: usize, t: f64, steps: usize) -> Vec<f64> {
    let h = t / steps as f64;
    // u_{-1} = 1 at all times: reaching the head means service.
    let mut prev = vec![1.0f64; steps + 1];
    let mut out = Vec::with_capacity(stages);
    let mut cur = vec![0.0f64; steps + 1];
    for i in 0..stages {
        let s = base + (i as f64 + 1.0) * theta;
        let x = s * h;
        let decay = (-x).exp();
        // ∫_0^h s·e^{-s(h-τ)} dτ and ∫_0^h s·e^{-s(h-τ)}·τ/h dτ.
        let w0 = -(-x).exp_m1();
        let w1 = if x < 1e-4 {
            x / 2.0 - x * x / 6.0 + x * x * x / 24.0
        } else {
            1.0 - (-(-x).exp_m1()) / x
        };
        cur[0] = 0.0;
        for m in 0..steps {
            let (a, b) = (prev[m], prev[m + 1]);
            cur[m + 1] = decay * cur[m] + a * w0 + (b - a) * w1;
        }
        out.push(cur[steps].clamp(0.0, 1.0));
        std::mem::swap(&mut prev, &mut cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erlang_c_matches_a_value_worked_by_hand() {
        // a = 2, n = 3: B = (8/6) / (1 + 2 + 2 + 8/6) = 4/19, and
        // C = 3B / (3 - 2(1 - B)) = (12/19) / (27/19) = 4/9.
        assert!(close(erlang_c(3, 2.0), 4.0 / 9.0, 1e-12));
        // n = 1 is M/M/1: the probability of waiting is the load.
        assert!(close(erlang_c(1, 0.7), 0.7, 1e-12));
    }

    #[test]
    fn erlang_c_is_stable_for_thousands_of_agents() {
        let c = erlang_c(5000, 4900.0);
        assert!(c.is_finite() && (0.0..1.0).contains(&c), "{c}");
        // More agents, less waiting.
        assert!(erlang_c(5001, 4900.0) < c);
    }

    #[test]
    fn service_level_and_asa_follow_the_closed_forms() {
        let q = Queue {
            agents: 3,
            rate: 2.0 / 60.0,
            aht_secs: 60.0,
            patience_secs: None,
        };
        let s = q.service(20.0).unwrap();
        let c = 4.0 / 9.0;
        assert!(close(
            s.service_level,
            1.0 - c * (-20.0f64 / 60.0).exp(),
            1e-12
        ));
        assert!(close(s.asa_secs, c * 60.0, 1e-9));
        assert!(close(s.occupancy, 2.0 / 3.0, 1e-12));
        let overloaded = Queue { agents: 2, ..q };
        assert_eq!(overloaded.service(20.0), None);
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_as_patience_grows() {
        let q = Queue {
            agents: 10,
            rate: 8.0 / 180.0,
            aht_secs: 180.0,
            patience_secs: None,
        };
        let c = q.service(20.0).unwrap();
        let a = Queue {
            patience_secs: Some(1e9),
            ..q
        }
        .service(20.0)
        .unwrap();
        assert!(close(a.p_wait, c.p_wait, 1e-6), "{a:?} vs {c:?}");
        assert!(
            close(a.service_level, c.service_level, 1e-4),
            "{a:?} vs {c:?}"
        );
        assert!(
            close(a.asa_secs, c.asa_secs, 1e-3 * c.asa_secs),
            "{a:?} vs {c:?}"
        );
        assert!(a.abandon < 1e-6);
    }

    #[test]
    fn erlang_a_abandonment_agrees_with_littles_law() {
        // Abandons happen at rate θ per waiting caller: P(ab) = θ·E[Q]/λ,
        // computed here straight from the chain, independently of the
        // per-position survival products the analysis uses.
        let (n, lambda, mu, theta) = (5usize, 6.0 / 100.0, 1.0 / 100.0, 1.0 / 40.0);
        let pi = stationary(n, lambda, mu, theta);
        let eq: f64 = pi
            .iter()
            .enumerate()
            .map(|(k, p)| p * k.saturating_sub(n) as f64)
            .sum();
        let q = Queue {
            agents: n as u32,
            rate: lambda,
            aht_secs: 100.0,
            patience_secs: Some(40.0),
        };
        let s = q.service(20.0).unwrap();
        assert!(close(s.abandon, theta * eq / lambda, 1e-9), "{s:?}");
        // Throughput balance: answered rate = busy agents × μ.
        assert!(close(
            (1.0 - s.abandon) * lambda,
            s.occupancy * n as f64 * mu,
            1e-9
        ));
        assert!(s.service_level < 1.0 - s.abandon);
    }

    #[test]
    fn a_coarse_integral_stays_within_a_ten_thousandth() {
        for (agents, rate, aht, patience, t) in [
            (98, 100.0 / 60.0, 60.0, 30.0, 20.0),
            (25, 2.0, 15.0, 30.0, 20.0),
            (5, 0.06, 100.0, 40.0, 60.0),
            (400, 390.0 / 240.0, 240.0, 600.0, 20.0),
        ] {
            let q = Queue {
                agents,
                rate,
                aht_secs: aht,
                patience_secs: Some(patience),
            };
            let fine = q.service(t).unwrap().service_level;
            let coarse = q.service_in_steps(t, 200).unwrap().service_level;
            assert!(close(fine, coarse, 1e-4), "{q:?}: {fine} vs {coarse}");
        }
    }

    #[test]
    fn a_single_exponential_stage_integrates_to_its_cdf() {
        let got = served_within(0.5, 0.0, 1, 3.0, STEPS);
        assert!(close(got[0], 1.0 - (-1.5f64).exp(), 1e-9), "{got:?}");
        // Two equal stages: Erlang-2 CDF 1 - e^{-x}(1 + x), x = 1.5.
        let got = served_within(0.5, 0.0, 2, 3.0, STEPS);
        assert!(close(got[1], 1.0 - (-1.5f64).exp() * 2.5, 1e-7), "{got:?}");
    }

    #[test]
    fn erlang_a_holds_up_for_long_patience_and_many_agents() {
        let q = Queue {
            agents: 400,
            rate: 390.0 / 240.0,
            aht_secs: 240.0,
            patience_secs: Some(36_000.0),
        };
        let s = q.service(20.0).unwrap();
        for v in [s.service_level, s.p_wait, s.abandon, s.occupancy] {
            assert!(v.is_finite() && (0.0..=1.0).contains(&v), "{s:?}");
        }
        assert!(s.asa_secs.is_finite() && s.asa_secs > 0.0);
    }
}
