// Switchboard call client: one sendrecv peer connection per participant,
// negotiated over WHIP (POST an SDP offer with the participant's token).
// No build step; import it as an ES module:
//
//   import { connect } from '/web/call.js';
//   const call = await connect({ session: 'cs_…', token: 'sbv_…' });
//   video.srcObject = call.remoteStream;
//
// The server forwards the other side's media once the agent answers; after a
// transfer the new agent's media arrives on the same receivers.

const CS = '/customer-service';

/** Waits until ICE gathering is complete (the server is ICE-lite and takes
 *  the client's candidates from the offer), or 2 s. */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 2000);
  });
}

/** The first media section's ICE credentials and candidates in `sdp`, as
 *  a trickle fragment (RFC 8840): what an ICE restart PATCHes. */
function iceFragment(sdp) {
  const lines = sdp.split('\r\n');
  const first = lines.findIndex((l) => l.startsWith('m='));
  const next = lines.findIndex((l, i) => i > first && l.startsWith('m='));
  const section = lines.slice(first, next < 0 ? lines.length : next);
  const pick = (p) => lines.find((l) => l.startsWith(p));
  return [
    pick('a=ice-ufrag:'),
    pick('a=ice-pwd:'),
    section[0],
    section.find((l) => l.startsWith('a=mid:')),
    ...section.filter((l) => l.startsWith('a=candidate:')),
    '',
  ].join('\r\n');
}

/** Keeps the call on a working path: when nothing has arrived for two
 *  seconds (the path it ran on is gone: Wi-Fi to mobile, a NAT that forgot
 *  us; the server's RTCP alone arrives every second), ICE restarts with new
 *  credentials through WHIP's PATCH; the tracks, DTLS and the call stay.
 *  Retried every few seconds until something arrives again. Each
 *  recovery's duration (from the last packet to the next) goes in
 *  `recoveries`. */
function keepPath(pc, resource, token, recoveries) {
  const SILENCE_MS = 2000;
  let last = { bytes: -1, at: performance.now() };
  let lost = null; // when the path went quiet, while it is
  let tried = 0;
  let busy = false;
  let wasUp = false; // nothing to keep before the first connection
  const restart = async () => {
    busy = true;
    tried = performance.now();
    try {
      pc.restartIce();
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const r = await fetch(resource, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', authorization: `Bearer ${token}` },
        body: iceFragment(pc.localDescription.sdp),
      });
      if (r.status !== 200) throw new Error(`ICE restart refused: ${r.status}`);
      const answer = await r.text();
      const value = (key) => (answer.match(new RegExp(`a=${key}:([^\\r\\n]+)`)) || [])[1];
      const sdp = pc.remoteDescription.sdp
        .replace(/a=ice-ufrag:[^\r\n]+/g, `a=ice-ufrag:${value('ice-ufrag')}`)
        .replace(/a=ice-pwd:[^\r\n]+/g, `a=ice-pwd:${value('ice-pwd')}`);
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      console.warn('ICE restart failed; trying again', e);
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
    } finally {
      busy = false;
    }
  };
  const watch = setInterval(async () => {
    if (pc.signalingState === 'closed') return clearInterval(watch);
    let bytes = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'transport') bytes += r.bytesReceived || 0;
    });
    const now = performance.now();
    if (bytes !== last.bytes) {
      if (lost != null) recoveries.push(Math.round(now - lost));
      last = { bytes, at: now };
      lost = null;
      return;
    }
    if (pc.connectionState === 'connected') wasUp = true;
    if (now - last.at < SILENCE_MS || !wasUp) return;
    lost ??= last.at;
    if (!busy && now - tried > 4000) restart();
  }, 250);
}

/** The STUN/TURN servers for this participant (TURN credentials its own),
 *  asked before the offer: candidates are gathered once, with them. */
async function iceServers(base, session, token) {
  const r = await fetch(`${base}${CS}/sessions/${encodeURIComponent(session)}/ice-servers`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return r.ok ? (await r.json()).ice_servers : [];
}

/**
 * Joins a call's media.
 * @param {object} o
 * @param {string} o.session   the session id (cs_…)
 * @param {string} o.token     the participant's bearer token (visitor or agent sign-in)
 * @param {boolean} [o.audio=true] send the microphone
 * @param {boolean} [o.video=true] send the camera
 * @param {string} [o.base='']  the server's origin, if not this page's
 * @param {boolean} [o.relay=false] only through TURN (iceTransportPolicy 'relay')
 */
export async function connect({ session, token, audio = true, video = true, base = '', relay = false }) {
  const started = performance.now();
  let connectedMs = null;
  const localStream = await navigator.mediaDevices.getUserMedia({ audio, video });
  const pc = new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    iceServers: await iceServers(base, session, token),
    iceTransportPolicy: relay ? 'relay' : 'all',
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected' && connectedMs == null) connectedMs = Math.round(performance.now() - started);
  });
  const remoteStream = new MediaStream();
  pc.addEventListener('track', (e) => remoteStream.addTrack(e.track));
  const senders = {};
  for (const kind of ['audio', 'video']) {
    const track = localStream.getTracks().find((t) => t.kind === kind);
    const t = pc.addTransceiver(track || kind, { direction: 'sendrecv', streams: [localStream] });
    senders[kind] = t.sender;
  }
  // A second video m-line for a screen share, receive-only until shared.
  const screen = pc.addTransceiver('video', { direction: 'sendrecv' });
  const annotations = pc.createDataChannel('annotations');
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch(`${base}${CS}/sessions/${encodeURIComponent(session)}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    localStream.getTracks().forEach((t) => t.stop());
    pc.close();
    const body = await response.text();
    throw new Error(`WHIP ${response.status}: ${body}`);
  }
  const location = new URL(response.headers.get('location'), base || location_origin()).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  const recoveries = [];
  keepPath(pc, location, token, recoveries);

  let screenTrack = null;
  return {
    pc,
    localStream,
    /** Milliseconds from the start of `connect` to ICE and DTLS up (null: not yet). */
    connectedMs: () => connectedMs,
    /** Each recovery after the path went quiet (a network change): ms from the last packet to the next. */
    recoveries,
    remoteStream,
    annotations,
    location,
    /** Turns the microphone on or off (the track keeps its place). */
    setMic(on) {
      localStream.getAudioTracks().forEach((t) => (t.enabled = on));
    },
    /** Turns the camera on or off. */
    setCamera(on) {
      localStream.getVideoTracks().forEach((t) => (t.enabled = on));
    },
    /** Switches to another camera or microphone (a deviceId from enumerateDevices). */
    async switchDevice(kind, deviceId) {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
      const track = s.getTracks()[0];
      await senders[kind].replaceTrack(track);
      localStream.getTracks().filter((t) => t.kind === kind).forEach((t) => {
        localStream.removeTrack(t);
        t.stop();
      });
      localStream.addTrack(track);
    },
    /** Shares the screen as the second video track; resolves when it starts. */
    async shareScreen() {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
      return this.shareTrack(s.getVideoTracks()[0]);
    },
    /** Sends any video track (a screen, a canvas) as the second video track. */
    async shareTrack(track) {
      screenTrack = track;
      await screen.sender.replaceTrack(track);
      track.addEventListener('ended', () => screen.sender.replaceTrack(null));
      return track;
    },
    async stopScreen() {
      if (screenTrack) screenTrack.stop();
      await screen.sender.replaceTrack(null);
    },
    /**
     * Mixes an audio file (a URL or a File) into the outgoing audio with the
     * microphone, as the seed's `mixAudio`: Web Audio gain nodes into one
     * destination whose track replaces the microphone's on the connection.
     * Resolves with `{setVolume(v), stop()}`; volume 0.0 to 1.0.
     */
    async mixAudio(source, volume = 0.5) {
      const ctx = new AudioContext();
      const out = ctx.createMediaStreamDestination();
      const mic = localStream.getAudioTracks()[0];
      if (mic) ctx.createMediaStreamSource(new MediaStream([mic])).connect(out);
      const element = new Audio(typeof source === 'string' ? source : URL.createObjectURL(source));
      element.loop = true;
      const gain = ctx.createGain();
      gain.gain.value = volume;
      ctx.createMediaElementSource(element).connect(gain).connect(out);
      await ctx.resume();
      await element.play();
      await senders.audio.replaceTrack(out.stream.getAudioTracks()[0]);
      return {
        setVolume(v) {
          gain.gain.value = v;
        },
        async stop() {
          element.pause();
          await senders.audio.replaceTrack(mic || null);
          await ctx.close();
        },
      };
    },
    /** Inbound figures of the other side's microphone, camera and screen
     *  share: bytes, packets lost, jitter, frames decoded, audio samples. */
    async stats() {
      const out = { audio: {}, video: {}, screen: {}, rtt: null };
      const slot = (r) => {
        if (r.mid != null && r.mid === screen.mid) return 'screen';
        return r.kind;
      };
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && out[slot(r)]) {
          out[slot(r)] = {
            ssrc: r.ssrc,
            bytesReceived: r.bytesReceived,
            packetsLost: r.packetsLost,
            jitter: r.jitter,
            framesDecoded: r.framesDecoded,
            totalSamplesReceived: r.totalSamplesReceived,
            totalAudioEnergy: r.totalAudioEnergy,
            concealedSamples: r.concealedSamples,
            totalFreezesDuration: r.totalFreezesDuration,
          };
        }
        if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime != null) {
          out.rtt = r.currentRoundTripTime;
        }
      });
      return out;
    },
    /** Leaves the call's media (the call itself ends by the API or the
     *  room). With `{ ended: true }` (the call is over, so the server has
     *  closed the connection already) nothing is sent. */
    async hangup({ ended = false } = {}) {
      localStream.getTracks().forEach((t) => t.stop());
      pc.close();
      if (!ended) {
        await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => {});
      }
    },
  };
}

/** What a level of quality is, from the receiver's own figures: poor past
 *  5 % loss or 400 ms round trip, fair past 1 % or 150 ms. */
function level(loss, rtt) {
  return loss > 0.05 || rtt > 400 ? 'poor' : loss > 0.01 || rtt > 150 ? 'fair' : 'good';
}

/**
 * Watches a call's media as the person in it sees it, once a second: the
 * connection's real state (ICE and DTLS) and what actually arrives (decoded
 * frames, audio packets), never a verdict without figures. `report` gets
 * `{ state, level, fps, kbps, loss, rtt }` with `state` one of `connecting`,
 * `connected` (media arriving), `no_media` (connected, nothing arriving yet),
 * `reconnecting`, or `failed` (the connection failed, or no media came within
 * `startMs`: time to retry, go audio-only or chat). Returns a stop function.
 * @param {object} call what `connect` resolved with
 * @param {(h: object) => void} report
 * @param {object} [o]
 * @param {boolean} [o.video=true] whether video is expected
 * @param {number} [o.startMs=8000]
 */
export function watchMedia(call, report, { video = true, startMs = 8000 } = {}) {
  const started = Date.now();
  let last = null;
  let arrived = false;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    const now = { at: Date.now(), frames: 0, audio: 0, bytes: 0, lost: 0, received: 0, rtt: null };
    (await call.pc.getStats().catch(() => new Map())).forEach((r) => {
      if (r.type === 'inbound-rtp' && (r.kind === 'video' || r.kind === 'audio')) {
        if (r.kind === 'video') now.frames += r.framesDecoded || 0;
        else now.audio += r.packetsReceived || 0;
        now.bytes += r.bytesReceived || 0;
        now.lost += Math.max(0, r.packetsLost || 0);
        now.received += r.packetsReceived || 0;
      }
      if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime != null) now.rtt = r.currentRoundTripTime * 1000;
    });
    const secs = last ? Math.max(0.001, (now.at - last.at) / 1000) : 1;
    const d = (k) => (last ? now[k] - last[k] : 0);
    const flowing = video ? d('frames') > 0 : d('audio') > 0;
    arrived ||= flowing;
    const packets = d('lost') + d('received');
    const figures = {
      fps: Math.round(d('frames') / secs),
      kbps: Math.round((d('bytes') * 8) / 1000 / secs),
      loss: packets > 0 ? d('lost') / packets : 0,
      rtt: now.rtt == null ? null : Math.round(now.rtt),
    };
    last = now;
    const pcState = call.pc.connectionState;
    const late = Date.now() - started > startMs;
    let state;
    if (pcState === 'failed' || pcState === 'closed') state = 'failed';
    else if (pcState === 'disconnected') state = 'reconnecting';
    else if (pcState !== 'connected') state = late ? 'failed' : 'connecting';
    else if (flowing) state = 'connected';
    else state = late && !arrived ? 'failed' : 'no_media';
    report({ state, level: state === 'connected' ? level(figures.loss, figures.rtt ?? 0) : null, ...figures });
  };
  const timer = setInterval(tick, 1000);
  tick();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

function location_origin() {
  return globalThis.location ? globalThis.location.origin : 'http://localhost';
}
