//! Random durations for the simulator, drawn from the core's seeded PRNG so
//! that a seed fixes a whole run.

use serde::{Deserialize, Serialize};
use switchboard_core::Prng;

/// A distribution of durations, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Memoryless, with this mean (M/M/n's assumption).
    Exponential {
        /// Mean, seconds.
        mean_secs: f64,
    },
    /// Right-skewed, as real handling times are: `exp(N(m, sigma))` with
    /// `m` chosen so that the mean is `mean_secs`.
    Lognormal {
        /// Mean, seconds.
        mean_secs: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Always the same.
    Fixed {
        /// The duration, seconds.
        secs: f64,
    },
}

impl Dist {
    /// The mean, seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Exponential { mean_secs } | Dist::Lognormal { mean_secs, .. } => mean_secs,
            Dist::Fixed { secs } => secs,
        }
    }

    /// Checks that the parameters make a distribution of positive durations.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        let ok = match *self {
            Dist::Exponential { mean_secs } => mean_secs > 0.0 && mean_secs.is_finite(),
            Dist::Lognormal { mean_secs, sigma } => {
                mean_secs > 0.0 && mean_secs.is_finite() && (0.0..=5.0).contains(&sigma)
            }
            Dist::Fixed { secs } => secs >= 0.0 && secs.is_finite(),
        };
        ok.then_some(())
            .ok_or_else(|| format!("{what}: the mean must be positive and finite (sigma 0 to 5)"))
    }

    /// One draw, seconds.
    pub fn sample(&self, rng: &mut Prng) -> f64 {
        match *self {
            Dist::Exponential { mean_secs } => exponential(rng, mean_secs),
            Dist::Lognormal { mean_secs, sigma } => {
                let m = mean_secs.ln() - sigma * sigma / 2.0;
                (m + sigma * normal(rng)).exp()
            }
            Dist::Fixed { secs } => secs,
        }
    }
}

/// Uniform on (0, 1]: never 0, so that logarithms are finite.
pub fn uniform(rng: &mut Prng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
}

/// Exponential with mean `mean`.
pub fn exponential(rng: &mut Prng, mean: f64) -> f64 {
    -mean * uniform(rng).ln()
}

/// Standard normal, by Box–Muller.
fn normal(rng: &mut Prng) -> f64 {
    let (u, v) = (uniform(rng), uniform(rng));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(d: Dist) -> f64 {
        let mut rng = Prng::new(3);
        let n = 200_000;
        (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_the_configured_means() {
        for d in [
            Dist::Exponential { mean_secs: 180.0 },
            Dist::Lognormal {
                mean_secs: 180.0,
                sigma: 0.8,
            },
            Dist::Fixed { secs: 180.0 },
        ] {
            let m = mean_of(d);
            assert!((m - 180.0).abs() < 180.0 * 0.02, "{d:?}: {m}");
        }
    }

    #[test]
    fn uniform_stays_in_the_half_open_interval() {
        let mut rng = Prng::new(9);
        for _ in 0..100_000 {
            let u = uniform(&mut rng);
            assert!(u > 0.0 && u <= 1.0);
        }
    }
}
