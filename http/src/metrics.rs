//! Prometheus metrics in the text exposition format, written by hand (a few counters and one
//! histogram do not justify a metrics framework).
//!
//! Labels are route templates (`/v1/keys/{key}`), methods and statuses only: never a key
//! name or a principal, which would leak who uses what and grow without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keygate_core::api::{CircuitHealth, CircuitState};
use keygate_server::audit::BATCH_ROW_BOUNDS;
use keygate_server::store::StoreCallCount;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket (not cumulative; summed when rendered), plus the overflow slot.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    latency: BTreeMap<(String, &'static str), Histogram>,
}

/// The gateway's HTTP metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    rate_limited: AtomicU64,
}

/// Everything rendered besides the HTTP counters.
#[derive(Debug, Clone, Default)]
pub struct ExtraGauges {
    /// Audit rows committed since the gateway started.
    pub audit_rows: u64,
    /// Audit batches that failed.
    pub audit_failed_batches: u64,
    /// Each provider's circuit breaker, by provider name (registered names from the
    /// configuration: a bounded label).
    pub circuits: Vec<(String, CircuitHealth)>,
    /// Committed audit transactions by rows held (slots as
    /// [`AuditStats::batch_rows`](keygate_server::audit::AuditStats::batch_rows)).
    pub audit_batch_rows: [u64; BATCH_ROW_BOUNDS.len() + 1],
    /// Gateway store calls by request kind (fixed source and action names: a bounded label).
    pub store_calls: Vec<StoreCallCount>,
}

fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        // Arbitrary methods would be an unbounded label.
        _ => "OTHER",
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(
        &self,
        route: &str,
        method: &axum::http::Method,
        status: u16,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *inner
            .requests
            .entry((route.to_owned(), method, status))
            .or_default() += 1;
        let h = inner.latency.entry((route.to_owned(), method)).or_default();
        h.counts[slot] += 1;
        h.sum += secs;
        h.count += 1;
    }

    /// Counts one request refused by the rate limiter.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition of every metric.
    pub fn render(&self, extra: ExtraGauges) -> String {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        // Writing into a String cannot fail, hence the ignored results.
        out.push_str(
            "# HELP keygate_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE keygate_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "keygate_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP keygate_http_request_duration_seconds HTTP request latency by route and method.\n",
        );
        out.push_str("# TYPE keygate_http_request_duration_seconds histogram\n");
        for ((route, method), h) in &inner.latency {
            let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "keygate_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "keygate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "keygate_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "keygate_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        drop(inner);
        out.push_str(
            "# HELP keygate_rate_limited_total Requests refused by the per-principal rate limit.\n",
        );
        out.push_str("# TYPE keygate_rate_limited_total counter\n");
        let _ = writeln!(
            out,
            "keygate_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        out.push_str("# HELP keygate_audit_rows_written_total Audit rows committed since start.\n");
        out.push_str("# TYPE keygate_audit_rows_written_total counter\n");
        let _ = writeln!(out, "keygate_audit_rows_written_total {}", extra.audit_rows);
        out.push_str(
            "# HELP keygate_audit_failed_batches_total Audit batches that could not be written.\n",
        );
        out.push_str("# TYPE keygate_audit_failed_batches_total counter\n");
        let _ = writeln!(
            out,
            "keygate_audit_failed_batches_total {}",
            extra.audit_failed_batches
        );
        render_circuits(&mut out, &extra.circuits);
        render_audit_batches(&mut out, &extra.audit_batch_rows, extra.audit_rows);
        render_store_calls(&mut out, &extra.store_calls);
        out
    }
}

/// Rows per committed audit transaction, as a histogram (its sum is the rows committed).
fn render_audit_batches(out: &mut String, slots: &[u64], rows: u64) {
    out.push_str(
        "# HELP keygate_audit_batch_rows Rows per committed audit transaction (group commit).\n",
    );
    out.push_str("# TYPE keygate_audit_batch_rows histogram\n");
    let mut cumulative = 0;
    for (bound, n) in BATCH_ROW_BOUNDS.iter().zip(slots) {
        cumulative += n;
        let _ = writeln!(
            out,
            "keygate_audit_batch_rows_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let count: u64 = slots.iter().sum();
    let _ = writeln!(
        out,
        "keygate_audit_batch_rows_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(out, "keygate_audit_batch_rows_sum {rows}");
    let _ = writeln!(out, "keygate_audit_batch_rows_count {count}");
}

/// Gateway store calls by the kind of request that made them.
fn render_store_calls(out: &mut String, calls: &[StoreCallCount]) {
    out.push_str(
        "# HELP keygate_store_calls_total Gateway store calls (a read is one query; a write one statement or transaction) by request source, action and access.\n",
    );
    out.push_str("# TYPE keygate_store_calls_total counter\n");
    for c in calls {
        let _ = writeln!(
            out,
            "keygate_store_calls_total{{source=\"{}\",action=\"{}\",access=\"{}\"}} {}",
            escape(c.kind.source),
            escape(c.kind.action),
            c.access.as_str(),
            c.calls
        );
    }
}

/// Whether this process leads the maintenance scheduler (1) or not (0), labelled with its
/// replica name (one series per process).
pub fn render_scheduler_leader(out: &mut String, replica: &str, leading: bool) {
    out.push_str(
        "# HELP keygate_scheduler_leader Whether this replica leads the maintenance scheduler (runs rotations and deletions).\n",
    );
    out.push_str("# TYPE keygate_scheduler_leader gauge\n");
    let _ = writeln!(
        out,
        "keygate_scheduler_leader{{replica=\"{}\"}} {}",
        escape(replica),
        u8::from(leading)
    );
}

/// Each provider's breaker: its state as a one-hot gauge, and its trips.
fn render_circuits(out: &mut String, circuits: &[(String, CircuitHealth)]) {
    out.push_str(
        "# HELP keygate_provider_circuit_state Circuit breaker state per provider (1 for the current state).\n",
    );
    out.push_str("# TYPE keygate_provider_circuit_state gauge\n");
    for (provider, c) in circuits {
        for state in [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ] {
            let _ = writeln!(
                out,
                "keygate_provider_circuit_state{{provider=\"{}\",state=\"{}\"}} {}",
                escape(provider),
                state.as_str(),
                u8::from(c.state == state)
            );
        }
    }
    out.push_str(
        "# HELP keygate_provider_circuit_trips_total Times a provider's circuit breaker opened since start.\n",
    );
    out.push_str("# TYPE keygate_provider_circuit_trips_total counter\n");
    for (provider, c) in circuits {
        let _ = writeln!(
            out,
            "keygate_provider_circuit_trips_total{{provider=\"{}\"}} {}",
            escape(provider),
            c.trips
        );
    }
    out.push_str(
        "# HELP keygate_provider_consecutive_failures Failed calls in a row per provider (unreachable or timed out).\n",
    );
    out.push_str("# TYPE keygate_provider_consecutive_failures gauge\n");
    for (provider, c) in circuits {
        let _ = writeln!(
            out,
            "keygate_provider_consecutive_failures{{provider=\"{}\"}} {}",
            escape(provider),
            c.consecutive_failures
        );
    }
}

/// Escapes a label value (backslash, quote, newline) per the exposition format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe(
            "/v1/keys/{key}",
            &Method::GET,
            200,
            Duration::from_micros(300),
        );
        m.observe(
            "/v1/keys/{key}",
            &Method::GET,
            200,
            Duration::from_millis(3),
        );
        m.observe("/v1/keys/{key}", &Method::GET, 404, Duration::from_secs(30));
        m.rate_limited();
        let text = m.render(ExtraGauges {
            audit_rows: 7,
            audit_failed_batches: 0,
            audit_batch_rows: [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            store_calls: vec![StoreCallCount {
                kind: keygate_server::store::RequestKind {
                    source: "rest",
                    action: "crypto:encrypt",
                },
                access: keygate_server::store::Access::Read,
                calls: 3,
            }],
            circuits: vec![(
                "aws".to_owned(),
                CircuitHealth {
                    state: CircuitState::Open,
                    consecutive_failures: 3,
                    trips: 2,
                    open_for_secs: Some(9),
                },
            )],
        });
        assert!(text.contains(
            "keygate_http_requests_total{route=\"/v1/keys/{key}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0005\"} 1\n"), "{text}");
        assert!(text.contains("le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("keygate_rate_limited_total 1\n"));
        assert!(text.contains("keygate_audit_rows_written_total 7\n"));
        assert!(
            text.contains("keygate_audit_batch_rows_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("keygate_audit_batch_rows_bucket{le=\"4\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("keygate_audit_batch_rows_sum 7\n"), "{text}");
        assert!(
            text.contains("keygate_audit_batch_rows_count 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "keygate_store_calls_total{source=\"rest\",action=\"crypto:encrypt\",access=\"read\"} 3\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("keygate_provider_circuit_state{provider=\"aws\",state=\"open\"} 1\n")
        );
        assert!(
            text.contains("keygate_provider_circuit_state{provider=\"aws\",state=\"closed\"} 0\n")
        );
        assert!(text.contains("keygate_provider_circuit_trips_total{provider=\"aws\"} 2\n"));
        assert!(text.contains("keygate_provider_consecutive_failures{provider=\"aws\"} 3\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
