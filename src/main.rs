//! The `inboxd` command line: serve, manage tokens, generate demo data, benchmark.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use inboxd::domain::Role;
use inboxd::server::{open_store, start, Settings};
use inboxd::webhooks::DestinationPolicy;

fn parse_destinations(text: &str) -> Result<DestinationPolicy, String> {
    DestinationPolicy::parse(text).ok_or_else(|| format!("{text:?} is not a destination policy; allowed: any, public"))
}

#[derive(Parser)]
#[command(name = "inboxd", version, about = "A self-hosted contacts inbox for chatbot and live-chat businesses")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, env = "INBOXD_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

const DEFAULT_DB: &str = "./data/inboxd.db";

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// The embedded store's file (missing directories are created).
        #[arg(long, env = "INBOXD_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "INBOXD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seconds a user stays online after an online signal.
        #[arg(long, env = "INBOXD_PRESENCE_WINDOW", default_value_t = 120)]
        presence_window: u64,
        /// Requests per minute per token; off unless set.
        #[arg(long, env = "INBOXD_RATE_LIMIT")]
        rate_limit: Option<u32>,
        /// Where webhooks may go: "any" http(s) url (loopback included), or only "public" addresses.
        #[arg(long, env = "INBOXD_WEBHOOK_DESTINATIONS", default_value = "any", value_parser = parse_destinations)]
        webhook_destinations: DestinationPolicy,
        /// Seconds before an unanswered request is answered 503 (its work still finishes).
        #[arg(long, env = "INBOXD_REQUEST_TIMEOUT", default_value_t = 30)]
        request_timeout: u64,
        /// Whether GET /metrics answers (Prometheus text format, no token): on or off.
        #[arg(long, env = "INBOXD_METRICS", default_value = "on", value_parser = ["on", "off"])]
        metrics: String,
        /// Where engine snapshots are kept, for fast restarts (default: `<db>.snapshots` beside
        /// the embedded store; off on PostgreSQL unless set).
        #[arg(long, env = "INBOXD_SNAPSHOT_DIR")]
        snapshot_dir: Option<PathBuf>,
    },
    /// Concurrent clients mixing queries and writes against a running server; reports errors,
    /// latency percentiles and the server's memory over time (fails on any error).
    Soak {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An admin token of the workspace to write into.
        #[arg(long, env = "INBOXD_SOAK_TOKEN")]
        token: String,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// How long to run, in minutes (fractions allowed).
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// Seconds between progress lines.
        #[arg(long, default_value_t = 30)]
        report_every: u64,
    },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Fill the workspace "demo" with realistic users and print an admin token.
    Demo {
        /// How many users to generate.
        #[arg(long, default_value_t = 10_000)]
        contacts: usize,
        #[arg(long, env = "INBOXD_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Measure queries, export, ingest, cold start and memory on a demo data set; prints markdown.
    Bench {
        /// How many users to generate.
        #[arg(long, default_value_t = 100_000)]
        contacts: usize,
        /// Store to use (its workspace "bench" is reused if filled); a temporary one by default.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Measure the engine, cold start and memory only (no HTTP timings, export or ingest).
        #[arg(long, conflicts_with_all = ["export_only", "ingest_only"])]
        engine_only: bool,
        /// Measure the CSV export only (rows/s and peak RSS growth).
        #[arg(long, conflicts_with = "ingest_only")]
        export_only: bool,
        /// Measure the event ingest only (events/s).
        #[arg(long)]
        ingest_only: bool,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token (and the workspace if needed); prints the secret on the last line.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long, value_enum, default_value = "admin")]
        role: RoleArg,
        #[arg(long, env = "INBOXD_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long, env = "INBOXD_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
    },
    /// Revoke a token by id or secret, effective at once.
    Revoke {
        token: String,
        #[arg(long, env = "INBOXD_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Agent => Role::Agent,
        }
    }
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INBOXD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match cli.command {
        Command::Serve {
            db,
            listen,
            presence_window,
            rate_limit,
            webhook_destinations,
            request_timeout,
            metrics,
            snapshot_dir,
        } => {
            let settings = Settings {
                db,
                listen,
                presence_window_secs: presence_window,
                rate_limit_per_minute: rate_limit,
                webhook_destinations,
                request_timeout: std::time::Duration::from_secs(request_timeout.max(1)),
                metrics: metrics == "on",
                snapshot_dir,
            };
            let server = start(settings).await?;
            server
                .serve_until(async {
                    shutdown_signal().await;
                    tracing::info!("shutting down: finishing in-flight requests");
                })
                .await?;
        }
        Command::Soak { url, token, clients, minutes, report_every } => {
            let settings = inboxd::soak::SoakSettings {
                url,
                token,
                clients: clients.max(1),
                duration: std::time::Duration::from_secs_f64(minutes.max(0.0) * 60.0),
                report_every: std::time::Duration::from_secs(report_every.max(1)),
            };
            print!("{}", inboxd::soak::run(settings).await?);
        }
        Command::Token { action } => token(action).await?,
        Command::Demo { contacts, db } => demo(contacts, db).await?,
        Command::Bench { contacts, db, engine_only, export_only, ingest_only } => {
            let settings = inboxd::bench::BenchSettings { contacts, db, engine_only, export_only, ingest_only };
            print!("{}", inboxd::bench::run(settings).await?);
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

async fn token(action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create { workspace, role, db } => {
            let store = open_store(&db).await?;
            let secret = inboxd::auth::create_token(&*store, &workspace, role.into()).await?;
            println!("{secret}");
        }
        TokenAction::List { workspace, db } => {
            let store = open_store(&db).await?;
            println!("{:<18} {:<20} {:<6} {:<25} LAST USED", "ID", "WORKSPACE", "ROLE", "CREATED");
            for token in store.tokens(workspace.as_deref()).await? {
                let last_used = token.last_used_at.map_or("never".to_string(), |t| t.to_string());
                let revoked = if token.revoked { " (revoked)" } else { "" };
                println!(
                    "{:<18} {:<20} {:<6} {:<25} {last_used}{revoked}",
                    token.id,
                    token.workspace,
                    token.role.as_str(),
                    token.created_at.to_string()
                );
            }
        }
        TokenAction::Revoke { token, db } => {
            let store = open_store(&db).await?;
            if !inboxd::auth::revoke(&*store, &token).await? {
                anyhow::bail!("no token has the id or secret {token:?}");
            }
            println!("revoked");
        }
    }
    Ok(())
}

async fn demo(contacts: usize, db: PathBuf) -> anyhow::Result<()> {
    let store = open_store(&db).await?;
    let workspace = store.ensure_workspace("demo").await?;
    let mut existing = 0;
    store.scan_users(workspace, &mut |users| existing += users.len()).await?;
    if existing > 0 {
        eprintln!("The workspace \"demo\" in {} already has {existing} users; nothing generated.", db.display());
    } else {
        let started = std::time::Instant::now();
        let summary = inboxd::demo::generate(&*store, workspace, contacts, true).await?;
        eprintln!(
            "Generated {} users, {} bots, {} agents and {} segments in {:.1} s.",
            summary.users,
            summary.bots,
            summary.agents,
            summary.segments,
            started.elapsed().as_secs_f64()
        );
    }
    let secret = inboxd::auth::create_token(&*store, "demo", Role::Admin).await?;
    println!("Start the server:  inboxd serve --db {}", db.display());
    println!("Then try the contract's sample request:");
    println!(
        "  curl -s http://127.0.0.1:8080/inbox/users -H 'Authorization: Bearer {secret}' -H 'Content-Type: application/json' \\\n    -d '{{\"tags\": [\"vip\"], \"status\": [\"OPEN\"], \"limit\": 5, \"sort\": {{\"by\": \"lastSeenAt\", \"order\": \"desc\"}}}}'"
    );
    println!("{secret}");
    Ok(())
}
