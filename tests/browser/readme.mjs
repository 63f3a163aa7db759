// The README's first command, as a new user runs it: the binary with no
// config file and no address settings, only SWITCHBOARD_ADMIN_PASSWORD, in
// a fresh directory (journal ./switchboard.db, HTTP on 0.0.0.0:8180, media
// on 0.0.0.0:8181). run.sh gives the network namespace a non-loopback
// interface besides lo, so the media plane offers several addresses, the
// default route's first. At http://localhost:8180/ an agent signs in and
// answers a visitor from the public entry; both decode the other's video
// and hear the other's audio (energy, not only samples).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, browser, check, growth, selectedPair, signInAgent, sleep } from './lib.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const BASE = 'http://localhost:8180';

/** The README's command, from a fresh directory: nothing but the password. */
function readmeServer() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-readme-'));
  const bin = process.env.SWITCHBOARD_BIN || join(ROOT, 'target/debug/switchboard');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, SWITCHBOARD_ADMIN_PASSWORD: 'change-me' };
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

/** Inbound figures of both kinds from the page's call. */
const stats = (p) => p.evaluate(async () => (window.call ? window.call.stats() : { video: {}, audio: {} }));

const child = readmeServer();
const b = await browser();
let failed = false;
try {
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${BASE}/healthz`).then((r) => r.ok).catch(() => false);
    if (up) break;
    await sleep(100);
  }
  const { token: admin } = await api(BASE, 'POST', '/auth/login', { username: 'admin', password: 'change-me' }, '');
  await api(BASE, 'POST', '/accounts', { username: 'a1', password: 'password-a1', role: 'agent', agent_id: 'a1' }, admin);
  check(true, 'the README command serves at localhost:8180 and the admin signs in with its password');

  const agent = await (await b.newContext({ permissions: ['camera', 'microphone'] })).newPage();
  await signInAgent(agent, BASE, 'a1');

  const visitor = await (await b.newContext({ permissions: ['camera', 'microphone'] })).newPage();
  await visitor.goto(`${BASE}/`);
  await visitor.click('a[href="/visit"]');
  await visitor.fill('#name', 'Dana');
  await visitor.fill('#question', 'Can you see me?');
  await visitor.click('button[type=submit]');
  await agent.waitForSelector('#ring');
  await agent.click('#accept-video');
  await visitor.waitForSelector('section.call video#remote');
  await agent.waitForSelector('section.call video#remote');

  for (const [who, p] of [['visitor', visitor], ['agent', agent]]) {
    const [a, z] = await growth(
      () => stats(p),
      (s) => s.video.framesDecoded > 0 && s.audio.totalAudioEnergy > 0,
    );
    check(z.video.framesDecoded > a.video.framesDecoded, `${who} decodes video (${a.video.framesDecoded} -> ${z.video.framesDecoded} frames)`);
    check(
      z.audio.totalAudioEnergy > a.audio.totalAudioEnergy && z.audio.totalSamplesReceived > a.audio.totalSamplesReceived,
      `${who} hears audio (energy ${a.audio.totalAudioEnergy?.toFixed(4)} -> ${z.audio.totalAudioEnergy?.toFixed(4)})`,
    );
  }
  for (const [who, p] of [['visitor', visitor], ['agent', agent]]) {
    await p.waitForFunction(() => document.querySelector('#quality')?.dataset.state === 'connected');
    console.log(`  the ${who} connected with host candidates in ${await p.evaluate(() => window.call.connectedMs())} ms`);
    const text = await p.textContent('#media-state');
    check(/fps/.test(text) && /kbit\/s/.test(text) && / ms/.test(text), `the ${who} sees the call connected with its figures ("${text}")`);
  }
  const pair = (await selectedPair(visitor))?.remote?.address;
  check(Boolean(pair), `the call runs on a pair with the server's candidate ${pair}`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
} finally {
  await b.close();
  child.kill('SIGKILL');
}
process.exit(failed ? 1 : 0);
