//! The seed's `customer_service:` settings, with its defaults, plus the bounds
//! the core needs to keep every collection finite.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::routing::RoutingMode;
use crate::CoreError;

/// Settings of one contact center. Deserializes from the seed's YAML keys;
/// every key is optional and defaults as in the seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Most sessions open (Waiting or Active) at once; the next is refused.
    pub max_sessions: usize,
    /// A session still open this long after it was created is ended.
    pub session_timeout_secs: u64,
    /// Most visitors waiting at once (queued or being rung); the next join is refused.
    pub max_queue_size: usize,
    /// Period of the safety-net dispatch tick while visitors wait. Dispatch is
    /// event-driven; the tick only guards against a missed wake-up.
    pub dispatch_interval_ms: u64,
    /// A visitor still queued this long after joining is removed.
    pub queue_timeout_secs: u64,
    /// How long an agent is rung before the offer lapses.
    pub accept_timeout_secs: u64,
    /// Whether calls are recorded (used by the media adapter).
    pub auto_record: bool,
    /// Where recordings go (used by the media adapter).
    pub recording_dir: String,
    /// Most agents registered at once; the next registration is refused.
    pub max_agents: usize,
    /// Most ended sessions kept in memory for ratings and listing; the oldest
    /// are forgotten first. Statistics are aggregates and keep counting them.
    pub ended_sessions_max: usize,
    /// How a Ready agent is chosen for a visitor of the `default` workgroup
    /// (other workgroups set their own).
    pub routing_mode: RoutingMode,
    /// Calls a new agent may hold at once (1 to 100; 1 for calls, more for
    /// chat); each agent's can be changed at runtime.
    pub max_concurrent: u32,
    /// Most visitors whose last agent is remembered (for `recent` routing).
    pub recent_visitors_max: usize,
    /// Under `recent` routing, how long a returning visitor waits for their
    /// last agent while that agent is busy, rung or wrapping up, before the
    /// group's other agents may serve them (0: not at all).
    pub recent_wait_secs: u64,
    /// After-call work: an agent stays Online this long after a call, then is
    /// Ready again (0: Ready at once, as the seed).
    pub wrap_up_secs: u64,
    /// After `max_no_answer` offers in a row lapse unanswered, the agent is
    /// moved to Online (not Ready) and told so (0: never).
    pub max_no_answer: u32,
    /// An agent who rejects an offer is not offered another for this long
    /// (0: offered again at once, as the seed).
    pub reject_delay_secs: u64,
    /// How long a wait is worth one priority level: a visitor is served as if
    /// they had joined `priority × priority_aging_secs` earlier, so a higher
    /// priority goes first but nobody waits more than that behind later,
    /// higher-priority arrivals.
    pub priority_aging_secs: u64,
    /// Why an agent may be Not ready (reason codes, shown on the console's
    /// status control and counted in the agent's figures); the first is the
    /// one used when none is given.
    pub not_ready_reasons: Vec<String>,
}

/// Most Not-ready reasons a center may configure.
pub const NOT_READY_REASONS_MAX: usize = 20;

impl Default for Config {
    fn default() -> Self {
        Config {
            max_sessions: 1000,
            session_timeout_secs: 3600,
            max_queue_size: 200,
            dispatch_interval_ms: 500,
            queue_timeout_secs: 600,
            accept_timeout_secs: 30,
            auto_record: false,
            recording_dir: "/tmp/cs-recordings".to_owned(),
            max_agents: 10_000,
            ended_sessions_max: 100_000,
            routing_mode: RoutingMode::RoundRobin,
            max_concurrent: 1,
            recent_visitors_max: 100_000,
            recent_wait_secs: 10,
            wrap_up_secs: 0,
            max_no_answer: 3,
            reject_delay_secs: 0,
            priority_aging_secs: 60,
            not_ready_reasons: ["break", "training", "after_call_work"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {key}: {reason}")]
pub struct ConfigError {
    /// The offending key, as spelled in the YAML file.
    pub key: &'static str,
    /// Why it cannot work.
    pub reason: &'static str,
}

impl Config {
    /// Checks that every setting can work, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_sessions", self.max_sessions as u64),
            ("session_timeout_secs", self.session_timeout_secs),
            ("dispatch_interval_ms", self.dispatch_interval_ms),
            ("queue_timeout_secs", self.queue_timeout_secs),
            ("accept_timeout_secs", self.accept_timeout_secs),
            ("max_agents", self.max_agents as u64),
            ("priority_aging_secs", self.priority_aging_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError {
                    key,
                    reason: "must be greater than zero",
                });
            }
        }
        if !(1..=crate::agent::CONCURRENT_MAX).contains(&self.max_concurrent) {
            return Err(ConfigError {
                key: "max_concurrent",
                reason: "must be from 1 to 100",
            });
        }
        let reasons = &self.not_ready_reasons;
        if reasons.is_empty() || reasons.len() > NOT_READY_REASONS_MAX {
            return Err(ConfigError {
                key: "not_ready_reasons",
                reason: "must list from 1 to 20 reasons",
            });
        }
        if reasons.iter().any(|r| !crate::ids::is_name(r)) {
            return Err(ConfigError {
                key: "not_ready_reasons",
                reason: "each must be an id: letters, digits, '_', '-', '.' or '@'",
            });
        }
        Ok(())
    }

    /// The reason an agent is Not ready for: `asked`, if the center has it,
    /// or the first configured.
    pub(crate) fn not_ready_reason(&self, asked: Option<String>) -> Result<String, CoreError> {
        match asked {
            None => Ok(self.not_ready_reasons.first().cloned().unwrap_or_default()),
            Some(r) if self.not_ready_reasons.contains(&r) => Ok(r),
            Some(_) => Err(CoreError::InvalidInput {
                field: "reason",
                reason: "must be one of the center's not_ready_reasons",
            }),
        }
    }

    pub(crate) fn accept_timeout(&self) -> Duration {
        Duration::from_secs(self.accept_timeout_secs)
    }

    pub(crate) fn queue_timeout(&self) -> Duration {
        Duration::from_secs(self.queue_timeout_secs)
    }

    pub(crate) fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.session_timeout_secs)
    }

    pub(crate) fn wrap_up(&self) -> Duration {
        Duration::from_secs(self.wrap_up_secs)
    }

    pub(crate) fn recent_wait(&self) -> Duration {
        Duration::from_secs(self.recent_wait_secs)
    }

    pub(crate) fn reject_delay(&self) -> Duration {
        Duration::from_secs(self.reject_delay_secs)
    }

    pub(crate) fn dispatch_interval(&self) -> Duration {
        Duration::from_millis(self.dispatch_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds() {
        let c = Config::default();
        assert_eq!(c.max_sessions, 1000);
        assert_eq!(c.session_timeout_secs, 3600);
        assert_eq!(c.max_queue_size, 200);
        assert_eq!(c.dispatch_interval_ms, 500);
        assert_eq!(c.queue_timeout_secs, 600);
        assert_eq!(c.accept_timeout_secs, 30);
        assert!(!c.auto_record);
        assert_eq!(c.recording_dir, "/tmp/cs-recordings");
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn deserializes_the_seeds_keys_with_defaults_for_the_rest() {
        let c: Config =
            serde_json::from_str(r#"{"max_queue_size": 5, "accept_timeout_secs": 10}"#).unwrap();
        assert_eq!((c.max_queue_size, c.accept_timeout_secs), (5, 10));
        assert_eq!(c.queue_timeout_secs, 600);
        let unknown = serde_json::from_str::<Config>(r#"{"max_queue": 5}"#);
        assert!(
            unknown.is_err(),
            "a misspelt key is an error, not a silent default"
        );
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let c = Config {
            accept_timeout_secs: 0,
            ..Config::default()
        };
        assert_eq!(c.validate().map_err(|e| e.key), Err("accept_timeout_secs"));
    }
}
