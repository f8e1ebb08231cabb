//! Prometheus metrics: request counts and latency by route, method and status, recorded by the
//! HTTP layer, and gauges read at scrape time (engine sizes, in-flight requests, memory).
//!
//! The text format is written by hand: it is a few lines per series and needs no crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::service::{App, StartedFrom};

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Answers with status 500 (internal errors: store failures and bugs), counted wherever they are
/// answered. Global because errors turn into responses far from any state.
static INTERNAL_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Internal errors whose cause is an SQLite error.
static STORE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts one internal error; `store` when SQLite caused it.
pub fn internal_error(store: bool) {
    INTERNAL_ERRORS.fetch_add(1, Ordering::Relaxed);
    if store {
        STORE_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy)]
struct Series {
    count: u64,
    sum_secs: f64,
    /// Per bucket, not cumulative; made cumulative when written.
    buckets: [u64; BUCKETS.len()],
}

type Key = (String, String, u16);

pub struct Metrics {
    started: Instant,
    requests: Mutex<BTreeMap<Key, Series>>,
    timeouts: AtomicU64,
    in_flight: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            started: Instant::now(),
            requests: Mutex::new(BTreeMap::new()),
            timeouts: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }
}

/// Counts a request as in flight while it lives.
pub struct InFlight<'m>(&'m Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records one answered request. `route` is the matched route template (`/inbox/users/{id}`),
    /// never the raw path, so ids do not become labels.
    pub fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut requests = self.requests.lock();
        let series = requests.entry((route.to_string(), method.to_string(), status)).or_insert(Series {
            count: 0,
            sum_secs: 0.0,
            buckets: [0; BUCKETS.len()],
        });
        series.count += 1;
        series.sum_secs += secs;
        if let Some(i) = BUCKETS.iter().position(|&bound| secs <= bound) {
            series.buckets[i] += 1;
        }
    }

    pub fn timed_out(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub async fn render(&self, app: &App) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        let counters = [
            (
                "inboxd_request_timeouts_total",
                "Requests answered 503 because they ran past the request timeout.",
                self.timeouts.load(Ordering::Relaxed),
            ),
            (
                "inboxd_internal_errors_total",
                "Requests answered 500 (store failures and bugs; details are in the logs).",
                INTERNAL_ERRORS.load(Ordering::Relaxed),
            ),
            (
                "inboxd_store_errors_total",
                "Internal errors caused by the SQLite store.",
                STORE_ERRORS.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        gauge(
            &mut out,
            "inboxd_requests_in_flight",
            "Requests being handled now.",
            self.in_flight.load(Ordering::Relaxed) as f64,
        );
        gauge(
            &mut out,
            "inboxd_uptime_seconds",
            "Seconds since the server started.",
            self.started.elapsed().as_secs_f64(),
        );
        if let Some(rss) = resident_bytes() {
            gauge(&mut out, "inboxd_process_resident_memory_bytes", "Resident memory of the process.", rss as f64);
        }
        self.render_workspaces(&mut out, app).await;
        gauge(
            &mut out,
            "inboxd_pending_activity",
            "Records of event activity not yet folded into their users' documents (embedded store).",
            app.store.pending_activity() as f64,
        );
        match app.store.delivery_backlog().await {
            Ok((pending, failed)) => {
                gauge(
                    &mut out,
                    "inboxd_webhook_deliveries_pending",
                    "Webhook deliveries waiting to be sent.",
                    pending as f64,
                );
                gauge(
                    &mut out,
                    "inboxd_webhook_deliveries_failed",
                    "Webhook deliveries given up after retrying.",
                    failed as f64,
                );
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "metrics: could not count webhook deliveries"),
        }
        out
    }

    fn render_requests(&self, out: &mut String) {
        let requests = self.requests.lock().clone();
        let name = "inboxd_http_requests_total";
        let _ = writeln!(out, "# HELP {name} HTTP requests answered, by route template, method and status.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for ((route, method, status), series) in &requests {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(route, method, *status), series.count);
        }
        let name = "inboxd_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to answer (until the response head), by route template, method and status."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for ((route, method, status), series) in &requests {
            let labels = labels(route, method, *status);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(series.buckets) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", series.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", series.sum_secs);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", series.count);
        }
    }

    /// Engine sizes per workspace, read from the live engines.
    async fn render_workspaces(&self, out: &mut String, app: &App) {
        let workspaces = match app.store.workspaces().await {
            Ok(workspaces) => workspaces,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "metrics: could not list workspaces");
                internal_error(true);
                return;
            }
        };
        let mut users = String::new();
        let mut index = String::new();
        let mut total = String::new();
        let mut from_snapshot = String::new();
        let mut replayed = String::new();
        let mut unmerged = String::new();
        for (id, name) in workspaces {
            let Ok(workspace) = app.workspace(id).await else { continue };
            let engine = workspace.engine.read();
            let memory = engine.memory();
            let label = format!("workspace=\"{}\"", escape(&name));
            let _ = writeln!(users, "inboxd_engine_users{{{label}}} {}", engine.len());
            let _ = writeln!(index, "inboxd_engine_index_bytes{{{label}}} {}", memory.index());
            let _ = writeln!(total, "inboxd_engine_memory_bytes{{{label}}} {}", memory.total());
            let _ = writeln!(
                unmerged,
                "inboxd_engine_unmerged_order_changes{{{label}}} {}",
                engine.unmerged_order_changes()
            );
            let (loaded, changes) = match workspace.started_from {
                StartedFrom::Store => (0, 0),
                StartedFrom::Snapshot { replayed, .. } => (1, replayed),
            };
            let _ = writeln!(from_snapshot, "inboxd_engine_from_snapshot{{{label}}} {loaded}");
            let _ = writeln!(replayed, "inboxd_engine_snapshot_replayed_changes{{{label}}} {changes}");
        }
        let families = [
            ("inboxd_engine_users", "Users held by the workspace's in-memory engine.", users),
            ("inboxd_engine_index_bytes", "Bytes of the workspace's index (bitmaps, text index, sort orders).", index),
            (
                "inboxd_engine_memory_bytes",
                "Bytes of the workspace's engine in all (index, rows, identity lookups).",
                total,
            ),
            (
                "inboxd_engine_unmerged_order_changes",
                "Changed users not yet merged into the workspace's presorted orders, all orders together (an order with more than 2,048 is merged by the next query that walks it, or once writes pause).",
                unmerged,
            ),
            (
                "inboxd_engine_from_snapshot",
                "1 when the workspace's engine was read from its snapshot at load, 0 when built from the store.",
                from_snapshot,
            ),
            (
                "inboxd_engine_snapshot_replayed_changes",
                "Changes of the feed replayed after the snapshot the engine was read from.",
                replayed,
            ),
        ];
        for (name, help, lines) in families {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{lines}");
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
}

fn labels(route: &str, method: &str, status: u16) -> String {
    format!("route=\"{}\",method=\"{}\",status=\"{status}\"", escape(route), escape(method))
}

/// A label value: backslash, double quote and newline escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Resident set size, from /proc (Linux); None elsewhere.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
