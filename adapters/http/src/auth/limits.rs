//! Bounds on what one caller can cost: request rates (token buckets per
//! address or per credential) and sign-in attempts (lockout with backoff).
//! In memory: a restart forgets them, which errs on the caller's side.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A sustained rate and a burst; `per_sec: 0` turns the limit off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_sec: f64,
    /// Requests allowed at once.
    pub burst: u32,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most keys a limiter remembers; past it, buckets that have refilled are forgotten.
const KEYS_MAX: usize = 100_000;

/// Token buckets, one per key.
pub struct Buckets<K> {
    rate: Rate,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Buckets filling at `rate`.
    pub fn new(rate: Rate) -> Self {
        Buckets {
            rate,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now`, or says how long to wait.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.rate.per_sec <= 0.0 {
            return Ok(());
        }
        let burst = f64::from(self.rate.burst.max(1));
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEYS_MAX && !map.contains_key(key) {
            let rate = self.rate.per_sec;
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.rate.per_sec;
        b.tokens = (b.tokens + refill).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - b.tokens) / self.rate.per_sec,
            ))
        }
    }
}

/// Sign-in throttling settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginLimits {
    /// Failures in a row an account may have before it is locked.
    pub account_failures: u32,
    /// Failures in a row an address may have before it is locked.
    pub address_failures: u32,
    /// The first lockout; each further failure doubles it.
    pub lockout_secs: u64,
    /// The longest lockout.
    pub lockout_max_secs: u64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            account_failures: 5,
            address_failures: 20,
            lockout_secs: 30,
            lockout_max_secs: 900,
        }
    }
}

struct Failures {
    count: u32,
    until: Option<Instant>,
}

/// Consecutive sign-in failures per key, and the lockouts they earn.
pub struct Lockouts<K> {
    allowed: u32,
    limits: LoginLimits,
    map: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> Lockouts<K> {
    /// `allowed` failures in a row before a lockout.
    pub fn new(allowed: u32, limits: LoginLimits) -> Self {
        Lockouts {
            allowed,
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must still wait, if it is locked out.
    pub fn locked(&self, key: &K, now: Instant) -> Option<Duration> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let until = map.get(key)?.until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; past the allowance, locks for a doubling time.
    pub fn failed(&self, key: &K, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEYS_MAX && !map.contains_key(key) {
            map.retain(|_, f| f.until.is_some_and(|u| u > now));
        }
        let f = map.entry(key.clone()).or_insert(Failures {
            count: 0,
            until: None,
        });
        f.count = f.count.saturating_add(1);
        if f.count >= self.allowed {
            let doublings = (f.count - self.allowed).min(20);
            let secs = self
                .limits
                .lockout_secs
                .saturating_mul(1 << doublings)
                .min(self.limits.lockout_max_secs);
            f.until = Some(now + Duration::from_secs(secs));
        }
    }

    /// A success clears the key's failures.
    pub fn succeeded(&self, key: &K) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let b = Buckets::new(Rate {
            per_sec: 2.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.take(&1, t0).is_ok());
        }
        let wait = b.take(&1, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert!(b.take(&2, t0).is_ok(), "another key has its own bucket");
        assert!(b.take(&1, t0 + Duration::from_millis(500)).is_ok());
        assert!(b.take(&1, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn lockouts_double_and_a_success_clears_them() {
        let limits = LoginLimits {
            lockout_secs: 10,
            lockout_max_secs: 35,
            ..LoginLimits::default()
        };
        let l = Lockouts::new(3, limits);
        let t0 = Instant::now();
        l.failed(&"u", t0);
        l.failed(&"u", t0);
        assert_eq!(l.locked(&"u", t0), None);
        l.failed(&"u", t0);
        assert_eq!(l.locked(&"u", t0), Some(Duration::from_secs(10)));
        l.failed(&"u", t0);
        assert_eq!(l.locked(&"u", t0), Some(Duration::from_secs(20)));
        l.failed(&"u", t0);
        assert_eq!(l.locked(&"u", t0), Some(Duration::from_secs(35)), "capped");
        assert_eq!(l.locked(&"u", t0 + Duration::from_secs(36)), None);
        l.succeeded(&"u");
        l.failed(&"u", t0);
        assert_eq!(l.locked(&"u", t0), None);
    }
}
