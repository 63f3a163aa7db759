//! Call recording: each participant's audio (Opus) and camera video (VP8)
//! into a WebM file of its own, muxed by libwebm (the `webm` crate) in live
//! mode, so that a file cut short by a crash is still playable. A file is
//! written as `….webm.part` and renamed when finalized; [`finish_leftovers`]
//! renames what a crash left behind on the next start.
//!
//! Timestamps come from each track's media clock (RTP time), anchored at the
//! arrival of the track's first frame, so both tracks share one timeline.
//! Frames are assembled here from the relayed RTP packets ([`crate::frames`]).

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime, Mid};

use crate::frames::{vp8_keyframe_size, Assembler, Frame, Packet};
use webm::mux::{AudioCodecId, SegmentBuilder, SegmentMode, VideoCodecId, Writer};

/// How long frames wait to be written in timestamp order across tracks.
const REORDER: Duration = Duration::from_millis(300);
/// Most frames waiting (a bound on memory if one track stalls).
const PENDING_MAX: usize = 2_000;

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The call.
    pub session: String,
    /// The file, under the recording directory.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Media time covered, ms.
    pub duration_ms: u64,
}

type Segment = webm::mux::Segment<BufWriter<File>>;

/// One participant's recording in progress.
pub(crate) struct Recorder {
    session: String,
    path: PathBuf,
    audio: Option<Mid>,
    video: Option<Mid>,
    /// Per track, its frame assembler (None: a codec it cannot record).
    assemblers: Vec<(Mid, Option<Assembler>)>,
    state: State,
    /// Per track: (first media time, its arrival offset from the recording's start).
    anchors: Vec<(Mid, MediaTime, Duration)>,
    start: Instant,
    pending: BinaryHeap<Pending>,
    last_written: u64,
}

enum State {
    /// Waiting for the first video keyframe (or, audio-only, the first audio).
    Waiting,
    Writing {
        segment: Segment,
        audio_track: Option<u64>,
        video_track: Option<u64>,
    },
    Failed,
}

/// A frame waiting to be written, ordered by timestamp (earliest first).
struct Pending {
    ts: u64,
    track: u64,
    keyframe: bool,
    data: std::sync::Arc<[u8]>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.ts == o.ts
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.ts.cmp(&self.ts)
    }
}

/// The Opus identification header WebM wants as CodecPrivate (RFC 7845).
fn opus_head() -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1); // version
    h.push(2); // channels
    h.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // gain
    h.push(0); // mapping family
    h
}

impl Recorder {
    /// A recorder for a participant sending `audio` and `video` (its first
    /// track of each kind), writing under `dir/session/`.
    pub(crate) fn new(
        dir: &Path,
        session: &str,
        name: &str,
        audio: Option<Mid>,
        video: Option<Mid>,
    ) -> Recorder {
        Recorder {
            session: session.to_owned(),
            path: dir.join(session).join(format!("{name}.webm.part")),
            audio,
            video,
            assemblers: Vec::new(),
            state: State::Waiting,
            anchors: Vec::new(),
            start: Instant::now(),
            pending: BinaryHeap::new(),
            last_written: 0,
        }
    }

    /// Takes one RTP packet of the participant's on track `mid`, whose
    /// payload is `codec`; returns whether its video waits for a keyframe
    /// (a packet was lost), which the caller should ask for.
    pub(crate) fn packet(
        &mut self,
        mid: Mid,
        kind: MediaKind,
        codec: Codec,
        packet: Packet<'_>,
    ) -> bool {
        let is_video = kind == MediaKind::Video && Some(mid) == self.video;
        let is_audio = kind == MediaKind::Audio && Some(mid) == self.audio;
        if !is_video && !is_audio {
            return false;
        }
        let i = match self.assemblers.iter().position(|(m, _)| *m == mid) {
            Some(i) => i,
            None => {
                let a = Assembler::new(codec);
                if a.is_none() {
                    tracing::warn!(%mid, ?codec, "not recorded: the recorder writes VP8 and Opus");
                }
                self.assemblers.push((mid, a));
                self.assemblers.len() - 1
            }
        };
        let Some(assembler) = self.assemblers[i].1.as_mut().filter(|a| a.codec() == codec) else {
            return false;
        };
        let frame = assembler.packet(packet);
        let wants_keyframe = is_video && assembler.wants_keyframe();
        if let Some(frame) = frame {
            self.frame(mid, is_video, &frame);
        }
        wants_keyframe
    }

    /// Takes one whole frame of track `mid`.
    fn frame(&mut self, mid: Mid, is_video: bool, data: &Frame) {
        let is_audio = !is_video;
        if matches!(self.state, State::Waiting) {
            let size = if is_video {
                vp8_keyframe_size(&data.data)
            } else {
                None
            };
            let ready = match (self.video.is_some(), is_video) {
                (true, true) => size.is_some(),
                (true, false) => false, // audio before the first keyframe is dropped
                (false, _) => true,
            };
            if !ready {
                return;
            }
            self.state = match self.open(size.unwrap_or((640, 480))) {
                Ok(state) => state,
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot record");
                    State::Failed
                }
            };
            self.start = data.arrival;
        }
        let State::Writing {
            audio_track,
            video_track,
            ..
        } = &self.state
        else {
            return;
        };
        let Some(track) = (if is_video { *video_track } else { *audio_track }) else {
            return;
        };
        let ts = self.timestamp(mid, data);
        let keyframe = is_audio || vp8_keyframe_size(&data.data).is_some();
        self.pending.push(Pending {
            ts,
            track,
            keyframe,
            data: data.data.clone(),
        });
        let horizon = ts.saturating_sub(REORDER.as_nanos() as u64);
        self.flush(|p| p.ts <= horizon);
    }

    /// Nanoseconds since the recording began, from the track's media clock.
    fn timestamp(&mut self, mid: Mid, data: &Frame) -> u64 {
        let anchor = match self.anchors.iter().find(|(m, _, _)| *m == mid) {
            Some(a) => *a,
            None => {
                let a = (
                    mid,
                    data.time,
                    data.arrival.saturating_duration_since(self.start),
                );
                self.anchors.push(a);
                a
            }
        };
        let (first, offset) = (anchor.1, anchor.2);
        let since = if data.time >= first {
            Duration::from(data.time - first)
        } else {
            Duration::ZERO
        };
        u64::try_from((offset + since).as_nanos()).unwrap_or(u64::MAX)
    }

    fn open(&self, (width, height): (u32, u32)) -> Result<State, String> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let file = File::create(&self.path).map_err(|e| e.to_string())?;
        let writer = Writer::new_non_seek(BufWriter::new(file));
        let e = |e: webm::mux::Error| format!("{e:?}");
        let mut builder = SegmentBuilder::new(writer)
            .and_then(|b| b.set_mode(SegmentMode::Live))
            .and_then(|b| b.set_writing_app("switchboard"))
            .map_err(e)?;
        let mut video_track = None;
        if self.video.is_some() {
            let (b, t) = builder
                .add_video_track(width, height, VideoCodecId::VP8, None)
                .map_err(e)?;
            builder = b;
            video_track = Some(t.into());
        }
        let mut audio_track = None;
        if self.audio.is_some() {
            let (b, t) = builder
                .add_audio_track(48_000, 2, AudioCodecId::Opus, None)
                .map_err(e)?;
            builder = b.set_codec_private(t, &opus_head()).map_err(e)?;
            audio_track = Some(t.into());
        }
        Ok(State::Writing {
            segment: builder.build(),
            audio_track,
            video_track,
        })
    }

    /// Writes waiting frames that `due` selects, earliest first.
    fn flush(&mut self, due: impl Fn(&Pending) -> bool) {
        let State::Writing { segment, .. } = &mut self.state else {
            return;
        };
        while let Some(top) = self.pending.peek() {
            if !due(top) && self.pending.len() < PENDING_MAX {
                break;
            }
            let Some(p) = self.pending.pop() else { break };
            // libwebm wants timestamps that never go back, across tracks.
            let ts = p.ts.max(self.last_written);
            if segment.add_frame(p.track, &p.data, ts, p.keyframe).is_ok() {
                self.last_written = ts;
            }
        }
    }

    /// Writes what waits, finalizes the file and names it `.webm`; None if
    /// nothing was recorded.
    pub(crate) fn finish(mut self) -> Option<Recording> {
        self.flush(|_| true);
        let State::Writing { segment, .. } = self.state else {
            return None;
        };
        let duration_ms = self.last_written / 1_000_000;
        if segment.finalize(None).is_err() {
            tracing::warn!(path = %self.path.display(), "recording could not be finalized");
        }
        let done = self.path.with_extension("");
        let done = done.with_extension("webm");
        std::fs::rename(&self.path, &done).ok()?;
        let bytes = std::fs::metadata(&done).map(|m| m.len()).unwrap_or(0);
        Some(Recording {
            session: self.session,
            path: done,
            bytes,
            duration_ms,
        })
    }
}

/// Renames the `.webm.part` files a crash left under `dir` (live-mode WebM
/// is playable as it stands); returns them, for the store to list.
pub fn finish_leftovers(dir: &Path) -> Vec<Recording> {
    let Ok(sessions) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut done = Vec::new();
    for session in sessions.flatten() {
        let Ok(files) = std::fs::read_dir(session.path()) else {
            continue;
        };
        for f in files.flatten() {
            let path = f.path();
            if path.to_string_lossy().ends_with(".webm.part") {
                let finished = path.with_extension("").with_extension("webm");
                if std::fs::rename(&path, &finished).is_ok() {
                    done.push(Recording {
                        session: session.file_name().to_string_lossy().into_owned(),
                        bytes: std::fs::metadata(&finished).map_or(0, |m| m.len()),
                        path: finished,
                        // Unknown without reading the file; the cut left no duration.
                        duration_ms: 0,
                    });
                }
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opus_head_is_nineteen_bytes() {
        let h = opus_head();
        assert_eq!((h.len(), &h[..8]), (19, &b"OpusHead"[..]));
    }
}
