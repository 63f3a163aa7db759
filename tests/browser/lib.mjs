// Helpers for the browser tests: start the real switchboard binary on a free
// loopback port with a temporary journal (its media plane on every
// interface, as by default, on a free port), call its API, launch Chromium,
// relay UDP in user space.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ADMIN = 'browser-test-admin-token-0123456789';
const ROOT = new URL('../../', import.meta.url).pathname;

/** Starts `target/debug/switchboard` and resolves with its base URL and
 *  process; `customerService`, `security` and `media` add lines to those
 *  sections of the config, `mediaBind` is the media plane's address and
 *  `record` whether calls are recorded (on unless a test says), `listen`
 *  its address, `env` more environment, `recordings` a recording directory
 *  shared with other servers (a cluster's). */
export async function startServer({ customerService = '', security = '', media = '', mediaBind = '0.0.0.0:0', record = true, listen = '127.0.0.1:0', env = {}, recordings: shared } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
  const recordings = shared || join(dir, 'recordings');
  const config = join(dir, 'switchboard.yaml');
  writeFileSync(
    config,
    'ws_grace_secs: 5\nsecurity:\n  argon2: {memory_kib: 256, iterations: 1, parallelism: 1}\n' +
      '  per_credential: {per_sec: 0, burst: 0}\n  per_address: {per_sec: 0, burst: 0}\n' +
      `  public_join: {per_sec: 0, burst: 0}\n${security}media:\n  bind: ${mediaBind}\n${media}` +
      `customer_service:\n  auto_record: ${record}\n  recording_dir: ${recordings}\n${customerService}`,
  );
  const bin = process.env.SWITCHBOARD_BIN || join(ROOT, 'target/debug/switchboard');
  const child = spawn(bin, ['serve', '--config', config], {
    env: {
      ...process.env,
      SWITCHBOARD_LISTEN: listen,
      SWITCHBOARD_DB: join(dir, 'switchboard.db'),
      SWITCHBOARD_ADMIN_TOKEN: ADMIN,
      SWITCHBOARD_ADMIN_PASSWORD: 'browser-admin-password',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`switchboard exited ${code}`)));
  });
  const base = line.trim().split(' ').pop();
  return { base, child, recordings, stop: () => child.kill('SIGKILL') };
}

/** Calls the API; throws unless the status is 2xx. */
export async function api(base, method, path, body, token = ADMIN) {
  const r = await fetch(`${base}/customer-service${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An agent account signed in and registered Ready; resolves with its token. */
export async function agent(base, id) {
  await api(base, 'POST', '/accounts', { username: id, password: `password-${id}`, role: 'agent', agent_id: id });
  const { token } = await api(base, 'POST', '/auth/login', { username: id, password: `password-${id}` }, '');
  await api(base, 'POST', '/agents/register', { agent_id: id }, token);
  return token;
}

/** Debian's Chromium, headless, with fake camera and microphone (and
 *  `extra` flags). */
export function browser(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      ...extra,
    ],
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Fails the run with `message` unless `ok`. */
export function check(ok, message) {
  if (!ok) throw new Error(message);
  console.log(`  ok: ${message}`);
}

/** Reads `sample` until it is `ready` (a positive count by default; 20 s at
 *  most), waits 2.5 s and reads it again: `[before, after]`, to show that a
 *  counter (frames, samples) grows. */
export async function growth(sample, ready = (v) => v > 0) {
  let before = await sample();
  for (let i = 0; i < 80 && !ready(before); i++) {
    await sleep(250);
    before = await sample();
  }
  await sleep(2500);
  return [before, await sample()];
}

/** The candidate pair a page's call runs on, as its browser sees it: each
 *  end's address, port, protocol and type (and the TURN leg's protocol).
 *  Waits (15 s at most) for the stats to show it: they can lag the
 *  connection state, by seconds on a loaded machine (turn.mjs once missed
 *  it at 5 s). */
export async function selectedPair(page) {
  const found = await page.waitForFunction(async () => {
    const report = await window.call.pc.getStats();
    const pair = [...report.values()].find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    const end = (id) => {
      const c = report.get(id);
      return c && { address: c.address, port: c.port, protocol: c.protocol, type: c.candidateType, tcpType: c.tcpType, relayProtocol: c.relayProtocol };
    };
    return pair ? { local: end(pair.localCandidateId), remote: end(pair.remoteCandidateId) } : null;
  }, null, { timeout: 15000, polling: 100 }).catch(() => null);
  return found ? found.jsonValue() : null;
}

/** Signs `user` in with `password` on the page at `path` (the console or
 *  the back office) and waits for `ready`. */
export async function signInStaff(page, base, path, user, password, ready) {
  await page.goto(`${base}${path}`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector(ready);
}

/** Signs the test admin in on the back office in `page`. */
export const signInAdmin = (page, base) => signInStaff(page, base, '/admin', 'admin', 'browser-admin-password', '#m-total');

/** Signs `user` (password `password-{user}`) in on the agent console in `page`
 *  and waits until it is Ready. */
export async function signInAgent(page, base, user) {
  await signInStaff(page, base, '/agent', user, `password-${user}`, '#agent-state');
  await page.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'ready');
}

/** The plain call test page for `session` with `token`, once connected. */
export async function openCall(b, base, session, token) {
  const page = await b.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log(`  [page] ${m.text()}`));
  await page.goto(`${base}/web/call-test.html?session=${session}&token=${token}`);
  await page.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, {
    timeout: 20_000,
  });
  return page;
}

/** A visitor queued and answered by a new agent, `agent_a1`, with video;
 *  both on the call test page, connected. */
export async function answeredCall(b, base) {
  const a1 = await agent(base, 'agent_a1');
  const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'visitor_1' }, '');
  await api(base, 'POST', '/agents/agent_a1/accept', { media: 'video' }, a1);
  const visitor = await openCall(b, base, joined.session_id, joined.token);
  const agent1 = await openCall(b, base, joined.session_id, a1);
  return { visitor, agent: agent1, session: joined.session_id };
}

/** Starts a server (with `options` for `startServer`) and a browser, runs
 *  `body({ base, server, browser })`, and exits 1 (after printing why) if it throws. */
export async function run(body, options) {
  const server = await startServer(options);
  const b = await browser();
  let failed = false;
  try {
    await body({ base: server.base, server, browser: b });
  } catch (e) {
    failed = true;
    console.error(`FAIL: ${e.message}`);
  } finally {
    await b.close();
    server.stop();
  }
  process.exit(failed ? 1 : 0);
}

/** A small seeded PRNG (mulberry32): impairments the same on every run. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A user-space UDP relay, as a 1:1 NAT or an impaired network would be:
 *  datagrams to `listen` ([host, port]) go on to `target` from a socket of
 *  their own per client (so the server sees the relay's address), and the
 *  answers come back from `listen`. With `loss` (0-1) each datagram, either
 *  way, is dropped with that probability, and the rest are delayed by a
 *  normal draw of mean `delayMs` and deviation `jitterMs` (so they may
 *  reorder). Resolves with `{ block, close, counts, port }`. */
export async function udpRelay({ listen, target, loss = 0, delayMs = 0, jitterMs = 0, seed = 1 }) {
  const random = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random());
  let closed = false;
  const pass = (send) => {
    if (loss > 0 && random() < loss) return false;
    const wait = delayMs || jitterMs ? Math.max(0, delayMs + jitterMs * normal()) : 0;
    // A delayed datagram may come due after the relay closed: it is lost.
    const go = () => !closed && send();
    if (wait > 0) setTimeout(go, wait);
    else go();
    return true;
  };
  const front = dgram.createSocket('udp4');
  const backs = new Map();
  const blocked = new Set();
  const counts = { up: 0, down: 0, dropped: 0 };
  front.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    if (blocked.has(key)) return;
    let back = backs.get(key);
    if (!back) {
      back = dgram.createSocket('udp4');
      back.bind(0, listen[0]);
      back.on('message', (reply) => {
        if (blocked.has(key)) return;
        if (pass(() => front.send(reply, from.port, from.address))) counts.down++;
        else counts.dropped++;
      });
      backs.set(key, back);
    }
    if (pass(() => back.send(msg, target[1], target[0]))) counts.up++;
    else counts.dropped++;
  });
  await new Promise((resolve) => front.bind(listen[1], listen[0], resolve));
  return {
    counts,
    port: front.address().port,
    /** Drops everything from and to one client from now on, named by its
     *  own address or by the one the server sees (the relay's socket for
     *  it): the path it was on is gone (its network changed, its NAT
     *  forgot it). */
    block(address, port) {
      blocked.add(`${address}:${port}`);
      for (const [key, back] of backs) if (back.address().port === port) blocked.add(key);
    },
    close() {
      closed = true;
      front.close();
      for (const b of backs.values()) b.close();
    },
  };
}

/** A port free now on loopback. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One etcd member (Debian's, which scripts/test.sh installs), healthy. */
export async function startEtcd() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const child = spawn('etcd', ['--name', 'm1', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `m1=http://127.0.0.1:${peer}`, '--log-level', 'error'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await (await fetch(`${url}/health`)).json()).health === 'true') return { url, stop: () => child.kill('SIGKILL') };
    } catch {}
    await sleep(100);
  }
  throw new Error('etcd did not start');
}

/** Nodes `ids` of one cluster on `etcd` (with `options` for `startServer`;
 *  one recording directory, as the settings must be the same). */
export async function startCluster(etcd, ids, options = {}) {
  const recordings = mkdtempSync(join(tmpdir(), 'switchboard-recordings-'));
  const nodes = [];
  for (const id of ids) {
    const port = await freePort();
    const env = { SWITCHBOARD_ETCD: etcd.url, SWITCHBOARD_NODE_ID: id, SWITCHBOARD_ADVERTISE: `http://127.0.0.1:${port}` };
    nodes.push(await startServer({ ...options, listen: `127.0.0.1:${port}`, env, recordings }));
  }
  return nodes;
}

/** The node of `nodes` that leads (waiting 10 s at most for one). */
export async function leaderOf(nodes) {
  for (let i = 0; i < 100; i++) {
    for (const n of nodes) {
      try {
        if ((await (await fetch(`${n.base}/healthz`)).json()).role === 'leader') return n;
      } catch {}
    }
    await sleep(100);
  }
  throw new Error('no leader in 10 s');
}
