//! # switchboard-media
//!
//! The media plane of a 1v1 call: one thread owning one UDP socket and every
//! participant's [`str0m::Rtc`], forwarding each side's audio and video to
//! the other. It follows the engine's decisions and never makes them: the
//! engine tells it, with [`Media::update`], what a call is now (answered or
//! not, by which agent, audio-only or video, who is muted, ended); it admits
//! connections the HTTP layer has already authorized ([`Media::connect`]);
//! and it reports quality back ([`Media::stats`]).
//!
//! A participant's connection is one peer connection, whatever its SDP
//! directions: what it sends (a WHIP publisher, or a `sendrecv` page) is a
//! source; what it can receive (a WHEP player, or a `sendrecv` page) is a
//! sink. Media from one side goes to the other side's sinks of the same kind,
//! the n-th incoming video to the n-th outgoing video (camera, then screen
//! share). A transfer writes the new agent's media into the visitor's
//! existing outgoing tracks, so the visitor's receivers stay up.
//!
//! ```no_run
//! use switchboard_media::{CallState, Media, MediaConfig, Party};
//! let media = Media::start(MediaConfig::default()).expect("udp socket");
//! media.update("cs_1", Some(CallState { agent: Some("agent_001".into()), active: true, ..Default::default() }));
//! # let offer = String::new();
//! let answer = media.connect_blocking("cs_1", Party::Customer, "visitor:cs_1", &offer);
//! ```

mod addresses;
mod delay;
mod error;
mod forward;
mod frames;
pub mod fuzzing;
mod holes;
pub mod loadgen;
mod path;
mod peer;
mod plane;
mod quality;
mod recorder;
mod restart;
mod sfu;
mod tcp;

use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use delay::ForwardDelay;
pub use error::MediaError;
pub use path::{MediaPath, PathKind};
pub use plane::{Connected, MediaTotals};
pub use quality::{PeerQuality, QualitySummary, SUMMARIES_MAX};
pub use recorder::{finish_leftovers, Recording};

/// Which side of a call a connection belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The visitor.
    #[default]
    Customer,
    /// The agent holding the call.
    Agent,
}

/// What the engine decided about a call, as the media plane needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallState {
    /// The agent holding (or being rung for) the call.
    pub agent: Option<String>,
    /// Answered: media flows only now.
    pub active: bool,
    /// Answered as audio-only: no video is forwarded.
    pub audio_only: bool,
    /// The agent's audio is not forwarded.
    pub agent_muted: bool,
    /// The visitor's audio is not forwarded.
    pub customer_muted: bool,
}

/// Where the media plane listens and what it tells clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// UDP address for every call (one port: one firewall rule).
    pub bind: SocketAddr,
    /// The public address of a server behind 1:1 NAT: the one candidate
    /// offered (packets arriving at the private address belong to it).
    /// Absent, the bound address is offered, or, bound to `0.0.0.0`/`[::]`,
    /// every usable interface address, the default route's first.
    pub public_ip: Option<IpAddr>,
    /// STUN/TURN servers handed to clients (`Link: rel="ice-server"` on
    /// WHIP answers, and `GET …/ice-servers` before the pages' offers): a
    /// URL (`stun:stun.example.com:3478`, `turn:turn.example.com:3478`) or
    /// one with static credentials (`{urls, username, credential}`).
    pub ice_servers: Vec<IceServer>,
    /// coturn's `static-auth-secret`: each participant gets TURN credentials
    /// of its own for the `turn:`/`turns:` servers without static ones
    /// (the TURN REST API convention), valid [`MediaConfig::turn_ttl_secs`].
    #[serde(skip_serializing)]
    pub turn_secret: Option<String>,
    /// How long minted TURN credentials last.
    pub turn_ttl_secs: u64,
    /// ICE over TCP on the same port number, for networks that block UDP:
    /// answers carry a passive TCP candidate too (on by default).
    pub ice_tcp: bool,
    /// Whether answers carry the UDP candidate; off only to force TCP (for
    /// a test, or a network known to drop UDP). At least one is needed.
    pub ice_udp: bool,
    /// Quality figures are computed this often.
    pub stats_interval_ms: u64,
    /// Record every answered call here (the seed's `auto_record` and
    /// `recording_dir`), one WebM file per participant.
    #[serde(skip)]
    pub record_dir: Option<std::path::PathBuf>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_ip: None,
            ice_servers: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: 3600,
            ice_tcp: true,
            ice_udp: true,
            stats_interval_ms: 1000,
            record_dir: None,
        }
    }
}

/// Told of each finished recording.
pub type OnRecording = Box<dyn Fn(Recording) + Send>;

/// A handle to the media thread; cheap to clone.
#[derive(Clone)]
pub struct Media {
    tx: mpsc::Sender<plane::Command>,
    local: SocketAddr,
    ice: Ice,
}

/// A STUN or TURN server for clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IceServer {
    /// A URL; a `turn:` one gets minted credentials when a secret is set.
    Url(String),
    /// A URL with static credentials.
    WithCredentials {
        /// The URL.
        urls: String,
        /// TURN username.
        username: String,
        /// TURN password.
        credential: String,
    },
}

/// The ICE servers clients are told of, and how TURN credentials are made.
#[derive(Clone, Debug, Default)]
pub struct Ice {
    /// As configured.
    pub servers: Vec<IceServer>,
    /// coturn's shared secret, if credentials are minted.
    pub turn_secret: Option<String>,
    /// Minted credentials' lifetime.
    pub turn_ttl_secs: u64,
}

impl Media {
    /// Binds the UDP socket and starts the media thread.
    pub fn start(config: MediaConfig) -> Result<Media, MediaError> {
        Media::start_with(config, Box::new(|_| {}))
    }

    /// Like [`Media::start`], calling `recorded` (on the media thread) for
    /// each finished recording. Recordings a crash left unfinished are
    /// finished first.
    pub fn start_with(config: MediaConfig, recorded: OnRecording) -> Result<Media, MediaError> {
        if let Some(dir) = &config.record_dir {
            let leftovers = finish_leftovers(dir);
            if !leftovers.is_empty() {
                let n = leftovers.len();
                tracing::info!(dir = %dir.display(), n, "finished recordings cut short by a stop");
            }
            for r in leftovers {
                recorded(r);
            }
        }
        let ice = Ice {
            servers: config.ice_servers.clone(),
            turn_secret: config.turn_secret.clone(),
            turn_ttl_secs: config.turn_ttl_secs,
        };
        let (tx, local) = sfu::start(config, recorded)?;
        Ok(Media { tx, local, ice })
    }

    /// The STUN/TURN servers clients are told about.
    pub fn ice(&self) -> &Ice {
        &self.ice
    }

    /// The first address in the candidates this server hands out.
    pub fn candidate_addr(&self) -> SocketAddr {
        self.local
    }

    /// What the call `session` is now (None: ended or forgotten, which closes
    /// its connections).
    pub fn update(&self, session: &str, state: Option<CallState>) {
        let _ = self.tx.send(plane::Command::Update {
            session: session.to_owned(),
            state,
        });
    }

    /// Admits an authorized participant's SDP offer for `session`; `owner`
    /// names the credential, so that only it can change or end the
    /// connection. A second connection of the same participant replaces the
    /// first (a reconnect).
    pub async fn connect(
        &self,
        session: &str,
        party: Party,
        owner: &str,
        offer: &str,
    ) -> Result<Connected, MediaError> {
        let rx = self.send_connect(session, party, owner, offer)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// [`Media::connect`] for callers without a runtime.
    pub fn connect_blocking(
        &self,
        session: &str,
        party: Party,
        owner: &str,
        offer: &str,
    ) -> Result<Connected, MediaError> {
        let rx = self.send_connect(session, party, owner, offer)?;
        rx.blocking_recv().map_err(|_| MediaError::Stopped)?
    }

    fn send_connect(
        &self,
        session: &str,
        party: Party,
        owner: &str,
        offer: &str,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Connected, MediaError>>, MediaError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(plane::Command::Connect {
            session: session.to_owned(),
            party,
            owner: owner.to_owned(),
            offer: offer.to_owned(),
            reply,
        })?;
        Ok(rx)
    }

    /// Adds trickled remote candidates (`a=candidate:` lines) to connection
    /// `id`, or restarts its ICE if the fragment brings new credentials:
    /// then the server's new credentials, as a fragment.
    pub async fn trickle(
        &self,
        id: &str,
        owner: &str,
        fragment: &str,
    ) -> Result<Option<String>, MediaError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(plane::Command::Trickle {
            id: id.to_owned(),
            owner: owner.to_owned(),
            fragment: fragment.to_owned(),
            reply,
        })?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// Closes connection `id`.
    pub async fn close(&self, id: &str, owner: &str) -> Result<(), MediaError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(plane::Command::Close {
            id: id.to_owned(),
            owner: owner.to_owned(),
            reply,
        })?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    /// Quality of every live connection of `session`.
    pub async fn stats(&self, session: &str) -> Vec<PeerQuality> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self
            .send(plane::Command::Stats {
                session: Some(session.to_owned()),
                reply,
            })
            .is_err()
        {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Average and worst quality over `session`'s call so far (or, once
    /// ended, over all of it).
    pub async fn summary(&self, session: &str) -> Option<QualitySummary> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(plane::Command::Summary {
            session: session.to_owned(),
            reply,
        })
        .ok()?;
        rx.await.ok().flatten()
    }

    /// Quality of every live connection.
    pub async fn all_stats(&self) -> Vec<PeerQuality> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self
            .send(plane::Command::Stats {
                session: None,
                reply,
            })
            .is_err()
        {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// How long relayed media has waited in the server since it started.
    pub async fn forward_delay(&self) -> ForwardDelay {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self.send(plane::Command::Delay { reply }).is_err() {
            return ForwardDelay::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Negotiation and ICE figures since the media plane started.
    pub async fn totals(&self) -> MediaTotals {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self.send(plane::Command::Totals { reply }).is_err() {
            return MediaTotals::default();
        }
        rx.await.unwrap_or_default()
    }

    fn send(&self, command: plane::Command) -> Result<(), MediaError> {
        self.tx.send(command).map_err(|_| MediaError::Stopped)
    }
}

/// How long the media thread sleeps at most between looks at its inbox.
pub(crate) const INBOX_POLL: Duration = Duration::from_millis(5);
