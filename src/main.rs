//! `switchboard`: the contact-center server.
//!
//! `switchboard serve [--config switchboard.yaml]` listens on 0.0.0.0:8180 and
//! journals to ./switchboard.db unless told otherwise (see `config.rs`).

mod config;
mod replay;

use std::hash::{BuildHasher, Hasher};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use config::{LogFormat, ServerConfig};
use switchboard_http::{Engine, EngineSettings};
use tracing_subscriber::EnvFilter;

/// The engine thread allocates what the request threads free (commands in,
/// answers out); glibc's malloc spends a fifth of the engine's time on that
/// traffic, mimalloc's thread-free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: switchboard [serve] [--config FILE]\n\
       switchboard replay DB [--until SEQ] [--trace] [--json]\n\
  env: SWITCHBOARD_LISTEN (default 0.0.0.0:8180), SWITCHBOARD_DB (default ./switchboard.db),\n\
       SWITCHBOARD_LOG_FORMAT (text|json), RUST_LOG (default info)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("replay") {
        args.next();
        return replay_command(args.collect());
    }
    let mut config_file: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "serve" => {}
            "--config" | "-c" => match args.next() {
                Some(path) => config_file = Some(PathBuf::from(path)),
                None => return usage_error("--config needs a file"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let config = match ServerConfig::load(config_file.as_deref()) {
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
fn replay_command(args: Vec<String>) -> ExitCode {
    let mut db: Option<PathBuf> = None;
    let mut options = replay::Options {
        until: None,
        trace: false,
        json: false,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--trace" => options.trace = true,
            "--json" => options.json = true,
            "--until" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => options.until = Some(n),
                None => return usage_error("--until needs a record number"),
            },
            other if !other.starts_with('-') && db.is_none() => db = Some(PathBuf::from(other)),
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let Some(db) = db else {
        return usage_error("replay needs the journal file");
    };
    let mut out = std::io::stdout().lock();
    match replay::run(&db, &options, &mut out) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("switchboard: {}: {e}", db.display());
            ExitCode::from(2)
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("switchboard: {message}\n{USAGE}");
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
    let settings = EngineSettings {
        seed: fresh_seed(),
        snapshot_every: config.snapshot_every,
        ws_grace: Duration::from_secs(config.ws_grace_secs),
        ..EngineSettings::default()
    };
    let running = Engine::start(&config.database, &config.customer_service, settings)
        .map_err(|e| e.to_string())?;
    let engine = running.engine.clone();
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port when listening on :0.
    println!("switchboard listening on http://{local}");
    tracing::info!(%local, db = %config.database.display(), "listening");

    let mut stopped = running.stopped;
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
    let stopper = engine.clone();
    let shutdown = async move {
        tokio::select! {
            _ = signal() => {
                tracing::info!("shutting down");
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
    switchboard_http::serve(listener, switchboard_http::router(engine.clone()), shutdown)
        .await
        .map_err(|e| e.to_string())?;
    match fatal_rx.await {
        Ok(reason) => Err(format!("stopped: {reason}")),
        Err(_) => Ok(()),
    }
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
