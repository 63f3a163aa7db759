// TURN, with coturn (Debian's package) in the test's namespace: the pages
// may use only relayed candidates (iceTransportPolicy "relay"), so every
// packet between a browser and the media plane goes through coturn. The
// server mints each participant's TURN credentials with coturn's shared
// secret; the call connects through TURN over UDP, TCP and TLS (a
// certificate made here; Chromium checks TURN certificates, so this one is
// let through with --ignore-certificate-errors), and both sides decode video
// and play audio. A wrong secret gets no relay.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, api, agent, browser, check, growth, selectedPair, sleep, startServer } from './lib.mjs';

const sessionOf = (page) => new URL(page.url()).searchParams.get('session');

const SECRET = 'turn-shared-secret-for-tests';
const TURN = '10.211.0.2';

function coturn() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-turn-'));
  const [cert, key] = [join(dir, 'turn.crt'), join(dir, 'turn.key')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=turn.switchboard.test', '-addext', `subjectAltName=IP:${TURN}`], { stdio: 'ignore' });
  const child = spawn('turnserver', [
    '-n', '--listening-ip', TURN, '--listening-port', '3478', '--tls-listening-port', '5349', '--relay-ip', TURN,
    '--cert', cert, '--pkey', key,
    '--min-port', '49160', '--max-port', '49200', '--use-auth-secret', `--static-auth-secret=${SECRET}`,
    '--realm', 'switchboard.test', '--no-dtls', '--no-cli', '--fingerprint',
    '--log-file', 'stdout', '--simple-log', '--allow-loopback-peers',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.log = '';
  child.stdout.on('data', (d) => (child.log += d));
  return child;
}

/** The local end of the pair the page's call runs on. */
const pair = async (page) => {
  const local = (await selectedPair(page))?.local;
  return local && { type: local.type, relayProtocol: local.relayProtocol };
};

const URLS = { udp: `turn:${TURN}:3478?transport=udp`, tcp: `turn:${TURN}:3478?transport=tcp`, tls: `turns:${TURN}:5349?transport=tcp` };

async function call(b, transport, secret = SECRET) {
  const server = await startServer({
    media: `  ice_servers: ["${URLS[transport]}"]\n  turn_secret: ${secret}\n`,
  });
  const base = server.base;
  try {
    const a1 = await agent(base, 'a1');
    const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'v1' }, '');
    await api(base, 'POST', '/agents/a1/accept', { media: 'video' }, a1);
    const ice = await api(base, 'GET', `/sessions/${joined.session_id}/ice-servers`, undefined, joined.token);
    const pages = [];
    for (const token of [joined.token, a1]) {
      const page = await b.newPage();
      await page.goto(`${base}/web/call-test.html?session=${joined.session_id}&token=${token}&relay=1`);
      pages.push(page);
    }
    const connected = await Promise.all(
      pages.map((p) => p.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, { timeout: 15_000 }).then(() => true, () => false)),
    );
    return { server, pages, connected, ice };
  } catch (e) {
    server.stop();
    throw e;
  }
}

const turnserver = coturn();
await sleep(500);
const b = await browser(['--ignore-certificate-errors']);
let failed = false;
try {
  for (const transport of ['udp', 'tcp', 'tls']) {
    const { server, pages, connected, ice } = await call(b, transport);
    const cred = ice.ice_servers[0];
    check(/^\d+:cs_[a-z0-9]+-customer$/.test(cred.username) && cred.credential.length === 28, `the visitor gets TURN credentials of its own (${cred.username})`);
    check(connected.every(Boolean), `both pages connect with relay-only candidates over ${transport}`);
    for (const [who, page] of [['the visitor', pages[0]], ['the agent', pages[1]]]) {
      const p = await pair(page);
      console.log(`  ${who} connected through TURN over ${transport} in ${await page.evaluate(() => window.call.connectedMs())} ms`);
      check(p.type === 'relay' && p.relayProtocol === transport, `${who} goes through TURN over ${transport} (${JSON.stringify(p)})`);
      const stats = () => page.evaluate(() => window.call.stats());
      const [x, y] = await growth(stats, (s) => s.video.framesDecoded > 0 && s.audio.totalSamplesReceived > 0);
      check(y.video.framesDecoded > x.video.framesDecoded + 10, `${who} decodes video through TURN (${x.video.framesDecoded} -> ${y.video.framesDecoded})`);
      check(y.audio.totalSamplesReceived > x.audio.totalSamplesReceived, `${who} plays audio through TURN`);
    }
    // The server tells which way each connection's media went: through TURN.
    const quality = await api(server.base, 'GET', `/sessions/${sessionOf(pages[0])}/quality`);
    const paths = quality.connections.filter((c) => c.connected).map((c) => c.path?.candidate);
    check(paths.length === 2 && paths.every((p) => p === 'relay'), `the session's quality record says relay for both (${JSON.stringify(paths)})`);
    const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const counted = Number(/switchboard_media_paths_total\{candidate="relay"\} (\d+)/.exec(metrics)?.[1]);
    check(counted === 2, `/metrics counts the call's two relayed connections (${counted})`);
    for (const p of pages) await p.close();
    server.stop();
  }
  // Credentials signed with another secret: coturn allocates nothing.
  const { server, pages, connected } = await call(b, 'udp', 'not-the-secret');
  check(!connected.some(Boolean), 'with a wrong shared secret no relay is allocated and nothing connects');
  for (const p of pages) await p.close();
  server.stop();
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
  console.error(turnserver.log.split('\n').slice(-15).join('\n'));
} finally {
  await b.close();
  turnserver.kill('SIGKILL');
}
process.exit(failed ? 1 : 0);
