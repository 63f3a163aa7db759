//! `/metrics` in Prometheus text format: the core's figures, the engine's,
//! and an HTTP latency histogram kept with atomics (no lock on the hot path).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::Response;
use switchboard_core::bot::BotStats;
use switchboard_core::{Forecast, Stats};
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::EngineStats;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// HTTP request counts and latencies.
#[derive(Default)]
pub struct HttpMetrics {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Responses by status class: 1xx..5xx at index 1..5.
    by_class: [AtomicU64; 6],
}

impl HttpMetrics {
    fn observe(&self, elapsed: Duration, status: u16) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.by_class[usize::from(status / 100).min(5)].fetch_add(1, Ordering::Relaxed);
    }
}

/// Layer that times every request into [`HttpMetrics`]. Hand-written rather
/// than `middleware::from_fn`: that boxes a future and clones the inner
/// service on every request, a measurable share of a small request's cost.
#[derive(Clone)]
pub struct Track(pub Arc<HttpMetrics>);

impl<S> Layer<S> for Track {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// A service timed by [`Track`].
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
}

impl<S, B> Service<Request<B>> for Tracked<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        Timed {
            inner: self.inner.call(req),
            start: Instant::now(),
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Tracked`]: observes the latency when it resolves.
    pub struct Timed<F> {
        #[pin]
        inner: F,
        start: Instant,
        metrics: Arc<HttpMetrics>,
    }
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            this.metrics
                .observe(this.start.elapsed(), response.status().as_u16());
        }
        Poll::Ready(result)
    }
}

/// The staffing advice per workgroup; a figure not known yet is left out.
fn forecast_metrics(
    metric: &mut impl FnMut(&str, &str, &str, &[(&str, f64)]),
    forecasts: &[&Forecast],
) {
    type Figure = fn(&Forecast) -> Option<f64>;
    let figures: [(&str, &str, Figure); 7] = [
        ("switchboard_forecast_agents_needed", "Agents needed now to meet the group's service-level target (Erlang A on the last hour's traffic).", |f| f.agents_needed.map(f64::from)),
        ("switchboard_forecast_agents_signed_in", "Members signed in, as the advice counted them.", |f| Some(f64::from(f.agents_signed_in))),
        ("switchboard_forecast_arrivals_per_hour", "Arrival rate over the last 15 minutes.", |f| f.arrivals_per_hour),
        ("switchboard_forecast_handle_seconds", "Mean handling time over the last hour.", |f| Some(f.aht_secs)),
        ("switchboard_forecast_service_level", "Service level expected with the agents signed in now.", |f| f.service_level_expected),
        ("switchboard_forecast_abandon_ratio", "Share of visitors expected to give up with the agents signed in now.", |f| f.abandon_expected),
        ("switchboard_forecast_wait_seconds", "Mean wait until answered of a visitor who joins now.", |f| f.expected_wait_secs),
    ];
    for (name, help, figure) in figures {
        let labels: Vec<(String, f64)> = forecasts
            .iter()
            .filter_map(|f| {
                let label = format!("{{workgroup=\"{}\"}}", escape(f.workgroup_id.as_str()));
                figure(f).map(|v| (label, v))
            })
            .collect();
        let samples: Vec<(&str, f64)> = labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(name, "gauge", help, &samples);
    }
}

/// The front desk per workgroup that has had a bot conversation: counters,
/// rates, handoff reasons, and trigger-to-assignment and -answer quantiles
/// (bucket bounds: the core keeps durations in fixed buckets).
fn bot_metrics(metric: &mut impl FnMut(&str, &str, &str, &[(&str, f64)]), bots: &[BotStats]) {
    let bots: Vec<&BotStats> = bots
        .iter()
        .filter(|b| b.counters.conversations > 0)
        .collect();
    let label = |b: &BotStats| format!("workgroup=\"{}\"", escape(b.workgroup_id.as_str()));
    type Figure = fn(&BotStats) -> Option<f64>;
    let figures: [(&str, &str, &str, Figure); 11] = [
        (
            "switchboard_bot_conversations_total",
            "counter",
            "Conversations a bot took.",
            |b| Some(b.counters.conversations as f64),
        ),
        (
            "switchboard_bot_resolved_total",
            "counter",
            "Conversations the bot alone resolved.",
            |b| Some(b.counters.resolved as f64),
        ),
        (
            "switchboard_bot_handoffs_total",
            "counter",
            "Decisions to hand over to a person.",
            |b| Some(b.counters.handoffs as f64),
        ),
        (
            "switchboard_bot_handed_over_total",
            "counter",
            "Handoffs an agent answered.",
            |b| Some(b.counters.handed_over as f64),
        ),
        (
            "switchboard_bot_fallback_total",
            "counter",
            "Conversations that ended in the fallback.",
            |b| Some(b.counters.fallback as f64),
        ),
        (
            "switchboard_bot_left_total",
            "counter",
            "Visitors who left the bot before an outcome.",
            |b| Some(b.counters.left as f64),
        ),
        (
            "switchboard_bot_attempts_failed_total",
            "counter",
            "Handoff attempts no agent answered.",
            |b| Some(b.counters.attempts_failed as f64),
        ),
        (
            "switchboard_bot_refused_total",
            "counter",
            "Transfers the visitor refused.",
            |b| Some(b.counters.refused as f64),
        ),
        (
            "switchboard_bot_handoff_rate",
            "gauge",
            "Handoffs per bot conversation.",
            |b| b.handoff_rate,
        ),
        (
            "switchboard_bot_resolved_rate",
            "gauge",
            "Share of ended bot conversations the bot resolved.",
            |b| b.resolved_rate,
        ),
        (
            "switchboard_bot_transfer_success_rate",
            "gauge",
            "Share of handoffs an agent answered.",
            |b| b.transfer_success_rate,
        ),
    ];
    for (name, kind, help, figure) in figures {
        let values: Vec<(String, f64)> = bots
            .iter()
            .filter_map(|b| figure(b).map(|v| (format!("{{{}}}", label(b)), v)))
            .collect();
        let samples: Vec<(&str, f64)> = values.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(name, kind, help, &samples);
    }
    let reasons: Vec<(String, f64)> = bots
        .iter()
        .flat_map(|b| {
            b.counters.reasons.iter().map(move |(r, n)| {
                (
                    format!("{{{},reason=\"{}\"}}", label(b), escape(r)),
                    *n as f64,
                )
            })
        })
        .collect();
    let samples: Vec<(&str, f64)> = reasons.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    metric(
        "switchboard_bot_handoff_reasons_total",
        "counter",
        "Handoffs by reason; a weighed one counts each trigger that fired.",
        &samples,
    );
    type Quantile = fn(&BotStats) -> [Option<u64>; 2];
    let times: [(&str, &str, Quantile); 2] = [
        (
            "switchboard_bot_trigger_to_assignment_seconds",
            "From a handoff attempt's start to its first ring (bucket bound).",
            |b| [b.to_assignment_p50_ms, b.to_assignment_p95_ms],
        ),
        (
            "switchboard_bot_trigger_to_answer_seconds",
            "From the decision to hand over to an agent's answer (bucket bound).",
            |b| [b.to_answer_p50_ms, b.to_answer_p95_ms],
        ),
    ];
    for (name, help, quantiles) in times {
        let values: Vec<(String, f64)> = bots
            .iter()
            .flat_map(|b| {
                ["0.5", "0.95"]
                    .into_iter()
                    .zip(quantiles(b))
                    .filter_map(move |(q, ms)| {
                        let ms = ms.filter(|ms| *ms != u64::MAX)?;
                        Some((
                            format!("{{{},quantile=\"{q}\"}}", label(b)),
                            ms as f64 / 1000.0,
                        ))
                    })
            })
            .collect();
        let samples: Vec<(&str, f64)> = values.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(name, "gauge", help, &samples);
    }
}

/// A label value as the exposition format spells it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition.
pub fn render(
    stats: &Stats,
    forecasts: &[&Forecast],
    bots: &[BotStats],
    engine: &EngineStats,
    http: &HttpMetrics,
) -> String {
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let s = &stats.sessions;
    metric(
        "switchboard_sessions",
        "gauge",
        "Sessions by status (ended: all time).",
        &[
            ("{status=\"waiting\"}", s.waiting as f64),
            ("{status=\"active\"}", s.active as f64),
            ("{status=\"ended\"}", s.ended as f64),
        ],
    );
    let a = &stats.agents;
    metric(
        "switchboard_agents",
        "gauge",
        "Registered agents by state.",
        &[
            ("{state=\"offline\"}", a.offline as f64),
            ("{state=\"online\"}", a.online as f64),
            ("{state=\"ready\"}", a.ready as f64),
            ("{state=\"ringing\"}", a.ringing as f64),
            ("{state=\"busy\"}", a.busy as f64),
        ],
    );
    metric(
        "switchboard_queue_length",
        "gauge",
        "Visitors queued.",
        &[("", stats.queue.length as f64)],
    );
    metric(
        "switchboard_queue_longest_wait_seconds",
        "gauge",
        "Wait of the longest-queued visitor.",
        &[("", stats.queue.longest_wait_ms as f64 / 1000.0)],
    );
    let t = &stats.totals;
    for (name, help, value) in [
        (
            "switchboard_sessions_created_total",
            "Sessions created.",
            t.created,
        ),
        (
            "switchboard_calls_answered_total",
            "Calls answered.",
            t.answered,
        ),
        (
            "switchboard_ring_timeouts_total",
            "Offers that lapsed unanswered.",
            t.ring_timeouts,
        ),
        ("switchboard_rejects_total", "Offers declined.", t.rejects),
        (
            "switchboard_transfers_total",
            "Calls transferred.",
            t.transfers,
        ),
        (
            "switchboard_queue_timeouts_total",
            "Visitors removed after the queue timeout.",
            t.queue_timeouts,
        ),
        (
            "switchboard_ratings_total",
            "Ratings given.",
            stats.ratings.total,
        ),
        (
            "switchboard_journal_commits_total",
            "Journal transactions.",
            engine.commits,
        ),
        (
            "switchboard_journal_records_total",
            "Journal records.",
            engine.records,
        ),
        (
            "switchboard_cluster_step_downs_total",
            "Times this node stopped leading (fenced, lease lost, log unreachable).",
            engine.step_downs,
        ),
    ] {
        metric(name, "counter", help, &[("", value as f64)]);
    }
    metric(
        "switchboard_rating_average",
        "gauge",
        "Mean rating, 0 when none.",
        &[("", stats.ratings.average())],
    );
    metric(
        "switchboard_cluster_applied_log",
        "gauge",
        "The last entry of the cluster's log applied here, by role (0 alone).",
        &[(
            &format!("{{role=\"{}\"}}", engine.role),
            engine.applied_log as f64,
        )],
    );
    forecast_metrics(&mut metric, forecasts);
    bot_metrics(&mut metric, bots);
    metric(
        "switchboard_websocket_connections",
        "gauge",
        "WebSocket connections open.",
        &[("", engine.connections as f64)],
    );

    let name = "switchboard_http_request_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} HTTP request latency.\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (bound, bucket) in BUCKETS.iter().zip(&http.buckets) {
        cumulative += bucket.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let count = http.count.load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(
        out,
        "{name}_sum {}",
        http.sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "{name}_count {count}");
    let name = "switchboard_http_responses_total";
    let _ = writeln!(
        out,
        "# HELP {name} HTTP responses by status class.\n# TYPE {name} counter"
    );
    for class in 1..=5 {
        let n = http.by_class[class].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}{{class=\"{class}xx\"}} {n}");
    }
    out
}
