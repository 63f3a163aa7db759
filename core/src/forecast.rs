//! Live staffing advice per workgroup: from the traffic of the last hour,
//! how many agents the group needs now to meet its service-level target,
//! what service the agents signed in now will give, and how long a visitor
//! who joins now should expect to wait.
//!
//! Every workgroup counts its traffic in one-minute buckets (arrivals,
//! answers, abandonments, handling and waiting times) as it happens, at
//! O(1) per event. From the complete minutes it estimates the arrival rate
//! over the last 15 minutes (quick to follow a peak), and the handling time
//! and patience over the last 60 (enough calls to be steady); Erlang A
//! turns them into advice (Erlang C while nobody has given up).
//!
//! Erlang A costs milliseconds, so the advice is recomputed only when a
//! minute completes or the group's signed-in agents change, never per
//! request and never per arrival, at most eight groups at a time, and only
//! when the driver asks
//! ([`Center::refresh_forecasts`](crate::Center::refresh_forecasts)). Time is
//! the core's, so a replay of the journal gives the same advice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::center::State;
use crate::erlang::Queue;
use crate::{Timestamp, WorkgroupId};

/// One bucket's span.
const MINUTE_MS: u64 = 60_000;
/// The window for the arrival rate, minutes.
pub const RATE_MINUTES: u64 = 15;
/// The window for handling time and patience, minutes (and buckets kept).
pub const HANDLE_MINUTES: u64 = 60;
/// Groups recomputed per call of `refresh_forecasts` at most (about 1.5 ms
/// each at 100 Erlangs with abandonment).
const REFRESH_GROUPS_MAX: usize = 8;
/// Handling time assumed before any call was measured.
const AHT_DEFAULT_SECS: f64 = 180.0;
/// Most agents the advice will ask for.
const AGENTS_MAX: u32 = 100_000;
/// Steps of Erlang A's waiting-time integral: within 1e-4 of the
/// planner's 4,000 at a twentieth of the cost.
const ADVICE_STEPS: usize = 200;

/// What one minute of a group's traffic was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    minute: u64,
    arrivals: u32,
    answered: u32,
    abandoned: u32,
    handled: u32,
    handle_ms: u64,
    /// Waiting time of every visitor settled (answered or abandoned): with
    /// `abandoned`, the estimate of exponential patience (time at risk over
    /// abandonments, censored by answers).
    waited_ms: u64,
}

/// A group's recent traffic, minute by minute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Traffic {
    /// The last hour's minutes that saw traffic, oldest first.
    buckets: VecDeque<Bucket>,
    /// The minute of the first event: windows are cut to it while the group
    /// is younger than they are.
    since: Option<u64>,
}

/// The advice last computed for each group, and which groups need it again.
#[derive(Clone, Debug, Default)]
pub(crate) struct Forecasts {
    by_group: BTreeMap<WorkgroupId, (Staffing, Forecast)>,
    /// The minute the advice was computed in.
    minute: Option<u64>,
    /// Groups whose members signed in or out, or changed capacity.
    pub(crate) stale: BTreeSet<WorkgroupId>,
}

/// Derived from the traffic and the agents: equal states have equal advice
/// once it is recomputed, whenever that was.
impl PartialEq for Forecasts {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Forecasts {
    pub(crate) fn get(&self, id: &str) -> Option<&(Staffing, Forecast)> {
        self.by_group.get(id)
    }
}

impl State {
    /// Recomputes the advice of every group when a minute has completed,
    /// and of the groups whose staffing changed: O(1) otherwise.
    pub(crate) fn refresh_forecasts(&mut self, now: Timestamp) -> bool {
        let minute = minute_of(now);
        if self.forecasts.minute != Some(minute) {
            self.forecasts.minute = Some(minute);
            self.forecasts.stale.extend(self.groups.keys().cloned());
        }
        // A bounded share per call, so that a center with many groups never
        // stalls its driver: the rest follow on the next calls.
        let mut stale = Vec::new();
        while stale.len() < REFRESH_GROUPS_MAX {
            match self.forecasts.stale.pop_first() {
                Some(g) => stale.push(g),
                None => break,
            }
        }
        if stale.is_empty() {
            return false;
        }
        let mut staffing: BTreeMap<&WorkgroupId, Staffing> =
            stale.iter().map(|g| (g, Staffing::default())).collect();
        for a in self.agents.values() {
            for g in a.workgroups.keys() {
                if let Some(s) = staffing.get_mut(g) {
                    if a.signed_in {
                        s.agents += 1;
                        s.servers += a.max_concurrent.max(1);
                    }
                    s.lifetime_calls += a.stats.answered;
                    s.lifetime_talk_ms += a.stats.talk_ms_total;
                }
            }
        }
        for (id, staffing) in staffing {
            let Some(g) = self.groups.get(id) else {
                continue;
            };
            let target = Target {
                secs: g.settings.service_level_secs,
                percent: g.settings.service_level_percent,
            };
            let previous = self.forecasts.by_group.get(id).map(|(_, f)| f);
            let forecast = Forecast::compute(id, now, &g.traffic, staffing, target, previous);
            self.forecasts
                .by_group
                .insert(id.clone(), (staffing, forecast));
        }
        true
    }
}

/// Sums over a window of complete minutes.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    minutes: u64,
    arrivals: u64,
    handled: u64,
    handle_ms: u64,
    abandoned: u64,
    waited_ms: u64,
}

fn minute_of(t: Timestamp) -> u64 {
    t.as_millis() / MINUTE_MS
}

impl Traffic {
    fn bucket(&mut self, now: Timestamp) -> &mut Bucket {
        let minute = minute_of(now);
        self.since.get_or_insert(minute);
        while self
            .buckets
            .front()
            .is_some_and(|b| b.minute + HANDLE_MINUTES < minute)
        {
            self.buckets.pop_front();
        }
        if self.buckets.back().is_none_or(|b| b.minute != minute) {
            self.buckets.push_back(Bucket {
                minute,
                ..Bucket::default()
            });
        }
        let last = self.buckets.len() - 1;
        &mut self.buckets[last]
    }

    pub(crate) fn arrival(&mut self, now: Timestamp) {
        self.bucket(now).arrivals += 1;
    }

    pub(crate) fn answered(&mut self, now: Timestamp, waited_ms: u64) {
        let b = self.bucket(now);
        b.answered += 1;
        b.waited_ms += waited_ms;
    }

    pub(crate) fn abandoned(&mut self, now: Timestamp, waited_ms: u64) {
        let b = self.bucket(now);
        b.abandoned += 1;
        b.waited_ms += waited_ms;
    }

    pub(crate) fn handled(&mut self, now: Timestamp, talk_ms: u64) {
        let b = self.bucket(now);
        b.handled += 1;
        b.handle_ms += talk_ms;
    }

    /// The last `minutes` complete minutes before `now`'s, cut to the
    /// group's age; None before one complete minute.
    fn sums(&self, now: Timestamp, minutes: u64) -> Option<Sums> {
        let current = minute_of(now);
        let from = current.saturating_sub(minutes).max(self.since?);
        let mut s = Sums {
            minutes: current.checked_sub(from).filter(|m| *m > 0)?,
            ..Sums::default()
        };
        for b in self
            .buckets
            .iter()
            .filter(|b| (from..current).contains(&b.minute))
        {
            s.arrivals += u64::from(b.arrivals);
            s.handled += u64::from(b.handled);
            s.handle_ms += b.handle_ms;
            s.abandoned += u64::from(b.abandoned);
            s.waited_ms += b.waited_ms;
        }
        Some(s)
    }
}

/// Who can answer a group's visitors right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Staffing {
    /// Members signed in.
    pub(crate) agents: u32,
    /// Their calls at once, summed (`max_concurrent`).
    pub(crate) servers: u32,
    /// Every member's lifetime handled calls and talk time: the handling
    /// time to assume while the last hour has none.
    pub(crate) lifetime_calls: u64,
    pub(crate) lifetime_talk_ms: u64,
}

/// A group's service target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) secs: u64,
    pub(crate) percent: u8,
}

/// The advice for one workgroup, as of `computed_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The workgroup.
    pub workgroup_id: WorkgroupId,
    /// When it was computed (ms since the epoch, the core's clock).
    pub computed_at_ms: u64,
    /// Arrivals per hour over the last 15 complete minutes (fewer while the
    /// group is younger); None before one minute has passed.
    pub arrivals_per_hour: Option<f64>,
    /// Arrivals per hour over the last 60 complete minutes.
    pub arrivals_per_hour_60: Option<f64>,
    /// Mean handling time, seconds: the last hour's calls, else the
    /// members' lifetime mean, else 180.
    pub aht_secs: f64,
    /// Calls the handling time was measured on in the last hour.
    pub handled_60: u64,
    /// Whether enough calls were handled in the last hour
    /// ([`SETTLED_CALLS`]) for the advice to mean something; until then it
    /// extrapolates from a handful of calls and is shown as such.
    #[serde(default)]
    pub settled: bool,
    /// Mean patience of waiting visitors, seconds; None while nobody gave
    /// up in the last hour (the advice then uses Erlang C).
    pub patience_secs: Option<f64>,
    /// The group's threshold: answered within this many seconds counts.
    pub service_level_secs: u64,
    /// The group's target share answered in time, 0 to 1.
    pub service_level_target: f64,
    /// Members signed in now.
    pub agents_signed_in: u32,
    /// Agents needed to meet the target at this traffic (at the members'
    /// mean capacity); None before the rate is known.
    pub agents_needed: Option<u32>,
    /// Service level the agents signed in now should give; None before the
    /// rate is known or while the queue would grow without bound.
    pub service_level_expected: Option<f64>,
    /// Share of visitors expected to give up, with the agents signed in now.
    pub abandon_expected: Option<f64>,
    /// Mean wait until answered of a visitor who joins now, seconds (zero
    /// for those answered at once), with the agents signed in now; None when
    /// nobody can answer or the queue would grow without bound.
    pub expected_wait_secs: Option<f64>,
    /// Servers the target needs at this traffic: kept so that a change of
    /// staffing alone does not search again.
    #[serde(skip)]
    servers_needed: Option<u32>,
}

/// Calls handled in the last hour before the advice is taken as settled.
pub const SETTLED_CALLS: u64 = 10;

impl Forecast {
    /// Advice for `id` at `now` from its traffic, staffing and target.
    pub(crate) fn compute(
        id: &WorkgroupId,
        now: Timestamp,
        traffic: &Traffic,
        staffing: Staffing,
        target: Target,
        previous: Option<&Forecast>,
    ) -> Forecast {
        let short = traffic.sums(now, RATE_MINUTES);
        let long = traffic.sums(now, HANDLE_MINUTES);
        let per_hour = |s: Sums| s.arrivals as f64 * 60.0 / s.minutes as f64;
        let handled_60 = long.map_or(0, |s| s.handled);
        let aht_secs = match long.filter(|s| s.handled > 0) {
            Some(s) => s.handle_ms as f64 / 1000.0 / s.handled as f64,
            None if staffing.lifetime_calls > 0 => {
                staffing.lifetime_talk_ms as f64 / 1000.0 / staffing.lifetime_calls as f64
            }
            None => AHT_DEFAULT_SECS,
        }
        .max(0.001);
        let patience_secs = long
            .filter(|s| s.abandoned > 0)
            .map(|s| (s.waited_ms as f64 / 1000.0 / s.abandoned as f64).max(0.001));
        let rate = short.map(|s| per_hour(s) / 3600.0);
        let threshold = target.secs as f64;
        let share = f64::from(target.percent) / 100.0;
        let queue = |agents: u32, rate: f64| Queue {
            agents,
            rate,
            aht_secs,
            patience_secs,
        };
        let capacity = if staffing.agents == 0 {
            1.0
        } else {
            f64::from(staffing.servers) / f64::from(staffing.agents)
        };
        let arrivals_per_hour = short.map(per_hour);
        let same_traffic = previous.filter(|p| {
            p.arrivals_per_hour == arrivals_per_hour
                && p.aht_secs == aht_secs
                && p.patience_secs == patience_secs
                && p.service_level_secs == target.secs
                && p.service_level_target == share
        });
        let servers = match same_traffic {
            Some(p) => p.servers_needed,
            None => rate.map(|r| {
                let hint = previous.and_then(|p| p.servers_needed);
                search(r, aht_secs, patience_secs, threshold, share, hint)
            }),
        };
        let agents_needed = servers.map(|s| (f64::from(s) / capacity).ceil() as u32);
        let now_service = rate
            .filter(|_| staffing.servers > 0)
            .and_then(|r| queue(staffing.servers, r).service_in_steps(threshold, ADVICE_STEPS));
        Forecast {
            workgroup_id: id.clone(),
            computed_at_ms: now.as_millis(),
            arrivals_per_hour,
            arrivals_per_hour_60: long.map(per_hour),
            aht_secs,
            handled_60,
            settled: handled_60 >= SETTLED_CALLS,
            patience_secs,
            service_level_secs: target.secs,
            service_level_target: share,
            agents_signed_in: staffing.agents,
            agents_needed,
            service_level_expected: now_service.map(|s| s.service_level),
            abandon_expected: now_service.map(|s| s.abandon),
            expected_wait_secs: now_service.map(|s| s.asa_secs),
            servers_needed: servers,
        }
    }
}

/// The fewest servers giving `share` of arrivals an answer within
/// `threshold` seconds: 0 without arrivals. Service grows with servers, so
/// a bisection finds it in a few Erlang evaluations (with patience, fewer
/// servers than the load may do: those who give up free the queue).
pub fn servers_needed(
    rate: f64,
    aht_secs: f64,
    patience_secs: Option<f64>,
    threshold: f64,
    share: f64,
) -> u32 {
    search(rate, aht_secs, patience_secs, threshold, share, None)
}

/// [`servers_needed`], starting from the last minute's answer when there
/// is one: traffic moves little in a minute, so a step or two from it
/// usually settles it; far off, the bisection does.
fn search(
    rate: f64,
    aht_secs: f64,
    patience_secs: Option<f64>,
    threshold: f64,
    share: f64,
    hint: Option<u32>,
) -> u32 {
    const WALK: u32 = 3;
    if rate <= 0.0 {
        return 0;
    }
    let enough = |agents: u32| {
        let q = Queue {
            agents,
            rate,
            aht_secs,
            patience_secs,
        };
        q.service_in_steps(threshold, ADVICE_STEPS)
            .is_some_and(|s| s.service_level >= share)
    };
    if let Some(h) = hint.filter(|h| (1..AGENTS_MAX - WALK).contains(h)) {
        if enough(h) {
            // The fewest that are enough: step down while one fewer is.
            let mut n = h;
            for _ in 0..WALK {
                if n == 1 || !enough(n - 1) {
                    return n;
                }
                n -= 1;
            }
        } else {
            // The first that is enough above one that is not.
            for n in h + 1..=h + WALK {
                if enough(n) {
                    return n;
                }
            }
        }
    }
    let mut hi = ((rate * aht_secs).ceil() as u32).clamp(1, AGENTS_MAX);
    while !enough(hi) {
        if hi == AGENTS_MAX {
            return AGENTS_MAX;
        }
        hi = hi.saturating_mul(2).min(AGENTS_MAX);
    }
    // Zero servers never answer: `lo` is always short, `hi` always enough.
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if enough(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_767_571_200_000;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_millis(T0 + secs * 1000)
    }

    fn target() -> Target {
        Target {
            secs: 20,
            percent: 80,
        }
    }

    fn staff(agents: u32) -> Staffing {
        Staffing {
            agents,
            servers: agents,
            ..Staffing::default()
        }
    }

    #[test]
    fn nothing_is_known_before_a_minute_completes() {
        let mut t = Traffic::default();
        t.arrival(at(0));
        t.arrival(at(59));
        let f = Forecast::compute(&"g".into(), at(59), &t, staff(2), target(), None);
        assert_eq!(f.arrivals_per_hour, None);
        assert_eq!(f.agents_needed, None);
        assert_eq!(f.aht_secs, AHT_DEFAULT_SECS);
        let f = Forecast::compute(&"g".into(), at(60), &t, staff(2), target(), None);
        assert_eq!(f.arrivals_per_hour, Some(120.0));
        assert!(!f.settled, "no call handled: a guess");
        for s in 0..SETTLED_CALLS - 1 {
            t.handled(at(61 + s), 60_000);
        }
        let f = Forecast::compute(&"g".into(), at(180), &t, staff(2), target(), None);
        assert!(!f.settled, "{} calls: still a guess", SETTLED_CALLS - 1);
        t.handled(at(100), 60_000);
        let f = Forecast::compute(&"g".into(), at(180), &t, staff(2), target(), None);
        assert!(f.settled, "{SETTLED_CALLS} calls: settled");
    }

    #[test]
    fn the_rate_window_is_fifteen_minutes_and_handling_sixty() {
        let mut t = Traffic::default();
        // One arrival a minute for 60 minutes, then 3 a minute for 15.
        for m in 0..75 {
            for k in 0..(if m < 60 { 1 } else { 3 }) {
                t.arrival(at(m * 60 + k));
            }
            // A 100 s call ends every minute in the first half hour, 200 s after.
            t.handled(at(m * 60 + 30), if m < 45 { 100_000 } else { 200_000 });
        }
        let f = Forecast::compute(&"g".into(), at(75 * 60), &t, staff(4), target(), None);
        assert_eq!(f.arrivals_per_hour, Some(180.0));
        // Minutes 15..75: 45 at 1/min and 15 at 3/min.
        assert_eq!(f.arrivals_per_hour_60, Some(90.0));
        // Minutes 15..75: 30 calls of 100 s and 30 of 200 s.
        assert!((f.aht_secs - 150.0).abs() < 1e-9, "{}", f.aht_secs);
        assert_eq!(f.handled_60, 60);
        assert!(f.settled, "60 calls in the hour: settled");
    }

    #[test]
    fn patience_is_time_at_risk_over_abandonments() {
        let mut t = Traffic::default();
        t.answered(at(10), 30_000);
        t.abandoned(at(20), 60_000);
        t.abandoned(at(30), 90_000);
        let f = Forecast::compute(&"g".into(), at(120), &t, staff(1), target(), None);
        assert_eq!(f.patience_secs, Some(90.0));
    }

    #[test]
    fn advice_matches_erlang_for_the_measured_traffic() {
        let mut t = Traffic::default();
        // 6 arrivals a minute (360/h), 200 s calls, nobody gives up.
        for m in 0..60 {
            for k in 0..6 {
                t.arrival(at(m * 60 + k * 10));
                t.handled(at(m * 60 + k * 10 + 5), 200_000);
            }
        }
        let f = Forecast::compute(&"g".into(), at(3600), &t, staff(22), target(), None);
        let rate = 360.0 / 3600.0;
        let need = servers_needed(rate, 200.0, None, 20.0, 0.8);
        assert_eq!(f.agents_needed, Some(need));
        // 20 Erlangs: 20 agents never keep up, 22 do, the answer is above 20.
        assert!(need > 20, "{need}");
        let below = Queue {
            agents: need - 1,
            rate,
            aht_secs: 200.0,
            patience_secs: None,
        };
        assert!(below.service(20.0).is_none_or(|s| s.service_level < 0.8));
        let sl = f.service_level_expected.unwrap();
        assert!((0.0..=1.0).contains(&sl));
        assert_eq!(sl >= 0.8, 22 >= need);
        // Fewer agents than the load: Erlang C has no steady state.
        let f = Forecast::compute(&"g".into(), at(3600), &t, staff(19), target(), None);
        assert_eq!(f.service_level_expected, None);
        assert_eq!(f.expected_wait_secs, None);
    }

    #[test]
    fn a_hint_anywhere_gives_the_same_answer() {
        for (rate, aht, patience) in [
            (2.0, 15.0, Some(30.0)),
            (0.1, 200.0, None),
            (1.5, 60.0, Some(120.0)),
        ] {
            let plain = servers_needed(rate, aht, patience, 20.0, 0.8);
            for hint in [
                1,
                plain.saturating_sub(5),
                plain - 1,
                plain,
                plain + 1,
                plain + 3,
                plain + 40,
            ] {
                let hinted = search(rate, aht, patience, 20.0, 0.8, Some(hint));
                assert_eq!(hinted, plain, "rate {rate}, hint {hint}");
            }
        }
    }

    #[test]
    fn no_arrivals_need_no_agents() {
        assert_eq!(servers_needed(0.0, 100.0, None, 20.0, 0.8), 0);
        let mut t = Traffic::default();
        t.arrival(at(0));
        let f = Forecast::compute(&"g".into(), at(30 * 60), &t, staff(0), target(), None);
        assert_eq!(f.agents_needed, Some(0));
        assert_eq!(f.expected_wait_secs, None, "nobody to answer");
    }

    #[test]
    fn capacity_above_one_needs_fewer_agents() {
        let mut t = Traffic::default();
        for m in 0..30 {
            for k in 0..6 {
                t.arrival(at(m * 60 + k * 10));
                t.handled(at(m * 60 + k * 10 + 5), 200_000);
            }
        }
        let one = Forecast::compute(&"g".into(), at(1800), &t, staff(10), target(), None);
        let three = Staffing {
            agents: 10,
            servers: 30,
            ..Staffing::default()
        };
        let three = Forecast::compute(&"g".into(), at(1800), &t, three, target(), None);
        let (one, three) = (one.agents_needed.unwrap(), three.agents_needed.unwrap());
        assert_eq!(three, one.div_ceil(3));
    }

    #[test]
    fn old_minutes_are_dropped() {
        let mut t = Traffic::default();
        t.arrival(at(0));
        t.arrival(at(2 * 3600));
        assert_eq!(t.buckets.len(), 1);
        let f = Forecast::compute(&"g".into(), at(2 * 3600 + 60), &t, staff(1), target(), None);
        assert_eq!(f.arrivals_per_hour, Some(4.0));
    }
}
