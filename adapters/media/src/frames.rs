//! RTP packets back into frames, for the recorder only: the forwarding path
//! relays packets as they come (str0m's RTP mode), so nothing else pays
//! for depacketizing. Opus packets are frames as they stand; VP8 frames are
//! the payloads of one RTP timestamp, descriptors stripped (RFC 7741),
//! complete from the start-of-frame packet to the marker.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::Codec;
use str0m::media::MediaTime;

/// One encoded frame.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// Media time (RTP time, extended) in the codec's clock.
    pub(crate) time: MediaTime,
    /// When its first packet arrived.
    pub(crate) arrival: Instant,
    pub(crate) data: Arc<[u8]>,
}

/// What the assembler needs of an RTP packet.
pub(crate) struct Packet<'a> {
    /// Extended sequence number.
    pub(crate) seq: u64,
    pub(crate) time: MediaTime,
    pub(crate) marker: bool,
    pub(crate) arrival: Instant,
    pub(crate) payload: &'a Arc<[u8]>,
}

/// The length of a VP8 payload descriptor, or None if it is malformed.
fn vp8_descriptor_len(p: &[u8]) -> Option<usize> {
    let first = *p.first()?;
    let mut len = 1;
    if first & 0x80 != 0 {
        let ext = *p.get(len)?;
        len += 1;
        if ext & 0x80 != 0 {
            // PictureID: 7 bits, or 15 with the M bit.
            len += if *p.get(len)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            len += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            len += 1; // TID/Y/KEYIDX
        }
    }
    (len <= p.len()).then_some(len)
}

/// Whether a VP8 payload starts a frame (S set, partition 0).
fn vp8_starts_frame(p: &[u8]) -> bool {
    p.first().is_some_and(|b| b & 0x10 != 0 && b & 0x07 == 0)
}

/// Width and height of a VP8 keyframe, from its uncompressed header.
pub(crate) fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let h = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    (w > 0 && h > 0).then_some((w, h))
}

/// Turns one track's packets into frames.
pub(crate) struct Assembler {
    codec: Codec,
    /// The frame being gathered: its RTP time, arrival, next expected
    /// sequence number, bytes, and whether a packet of it went missing.
    current: Option<(MediaTime, Instant, u64, Vec<u8>, bool)>,
    /// The newest sequence number seen; older packets are late and dropped.
    newest: Option<u64>,
    /// A video frame was lost: later frames wait for a keyframe, which
    /// the caller is asked to request.
    broken: bool,
}

impl Assembler {
    /// An assembler for `codec`; None for a codec the recorder cannot write.
    pub(crate) fn new(codec: Codec) -> Option<Assembler> {
        matches!(codec, Codec::Opus | Codec::Vp8).then_some(Assembler {
            codec,
            current: None,
            newest: None,
            broken: false,
        })
    }

    /// The codec it assembles.
    pub(crate) fn codec(&self) -> Codec {
        self.codec
    }

    /// Whether video is waiting for a keyframe after a loss.
    pub(crate) fn wants_keyframe(&self) -> bool {
        self.broken
    }

    /// Takes a packet; returns the frame it completes, if any.
    pub(crate) fn packet(&mut self, p: Packet<'_>) -> Option<Frame> {
        if self.newest.is_some_and(|n| p.seq <= n) {
            return None; // late or repeated
        }
        let gap = self.newest.is_some_and(|n| p.seq != n + 1);
        self.newest = Some(p.seq);
        if self.codec == Codec::Opus {
            return Some(Frame {
                time: p.time,
                arrival: p.arrival,
                data: p.payload.clone(),
            });
        }
        let skip = vp8_descriptor_len(p.payload)?;
        let body = &p.payload[skip..];
        match &mut self.current {
            Some((time, _, next, data, lost)) if *time == p.time => {
                *lost |= p.seq != *next;
                *next = p.seq + 1;
                data.extend_from_slice(body);
            }
            _ => {
                // A new timestamp: an unfinished frame before it is lost.
                if self.current.is_some() || (gap && !vp8_starts_frame(p.payload)) {
                    self.broken = true;
                }
                let lost = !vp8_starts_frame(p.payload);
                self.current = Some((p.time, p.arrival, p.seq + 1, body.to_vec(), lost));
            }
        }
        if !p.marker {
            return None;
        }
        let (time, arrival, _, data, lost) = self.current.take()?;
        let keyframe = vp8_keyframe_size(&data).is_some();
        if lost {
            self.broken = true;
            return None;
        }
        if self.broken && !keyframe {
            return None;
        }
        self.broken = false;
        Some(Frame {
            time,
            arrival,
            data: data.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOCK: u32 = 90_000;

    fn packet(
        a: &mut Assembler,
        seq: u64,
        ts: u64,
        marker: bool,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        let payload: Arc<[u8]> = payload.into();
        let time = MediaTime::new(ts, str0m::media::Frequency::new(CLOCK)?);
        a.packet(Packet {
            seq,
            time,
            marker,
            arrival: Instant::now(),
            payload: &payload,
        })
        .map(|f| f.data.to_vec())
    }

    /// A VP8 keyframe's first bytes (320x240); a delta frame's first
    /// byte is odd.
    const KEY: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
    const DELTA: [u8; 2] = [0x11, 0x02];

    /// Start-of-frame descriptors with a 15-bit picture id.
    const START: [u8; 4] = [0x90, 0x80, 0x81, 0x23];
    const MORE: [u8; 4] = [0x80, 0x80, 0x81, 0x23];

    fn with(descriptor: [u8; 4], body: &[u8]) -> Vec<u8> {
        [&descriptor[..], body].concat()
    }

    #[test]
    fn a_vp8_frame_is_its_payloads_without_descriptors() {
        let mut a = Assembler::new(Codec::Vp8).expect("vp8");
        assert_eq!(packet(&mut a, 1, 3000, false, &with(START, &KEY)), None);
        let frame = packet(&mut a, 2, 3000, true, &with(MORE, &[2, 3]));
        assert_eq!(frame, Some([&KEY[..], &[2, 3]].concat()));
        assert!(!a.wants_keyframe());
    }

    #[test]
    fn a_lost_packet_drops_frames_until_a_keyframe() {
        let mut a = Assembler::new(Codec::Vp8).expect("vp8");
        assert!(packet(&mut a, 1, 3000, true, &with(START, &KEY)).is_some());
        // Packet 2 (start of the next frame) is lost.
        assert_eq!(packet(&mut a, 3, 6000, true, &with(MORE, &DELTA)), None);
        assert!(a.wants_keyframe());
        assert_eq!(
            packet(&mut a, 4, 9000, true, &with(START, &DELTA)),
            None,
            "delta"
        );
        assert_eq!(
            packet(&mut a, 5, 12000, true, &with(START, &KEY)),
            Some(KEY.to_vec())
        );
        assert!(!a.wants_keyframe());
    }

    #[test]
    fn late_packets_are_dropped_and_opus_passes_whole() {
        let mut a = Assembler::new(Codec::Opus).expect("opus");
        assert_eq!(packet(&mut a, 7, 960, false, &[1, 2]), Some(vec![1, 2]));
        assert_eq!(packet(&mut a, 6, 0, false, &[3]), None);
        assert!(Assembler::new(Codec::H264).is_none());
    }

    #[test]
    fn vp8_keyframes_give_their_size_and_others_none() {
        let key = [KEY.as_slice(), &[0, 0]].concat();
        assert_eq!(vp8_keyframe_size(&key), Some((320, 240)));
        let mut inter = key.clone();
        inter[0] |= 1;
        assert_eq!(vp8_keyframe_size(&inter), None);
        assert_eq!(vp8_keyframe_size(&key[..5]), None);
    }

    #[test]
    fn descriptor_lengths_follow_rfc_7741() {
        assert_eq!(vp8_descriptor_len(&[0x10, 0]), Some(1));
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80, 0x05, 0]), Some(3));
        assert_eq!(vp8_descriptor_len(&[0x90, 0xf0, 0x81, 0x23, 1, 2]), Some(6));
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80]), None);
        assert_eq!(vp8_descriptor_len(&[]), None);
    }
}
