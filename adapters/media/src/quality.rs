//! How a call's media is doing: each connection's figures as of the last
//! stats tick, and a call's average and worst, kept after it ends. Filled
//! by the media loop, read by the control plane's quality route.

use serde::Serialize;

use crate::path::MediaPath;
use crate::Party;

/// Quality of one connection, both directions, as of the last stats tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PeerQuality {
    /// The connection.
    pub id: String,
    /// Its call.
    pub session: String,
    /// Whose it is.
    pub party: Party,
    /// Whether ICE and DTLS are up.
    pub connected: bool,
    /// Received from the participant, kbit/s.
    pub bitrate_in_kbps: u64,
    /// Sent to the participant, kbit/s.
    pub bitrate_out_kbps: u64,
    /// Bytes received from the participant.
    pub bytes_in: u64,
    /// Bytes sent to the participant.
    pub bytes_out: u64,
    /// Loss of what the participant sends, 0 to 1.
    pub loss_in: Option<f32>,
    /// Loss of what we send, as the participant reports it, 0 to 1.
    pub loss_out: Option<f32>,
    /// Round trip, ms.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter of what the participant sends (RTP clock units).
    pub jitter: Option<u32>,
    /// Media packets forwarded from this participant to the other side.
    pub forwarded: u64,
    /// What the leg to the participant carries, as estimated (TWCC), kbit/s.
    pub downlink_kbps: Option<u64>,
    /// Bitrate caps (REMB) sent to the participant's encoder, to fit the
    /// other side's downlink.
    pub bitrate_caps: u64,
    /// NACKs the participant sent for media it lost on the way to it.
    pub nacks_received: u64,
    /// NACKs sent to the participant for its media lost on the way here.
    pub nacks_sent: u64,
    /// Keyframe requests (PLI, FIR) the participant sent.
    pub keyframes_asked_by: u64,
    /// Keyframe requests sent to the participant.
    pub keyframes_asked_of: u64,
    /// Which way the media goes (through TURN or not), once it flows.
    pub path: Option<MediaPath>,
}

/// Average and worst quality over a call's life, kept after it ends (for
/// the last [`SUMMARIES_MAX`] calls).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QualitySummary {
    /// Stats ticks summed (per connection).
    pub samples: u64,
    /// Mean round trip, ms.
    pub rtt_avg_ms: Option<f64>,
    /// Worst round trip, ms.
    pub rtt_max_ms: Option<f64>,
    /// Mean loss (of either direction), 0 to 1.
    pub loss_avg: f64,
    /// Worst loss, 0 to 1.
    pub loss_max: f64,
    /// Mean bitrate received from a participant, kbit/s.
    pub bitrate_in_avg_kbps: f64,
    #[serde(skip)]
    rtt_samples: u64,
}

impl QualitySummary {
    /// Counts one stats tick of one connection.
    pub(crate) fn add(&mut self, q: &PeerQuality) {
        let n = self.samples as f64;
        self.samples += 1;
        let loss = f64::from(q.loss_in.unwrap_or(0.0).max(q.loss_out.unwrap_or(0.0)));
        self.loss_avg = (self.loss_avg * n + loss) / (n + 1.0);
        self.loss_max = self.loss_max.max(loss);
        self.bitrate_in_avg_kbps =
            (self.bitrate_in_avg_kbps * n + q.bitrate_in_kbps as f64) / (n + 1.0);
        if let Some(rtt) = q.rtt_ms {
            let m = self.rtt_samples as f64;
            self.rtt_samples += 1;
            self.rtt_avg_ms = Some((self.rtt_avg_ms.unwrap_or(0.0) * m + rtt) / (m + 1.0));
            self.rtt_max_ms = Some(self.rtt_max_ms.unwrap_or(0.0).max(rtt));
        }
    }
}

/// Calls whose quality summary is kept.
pub const SUMMARIES_MAX: usize = 10_000;
