//! The server host: the real engine, HTTP API and WebSocket signaling, as a
//! turmoil host on virtual time, journaling to a real SQLite file that
//! outlives crashes and restarts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchboard_app::{Engine, EngineSettings};
use switchboard_core::{Clock, Config, Fault, Timestamp};
use switchboard_http::auth::{Rate, Security};
use switchboard_http::Auth;

use super::wire::{ADMIN_TOKEN, PORT};

/// Virtual wall time: the simulation's epoch plus its elapsed time, the same
/// on every host and across restarts.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimClock;

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        let since = turmoil::since_epoch().unwrap_or_default();
        Timestamp::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Turmoil's listener, as axum's.
struct Listener(turmoil::net::TcpListener);

impl axum::serve::Listener for Listener {
    type Io = turmoil::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// What the server host runs with; each (re)start opens the same journal.
#[derive(Clone, Debug)]
pub struct ServerSetup {
    /// The journal file.
    pub db: PathBuf,
    /// The `customer_service` settings.
    pub config: Config,
    /// Engine settings (seed, snapshots, WebSocket grace).
    pub settings: EngineSettings,
    /// A deliberate bug to run with.
    pub fault: Option<Fault>,
}

/// The host's software: recover from the journal, then serve until crashed.
pub async fn run(setup: ServerSetup) -> turmoil::Result {
    let (engine, mut worker) =
        Engine::open(&setup.db, &setup.config, setup.settings, Box::new(SimClock))?;
    if let Some(fault) = setup.fault {
        worker.inject(fault);
    }
    tokio::task::spawn_local(async move {
        if let Err(e) = worker.run().await {
            tracing::error!(error = %e, "engine stopped");
        }
    });
    let unlimited = Rate {
        per_sec: 0.0,
        burst: 0,
    };
    let security = Security {
        admin_token: Some(ADMIN_TOKEN.to_owned()),
        admin_password: Some("sim-admin-password".to_owned()),
        per_credential: unlimited,
        ..Security::default()
    };
    let auth = Arc::new(Auth::open(&setup.db, security)?);
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    let router = switchboard_http::router(engine, auth, switchboard_http::Extras::default());
    axum::serve(Listener(listener), router).await?;
    Ok(())
}
