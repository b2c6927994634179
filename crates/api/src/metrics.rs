//! Prometheus metrics at `/metrics`, through the `metrics` facade with a
//! recorder of this server's own (not the process-global one, so that
//! several servers in one process keep apart counts).

use kpss_persistence::Db;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds; from a cached `me` to the heaviest legitimate tree read.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Operation names are the client's: only this many distinct ones get their
/// own series, the rest count as "other".
const MAX_OPERATION_NAMES: usize = 200;

/// How often (in requests) buffered histogram samples are folded into buckets.
const UPKEEP_EVERY: u64 = 1024;

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    operations: Mutex<HashSet<String>>,
    requests: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets(BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        Self {
            handle: recorder.handle(),
            recorder,
            operations: Mutex::default(),
            requests: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    fn record(&self, f: impl FnOnce()) {
        metrics::with_local_recorder(&self.recorder, f);
    }

    /// One GraphQL request: its operation name, outcome (`ok` or an error
    /// code) and duration.
    pub fn request(&self, operation: &str, outcome: &'static str, seconds: f64) {
        let operation = self.operation_label(operation);
        self.record(|| {
            metrics::counter!("kpss_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
                .increment(1);
            metrics::histogram!("kpss_graphql_request_duration_seconds", "operation" => operation, "outcome" => outcome)
                .record(seconds);
        });
        if self.requests.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// One error of a GraphQL response, by its contract code.
    pub fn graphql_error(&self, code: &'static str) {
        self.record(|| metrics::counter!("kpss_graphql_errors_total", "code" => code).increment(1));
    }

    /// A stored answer looked at: reused (`hit`) or out of date (`stale`).
    pub fn response_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "stale" };
        self.record(|| {
            metrics::counter!("kpss_response_cache_total", "result" => result).increment(1)
        });
    }

    pub fn rate_limited(&self) {
        self.record(|| metrics::counter!("kpss_rate_limited_total").increment(1));
    }

    /// A subscription that fell behind and missed changes (it then ends).
    pub fn subscription_behind(&self) {
        self.record(|| metrics::counter!("kpss_subscriptions_behind_total").increment(1));
    }

    /// A subscription socket opened (+1) or closed (-1).
    pub fn subscription_sockets(&self, change: f64) {
        self.record(|| metrics::gauge!("kpss_subscription_sockets_open").increment(change));
    }

    /// The Prometheus text, with the database pool's state as of now.
    pub fn render(&self, db: &Db) -> String {
        let (open, idle) = db.pool_connections();
        self.record(|| {
            metrics::gauge!("kpss_db_connections", "state" => "in_use")
                .set(f64::from(open) - idle as f64);
            metrics::gauge!("kpss_db_connections", "state" => "idle").set(idle as f64);
            metrics::counter!("kpss_db_statements_total").absolute(db.statements());
            metrics::gauge!("kpss_change_subscribers").set(db.subscribers() as f64);
            for r in db.replicas() {
                let replica = r.index.to_string();
                metrics::gauge!("kpss_db_replica_up", "replica" => replica.clone())
                    .set(if r.serving { 1.0 } else { 0.0 });
                metrics::gauge!("kpss_db_replica_lag_seconds", "replica" => replica)
                    .set(r.lag.as_secs_f64());
            }
            metrics::counter!("kpss_db_primary_switches_total").absolute(db.primary_switches());
        });
        self.handle.render()
    }

    fn operation_label(&self, name: &str) -> String {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return if name.is_empty() { "-" } else { "other" }.to_owned();
        }
        let Ok(mut known) = self.operations.lock() else {
            return "other".to_owned();
        };
        if known.contains(name) || known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }
}
