//! Network simulation: the real HTTP and WebSocket adapters and the SQLite
//! journal inside turmoil, with thousands of visitors and hundreds of agents
//! on several client hosts, under partitions, stalls, latency and server
//! crashes. After the faults stop, the run continues until every visitor is
//! done (or a deadline passes), then the journal is read back and checked
//! ([`check`]). Everything is drawn from one seed: a failing seed
//! reproduces exactly with `switchboard-sim net --seed N`.

mod actors;
pub mod check;
pub mod faults;
pub mod ledger;
mod server;
mod wire;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;
use switchboard_app::EngineSettings;
use switchboard_core::{Config, Fault, Prng};
use switchboard_store::Store;

pub use actors::Behaviour;
use actors::Ctx;
use faults::{Action, Mix};
use ledger::Ledger;
use server::ServerSetup;
use wire::SERVER;

/// 2026-01-01T00:00:00Z: every run starts at the same instant.
const EPOCH_SECS: u64 = 1_767_225_600;

/// A network run.
#[derive(Clone, Debug)]
pub struct NetParams {
    /// Seeds the network, the people and the faults.
    pub seed: u64,
    /// Client hosts.
    pub clients: usize,
    /// Agents on each client host.
    pub agents_per_client: usize,
    /// Visitors on each client host.
    pub visitors_per_client: usize,
    /// Visitors arrive uniformly within this, and faults happen within it.
    pub window: Duration,
    /// After the window, the run heals and has this long to serve everyone.
    pub grace: Duration,
    /// Virtual time per simulation step.
    pub tick: Duration,
    /// Which faults.
    pub mix: Mix,
    /// How people behave.
    pub behaviour: Behaviour,
    /// A deliberate server bug, to prove the checker catches it.
    pub fault: Option<Fault>,
}

impl NetParams {
    /// Four client hosts with 50 agents and 500 visitors each, over a
    /// 10-minute window with every kind of fault.
    pub fn new(seed: u64) -> NetParams {
        NetParams {
            seed,
            clients: 4,
            agents_per_client: 50,
            visitors_per_client: 500,
            window: Duration::from_secs(600),
            grace: Duration::from_secs(600),
            tick: Duration::from_millis(5),
            mix: Mix::all(),
            behaviour: Behaviour {
                handle_mean: Duration::from_secs(30),
                impatient: 0.2,
                patience_mean: Duration::from_secs(90),
                reject: 0.05,
                ignore: 0.05,
            },
            fault: None,
        }
    }

    /// Visitors in the whole run.
    pub fn visitors(&self) -> usize {
        self.clients * self.visitors_per_client
    }
}

/// What a run did and found. Equal for equal parameters, byte for byte.
#[derive(Clone, Debug, Serialize)]
pub struct NetReport {
    /// The seed.
    pub seed: u64,
    /// The faults it suffered.
    pub mix: String,
    /// The deliberate bug, if any.
    pub injected: Option<String>,
    /// Client hosts.
    pub clients: usize,
    /// Agents in all.
    pub agents: usize,
    /// Visitors in all.
    pub visitors: usize,
    /// Visitors who saw their call answered.
    pub answered: usize,
    /// Visitors whose leave was acknowledged.
    pub left: usize,
    /// Requests the clients sent.
    pub requests: u64,
    /// Requests that got no answer.
    pub unanswered: u64,
    /// Agent console connections opened.
    pub ws_connects: u64,
    /// Offers rejected, and let ring out, on purpose.
    pub rejected: u64,
    /// See `rejected`.
    pub ignored: u64,
    /// Partitions, holds and crashes applied.
    pub partitions: usize,
    /// See `partitions`.
    pub holds: usize,
    /// See `partitions`.
    pub crashes: usize,
    /// Virtual seconds until every visitor was done (or the deadline).
    pub virtual_secs: u64,
    /// Journal records at the end.
    pub records: usize,
    /// FNV-1a of the whole journal: equal runs wrote equal journals.
    pub journal_digest: String,
    /// What the checker found; empty when the run is correct.
    pub violations: Vec<String>,
}

impl NetReport {
    /// Whether the checker found nothing.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "seed {} · faults {}{} · {} clients, {} agents, {} visitors\n\
             answered {} · left {} · {} requests ({} unanswered) · {} console connects\n\
             {} partitions · {} holds · {} crashes · {} rejects · {} ring-outs\n\
             done at {} virtual s · {} journal records · digest {}\n",
            self.seed,
            self.mix,
            self.injected
                .as_deref()
                .map(|b| format!(" · injected bug {b}"))
                .unwrap_or_default(),
            self.clients,
            self.agents,
            self.visitors,
            self.answered,
            self.left,
            self.requests,
            self.unanswered,
            self.ws_connects,
            self.partitions,
            self.holds,
            self.crashes,
            self.rejected,
            self.ignored,
            self.virtual_secs,
            self.records,
            self.journal_digest,
        );
        if self.passed() {
            out.push_str(
                "PASS: nothing lost, nobody double-booked, every reply honoured, everyone served\n",
            );
        } else {
            out.push_str(&format!("FAIL: {} violations\n", self.violations.len()));
            for v in self.violations.iter().take(20) {
                out.push_str(&format!("  - {v}\n"));
            }
        }
        out
    }
}

/// The server's settings for a run: nobody times out of the queue, so that
/// an unserved visitor is a liveness failure and not a policy.
fn server_config(p: &NetParams) -> Config {
    let visitors = p.visitors();
    Config {
        max_sessions: visitors + 16,
        max_queue_size: visitors + 16,
        queue_timeout_secs: 86_400,
        session_timeout_secs: 86_400,
        accept_timeout_secs: 10,
        wrap_up_secs: 2,
        ended_sessions_max: visitors * 2 + 16,
        ..Config::default()
    }
}

/// Runs one seed to the end and checks it.
pub fn run(p: &NetParams) -> Result<NetReport, String> {
    let dir = scratch_dir().map_err(|e| format!("temporary directory: {e}"))?;
    let db = dir.path().join("switchboard.db");
    let mut rng = Prng::new(p.seed);
    let plan = faults::schedule(p.mix, p.clients, p.window, &mut rng);

    let deadline = p.window + p.grace;
    let mut sim = turmoil::Builder::new()
        .rng_seed(p.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .simulation_duration(deadline + Duration::from_secs(60))
        .tick_duration(p.tick)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(p.mix.max_latency())
        // Room for every client connecting at once.
        .tcp_capacity(1 << 16)
        // Turmoil reuses a client port once its range wraps, and panics if
        // the server still holds a half-open connection from that port (one
        // whose close a partition swallowed): the widest range wraps last.
        .ephemeral_ports(1024..=65535)
        .build();

    let setup = ServerSetup {
        db: db.clone(),
        config: server_config(p),
        settings: EngineSettings {
            seed: p.seed,
            snapshot_every: 500,
            ws_grace: Duration::from_secs(30),
            ..EngineSettings::default()
        },
        fault: p.fault,
    };
    sim.host(SERVER, move || server::run(setup.clone()));

    let ctx = Rc::new(Ctx {
        ledger: RefCell::new(Ledger::default()),
        visitors: p.visitors(),
        behaviour: p.behaviour.clone(),
    });
    for host in 0..p.clients {
        let ctx = ctx.clone();
        let seed = rng.next_u64();
        let (agents, visitors, window) = (p.agents_per_client, p.visitors_per_client, p.window);
        sim.client(client_name(host), async move {
            let mut rng = Prng::new(seed);
            let mut tasks = Vec::new();
            for a in 0..agents {
                let id = format!("agent-{host}-{a}");
                let task = actors::agent(ctx.clone(), id, Prng::new(rng.next_u64()));
                tasks.push(tokio::task::spawn_local(task));
            }
            for v in 0..visitors {
                let id = format!("visitor-{host}-{v}");
                let at = window.mul_f64(crate::dist::uniform(&mut rng));
                let task = actors::visitor(ctx.clone(), id, Prng::new(rng.next_u64()), at);
                tasks.push(tokio::task::spawn_local(task));
            }
            for task in tasks {
                task.await?;
            }
            Ok(())
        });
    }

    let mut plan = plan.into_iter().peekable();
    let mut applied = Vec::new();
    let mut healed = false;
    let mut violations = Vec::new();
    let finished = loop {
        let now = sim.elapsed();
        while let Some((_, action)) = plan.next_if(|(at, _)| *at <= now) {
            apply(&mut sim, action);
            applied.push(action);
        }
        if !healed && now >= p.window {
            heal(&mut sim, p.clients);
            healed = true;
        }
        if now >= deadline {
            break false;
        }
        match sim.step() {
            Ok(true) => break true,
            Ok(false) => {}
            // A host's software failed: the server could not (re)start.
            Err(e) => {
                violations.push(format!("server failed: {e}"));
                break true;
            }
        }
    };
    let virtual_secs = sim.elapsed().as_secs();
    // Stops the server and closes its journal before it is read.
    drop(sim);

    let ledger = Rc::try_unwrap(ctx)
        .map_err(|_| "client tasks outlived the simulation".to_owned())?
        .ledger
        .into_inner();
    match Store::load(&db) {
        Ok((center, _)) => violations.extend(check::check(&center, &ledger)),
        Err(e) => violations.push(format!("journal does not recover: {e}")),
    }
    if !finished {
        let waiting = p.visitors() - ledger.visitors_done;
        violations.push(format!(
            "liveness: {waiting} visitors still not done {} s after healing",
            p.grace.as_secs()
        ));
    }
    let (records, journal_digest) = digest(&db)?;
    Ok(NetReport {
        seed: p.seed,
        mix: p.mix.name(),
        injected: p.fault.map(|f| format!("{f:?}")),
        clients: p.clients,
        agents: p.clients * p.agents_per_client,
        visitors: p.visitors(),
        answered: ledger.visitors_answered,
        left: ledger.left.len(),
        requests: ledger.requests,
        unanswered: ledger.unanswered,
        ws_connects: ledger.ws_connects,
        rejected: ledger.rejected,
        ignored: ledger.ignored,
        partitions: count(&applied, |a| matches!(a, Action::Partition(_))),
        holds: count(&applied, |a| matches!(a, Action::Hold(_))),
        crashes: count(&applied, |a| matches!(a, Action::Crash)),
        virtual_secs,
        records,
        journal_digest,
        violations,
    })
}

fn client_name(n: usize) -> String {
    format!("client-{n}")
}

fn apply(sim: &mut turmoil::Sim<'_>, action: Action) {
    tracing::debug!(?action, at = ?sim.elapsed(), "fault");
    match action {
        Action::Partition(n) => sim.partition(client_name(n), SERVER),
        Action::Repair(n) => sim.repair(client_name(n), SERVER),
        Action::Hold(n) => sim.hold(client_name(n), SERVER),
        Action::Release(n) => sim.release(client_name(n), SERVER),
        Action::Crash => sim.crash(SERVER),
        Action::Restart => restart(sim),
    }
}

/// Starts the server again if it is down.
fn restart(sim: &mut turmoil::Sim<'_>) {
    if !sim.is_host_running(SERVER) {
        sim.bounce(SERVER);
    }
}

fn count(applied: &[Action], kind: fn(&Action) -> bool) -> usize {
    applied.iter().filter(|a| kind(a)).count()
}

/// Ends every fault: links repaired and released, the server up.
fn heal(sim: &mut turmoil::Sim<'_>, clients: usize) {
    for n in 0..clients {
        sim.repair(client_name(n), SERVER);
        sim.release(client_name(n), SERVER);
    }
    restart(sim);
}

/// A directory for the journal: in memory when the machine has /dev/shm
/// (fsync there is free, and durability across a simulated crash does not
/// need the disk), else the system's temporary directory.
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("switchboard-net")
            .tempdir_in(shm)
        {
            return Ok(dir);
        }
    }
    tempfile::tempdir()
}

/// The number of journal records and an FNV-1a digest of them all.
fn digest(db: &Path) -> Result<(usize, String), String> {
    let (seed, records) = Store::read_records(db).map_err(|e| e.to_string())?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&seed.to_le_bytes());
    for (at, record) in &records {
        feed(&at.as_millis().to_le_bytes());
        feed(
            serde_json::to_string(record)
                .map_err(|e| e.to_string())?
                .as_bytes(),
        );
    }
    Ok((records.len(), format!("{hash:016x}")))
}
