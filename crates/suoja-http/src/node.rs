//! This node as operators' tools see it: `/healthz` (the process answers), `/readyz` (it can
//! serve: its database answers and it is not stopping; a load balancer sends requests only to
//! ready nodes) and `/metrics` (Prometheus text: requests by route and status class, latency,
//! background work, the cluster's nodes). Labels are route templates, methods, status classes
//! and the names of kinds of work: never an id, an address or anything a person wrote.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Longest `/readyz` waits for the database.
const READY_DB_WAIT: Duration = Duration::from_secs(2);

/// How long a readiness answer is reused: however often `/readyz` is asked, the database is
/// asked at most this often.
const READY_REUSE: Duration = Duration::from_millis(200);

/// What this node knows about itself and counts while it runs. Shared by the HTTP side and the
/// background work (which reports the turns it takes and the nodes it hears).
#[derive(Debug)]
pub struct Node {
    /// The configured node name.
    pub name: String,
    /// The bearer token that opens `/metrics` (none: not served).
    metrics_token: Option<String>,
    /// Set when the node begins to stop: `/readyz` fails from then on.
    draining: AtomicBool,
    /// Nodes heard from lately (this one included; at least 1): each enforces its share of the
    /// rate limits.
    nodes_alive: AtomicU32,
    started: Instant,
    in_flight: AtomicI64,
    rate_limited: AtomicU64,
    requests: Mutex<BTreeMap<(String, String, &'static str), u64>>,
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    turns: Mutex<BTreeMap<&'static str, u64>>,
    /// The last readiness answer about the database, and when it was found.
    ready: tokio::sync::Mutex<Option<(Instant, Result<(), &'static str>)>>,
}

impl Node {
    /// A node named `name`, with `/metrics` opened by `metrics_token`.
    pub fn new(name: String, metrics_token: Option<String>) -> Self {
        Self {
            name,
            metrics_token,
            draining: AtomicBool::new(false),
            nodes_alive: AtomicU32::new(1),
            started: Instant::now(),
            in_flight: AtomicI64::new(0),
            rate_limited: AtomicU64::new(0),
            requests: Mutex::new(BTreeMap::new()),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_us: AtomicU64::new(0),
            turns: Mutex::new(BTreeMap::new()),
            ready: tokio::sync::Mutex::new(None),
        }
    }

    /// The node is stopping: it fails readiness from now on (and keeps serving meanwhile).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the node is stopping.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Notes how many nodes were heard from lately (this one included).
    pub fn set_nodes_alive(&self, n: u32) {
        self.nodes_alive.store(n.max(1), Ordering::Relaxed);
    }

    /// Nodes heard from lately, at least 1.
    pub fn nodes_alive(&self) -> u32 {
        self.nodes_alive.load(Ordering::Relaxed).max(1)
    }

    /// Counts a turn this node took at cluster-wide `work`.
    pub fn took_turn(&self, work: &'static str) {
        let mut t = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *t.entry(work).or_default() += 1;
    }

    /// Counts a request in flight until the returned guard is dropped (also when the client
    /// goes away before the answer).
    pub(crate) fn request_started(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Counts an answered request. The method is one of HTTP's own or `other`, and the route a
    /// template of the router's (or `unmatched`), so what a client sends cannot add series.
    pub(crate) fn request_ended(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        {
            let mut r = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *r.entry((method.to_string(), route.to_string(), class)).or_default() += 1;
        }
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        if let Some(b) = self.latency.get(bucket) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_sum_us
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The Prometheus text of what this node counted, with the installation's `work` figures
    /// (see `suoja_store::cluster::work_figures`).
    fn render(&self, work: &[(String, String, String, i64)]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP suoja_node_info This node: its name and version.\n# TYPE suoja_node_info gauge");
        let _ = writeln!(
            s,
            "suoja_node_info{{node=\"{}\",version=\"{}\"}} 1",
            label(&self.name),
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            s,
            "# HELP suoja_uptime_seconds Seconds since this node started.\n# TYPE suoja_uptime_seconds gauge"
        );
        let _ = writeln!(s, "suoja_uptime_seconds {:.0}", self.started.elapsed().as_secs_f64());
        let _ = writeln!(
            s,
            "# HELP suoja_ready Whether this node takes requests (0 while it stops).\n# TYPE suoja_ready gauge"
        );
        let _ = writeln!(s, "suoja_ready {}", u8::from(!self.draining()));
        let _ = writeln!(
            s,
            "# HELP suoja_cluster_nodes_alive Nodes on this database heard from in the last 30 seconds.\n# TYPE suoja_cluster_nodes_alive gauge"
        );
        let _ = writeln!(s, "suoja_cluster_nodes_alive {}", self.nodes_alive());
        let _ = writeln!(
            s,
            "# HELP suoja_cluster_turns_taken_total Turns this node took at work run once per interval across the nodes.\n# TYPE suoja_cluster_turns_taken_total counter"
        );
        for (work, n) in self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(s, "suoja_cluster_turns_taken_total{{work=\"{}\"}} {n}", label(work));
        }
        let _ = writeln!(
            s,
            "# HELP suoja_http_requests_total Requests answered, by route template and status class.\n# TYPE suoja_http_requests_total counter"
        );
        for ((method, route, class), n) in self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(
                s,
                "suoja_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{class}\"}} {n}",
                label(method),
                label(route)
            );
        }
        let _ = writeln!(
            s,
            "# HELP suoja_http_requests_in_flight Requests being answered now.\n# TYPE suoja_http_requests_in_flight gauge"
        );
        let _ = writeln!(s, "suoja_http_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed).max(0));
        let _ = writeln!(
            s,
            "# HELP suoja_http_rate_limited_total Requests refused by the rate limits (429).\n# TYPE suoja_http_rate_limited_total counter"
        );
        let _ = writeln!(s, "suoja_http_rate_limited_total {}", self.rate_limited.load(Ordering::Relaxed));
        let _ = writeln!(
            s,
            "# HELP suoja_http_request_duration_seconds Time to answer a request.\n# TYPE suoja_http_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, b) in self.latency.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            match BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(s, "suoja_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(s, "suoja_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let _ = writeln!(
            s,
            "suoja_http_request_duration_seconds_sum {:.6}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "suoja_http_request_duration_seconds_count {cumulative}");
        for (what, help) in [
            ("queue", "Queued background work (webhook deliveries, exports), by kind and state."),
            ("outbox", "Mail in the outbox, by state."),
            ("erasures", "Erasures, by state."),
            ("jobs", "Job statuses reported to API clients, by state."),
        ] {
            let _ = writeln!(s, "# HELP suoja_{what} {help}\n# TYPE suoja_{what} gauge");
            for (w, kind, state, n) in work.iter().filter(|(w, ..)| w == what) {
                let _ = w;
                if kind.is_empty() {
                    let _ = writeln!(s, "suoja_{what}{{state=\"{}\"}} {n}", label(state));
                } else {
                    let _ = writeln!(s, "suoja_{what}{{kind=\"{}\",state=\"{}\"}} {n}", label(kind), label(state));
                }
            }
        }
        s
    }
}

/// A request in flight, counted until dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A label value as Prometheus text needs it (backslash, quote and newline escaped).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /readyz`: 200 when the database answers and the node is not stopping, else 503.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if state.node.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping").into_response();
    }
    // One check at a time; callers meanwhile wait for it and share its answer.
    let mut last = state.node.ready.lock().await;
    let answer = match *last {
        Some((at, answer)) if at.elapsed() < READY_REUSE => answer,
        _ => {
            let hd = state.helpdesk.clone();
            let check = async move {
                let mut c = hd.db().read().await?;
                suoja_store::cluster::ping(&mut c).await?;
                // With several regions, a node that cannot read the routes serves no one.
                match hd.residency() {
                    Some(r) => r.routes.ping().await,
                    None => Ok(()),
                }
            };
            let answer = match tokio::time::timeout(READY_DB_WAIT, check).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "readiness: the database does not answer");
                    Err("database unavailable")
                }
                Err(_) => Err("database slow"),
            };
            *last = Some((Instant::now(), answer));
            answer
        }
    };
    drop(last);
    match answer {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// `GET /metrics`: Prometheus text, opened by `Authorization: Bearer <metrics_token>`; not
/// served (404) when no token is configured.
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.node.metrics_token.as_deref() else {
        return crate::ApiError::NotFound.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !suoja_core::random::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a metrics token is required").into_response();
    }
    let work = async {
        let mut c = state.helpdesk.db().read().await?;
        suoja_store::cluster::work_figures(&mut c).await
    };
    let work = match tokio::time::timeout(READY_DB_WAIT, work).await {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: reading the work figures failed");
            Vec::new()
        }
        Err(_) => Vec::new(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.node.render(&work),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_counts_requests_by_template_and_class_and_escapes_labels() {
        let n = Node::new("help-1".into(), None);
        for (method, route, status, took) in [
            ("GET", "/api/v2/tickets/{id}", 200, Duration::from_millis(3)),
            ("GET", "/api/v2/tickets/{id}", 404, Duration::from_millis(30)),
            ("POST", "/api/v2/tickets", 429, Duration::from_secs(20)),
        ] {
            let _flight = n.request_started();
            n.request_ended(method, route, status, took);
        }
        // Methods a client invents share one series; a request whose client went away leaves
        // the in-flight count when it is dropped.
        for i in 0..100 {
            n.request_ended(&format!("X{i}{}", "A".repeat(1000)), "unmatched", 405, Duration::from_millis(1));
        }
        drop(n.request_started());
        n.took_turn("retention");
        n.set_nodes_alive(3);
        let text = n.render(&[
            ("queue".into(), "webhook.delivery".into(), "queued".into(), 4),
            ("outbox".into(), String::new(), "sent".into(), 2),
        ]);
        for line in [
            "suoja_http_requests_total{method=\"GET\",route=\"/api/v2/tickets/{id}\",status=\"2xx\"} 1",
            "suoja_http_requests_total{method=\"GET\",route=\"/api/v2/tickets/{id}\",status=\"4xx\"} 1",
            "suoja_http_rate_limited_total 1",
            "suoja_http_request_duration_seconds_bucket{le=\"0.005\"} 101",
            "suoja_http_request_duration_seconds_bucket{le=\"0.05\"} 102",
            "suoja_http_request_duration_seconds_bucket{le=\"10\"} 102",
            "suoja_http_request_duration_seconds_bucket{le=\"+Inf\"} 103",
            "suoja_http_request_duration_seconds_count 103",
            "suoja_http_requests_in_flight 0",
            "suoja_http_requests_total{method=\"other\",route=\"unmatched\",status=\"4xx\"} 100",
            "suoja_cluster_nodes_alive 3",
            "suoja_cluster_turns_taken_total{work=\"retention\"} 1",
            "suoja_queue{kind=\"webhook.delivery\",state=\"queued\"} 4",
            "suoja_outbox{state=\"sent\"} 2",
            "suoja_node_info{node=\"help-1\",version=\"",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert!(!text.contains("AAAA"), "an invented method is not a label");
    }
}
