//! `inboxd soak`: concurrent clients mixing queries and writes against a running server for a
//! while, reporting errors, latency percentiles and the server's memory over time.
//!
//! Memory is read from the server's own `/metrics` (`inboxd_process_resident_memory_bytes`), so
//! the server may run anywhere the soak can reach. Any non-2xx answer or failed request counts as
//! an error; the command fails when there was any. Writes go to a bounded set of users (upserts
//! by email, visitors by externalId), so memory should level off once they all exist.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

pub struct SoakSettings {
    /// The server's base URL, e.g. http://127.0.0.1:8080.
    pub url: String,
    /// An admin token of the workspace to write into.
    pub token: String,
    pub clients: usize,
    pub duration: Duration,
    /// How often a progress line is printed.
    pub report_every: Duration,
}

const TAGS: [&str; 12] =
    ["vip", "lead", "churned", "trial", "gold", "silver", "newsletter", "b2b", "b2c", "promo", "support", "beta"];
const NAMES: [&str; 12] =
    ["Ann", "Bob", "José", "Zanele", "Thabo", "Maria", "Liam", "Aisha", "Chen", "Noah", "Lerato", "Sipho"];
/// Each client writes to at most this many users (by email) and visitors, so the data set stops
/// growing once they all exist and memory can be seen to stay flat.
const USERS_PER_CLIENT: u32 = 2_000;
const VISITORS_PER_CLIENT: u32 = 500;
const STATUSES: [&str; 3] = ["OPEN", "CLOSED", "PENDING"];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Query,
    Import,
    Events,
    Get,
    Put,
    Export,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Query => "query",
            Op::Import => "import",
            Op::Events => "events",
            Op::Get => "get user",
            Op::Put => "put user",
            Op::Export => "export",
        }
    }
}

#[derive(Default)]
struct Record {
    /// Latencies (ms) by operation, since the start and since the last progress line.
    all: BTreeMap<Op, Vec<f64>>,
    interval: Vec<f64>,
    errors: BTreeMap<Op, u64>,
    interval_errors: u64,
    samples: Vec<String>,
}

struct Shared {
    client: reqwest::Client,
    url: String,
    token: String,
    bot: String,
    record: Mutex<Record>,
    /// Ids of users the clients created, to read and change.
    ids: Mutex<Vec<String>>,
}

impl Shared {
    async fn send(&self, op: Op, method: reqwest::Method, path: &str, body: Option<&Value>) -> Option<Value> {
        let started = Instant::now();
        let mut request = self.client.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) if status.is_success() => Ok(bytes),
                    Ok(bytes) => Err(format!(
                        "{op:?} {path}: {status} {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                    )),
                    Err(error) => Err(format!("{op:?} {path}: reading the body: {error}")),
                }
            }
            Err(error) => Err(format!("{op:?} {path}: {error}")),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut record = self.record.lock();
        record.all.entry(op).or_default().push(ms);
        record.interval.push(ms);
        match outcome {
            Ok(bytes) => {
                drop(record);
                if op == Op::Export {
                    return Some(Value::Null);
                }
                serde_json::from_slice(&bytes).ok()
            }
            Err(error) => {
                *record.errors.entry(op).or_default() += 1;
                record.interval_errors += 1;
                if record.samples.len() < 20 {
                    record.samples.push(error);
                }
                None
            }
        }
    }
}

fn random_query(rng: &mut StdRng) -> Value {
    let mut body = json!({"page": rng.gen_range(1..=5), "limit": *[20, 50, 100].choose(rng).unwrap()});
    if rng.gen_bool(0.4) {
        body["searchText"] = json!(NAMES.choose(rng).unwrap()[..3].to_lowercase());
    }
    if rng.gen_bool(0.4) {
        body["tags"] = json!([TAGS.choose(rng).unwrap(), TAGS.choose(rng).unwrap()]);
    }
    if rng.gen_bool(0.3) {
        body["status"] = json!([STATUSES.choose(rng).unwrap()]);
    }
    if rng.gen_bool(0.3) {
        body["isContact"] = json!(true);
    }
    if rng.gen_bool(0.2) {
        body["isOnline"] = json!(rng.gen::<bool>());
        body["applicableFilters"] = json!(["isOnline"]);
    }
    if rng.gen_bool(0.5) {
        let by = ["lastSeenAt", "createdAt", "updatedAt", "lastMessageAt", "name"].choose(rng).unwrap();
        body["sort"] = json!({"by": by, "order": if rng.gen() { "asc" } else { "desc" }});
    }
    body
}

async fn run_client(shared: Arc<Shared>, number: usize, deadline: Instant, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seq = 0u64;
    while Instant::now() < deadline {
        seq += 1;
        let roll = rng.gen_range(0..100);
        if roll < 50 {
            shared.send(Op::Query, reqwest::Method::POST, "/inbox/users", Some(&random_query(&mut rng))).await;
        } else if roll < 63 {
            let rows: Vec<Value> = (0..rng.gen_range(1..=20))
                .map(|i| {
                    json!({"status": STATUSES.choose(&mut rng).unwrap(), "profile": {"userDetails": {
                        "name": format!("{} {number}-{seq}-{i}", NAMES.choose(&mut rng).unwrap()),
                        "contact": {"email": format!("soak-{number}-{}@soak.test", rng.gen_range(0..USERS_PER_CLIENT))},
                        "tags": [TAGS.choose(&mut rng).unwrap()],
                        "attributes": [{"key": "plan", "value": TAGS.choose(&mut rng).unwrap()}]}}})
                })
                .collect();
            if let Some(answer) =
                shared.send(Op::Import, reqwest::Method::POST, "/inbox/users/import", Some(&Value::Array(rows))).await
            {
                let new: Vec<String> = answer["data"]["ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let mut ids = shared.ids.lock();
                if ids.len() < 100_000 {
                    ids.extend(new);
                }
            }
        } else if roll < 85 {
            let events: Vec<Value> = (0..rng.gen_range(1..=10))
                .map(|i| {
                    let visitor = json!({"platform": "WEBSITE", "botId": shared.bot, "externalId": format!("soak-visitor-{number}-{}", rng.gen_range(0..VISITORS_PER_CLIENT))});
                    let event_id = format!("soak-{number}-{seq}-{i}");
                    match rng.gen_range(0..10) {
                        0..=6 => json!({"type": "message", "by": *["user", "bot", "agent"].choose(&mut rng).unwrap(), "text": "hello", "visitor": visitor, "eventId": event_id}),
                        _ => json!({"type": "message", "by": "user", "text": "order please", "visitor": visitor}),
                    }
                })
                .collect();
            shared.send(Op::Events, reqwest::Method::POST, "/inbox/events", Some(&Value::Array(events))).await;
        } else if roll < 99 {
            let id = shared.ids.lock().choose(&mut rng).cloned();
            let Some(id) = id else { continue };
            let path = format!("/inbox/users/{id}");
            if roll < 92 {
                shared.send(Op::Get, reqwest::Method::GET, &path, None).await;
            } else {
                let body = json!({"profile": {"userDetails": {"tags": [TAGS.choose(&mut rng).unwrap(), TAGS.choose(&mut rng).unwrap()]}}});
                shared.send(Op::Put, reqwest::Method::PUT, &path, Some(&body)).await;
            }
        } else {
            let body = json!({"isExport": "csv", "tags": [TAGS.choose(&mut rng).unwrap()], "searchText": NAMES.choose(&mut rng).unwrap()[..3].to_lowercase()});
            shared.send(Op::Export, reqwest::Method::POST, "/inbox/users", Some(&body)).await;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values
}

/// Resident memory and engine users of the server, from its /metrics.
async fn server_gauges(client: &reqwest::Client, url: &str) -> (Option<f64>, f64) {
    let Ok(response) = client.get(format!("{url}/metrics")).send().await else { return (None, 0.0) };
    let Ok(text) = response.text().await else { return (None, 0.0) };
    let mut rss = None;
    let mut users = 0.0;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("inboxd_process_resident_memory_bytes ") {
            rss = value.trim().parse().ok();
        } else if line.starts_with("inboxd_engine_users{") {
            users += line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        }
    }
    (rss, users)
}

/// Runs the soak; answers the markdown report. Fails when any request failed.
pub async fn run(settings: SoakSettings) -> anyhow::Result<String> {
    let url = settings.url.trim_end_matches('/').to_string();
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(settings.clients).build()?;
    let health = client.get(format!("{url}/health")).send().await.with_context(|| format!("reaching {url}/health"))?;
    if !health.status().is_success() {
        bail!("{url}/health answered {}", health.status());
    }
    let bot = client
        .post(format!("{url}/inbox/bots"))
        .bearer_auth(&settings.token)
        .json(&json!({"name": "Soak web bot", "platform": "WEBSITE"}))
        .send()
        .await?;
    if !bot.status().is_success() {
        bail!("creating the soak's bot answered {} (an admin token is needed)", bot.status());
    }
    let bot: Value = bot.json().await?;
    let bot = bot["data"]["_id"].as_str().context("the bot's _id")?.to_string();
    let shared = Arc::new(Shared {
        client: client.clone(),
        url: url.clone(),
        token: settings.token.clone(),
        bot,
        record: Mutex::new(Record::default()),
        ids: Mutex::new(Vec::new()),
    });

    let started = Instant::now();
    let deadline = started + settings.duration;
    let seed: u64 = rand::random();
    let tasks: Vec<_> = (0..settings.clients)
        .map(|n| tokio::spawn(run_client(shared.clone(), n, deadline, seed.wrapping_add(n as u64))))
        .collect();

    let mut report = String::new();
    let _ = writeln!(
        report,
        "soak: {} clients for {:.1} min against {url} (seed {seed})\n",
        settings.clients,
        settings.duration.as_secs_f64() / 60.0
    );
    let _ = writeln!(report, "| elapsed | requests/s | errors | p50 ms | p99 ms | server RSS MiB | engine users |");
    let _ = writeln!(report, "|---|---|---|---|---|---|---|");
    let (first_rss, _) = server_gauges(&client, &url).await;
    let mut rss_series = Vec::new();
    if let Some(rss) = first_rss {
        rss_series.push(rss);
    }
    let mut last = Instant::now();
    while Instant::now() < deadline {
        let wait = settings.report_every.min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(wait).await;
        let (interval, errors) = {
            let mut record = shared.record.lock();
            (std::mem::take(&mut record.interval), std::mem::take(&mut record.interval_errors))
        };
        let (rss, users) = server_gauges(&client, &url).await;
        if let Some(rss) = rss {
            rss_series.push(rss);
        }
        let values = sorted(&interval);
        let line = format!(
            "| {:.0} s | {:.0} | {errors} | {:.1} | {:.1} | {} | {users:.0} |",
            started.elapsed().as_secs_f64(),
            values.len() as f64 / last.elapsed().as_secs_f64(),
            percentile(&values, 50.0),
            percentile(&values, 99.0),
            rss.map_or("?".to_string(), |r| format!("{:.0}", r / 1048576.0)),
        );
        eprintln!("{line}");
        let _ = writeln!(report, "{line}");
        last = Instant::now();
    }
    for task in tasks {
        task.await?;
    }

    let record = shared.record.lock();
    let _ = writeln!(report, "\n| operation | requests | errors | p50 ms | p90 ms | p99 ms | max ms |");
    let _ = writeln!(report, "|---|---|---|---|---|---|---|");
    let mut everything = Vec::new();
    let mut total_errors = 0;
    for (op, latencies) in &record.all {
        let values = sorted(latencies);
        let errors = record.errors.get(op).copied().unwrap_or(0);
        total_errors += errors;
        everything.extend_from_slice(latencies);
        let _ = writeln!(
            report,
            "| {} | {} | {errors} | {:.1} | {:.1} | {:.1} | {:.1} |",
            op.name(),
            values.len(),
            percentile(&values, 50.0),
            percentile(&values, 90.0),
            percentile(&values, 99.0),
            values.last().copied().unwrap_or(0.0)
        );
    }
    let values = sorted(&everything);
    let _ = writeln!(
        report,
        "| **all** | {} | {total_errors} | {:.1} | {:.1} | {:.1} | {:.1} |",
        values.len(),
        percentile(&values, 50.0),
        percentile(&values, 90.0),
        percentile(&values, 99.0),
        values.last().copied().unwrap_or(0.0)
    );
    if let (Some(first), Some(last)) = (rss_series.first(), rss_series.last()) {
        let max = rss_series.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            report,
            "\nServer RSS: {:.0} MiB at the start, {:.0} MiB at the end, {:.0} MiB at most.",
            first / 1048576.0,
            last / 1048576.0,
            max / 1048576.0
        );
        let second_half = &rss_series[rss_series.len() / 2..];
        let low = second_half.iter().copied().fold(f64::MAX, f64::min);
        let high = second_half.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(report, "Over the second half: {:.0} to {:.0} MiB.", low / 1048576.0, high / 1048576.0);
    }
    let _ = writeln!(report, "{:.0} requests/s on average.", values.len() as f64 / started.elapsed().as_secs_f64());
    if total_errors > 0 {
        let _ = writeln!(report, "\nErrors (first {}):", record.samples.len());
        for sample in &record.samples {
            let _ = writeln!(report, "- {sample}");
        }
        eprint!("{report}");
        bail!("{total_errors} requests failed");
    }
    Ok(report)
}
