//! The engine: one thread that alone owns the center, the journal and the
//! WebSocket hub. Handlers send it messages and await answers; nothing else
//! touches the state machines, so they need no locks.
//!
//! Each turn it takes a batch of messages, applies them in order, appends what
//! the core accepted to the journal in one transaction (group commit), and
//! only then answers and delivers events: no reply or event ever reveals a
//! change that a crash could lose.
//!
//! The loop is a future ([`Worker::run`]) reading time from an injected
//! [`Clock`]: the server runs it on a thread of its own ([`Engine::start`]);
//! the network simulation runs it as a task on a simulated host, on virtual
//! time ([`Engine::open`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::bot::{Lexicon, Sentiment};
use switchboard_core::{
    Center, Clock, Command, Config, CoreError, EventKind, Recipient, Reply, RoomId, Session,
    SessionId, Speaker, Timestamp,
};
use switchboard_store::{
    Answered, AuditEntry, DirectoryWrite, Record, RecordingRow, Store, StoreError, Turn, Webhook,
    Written, ANSWERED_KEPT_MS,
};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{oneshot, watch, Notify};

use crate::answer::{Answer, AnswerExt};
use crate::bot_calls::{self, BotCall};
use crate::chat::state::Chats;
use crate::chat::{Asker, Op, Target};
use crate::hooks::Hooks;
use crate::hub::{ConnId, Hub, Identity};
use crate::replica::{Entry, Replicator, Role};
use crate::SystemClock;

/// Builds the command from the state it will apply to (so that a WebSocket
/// frame can name "my current call" and be authorized atomically), or refuses.
pub type Build = Box<dyn FnOnce(&Center) -> Result<Command, Answer> + Send>;
/// Turns the outcome into an answer, from the state right after the command.
pub type View = Box<dyn FnOnce(&Center, Result<Reply, CoreError>) -> Answer + Send>;
/// Reads the state.
pub type Read = Box<dyn FnOnce(&Center, &EngineStats) -> Answer + Send>;

/// Told, after each turn's commit, the session of every call whose media
/// must change (answered, transferred, muted, ended), with its state then:
/// how the media plane follows the core's decisions.
#[derive(Clone)]
pub struct CallObserver(pub Arc<CallChanged>);

/// What a [`CallObserver`] runs: the session, and its state (None if forgotten).
pub type CallChanged = dyn Fn(&SessionId, Option<&Session>) + Send + Sync;

impl std::fmt::Debug for CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallObserver")
    }
}

tokio::task_local! {
    /// The idempotency key of the request being served (scoped to its
    /// credential and body by the transport): a command sent under it is
    /// applied once, and a retry gets the first answer, on any node.
    pub static IDEMPOTENCY_KEY: String;
}

/// Told, on a cluster's follower, that entries changed accounts,
/// credentials or links (so that the credential checks read them again),
/// before the change is reported applied.
#[derive(Clone)]
pub struct DirectoryListener(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for DirectoryListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectoryListener")
    }
}

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Seed of a journal created now (an existing journal keeps its own).
    pub seed: u64,
    /// Journal records between snapshots (0: never).
    pub snapshot_every: u64,
    /// How long a dropped WebSocket participant keeps its place.
    pub ws_grace: Duration,
    /// Most messages taken in one turn (one journal transaction).
    pub batch_max: usize,
    /// Most messages waiting for the engine; beyond it requests get 429.
    pub inbox_max: usize,
    /// Who follows calls' media state (the media plane), if anyone.
    pub calls: Option<CallObserver>,
    /// A member of a cluster: starts as a follower of the replicated log
    /// ([`Engine::follow`], [`Engine::lead`]).
    pub cluster: bool,
    /// Who reloads credentials when a follower applies a directory change.
    pub directory: Option<DirectoryListener>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            seed: 0,
            snapshot_every: 10_000,
            ws_grace: Duration::from_secs(30),
            batch_max: 512,
            inbox_max: 16_384,
            calls: None,
            cluster: false,
            directory: None,
        }
    }
}

/// Engine-side figures for `/metrics` and `/healthz`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    /// WebSocket connections open.
    pub connections: usize,
    /// Journal transactions committed.
    pub commits: u64,
    /// Records journaled.
    pub records: u64,
    /// `single`, `leader` or `follower`.
    pub role: &'static str,
    /// The last entry of the cluster's log applied here (0: none).
    pub applied_log: u64,
    /// Times this node stopped leading (fenced, or the log unreachable).
    pub step_downs: u64,
}

enum Msg {
    Command {
        build: Build,
        view: View,
        audit: Option<AuditEntry>,
        key: Option<String>,
        tx: oneshot::Sender<Answer>,
    },
    Read {
        read: Read,
        tx: oneshot::Sender<Answer>,
    },
    Connect {
        conn: ConnId,
        who: Identity,
        room: Option<RoomId>,
        out: mpsc::Sender<String>,
        tx: oneshot::Sender<Answer>,
    },
    Disconnect {
        conn: ConnId,
    },
    Notify {
        session: SessionId,
        frame: String,
        staff_only: bool,
    },
    Webhooks {
        change: WebhookChange,
        audit: Option<AuditEntry>,
        tx: oneshot::Sender<Answer>,
    },
    Emit {
        session: SessionId,
        name: &'static str,
        key: String,
        data: serde_json::Value,
    },
    Chat {
        asker: Asker,
        op: Op,
        audit: Option<AuditEntry>,
        tx: oneshot::Sender<Answer>,
    },
    Watch {
        conn: ConnId,
        out: mpsc::Sender<String>,
        tx: oneshot::Sender<Answer>,
    },
    Lookup {
        read: Lookup,
        tx: oneshot::Sender<Answer>,
    },
    Recorded {
        row: RecordingRow,
    },
    Follow {
        seq: u64,
        entry: Vec<u8>,
        tx: oneshot::Sender<Answer>,
    },
    Lead {
        replicator: Arc<dyn Replicator>,
        tx: oneshot::Sender<Answer>,
    },
    StepDown,
    Directory {
        change: DirectoryWrite,
        tx: oneshot::Sender<Answer>,
    },
}

/// A read of the center and the store together, on the engine thread: a
/// live rule and the rows it guards in one step.
pub type Lookup = Box<dyn FnOnce(&Center, &Store) -> Answer + Send>;

/// A change to the webhook subscriptions, made on the engine thread (the
/// store and the engine's list change together).
pub type WebhookChange = Box<dyn FnOnce(&mut Store, &mut Vec<Webhook>) -> Answer + Send>;

/// A handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::Sender<Msg>,
    applied: watch::Receiver<u64>,
    bot_inbox: bot_calls::Inbox,
    stop: Arc<Notify>,
    next_conn: Arc<AtomicU64>,
    outbox_wake: Arc<Notify>,
}

/// A clock the engine can carry to its thread.
pub type EngineClock = Box<dyn Clock + Send>;

/// The running engine thread; resolves when it stops, with the storage error
/// that stopped it, if any.
pub struct Running {
    /// Send requests here.
    pub engine: Engine,
    /// Resolves when the engine thread has stopped.
    pub stopped: oneshot::Receiver<Result<(), StoreError>>,
}

impl Engine {
    /// Opens (or creates) the journal at `db` and starts the engine on a
    /// thread of its own, on the system clock.
    pub fn start(
        db: &Path,
        config: &Config,
        settings: EngineSettings,
    ) -> Result<Running, StoreError> {
        let (engine, worker) = Engine::open(db, config, settings, Box::new(SystemClock))?;
        let (done_tx, stopped) = oneshot::channel();
        let thread_failed = |e: std::io::Error| StoreError::Corrupt {
            path: db.to_owned(),
            reason: format!("cannot start engine thread: {e}"),
        };
        // The loop only needs timers: a runtime of its own keeps request
        // handling and journal writes from competing for the same threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(thread_failed)?;
        std::thread::Builder::new()
            .name("switchboard-engine".into())
            .spawn(move || {
                let result = runtime.block_on(worker.run());
                if let Err(e) = &result {
                    tracing::error!(error = %e, "engine stopped: journal write failed");
                }
                let _ = done_tx.send(result);
            })
            .map_err(thread_failed)?;
        Ok(Running { engine, stopped })
    }

    /// Opens (or creates) the journal at `db`, rebuilds the center and fires
    /// the timers that fell due while the server was down. Nothing runs until
    /// the caller drives [`Worker::run`].
    pub fn open(
        db: &Path,
        config: &Config,
        settings: EngineSettings,
        clock: EngineClock,
    ) -> Result<(Engine, Worker), StoreError> {
        let (store, mut center, recovery) =
            Store::open(db, config, settings.seed, settings.snapshot_every)?;
        let applied_log = store.applied_log()?;
        tracing::info!(
            path = %db.display(),
            created = recovery.created,
            snapshot_seq = ?recovery.snapshot_seq,
            replayed = recovery.replayed,
            "journal open"
        );
        // Events of the replay and of the catch-up went out before the stop, or
        // concern connections that no longer exist. A cluster's follower
        // takes time from the log only.
        if !settings.cluster {
            center.handle_timeout(clock.now());
        }
        while center.poll_event().is_some() {}

        let (tx, rx) = mpsc::channel(settings.inbox_max);
        let stop = Arc::new(Notify::new());
        let outbox_wake = Arc::new(Notify::new());
        let hooks = Hooks::new(store.webhooks()?);
        let chats = Chats::open(&store)?;
        let (bot_calls, bot_inbox) = mpsc::unbounded_channel();
        let (applied_tx, applied) = watch::channel(applied_log);
        let role = if settings.cluster {
            Role::Follower
        } else {
            Role::Single
        };
        let worker = Worker {
            role,
            applied_log,
            applied_tx,
            answered: answered_map(&store)?,
            config: config.clone(),
            bot_calls,
            hooks,
            chats,
            queue_told: (usize::MAX, usize::MAX),
            stats_sent: None,
            stats_stale: false,
            outbox_wake: outbox_wake.clone(),
            hub: Hub::new(settings.ws_grace),
            center,
            store,
            rx,
            stop: stop.clone(),
            clock,
            settings,
            stats: EngineStats::default(),
        };
        let engine = Engine {
            tx,
            applied,
            bot_inbox: Arc::new(std::sync::Mutex::new(Some(bot_inbox))),
            stop,
            next_conn: Arc::new(AtomicU64::new(1)),
            outbox_wake,
        };
        Ok((engine, worker))
    }

    /// Applies a command built from the current state; the answer arrives once
    /// the command is durable.
    pub async fn command(&self, build: Build, view: View) -> Answer {
        self.audited(build, view, None).await
    }

    /// Like [`Engine::command`], recording `audit` (its outcome filled in:
    /// `ok` or the refusal's code) in the same transaction as the command.
    pub async fn audited(&self, build: Build, view: View, audit: Option<AuditEntry>) -> Answer {
        let (tx, rx) = oneshot::channel();
        let msg = Msg::Command {
            build,
            view,
            audit,
            key: IDEMPOTENCY_KEY.try_with(Clone::clone).ok(),
            tx,
        };
        self.send(msg, rx).await
    }

    /// Applies a fixed command.
    pub async fn apply(&self, command: Command, view: View) -> Answer {
        self.command(Box::new(move |_| Ok(command)), view).await
    }

    /// Reads the state (after every command sent before it).
    pub async fn read(&self, read: Read) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Read { read, tx }, rx).await
    }

    /// The bot calls the engine makes, for the outbound bot runner to take.
    pub fn bot_inbox(&self) -> &bot_calls::Inbox {
        &self.bot_inbox
    }

    /// A fresh connection number.
    pub fn new_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Admits a WebSocket connection; events for `who` go to `out`.
    pub async fn connect(
        &self,
        conn: ConnId,
        who: Identity,
        room: Option<RoomId>,
        out: mpsc::Sender<String>,
    ) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(
            Msg::Connect {
                conn,
                who,
                room,
                out,
                tx,
            },
            rx,
        )
        .await
    }

    /// Sends a frame that is not the core's to the WebSocket connections in a
    /// call's room (call quality), or with `staff_only` to its agent's
    /// connections (a finished recording).
    pub fn notify(&self, session: SessionId, frame: String, staff_only: bool) {
        let _ = self.tx.try_send(Msg::Notify {
            session,
            frame,
            staff_only,
        });
    }

    /// Changes (or reads) the webhook subscriptions, recording `audit` with
    /// the outcome in the turn's transaction.
    pub async fn webhooks(&self, change: WebhookChange, audit: Option<AuditEntry>) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Webhooks { change, audit, tx }, rx).await
    }

    /// Runs `read` over the center and the store.
    pub async fn lookup(&self, read: Lookup) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Lookup { read, tx }, rx).await
    }

    /// Keeps a finished recording in the store (what downloads are found by).
    pub fn recorded(&self, row: RecordingRow) {
        if self.tx.try_send(Msg::Recorded { row }).is_err() {
            tracing::error!("engine inbox full: a finished recording was not listed");
        }
    }

    /// Queues webhook event `name` about `session` (e.g. a finished
    /// recording, `key` its file), committed with the next turn.
    pub fn emit(
        &self,
        session: SessionId,
        name: &'static str,
        key: String,
        data: serde_json::Value,
    ) {
        let _ = self.tx.try_send(Msg::Emit {
            session,
            name,
            key,
            data,
        });
    }

    /// Runs a chat operation for `asker`; the answer (and what it sends)
    /// comes once its writes are durable. `audit` is recorded with the outcome.
    pub async fn chat(&self, asker: Asker, op: Op, audit: Option<AuditEntry>) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(
            Msg::Chat {
                asker,
                op,
                audit,
                tx,
            },
            rx,
        )
        .await
    }

    /// Admits a supervisor's live view: it gets every event of the center
    /// (`center_event`) and the statistics after each change (`stats`);
    /// answers with the statistics now.
    pub async fn watch(&self, conn: ConnId, out: mpsc::Sender<String>) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Watch { conn, out, tx }, rx).await
    }

    /// Woken when a commit adds webhook events (the delivery worker waits on it).
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// A WebSocket connection closed.
    pub fn disconnect(&self, conn: ConnId) {
        let _ = self.tx.try_send(Msg::Disconnect { conn });
    }

    /// Applies entry `seq` of the cluster's log (a follower's work; entries
    /// at or below the last applied are skipped). Answers once it is in
    /// the journal; an entry that does not apply stops the engine.
    pub async fn follow(&self, seq: u64, entry: Vec<u8>) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Follow { seq, entry, tx }, rx).await
    }

    /// Starts leading: every turn from now on is appended through
    /// `replicator` before it is answered. The caller has made sure this
    /// node applied the whole log first (else the first append is fenced).
    pub async fn lead(&self, replicator: Arc<dyn Replicator>) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Lead { replicator, tx }, rx).await
    }

    /// Makes a directory change (an account, a credential, a link) the way
    /// this engine commits: alone, at once; leading, through the log with
    /// the turn; following, refused. Answers with what it did ([`Written`]).
    pub async fn directory(&self, change: DirectoryWrite) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Directory { change, tx }, rx).await
    }

    /// The last log entry this node applied, as it moves (a cluster's).
    pub fn applied_log(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Stops leading (the lease is lost): the center is rebuilt from the
    /// journal, which holds only what the log acknowledged.
    pub fn step_down(&self) {
        let _ = self.tx.try_send(Msg::StepDown);
    }

    /// Asks the engine to finish its current turn and stop.
    pub fn shutdown(&self) {
        self.stop.notify_one();
    }

    async fn send(&self, msg: Msg, rx: oneshot::Receiver<Answer>) -> Answer {
        match self.tx.try_send(msg) {
            Ok(()) => rx.await.unwrap_or_else(|_| Answer::unavailable()),
            Err(TrySendError::Full(_)) => Answer::overloaded(),
            Err(TrySendError::Closed(_)) => Answer::unavailable(),
        }
    }
}

/// The engine's loop and everything it alone owns; see [`Worker::run`].
pub struct Worker {
    /// Alone, leading or following a cluster's log.
    role: Role,
    /// The last log entry applied (a cluster's).
    applied_log: u64,
    /// Tells [`Engine::applied_log`] watchers.
    applied_tx: watch::Sender<u64>,
    /// The settings opened with (a step-down reopens the journal with them).
    config: Config,
    /// Answers to idempotency keys (kept a day), by key.
    answered: HashMap<String, Answered>,
    /// Requests for the bot adapter (external bots, business actions).
    bot_calls: mpsc::UnboundedSender<BotCall>,
    hooks: Hooks,
    chats: Chats,
    /// The queue length and Ready agents last told to the agents' consoles.
    queue_told: (usize, usize),
    /// The back office's figures: when last sent, and whether they changed
    /// since (sent at most every [`STATS_GAP`], the last change always).
    stats_sent: Option<Timestamp>,
    stats_stale: bool,
    outbox_wake: Arc<Notify>,
    center: Center,
    store: Store,
    hub: Hub,
    rx: mpsc::Receiver<Msg>,
    stop: Arc<Notify>,
    clock: EngineClock,
    settings: EngineSettings,
    stats: EngineStats,
}

/// Longest the engine sleeps with nothing due, so that a wall clock that
/// jumps is noticed soon.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// Fewest time between two `stats` frames to the monitors: under load the
/// figures change every turn, and a person reads them a few times a second.
const STATS_GAP: Duration = Duration::from_millis(250);

impl Worker {
    /// Gives the center a deliberate bug, for proving a checker can fail.
    #[cfg(feature = "fault-injection")]
    pub fn inject(&mut self, fault: switchboard_core::Fault) {
        self.center.inject(fault);
    }

    /// Serves requests until shut down or until every [`Engine`] handle is
    /// gone; stops early only if the journal cannot be written.
    pub async fn run(mut self) -> Result<(), StoreError> {
        let mut batch = Vec::with_capacity(self.settings.batch_max);
        loop {
            let now = self.clock.now();
            let wait = [
                self.center.poll_timeout(),
                self.hub.next_deadline(),
                self.stats_due(),
            ]
            .into_iter()
            .flatten()
            .min()
            .map_or(IDLE_WAKE, |at| at.saturating_since(now).min(IDLE_WAKE));
            let mut stop = false;
            // Biased: the same inputs are taken in the same order every time.
            tokio::select! {
                biased;
                () = self.stop.notified() => stop = true,
                msg = self.rx.recv() => match msg {
                    Some(msg) => batch.push(msg),
                    None => return Ok(()),
                },
                () = tokio::time::sleep(wait) => {}
            }
            while batch.len() < self.settings.batch_max {
                match self.rx.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
            self.turn(&mut batch).await?;
            if stop {
                self.hub.close_all();
                return Ok(());
            }
        }
    }

    /// One turn: timers, grace expiries, the batch; then commit, answer, deliver.
    /// A follower takes no commands and no time of its own: it applies the
    /// log's entries, and delivers their events like its own.
    async fn turn(&mut self, batch: &mut Vec<Msg>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let follower = matches!(self.role, Role::Follower);
        let mut advised = false;
        if !follower {
            self.center.handle_timeout(now);
            // O(1) unless a minute completed or staffing changed since the last
            // turn (the engine wakes at least every second, so a quiet group's
            // advice still moves on with the clock).
            advised = self.center.refresh_forecasts();
        }
        let mut records: Vec<(Timestamp, Record)> = Vec::new();
        let mut answers: Vec<(oneshot::Sender<Answer>, Answer)> = Vec::new();
        let mut audits: Vec<AuditEntry> = Vec::new();
        let mut followed = false;
        let mut step_down = false;
        let mut directory: Vec<(DirectoryWrite, oneshot::Sender<Answer>)> = Vec::new();
        let mut answered: Vec<Answered> = Vec::new();

        if !follower {
            for command in self.hub.expire(&self.center, now) {
                if let Err(e) = self.apply(now, command, &mut records) {
                    tracing::debug!(error = %e, "grace expiry had nothing to end");
                }
            }
        }
        for msg in batch.drain(..) {
            match msg {
                Msg::Chat { op, asker, tx, .. } if follower && op.reads_only() => {
                    let answer = self
                        .chats
                        .handle(&self.center, &mut self.store, now, &asker, op);
                    answers.push((tx, answer));
                }
                Msg::Command { tx, .. }
                | Msg::Chat { tx, .. }
                | Msg::Webhooks { tx, .. }
                | Msg::Directory { tx, .. }
                    if follower =>
                {
                    answers.push((tx, not_leader()));
                }
                Msg::Emit { name, .. } if follower => {
                    tracing::warn!(
                        event = name,
                        "a follower drops a webhook event: the leader emits"
                    );
                }
                Msg::Command {
                    build,
                    view,
                    audit,
                    key,
                    tx,
                } => {
                    if let Some(first) = key.as_ref().and_then(|k| self.answered.get(k)) {
                        answers.push((tx, replayed(first)));
                        continue;
                    }
                    let answer = match build(&self.center) {
                        Err(refusal) => refusal,
                        Ok(command) => {
                            let result = self.apply(now, command, &mut records);
                            view(&self.center, result)
                        }
                    };
                    if let (Some(key), true) = (key, answer.is_ok()) {
                        let at_ms = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
                        let a = Answered {
                            key,
                            status: answer.status().as_u16(),
                            body: answer.body().clone(),
                            at_ms,
                        };
                        self.remember(&a);
                        answered.push(a);
                    }
                    audits.extend(audit.map(|entry| outcome(entry, &answer)));
                    answers.push((tx, answer));
                }
                Msg::Read { read, tx } => {
                    self.stats.connections = self.hub.len();
                    self.stats.role = self.role.name();
                    self.stats.applied_log = self.applied_log;
                    answers.push((tx, read(&self.center, &self.stats)));
                }
                Msg::Connect {
                    conn,
                    who,
                    room,
                    out,
                    tx,
                } => {
                    let answer = match self.hub.connect(&self.center, conn, who, room, out) {
                        Ok(welcome) => Answer::ok(welcome),
                        Err(refusal) => refusal,
                    };
                    answers.push((tx, answer));
                }
                Msg::Disconnect { conn } => self.hub.disconnect(conn, now),
                Msg::Webhooks { change, audit, tx } => {
                    let answer = change(&mut self.store, self.hooks.subscriptions());
                    audits.extend(audit.map(|entry| outcome(entry, &answer)));
                    answers.push((tx, answer));
                }
                Msg::Emit {
                    session,
                    name,
                    key,
                    data,
                } => self.hooks.emit(name, session.as_str(), &key, data),
                Msg::Chat {
                    asker,
                    op,
                    audit,
                    tx,
                } => {
                    let answer = self.chat(now, &asker, op, &mut records);
                    audits.extend(audit.map(|entry| outcome(entry, &answer)));
                    answers.push((tx, answer));
                }
                Msg::Watch { conn, out, tx } => {
                    self.hub.watch(conn, out);
                    answers.push((tx, Answer::ok(stats_frame(&self.center))));
                }
                Msg::Lookup { read, tx } => answers.push((tx, read(&self.center, &self.store))),
                Msg::Recorded { row } => {
                    if let Err(e) = self.store.insert_recording(&row) {
                        tracing::error!(error = %e, file = %row.path, "cannot list a recording");
                    }
                }
                Msg::Notify {
                    session,
                    frame,
                    staff_only,
                } => match self.center.session(session.as_str()) {
                    // The call's agent, wherever it is connected (the room
                    // may be closed already: a recording ends after the call).
                    Some(s) if staff_only => {
                        if let Some(agent) = s.agent_id.clone() {
                            self.hub.send_recipient(&Recipient::Agent(agent), &frame);
                        }
                    }
                    Some(s) => self.hub.notify_call(&session, s.agent_id.as_ref(), &frame),
                    None => self.hub.notify_room(&session, &frame),
                },
                Msg::Follow { seq, entry, tx } => {
                    let answer = if follower {
                        followed |= seq > self.applied_log;
                        self.follow(seq, &entry)?
                    } else if seq <= self.applied_log {
                        // This node's own entry, coming back through the tail.
                        Answer::ok(serde_json::json!({ "applied": self.applied_log }))
                    } else {
                        // Someone else appended: this node no longer leads.
                        step_down = true;
                        not_leader()
                    };
                    answers.push((tx, answer));
                }
                Msg::Lead { replicator, tx } => {
                    if !matches!(self.role, Role::Leader(_)) {
                        // The chat state and subscriptions as the journal
                        // has them; the center is the log's already.
                        self.reload()?;
                        self.role = Role::Leader(replicator);
                        tracing::info!(applied = self.applied_log, "leading");
                    }
                    answers.push((
                        tx,
                        Answer::ok(serde_json::json!({ "applied": self.applied_log })),
                    ));
                }
                Msg::StepDown => step_down = true,
                Msg::Directory { change, tx } => match self.role {
                    Role::Single => {
                        let answer = match self.store.write_directory(&change) {
                            Ok(written) => Answer::ok(written),
                            Err(e) => {
                                tracing::error!(error = %e, "directory write failed");
                                Answer::unavailable()
                            }
                        };
                        answers.push((tx, answer));
                    }
                    _ => directory.push((change, tx)),
                },
            }
        }

        // The turn's events become webhook outbox rows, committed with it;
        // bot calls are built from the state they were asked in, and made
        // only once the turn is durable. A follower's events come from the
        // log: its outbox rows and system messages came with the entries.
        let mut events = Vec::new();
        let mut bot_calls = Vec::new();
        while let Some(event) = self.center.poll_event() {
            if !follower {
                bot_calls.extend(bot_calls::call_for(&self.center, &event.event));
                self.hooks.on_event(&event);
                if let Err(e) = self.chats.on_event(&self.center, &self.store, &event, now) {
                    tracing::error!(error = %e, "cannot number a system message");
                }
            }
            events.push(event);
        }
        let outbox = self
            .hooks
            .take(i64::try_from(now.as_millis()).unwrap_or(i64::MAX));
        // A rating changes the figures without an event: any applied command counts.
        let changed = !events.is_empty() || !records.is_empty() || followed;
        let delivering = !outbox.is_empty();
        let committed = match self.role.clone() {
            Role::Single => {
                let turn = Turn {
                    records,
                    audits,
                    events: outbox,
                    chat: std::mem::take(&mut self.chats.writes),
                    answered,
                    ..Turn::default()
                };
                self.commit(turn).map_err(Committed::Journal)
            }
            Role::Follower => Ok(()),
            Role::Leader(replicator) => {
                let timers = !events.is_empty() || advised;
                let (changes, askers): (Vec<_>, Vec<_>) = directory.into_iter().unzip();
                let turn = Turn {
                    records,
                    audits,
                    events: outbox,
                    chat: std::mem::take(&mut self.chats.writes),
                    directory: changes,
                    answered,
                };
                let done = self.replicate(&*replicator, now, turn, timers).await;
                match done {
                    Ok(written) => {
                        answers.extend(askers.into_iter().zip(written.into_iter().map(Answer::ok)));
                        Ok(())
                    }
                    Err(e) => {
                        for tx in askers {
                            let _ = tx.send(log_unavailable());
                        }
                        Err(e)
                    }
                }
            }
        };
        match committed {
            Ok(()) => {}
            Err(Committed::Journal(e)) => {
                for (tx, _) in answers {
                    let _ = tx.send(Answer::unavailable());
                }
                return Err(e);
            }
            Err(Committed::Log(reason)) => {
                // Nothing of this turn was acknowledged by the log: nothing
                // of it is answered or delivered, and the center it changed
                // is dropped for the journal's.
                tracing::warn!(%reason, "the log refused an append: stepping down");
                for (tx, _) in answers {
                    let _ = tx.send(log_unavailable());
                }
                return self.demote();
            }
        }
        if step_down {
            self.demote()?;
        }
        if delivering {
            self.outbox_wake.notify_waiters();
        }
        for call in bot_calls {
            // Nobody taking them (no adapter started) only means the core's
            // timer answers for the bot.
            let _ = self.bot_calls.send(call);
        }
        for (tx, answer) in answers {
            let _ = tx.send(answer);
        }
        let watched = self.hub.watched() && (changed || advised);
        for event in events {
            if watched {
                let frame = serde_json::json!({ "type": "center_event", "to": event.to, "event": event.event });
                self.hub.tell_monitors(&frame.to_string());
            }
            if let Some(observer) = &self.settings.calls {
                if let Some(sid) = media_change(&event.event) {
                    (observer.0)(sid, self.center.session(sid.as_str()));
                }
            }
            self.hub.deliver(&event);
        }
        for (to, text) in self.chats.out.drain(..) {
            self.hub.send_recipient(&to, &text);
        }
        self.stats_stale |= watched;
        if self.stats_due().is_some_and(|due| due <= self.clock.now()) {
            self.stats_stale = false;
            self.stats_sent = Some(self.clock.now());
            self.hub
                .tell_monitors(&stats_frame(&self.center).to_string());
        }
        if changed {
            self.tell_queue();
        }
        Ok(())
    }

    /// A leader's commit: the turn goes to the log first (with a tick, so
    /// that every node fires the center's timers at this same time), then
    /// to the journal as the entry the log numbered it. A turn with
    /// neither writes nor timers' events is not appended.
    async fn replicate(
        &mut self,
        replicator: &dyn Replicator,
        now: Timestamp,
        turn: Turn,
        timers: bool,
    ) -> Result<Vec<Written>, Committed> {
        if turn.is_empty() && self.chats.out.is_empty() && !timers {
            return Ok(Vec::new());
        }
        let mut entry = Entry {
            turn,
            frames: self.chats.out.clone(),
        };
        entry.turn.records.insert(0, (now, Record::Tick));
        let bytes = serde_json::to_vec(&entry).map_err(|e| Committed::Log(e.to_string()))?;
        let seq = replicator
            .append(self.applied_log, bytes)
            .await
            .map_err(Committed::Log)?;
        let written = self
            .store
            .append_entry(&entry.turn, seq)
            .map_err(Committed::Journal)?;
        self.chats.writes = entry.turn.chat;
        self.chats.committed();
        self.applied(seq, entry.turn.records.len());
        Ok(written)
    }

    /// A follower applies entry `seq`: its records to the center (the
    /// leader's times), then all of it to the journal.
    fn follow(&mut self, seq: u64, entry: &[u8]) -> Result<Answer, StoreError> {
        let applied = serde_json::json!({ "applied": self.applied_log.max(seq) });
        if seq <= self.applied_log {
            return Ok(Answer::ok(applied));
        }
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.store.path().to_owned(),
            reason: format!("log entry {seq}: {reason}"),
        };
        if seq != self.applied_log + 1 {
            return Err(corrupt(format!("comes after {}", self.applied_log)));
        }
        let Entry { turn, frames } =
            serde_json::from_slice(entry).map_err(|e| corrupt(e.to_string()))?;
        for (at, record) in turn.records.iter().cloned() {
            switchboard_store::apply_to(&mut self.center, at, record).map_err(corrupt)?;
        }
        self.center.refresh_forecasts();
        self.store.append_entry(&turn, seq)?;
        self.chats.forget(&turn.chat);
        for a in &turn.answered {
            self.remember(a);
        }
        if !turn.directory.is_empty() {
            if let Some(listener) = &self.settings.directory {
                (listener.0)();
            }
        }
        self.applied(seq, turn.records.len());
        // Sent to this node's connections with the turn's events.
        self.chats.out.extend(frames);
        Ok(Answer::ok(applied))
    }

    /// Counts entry `seq`, of `records` records, as applied and journaled.
    fn applied(&mut self, seq: u64, records: usize) {
        self.applied_log = seq;
        self.applied_tx.send_replace(seq);
        self.count(records);
    }

    /// Counts a commit of `records` records; a snapshot when one is due.
    fn count(&mut self, records: usize) {
        self.stats.commits += 1;
        self.stats.records += records as u64;
        if let Err(e) = self.store.maybe_snapshot(&self.center) {
            // The journal is intact; a missing snapshot only slows recovery.
            tracing::warn!(error = %e, "snapshot failed");
        }
    }

    /// Stops leading: back to following, from the journal's state.
    fn demote(&mut self) -> Result<(), StoreError> {
        if matches!(self.role, Role::Leader(_)) {
            self.stats.step_downs += 1;
        }
        self.role = Role::Follower;
        self.reload()
    }

    /// Rebuilds the center, the chat state and the subscriptions from the
    /// journal (what the log acknowledged, and nothing else).
    fn reload(&mut self) -> Result<(), StoreError> {
        let path = self.store.path().to_owned();
        let (store, mut center, _) = Store::open(
            &path,
            &self.config,
            self.settings.seed,
            self.settings.snapshot_every,
        )?;
        while center.poll_event().is_some() {}
        self.chats = Chats::open(&store)?;
        self.hooks = Hooks::new(store.webhooks()?);
        self.answered = answered_map(&store)?;
        self.applied_log = store.applied_log()?;
        self.applied_tx.send_replace(self.applied_log);
        self.center = center;
        self.store = store;
        Ok(())
    }

    /// When the monitors' figures, changed since last sent, may go.
    fn stats_due(&self) -> Option<Timestamp> {
        self.stats_stale.then(|| {
            self.stats_sent
                .map_or(Timestamp::EPOCH, |at| at.saturating_add(STATS_GAP))
        })
    }

    /// Tells every agent's console the queue length and the Ready agents
    /// when either changed: what the console shows, live.
    fn tell_queue(&mut self) {
        let now = (self.center.queue_len(), self.center.ready_agents());
        if now == self.queue_told {
            return;
        }
        self.queue_told = now;
        let frame =
            serde_json::json!({ "type": "queue_status", "length": now.0, "ready_agents": now.1 });
        self.hub.tell_agents(&frame.to_string());
    }

    /// A chat operation; a close ends the session through the core first.
    fn chat(
        &mut self,
        now: Timestamp,
        asker: &Asker,
        op: Op,
        records: &mut Vec<(Timestamp, Record)>,
    ) -> Answer {
        let Op::Close {
            session,
            comment,
            tags,
        } = op
        else {
            let for_bot = self.words_for_bot(asker, &op);
            let kept = self.chats.writes.messages.len();
            let answer = self
                .chats
                .handle(&self.center, &mut self.store, now, asker, op);
            // Only a message kept now is heard: a resend of one kept before
            // (its `client_id` known) is not heard twice.
            let fresh = self.chats.writes.messages.len() > kept;
            if let (Some((session_id, text)), true) = (for_bot, fresh) {
                let emotion = Lexicon.negativity(&text);
                let hear = Command::BotHear {
                    session_id,
                    text,
                    emotion,
                };
                if let Err(e) = self.apply(now, hear, records) {
                    tracing::debug!(error = %e, "the bot did not take the words");
                }
            }
            return answer;
        };
        match self
            .chats
            .closing(&self.center, asker, session, comment, tags)
        {
            Err(refusal) => refusal,
            Ok(close) => match close.command().map(|c| self.apply(now, c, records)) {
                None | Some(Ok(_)) => self.chats.closed(close, now),
                Some(Err(e)) => Answer::refused(&e),
            },
        }
    }

    /// A visitor's new message in a session that is with its bot: the
    /// session and the words, for the bot to hear once the message is kept.
    fn words_for_bot(&self, asker: &Asker, op: &Op) -> Option<(SessionId, String)> {
        let Op::Send {
            to: Target::Session(sid),
            text,
            note,
            attachment,
            ..
        } = op
        else {
            return None;
        };
        let s = self.center.session(sid.as_str())?;
        let from = match asker {
            Asker::Visitor(v) => Speaker::Visitor(v.clone()),
            Asker::VisitorOf(of) if of == sid => Speaker::Visitor(s.customer_id.clone()),
            _ => return None,
        };
        s.bot_hears(&from, *note, attachment.is_some())
            .then(|| (sid.clone(), text.clone()))
    }

    fn apply(
        &mut self,
        now: Timestamp,
        command: Command,
        records: &mut Vec<(Timestamp, Record)>,
    ) -> Result<Reply, CoreError> {
        // Refusals change no state and are not journaled; what they emit
        // (transfer_failed) goes out with this turn's events.
        let result = self.center.apply(now, command.clone());
        if let Ok(reply) = &result {
            self.hooks.on_command(&self.center, &command, reply);
            records.push((now, Record::Command(command)));
        }
        result
    }

    /// A server alone commits its turn to the journal.
    fn commit(&mut self, turn: Turn) -> Result<(), StoreError> {
        if turn.is_empty() {
            return Ok(());
        }
        let written = self.store.append_turn(&turn);
        self.chats.writes = turn.chat;
        written?;
        self.chats.committed();
        self.count(turn.records.len());
        Ok(())
    }

    /// Keeps a key's answer (and forgets those older than a day).
    fn remember(&mut self, a: &Answered) {
        self.answered.insert(a.key.clone(), a.clone());
        if self.answered.len() > ANSWERED_MAX {
            let oldest = a.at_ms - ANSWERED_KEPT_MS;
            self.answered.retain(|_, kept| kept.at_ms >= oldest);
        }
    }
}

/// The `stats` frame of a live view: the seed's `/stats` and the rating figures.
fn stats_frame(center: &Center) -> serde_json::Value {
    let stats = center.stats();
    let forecasts: Vec<serde_json::Value> = center
        .workgroups()
        .filter_map(|g| center.forecast(g.id.as_str()))
        .map(|f| crate::views::forecast(Some(f)))
        .collect();
    serde_json::json!({
        "type": "stats",
        "stats": crate::views::stats(&stats),
        "ratings": crate::views::ratings(&stats),
        "forecasts": forecasts,
    })
}

/// An audit entry with the answer's outcome: `ok` or the refusal's code.
fn outcome(mut entry: AuditEntry, answer: &Answer) -> AuditEntry {
    entry.outcome = match answer.error_detail() {
        None => "ok".to_owned(),
        Some(e) => e["code"].as_str().unwrap_or("refused").to_owned(),
    };
    entry
}

/// Idempotency keys kept in memory before the old ones are swept.
const ANSWERED_MAX: usize = 100_000;

/// The kept answers to idempotency keys, by key.
fn answered_map(store: &Store) -> Result<HashMap<String, Answered>, StoreError> {
    Ok(store
        .answered()?
        .into_iter()
        .map(|a| (a.key.clone(), a))
        .collect())
}

/// The first answer to a request, for its retry.
fn replayed(first: &Answered) -> Answer {
    let mut answer = Answer::new(first.body.clone());
    *answer.status_mut() = http::StatusCode::from_u16(first.status).unwrap_or(http::StatusCode::OK);
    let headers = answer.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "idempotent-replayed",
        http::HeaderValue::from_static("true"),
    );
    answer
}

/// Why a turn was not committed.
enum Committed {
    /// The journal could not be written: the engine stops.
    Journal(StoreError),
    /// The cluster's log did not take the turn: the node steps down.
    Log(String),
}

/// A follower's answer to a command: the leader takes them.
fn not_leader() -> Answer {
    Answer::retry_later(
        "not_leader",
        "this node follows the cluster's leader and takes no writes",
    )
}

/// A leader's answer when the log did not take the turn.
fn log_unavailable() -> Answer {
    Answer::retry_later(
        "log_unavailable",
        "the replicated log could not be written; nothing was changed",
    )
}

/// The session whose media an event changes.
fn media_change(event: &EventKind) -> Option<&SessionId> {
    match event {
        EventKind::CallAccepted { session_id, .. }
        | EventKind::CallTransferred { session_id, .. }
        | EventKind::CallEnded { session_id, .. }
        | EventKind::MuteUser { session_id, .. }
        | EventKind::UnmuteUser { session_id, .. } => Some(session_id),
        _ => None,
    }
}
