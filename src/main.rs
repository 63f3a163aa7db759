//! `switchboard`: the contact-center server.
//!
//! `switchboard serve [--config switchboard.yaml]` listens on 0.0.0.0:8180 and
//! journals to ./switchboard.db unless told otherwise (see `config.rs`);
//! `switchboard --help` lists the rest.

mod cluster;
mod config;
mod replay;

use std::hash::{BuildHasher, Hasher};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use config::{LogFormat, ServerConfig};
use switchboard_app::engine::{CallObserver, DirectoryListener};
use switchboard_app::{AnswerExt, Engine, EngineSettings};
use switchboard_core::{Session, SessionId};
use switchboard_http::auth::{AccountChange, Caller, NewAccount, Role, Staff};
use switchboard_http::listener::{self, Limits};
use switchboard_http::{webhooks, whip, Auth};
use switchboard_media::Media;
use switchboard_outbound::bots;
use switchboard_store::Store;
use tracing_subscriber::EnvFilter;

/// The engine thread allocates what the request threads free (commands in,
/// answers out); glibc's malloc spends a fifth of the engine's time on that
/// traffic, mimalloc's thread-free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The contact-center server.
#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the server (the default). Environment: SWITCHBOARD_LISTEN,
    /// SWITCHBOARD_DB, SWITCHBOARD_LOG_FORMAT (text|json),
    /// SWITCHBOARD_ADMIN_TOKEN, SWITCHBOARD_ADMIN_PASSWORD, RUST_LOG.
    Serve(ConfigArg),
    /// Rebuild a journal from its first record and compare with its live state
    /// (exit 0 equal, 1 different, 2 bad input).
    Replay {
        /// The journal file.
        db: PathBuf,
        /// Stop after this record.
        #[arg(long)]
        until: Option<u64>,
        /// Print every record and its events.
        #[arg(long)]
        trace: bool,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The cluster this node's config names: `status` prints its leader,
    /// log head, and each live node's applied entry and lag (JSON).
    Cluster {
        #[command(subcommand)]
        action: ClusterCmd,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Manage staff accounts in the journal file (while the server is
    /// stopped, or for a server that is restarted after).
    Accounts {
        #[command(subcommand)]
        action: AccountCmd,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(clap::Args, Debug, Default)]
struct ConfigArg {
    /// The config file (YAML).
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ClusterCmd {
    /// Members, leader, log head, each node's applied entry and lag.
    Status,
}

#[derive(Subcommand, Debug)]
enum AccountCmd {
    /// Create an account; the password is read from SWITCHBOARD_PASSWORD or
    /// the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        /// admin, supervisor or agent.
        #[arg(long)]
        role: String,
        /// The agent the account acts as (required for agents).
        #[arg(long)]
        agent_id: Option<String>,
    },
    /// List accounts.
    List,
    /// Set a new password (from SWITCHBOARD_PASSWORD or standard input) and
    /// sign the account out everywhere.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Cmd::Serve(ConfigArg::default())) {
        Cmd::Replay {
            db,
            until,
            trace,
            json,
        } => replay_command(&db, replay::Options { until, trace, json }),
        Cmd::Accounts { action, config } => {
            match accounts_command(config.config.as_deref(), action) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => usage_error(&e),
            }
        }
        Cmd::Cluster {
            action: ClusterCmd::Status,
            config,
        } => match cluster_status(config.config.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(&e),
        },
        Cmd::Serve(arg) => serve_command(arg.config.as_deref()),
    }
}

fn serve_command(config_file: Option<&std::path::Path>) -> ExitCode {
    let config = match ServerConfig::load(config_file) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    init_logs(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("switchboard: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `switchboard replay DB [--until SEQ] [--trace] [--json]`: exit 0 when the
/// replay matches the live state, 1 when it differs, 2 on bad input.
fn replay_command(db: &std::path::Path, options: replay::Options) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match replay::run(db, &options, &mut out) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("switchboard: {}: {e}", db.display());
            ExitCode::from(2)
        }
    }
}

/// `switchboard cluster status`: the cluster as etcd holds it, as JSON.
fn cluster_status(config_file: Option<&std::path::Path>) -> Result<(), String> {
    let config = ServerConfig::load(config_file)?;
    let settings = config
        .cluster
        .ok_or("no cluster: set cluster: in the config, or SWITCHBOARD_ETCD")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let status = runtime.block_on(async {
        let log = cluster::log(&settings)?;
        switchboard_cluster::status(&log)
            .await
            .map_err(|e| e.to_string())
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// A password from SWITCHBOARD_PASSWORD, or the first line of stdin.
fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("SWITCHBOARD_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn accounts_command(
    config_file: Option<&std::path::Path>,
    action: AccountCmd,
) -> Result<(), String> {
    let config = ServerConfig::load(config_file)?;
    // On a fresh journal the first admin's one-time password goes to the log.
    init_logs(config.log_format);
    // Opening the journal creates it (and its tables) on a fresh machine.
    Store::open(&config.database, &config.customer_service, fresh_seed(), 0)
        .map_err(|e| e.to_string())?;
    let auth = Auth::open(&config.database, config.security.clone()).map_err(|e| e.to_string())?;
    let cli = Caller::Staff(Staff {
        name: "cli".into(),
        role: Role::Admin,
        agent_id: None,
        credential: None,
    });
    let local = std::net::IpAddr::from([127, 0, 0, 1]);
    match action {
        AccountCmd::Create {
            username,
            role,
            agent_id,
        } => {
            let role = Role::parse(&role).ok_or("role must be admin, supervisor or agent")?;
            let password = read_password()?;
            let new = NewAccount {
                username,
                password,
                role,
                agent_id,
                display_name: None,
            };
            let a = auth
                .create_account(&cli, Some(local), new)
                .map_err(|e| e.to_string())?;
            println!("created {} ({})", a.username, a.role);
        }
        AccountCmd::List => {
            for a in auth.accounts().map_err(|e| e.to_string())? {
                let state = if a.disabled { "disabled" } else { "active" };
                let agent = a.agent_id.as_deref().unwrap_or("-");
                println!("{}\t{}\t{agent}\t{state}", a.username, a.role);
            }
        }
        AccountCmd::ResetPassword { username } => {
            let change = AccountChange {
                password: Some(read_password()?),
                ..AccountChange::default()
            };
            auth.update_account(&cli, local, &username, change)
                .map_err(|e| e.to_string())?;
            println!("password of {username} reset; its sign-ins are revoked");
        }
    }
    Ok(())
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("switchboard: {message}");
    ExitCode::from(2)
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A seed for a journal created now: the process's random hasher keys, so
/// no extra dependency is needed for one random number.
fn fresh_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

async fn serve(config: ServerConfig) -> Result<(), String> {
    // The engine is made after the media plane (which it tells of calls);
    // finished recordings reach the engine's rooms through this slot.
    let engine_slot: Arc<std::sync::OnceLock<Engine>> = Arc::default();
    let media = if config.media.enabled {
        let mut media_config = config.media.config.clone();
        let cs = &config.customer_service;
        if cs.auto_record {
            media_config.record_dir = Some(PathBuf::from(&cs.recording_dir));
        }
        let slot = engine_slot.clone();
        let recorded = Box::new(move |r: switchboard_media::Recording| {
            if let Some(engine) = slot.get() {
                whip::announce_recording(engine, &r);
            }
        });
        let media =
            Media::start_with(media_config, recorded).map_err(|e| format!("media plane: {e}"))?;
        tracing::info!(candidate = %media.candidate_addr(), "media plane listening");
        Some(media)
    } else {
        None
    };
    let calls = media.clone().map(|m| {
        CallObserver(Arc::new(
            move |sid: &SessionId, session: Option<&Session>| {
                m.update(sid.as_str(), session.and_then(whip::call_state));
            },
        ))
    });
    // A cluster's nodes share one seed and one set of settings.
    let cluster_log = match &config.cluster {
        Some(c) => Some(cluster::log(c)?),
        None => None,
    };
    let shared = match &cluster_log {
        Some(log) => {
            let fresh = cluster::Shared {
                seed: fresh_seed(),
                auth_secret: switchboard_http::auth::secrets::random(32),
                cluster_secret: switchboard_http::auth::secrets::random(32),
            };
            Some(cluster::agree(log, &config.customer_service, fresh).await?)
        }
        None => None,
    };
    let seed = shared.as_ref().map_or_else(fresh_seed, |s| s.seed);
    if let (Some(c), Some(log), Some(shared)) = (&config.cluster, &cluster_log, &shared) {
        cluster::catch_up_from_snapshot(log, c, &config.database, &shared.cluster_secret).await?;
    }
    // A follower that applies a directory change has the credential checks
    // read it again (the service is made after the engine).
    let auth_slot: Arc<std::sync::OnceLock<Arc<Auth>>> = Arc::default();
    let directory = config.cluster.as_ref().map(|_| {
        let slot = auth_slot.clone();
        DirectoryListener(Arc::new(move || {
            if let Some(auth) = slot.get() {
                if let Err(e) = auth.refresh() {
                    tracing::error!(error = %e, "cannot read the directory again");
                }
            }
        }))
    });
    let settings = EngineSettings {
        seed,
        directory,
        cluster: config.cluster.is_some(),
        snapshot_every: config.snapshot_every,
        ws_grace: Duration::from_secs(config.ws_grace_secs),
        calls,
        ..EngineSettings::default()
    };
    let running = Engine::start(&config.database, &config.customer_service, settings)
        .map_err(|e| e.to_string())?;
    let engine = running.engine.clone();
    let _ = engine_slot.set(engine.clone());
    // A node whose etcd has been silent past the lease's TTL cannot vouch
    // that its reads are current: they say so.
    let stale: Arc<dyn Fn() -> bool + Send + Sync> = match (&config.cluster, &cluster_log) {
        (Some(c), Some(log)) => {
            let etcd = log.etcd().clone();
            let ttl = Duration::from_secs(c.lease_ttl_secs.unsigned_abs());
            Arc::new(move || etcd.silent_for() > ttl)
        }
        _ => Arc::new(|| false),
    };
    let node = match (&config.cluster, cluster_log) {
        (Some(c), Some(log)) => {
            let applied = *engine.applied_log().borrow();
            let node = cluster::run(log.clone(), c, engine.clone(), applied).await?;
            tokio::spawn(cluster::trim_while_leading(
                log,
                node.leading.clone(),
                c.log_keep,
                Duration::from_secs(c.trim_every_secs),
            ));
            Some(node)
        }
        _ => None,
    };
    if let Some(shared) = &shared {
        switchboard_store::Directory::open(&config.database)
            .and_then(|d| d.set_secret(&shared.auth_secret))
            .map_err(|e| e.to_string())?;
    }
    let auth = match &node {
        None => Auth::open(&config.database, config.security.clone()),
        Some(_) => {
            let writer = directory_writer(engine.clone());
            Auth::open_for_cluster(&config.database, config.security.clone(), writer)
        }
    };
    let auth = Arc::new(auth.map_err(|e| e.to_string())?);
    if let Some(node) = &node {
        let _ = auth_slot.set(auth.clone());
        tokio::spawn(cluster::bootstrap_when_leading(
            auth.clone(),
            node.leading.clone(),
        ));
    }
    let tls = match &config.security.tls {
        Some(files) => Some(listener::tls(files).map_err(|e| e.to_string())?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port when listening on :0.
    println!("switchboard listening on {scheme}://{local}");
    tracing::info!(%local, db = %config.database.display(), "listening");

    let member = node.as_ref().map(|n| n.member.clone());
    let mut stopped = running.stopped;
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
    let stopper = engine.clone();
    let shutdown = async move {
        tokio::select! {
            _ = signal() => {
                tracing::info!("shutting down");
                // A leader hands over now rather than after its lease's TTL.
                if let Some(member) = &member {
                    member.leave().await;
                }
                // Closes every WebSocket, so that graceful shutdown can finish.
                stopper.shutdown();
            }
            result = &mut stopped => {
                let reason = match result {
                    Ok(Err(e)) => e.to_string(),
                    _ => "engine stopped".to_owned(),
                };
                let _ = fatal_tx.send(reason);
            }
        }
    };
    let limits = Limits::from(&config.security);
    let conns = auth.conns();
    if let Some(m) = media.clone() {
        tokio::spawn(whip::push_quality(engine.clone(), m));
    }
    for hook in &config.webhooks.subscriptions {
        let answer = webhooks::ensure(&engine, &hook.url, &hook.events, &hook.secret).await;
        if !answer.is_ok() && config.cluster.is_some() {
            // Subscriptions are not replicated yet: the leader keeps its own.
            tracing::warn!(url = %hook.url, "webhook subscription not made on this node");
        } else if !answer.is_ok() {
            return Err(format!("webhook {}: {}", hook.url, answer.body()));
        }
    }
    bots::start(engine.clone());
    // Alone, this node always delivers; in a cluster, only while it leads.
    let (_always, alone) = tokio::sync::watch::channel(true);
    let deliveries = switchboard_outbound::webhooks::start(
        config.database.clone(),
        engine.outbox_wake(),
        config.webhooks.delivery.clone(),
        node.as_ref().map_or(alone, |n| n.leading.clone()),
    );
    // Chat attachments live beside the journal they are referenced from.
    let attachments = config
        .database
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join("attachments");
    let extras = switchboard_http::Extras {
        media,
        deliveries: Some(deliveries),
        attachments: Some(attachments),
        forwarding: node.map(|n| switchboard_http::Forwarding {
            node: config
                .cluster
                .as_ref()
                .map(|c| c.node_id.clone())
                .unwrap_or_default(),
            leader: n.leader,
            secret: shared
                .as_ref()
                .map(|s| s.cluster_secret.clone())
                .unwrap_or_default(),
            database: config.database.clone(),
            stale: stale.clone(),
        }),
    };
    let router = switchboard_http::router(engine.clone(), auth, extras);
    listener::serve(listener, router, limits, tls, conns, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    match fatal_rx.await {
        Ok(reason) => Err(format!("stopped: {reason}")),
        Err(_) => Ok(()),
    }
}

/// Directory changes through the engine, hence through the cluster's log
/// (called from blocking threads: credential work runs off the async ones).
fn directory_writer(engine: Engine) -> switchboard_http::auth::Writer {
    let runtime = tokio::runtime::Handle::current();
    Arc::new(move |change| {
        let answer = runtime.block_on(engine.directory(change));
        if answer.is_ok() {
            serde_json::from_str(answer.body()).map_err(|e| e.to_string())
        } else {
            Err(answer.error_detail().map_or_else(
                || "the directory change failed".to_owned(),
                |e| e["message"].as_str().unwrap_or_default().to_owned(),
            ))
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
