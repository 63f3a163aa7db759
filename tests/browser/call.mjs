// A visitor and an agent in headless Chromium, through the real binary and
// its media plane: both decode the other's video and play their audio; after
// a transfer the visitor's same connection and receivers carry the new agent.
import { mkdirSync } from 'node:fs';
import { ADMIN, api, agent, check, growth, openCall as open, run, sleep } from './lib.mjs';

const shots = new URL('../../target/browser/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });


const stats = (page) => page.evaluate(() => window.call.stats());
const state = (page) => page.evaluate(() => window.call.pc.connectionState);

async function grows(page, who) {
  const [a, b] = await growth(
    () => stats(page),
    (s) => s.video.framesDecoded > 0 && s.audio.totalSamplesReceived > 0,
  );
  check(b.video.framesDecoded > a.video.framesDecoded + 10, `${who} decodes video (${a.video.framesDecoded} -> ${b.video.framesDecoded} frames)`);
  check(b.audio.totalSamplesReceived > a.audio.totalSamplesReceived, `${who} plays audio (${a.audio.totalSamplesReceived} -> ${b.audio.totalSamplesReceived} samples)`);
  return b;
}

await run(async ({ base, browser: b }) => {
  const a1 = await agent(base, 'agent_a1');
  const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'visitor_1', visitor_name: '张三' }, '');
  check(joined.status === 'assigned' && joined.agent_id === 'agent_a1', 'the visitor is rung through to agent_a1');
  const session = joined.session_id;
  await api(base, 'POST', '/agents/agent_a1/accept', { media: 'video' }, a1);

  const visitor = await open(b, base, session, joined.token);
  const agent1 = await open(b, base, session, a1);
  await grows(visitor, 'the visitor');
  await grows(agent1, 'agent_a1');
  await visitor.screenshot({ path: `${shots}call-visitor.png` });
  await agent1.setViewportSize({ width: 390, height: 844 });
  await agent1.screenshot({ path: `${shots}call-agent-phone.png` });
  await agent1.setViewportSize({ width: 1280, height: 720 });

  // Remote-assistance annotations cross the server's data-channel relay.
  await agent1.evaluate(() => {
    window.received = [];
    window.call.annotations.onmessage = (e) => window.received.push(e.data);
  });
  await visitor.waitForFunction(() => window.call.annotations.readyState === 'open');
  await visitor.evaluate(() => window.call.annotations.send(JSON.stringify({ cursor: [0.25, 0.75] })));
  await agent1.waitForFunction(() => window.received.length > 0, null, { timeout: 10_000 });
  check((await agent1.evaluate(() => window.received[0])).includes('0.25'), 'an annotation reaches the agent');

  // A screen share (here a canvas) from the visitor reaches the agent's second video.
  await visitor.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 320;
    c.height = 180;
    const g = c.getContext('2d');
    let n = 0;
    setInterval(() => {
      g.fillStyle = `hsl(${(n += 7) % 360} 80% 50%)`;
      g.fillRect(0, 0, 320, 180);
    }, 40);
    return window.call.shareTrack(c.captureStream(25).getVideoTracks()[0]);
  });
  const [s1, s2] = await growth(async () => (await stats(agent1)).screen.framesDecoded ?? 0);
  check(s2 > s1 + 10, `the agent decodes the visitor's screen share (${s1} -> ${s2} frames)`);

  // The visitor's room WebSocket gets the call's quality every second.
  const room = async () => {
    const vt = await api(base, 'POST', '/auth/ticket', undefined, joined.token);
    return visitor.evaluate(
      ({ ws, ticket, session }) =>
        new Promise((resolve, reject) => {
          const s = new WebSocket(`${ws}/room?type=customer_service&role=customer&room_id=customer-service/${session}&ticket=${ticket}`);
          s.onmessage = (e) => {
            const f = JSON.parse(e.data);
            if (f.type === 'call_quality') resolve(f);
          };
          setTimeout(() => reject(new Error('no call_quality frame')), 5000);
        }),
      { ws: base.replace('http', 'ws'), ticket: vt.ticket, session },
    );
  };
  const pushed = await room();
  check(pushed.connections.length === 2, `the room gets call_quality frames (${pushed.connections.map((c) => `${c.party} ${c.bitrate_in_kbps} kbit/s`).join(', ')})`);

  // The server's own view of the call's quality.
  await sleep(1500);
  const quality = await api(base, 'GET', `/sessions/${session}/quality`);
  const v = quality.connections.find((c) => c.party === 'customer');
  check(v && v.connected && v.bitrate_in_kbps > 50, `the server measures the visitor's bitrate (${v && v.bitrate_in_kbps} kbit/s)`);
  check(quality.summary && quality.summary.samples > 0, `and summarizes the call (${JSON.stringify(quality.summary)})`);
  const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  check(/switchboard_media_connections 2/.test(metrics), 'the media plane is in /metrics');
  // Direct, host to host: no TURN.
  check(v.path && v.path.candidate === 'host' && !v.path.tcp, `the visitor's media goes to its host candidate over UDP (${JSON.stringify(v.path)})`);
  check(/switchboard_media_ice_restarts_total 0\n/.test(metrics), 'a call on a steady network restarts no ICE');
  check(/switchboard_media_paths_total\{candidate="host"\} 2\n/.test(metrics) && /switchboard_media_paths_total\{candidate="relay"\} 0\n/.test(metrics), 'and /metrics counts two direct connections, none through TURN');

  // A reload (a dropped network) reconnects with a new offer; the call goes on.
  // (Like a real page, it rejoins its room within the grace period.)
  await visitor.reload();
  await visitor.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, { timeout: 20_000 });
  await room();
  await grows(visitor, 'the visitor, after reconnecting,');
  await grows(agent1, 'agent_a1, on its same connection,');
  check((await state(agent1)) === 'connected', 'agent_a1 never reconnected');

  // A stranger's token cannot join the call's media.
  const a3 = await agent(base, 'agent_a3');
  const refused = await fetch(`${base}/customer-service/sessions/${session}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${a3}` },
    body: 'v=0',
  });
  check(refused.status === 403, `a third agent's offer is refused (${refused.status})`);

  // Transfer: agent_a2 takes over; the visitor's connection stays up.
  const before = await stats(visitor);
  const a2 = await agent(base, 'agent_a2');
  await api(base, 'POST', `/sessions/${session}/transfer`, { target_agent_id: 'agent_a2' }, a1);
  const agent2 = await open(b, base, session, a2);
  const after = await grows(visitor, 'the visitor, after the transfer,');
  check((await state(visitor)) === 'connected', 'the visitor never reconnected');
  check(after.video.ssrc === before.video.ssrc, 'on the same receiver (same inbound SSRC)');
  await grows(agent2, 'agent_a2');
  await agent2.screenshot({ path: `${shots}call-agent2.png` });

  // agent_a2's console hears of finished recordings.
  const { ticket } = await api(base, 'POST', '/auth/ticket', undefined, a2);
  await agent2.evaluate(
    ({ ws, ticket }) =>
      new Promise((resolve) => {
        window.frames_ = [];
        const s = new WebSocket(`${ws}/room?type=customer_service&role=agent&ticket=${ticket}`);
        s.onmessage = (e) => window.frames_.push(JSON.parse(e.data));
        s.onopen = resolve;
      }),
    { ws: base.replace('http', 'ws'), ticket },
  );

  // Ending the call closes the media.
  await api(base, 'DELETE', `/sessions/${session}`, undefined, a2);
  await visitor.waitForFunction(() => window.call.pc.connectionState !== 'connected', null, { timeout: 40_000 });
  check(true, `the visitor's connection closed when the call ended (${await state(visitor)})`);

  // Each participant was recorded; the staff can list, download and play it.
  await agent2.waitForFunction(() => window.frames_.some((f) => f.type === 'recording_completed'), null, { timeout: 20_000 });
  const done = await agent2.evaluate(() => window.frames_.filter((f) => f.type === 'recording_completed'));
  check(done.length >= 1, `agent_a2's console got recording_completed (${done.map((d) => d.file).join(', ')})`);
  const { recordings } = await api(base, 'GET', `/sessions/${session}/recordings`, undefined, a2);
  const names = recordings.map((r) => r.file);
  check(
    names.filter((n) => n.startsWith('customer')).length === 2 &&
      names.some((n) => n.includes('agent_a1')) &&
      names.some((n) => n.includes('agent_a2')),
    `a recording per connection: the visitor's two (before and after the reload), agent_a1, agent_a2 (${names.join(', ')})`,
  );
  const forbidden = await fetch(`${base}${recordings[0].url}`, { headers: { authorization: `Bearer ${joined.token}` } });
  check(forbidden.status === 403, `the visitor's token cannot download recordings (${forbidden.status})`);
  const visitorFile = recordings.find((r) => r.file.startsWith('customer'));
  const played = await agent2.evaluate(
    async ({ url, token }) => {
      const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const blob = await r.blob();
      const v = document.createElement('video');
      v.muted = true;
      v.src = URL.createObjectURL(blob);
      document.body.append(v);
      await v.play();
      await new Promise((ok) => setTimeout(ok, 1500));
      return { type: r.headers.get('content-type'), width: v.videoWidth, time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    },
    { url: `${base}${visitorFile.url}`, token: a2 },
  );
  check(played.type === 'video/webm' && played.width > 0 && played.frames > 10, `the visitor's recording plays in Chromium (${JSON.stringify(played)})`);
});
