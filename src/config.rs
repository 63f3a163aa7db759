//! The server's settings: a YAML file with the seed's `customer_service:`
//! keys plus where to listen and store, then environment overrides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchboard_core::Config;
use switchboard_http::auth::Security;
use switchboard_media::MediaConfig;
use switchboard_outbound::webhooks::DeliverySettings;

use crate::cluster::ClusterSettings;

/// Default listen address, as in the seed.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8180";
/// Default journal file.
pub const DEFAULT_DB: &str = "./switchboard.db";

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `switchboard serve` needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`SWITCHBOARD_LISTEN`).
    pub listen: String,
    /// Journal file (`SWITCHBOARD_DB`).
    pub database: PathBuf,
    /// Log format (`SWITCHBOARD_LOG_FORMAT`: text or json).
    pub log_format: LogFormat,
    /// Journal records between snapshots (0: never).
    pub snapshot_every: u64,
    /// Seconds a dropped WebSocket participant keeps its place.
    pub ws_grace_secs: u64,
    /// The seed's settings.
    pub customer_service: Config,
    /// Credentials, rate and connection limits, TLS.
    pub security: Security,
    /// The media plane (WebRTC over one UDP port).
    pub media: MediaSettings,
    /// Webhook delivery, and subscriptions kept in the file.
    pub webhooks: WebhookSettings,
    /// A member of a cluster sharing a log in etcd (none: alone).
    pub cluster: Option<ClusterSettings>,
}

/// The `webhooks:` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Timeouts, retries, the outbox's bound.
    #[serde(flatten)]
    pub delivery: DeliverySettings,
    /// Subscriptions made at start if no subscription has their URL yet.
    pub subscriptions: Vec<ConfiguredWebhook>,
}

/// A subscription in the config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredWebhook {
    /// Where events are POSTed.
    pub url: String,
    /// The events wanted.
    pub events: Vec<String>,
    /// The signing secret the receiver was given.
    pub secret: String,
}

/// The `media:` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSettings {
    /// Run the media plane (calls get no audio or video without it).
    pub enabled: bool,
    /// Where it listens, what it advertises, which ICE servers clients get.
    #[serde(flatten)]
    pub config: MediaConfig,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            enabled: true,
            config: MediaConfig {
                bind: SocketAddr::from(([0, 0, 0, 0], DEFAULT_MEDIA_PORT)),
                ..MediaConfig::default()
            },
        }
    }
}

/// The UDP port every call's media uses by default.
pub const DEFAULT_MEDIA_PORT: u16 = 8181;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            database: PathBuf::from(DEFAULT_DB),
            log_format: LogFormat::Text,
            snapshot_every: 10_000,
            ws_grace_secs: 30,
            customer_service: Config::default(),
            security: Security::default(),
            media: MediaSettings::default(),
            webhooks: WebhookSettings::default(),
            cluster: None,
        }
    }
}

impl ServerConfig {
    /// Reads `file` (if given), then applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut config = match file {
            None => ServerConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        if let Ok(listen) = std::env::var("SWITCHBOARD_LISTEN") {
            config.listen = listen;
        }
        if let Ok(db) = std::env::var("SWITCHBOARD_DB") {
            config.database = PathBuf::from(db);
        }
        if let Ok(token) = std::env::var("SWITCHBOARD_ADMIN_TOKEN") {
            if token.len() < 16 {
                return Err("SWITCHBOARD_ADMIN_TOKEN must be at least 16 characters".into());
            }
            config.security.admin_token = Some(token);
        }
        if let Ok(bind) = std::env::var("SWITCHBOARD_MEDIA_BIND") {
            config.media.config.bind = bind
                .parse()
                .map_err(|e| format!("SWITCHBOARD_MEDIA_BIND {bind:?}: {e}"))?;
        }
        if let Ok(ip) = std::env::var("SWITCHBOARD_MEDIA_IP") {
            config.media.config.public_ip = Some(
                ip.parse()
                    .map_err(|e| format!("SWITCHBOARD_MEDIA_IP {ip:?}: {e}"))?,
            );
        }
        if let Ok(password) = std::env::var("SWITCHBOARD_ADMIN_PASSWORD") {
            config.security.admin_password = Some(password);
        }
        if let Ok(urls) = std::env::var("SWITCHBOARD_ETCD") {
            let env = |name: &str| {
                std::env::var(name).map_err(|_| format!("SWITCHBOARD_ETCD needs {name} too"))
            };
            let previous = config.cluster.take();
            config.cluster = Some(ClusterSettings {
                etcd: urls.split(',').map(str::to_owned).collect(),
                node_id: env("SWITCHBOARD_NODE_ID")
                    .or_else(|e| previous.as_ref().map(|c| c.node_id.clone()).ok_or(e))?,
                advertise: env("SWITCHBOARD_ADVERTISE")
                    .or_else(|e| previous.as_ref().map(|c| c.advertise.clone()).ok_or(e))?,
                lease_ttl_secs: previous.as_ref().map_or(3, |c| c.lease_ttl_secs),
                log_keep: previous.as_ref().map_or(10_000, |c| c.log_keep),
                trim_every_secs: previous.as_ref().map_or(10, |c| c.trim_every_secs),
                prefix: previous.map_or_else(|| "switchboard".to_owned(), |c| c.prefix),
            });
        }
        if let Some(c) = &config.cluster {
            if c.etcd.is_empty()
                || c.node_id.is_empty()
                || c.lease_ttl_secs < 1
                || c.trim_every_secs < 1
            {
                return Err(
                    "cluster: needs etcd URLs, a node_id, and lease_ttl_secs and trim_every_secs of 1 or more".into(),
                );
            }
        }
        match std::env::var("SWITCHBOARD_LOG_FORMAT").as_deref() {
            Ok("json") => config.log_format = LogFormat::Json,
            Ok("text") => config.log_format = LogFormat::Text,
            Ok(other) => {
                return Err(format!(
                    "SWITCHBOARD_LOG_FORMAT must be text or json, not {other:?}"
                ))
            }
            Err(_) => {}
        }
        config
            .customer_service
            .validate()
            .map_err(|e| e.to_string())?;
        config.listen_addr()?;
        Ok(config)
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|e| format!("listen address {:?}: {e}", self.listen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seeds_yaml() {
        let yaml = "customer_service:\n  max_sessions: 1000\n  session_timeout_secs: 3600\n  max_queue_size: 50\n  dispatch_interval_ms: 500\n  queue_timeout_secs: 600\n  accept_timeout_secs: 15\n  auto_record: false\n  recording_dir: \"/tmp/cs-recordings\"\nlisten: 127.0.0.1:9000\n";
        let c: ServerConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(c.customer_service.max_queue_size, 50);
        assert_eq!(c.customer_service.accept_timeout_secs, 15);
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.database, PathBuf::from(DEFAULT_DB));
        assert!(
            serde_norway::from_str::<ServerConfig>("customer_service:\n  max_queue: 5\n").is_err()
        );
    }
}
