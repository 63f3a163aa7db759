// Standard WHIP and WHEP clients that are not ours (Eyevinn's, from npm):
// the visitor publishes with @eyevinn/whip-web-client and plays the agent
// with @eyevinn/webrtc-player's WHEP adapter, given only the session's URLs
// and the visitor's token; the agent uses Switchboard's call.js.
import { readFileSync } from 'node:fs';
import { api, agent, check, growth, run } from './lib.mjs';

const vendor = readFileSync(new URL('./build/vendor.js', import.meta.url));
const page = (session, token) => `<!doctype html><html><body>
<video id="v" autoplay playsinline muted></video>
<script type="module">
import { WHIPClient, WebRTCPlayer } from '/test-vendor/vendor.js';
const base = location.origin + '/customer-service/sessions/${session}';
const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
const client = new WHIPClient({ endpoint: base + '/whip', opts: { authkey: '${token}' } });
await client.ingest(stream);
const player = new WebRTCPlayer({ video: document.getElementById('v'), type: 'whep' });
await player.load(new URL(base + '/whep'), 'Bearer ${token}');
window.ready = true;
</script></body></html>`;

await run(async ({ base, browser: b }) => {
  const a1 = await agent(base, 'agent_s1');
  const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'visitor_s' }, '');
  await api(base, 'POST', '/agents/agent_s1/accept', { media: 'video' }, a1);
  const session = joined.session_id;

  const visitor = await b.newPage();
  visitor.on('console', (m) => m.type() === 'error' && console.log(`  [visitor] ${m.text()}`));
  await visitor.route('**/test-vendor/vendor.js', (r) =>
    r.fulfill({ body: vendor, contentType: 'text/javascript' }),
  );
  await visitor.route('**/standard-test.html', (r) =>
    r.fulfill({ body: page(session, joined.token), contentType: 'text/html' }),
  );
  await visitor.goto(`${base}/standard-test.html`);
  await visitor.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });
  check(true, 'the standard WHIP client published and the WHEP player loaded');

  const agentPage = await b.newPage();
  await agentPage.goto(`${base}/web/call-test.html?session=${session}&token=${a1}`);
  await agentPage.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, {
    timeout: 20_000,
  });
  const [first, second] = await growth(
    async () => (await agentPage.evaluate(() => window.call.stats())).video.framesDecoded ?? 0,
  );
  check(second > first + 10, `the agent decodes what the standard WHIP client publishes (${first} -> ${second})`);

  const [p1, p2] = await growth(() =>
    visitor.evaluate(() => document.getElementById('v').getVideoPlaybackQuality().totalVideoFrames),
  );
  check(p2 > p1 + 10, `the WHEP player shows the agent (${p1} -> ${p2} frames)`);
});
