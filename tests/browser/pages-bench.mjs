// Figures of the pages, printed (not a test): bytes of JavaScript and CSS
// each page loads (on the wire, gzipped by the server, and unpacked), time to first contentful paint
// of each page in headless Chromium (median of 5 loads), and the time from
// a visitor's join to the ring panel visible in the agent's page, p50/p99
// over 50 rings, and axe-core's violations on each page (serious or
// critical, and all). Run: `node pages-bench.mjs` after `cargo build`
// (SWITCHBOARD_BIN=… for another build, to compare).
import { agent, api, browser, startServer } from './lib.mjs';

const server = await startServer();
const { base } = server;
const b = await browser();
const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)];
};
try {
  const token = await agent(base, 'bench');
  for (const [name, path] of [['home', '/'], ['visitor', '/visit'], ['agent', '/agent'], ['admin', '/admin']]) {
    const paints = [];
    let bytes = 0;
    let gz = 0;
    for (let i = 0; i < 5; i++) {
      const context = await b.newContext();
      const p = await context.newPage();
      const seen = [];
      p.on('requestfinished', async (q) => {
        if (/\.(js|css)$/.test(q.url())) seen.push([(await q.sizes()).responseBodySize, (await (await q.response()).body()).length]);
      });
      await p.goto(`${base}${path}`, { waitUntil: 'networkidle' });
      const fcp = await p.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
      paints.push(fcp);
      gz = seen.reduce((n, [wire]) => n + wire, 0);
      bytes = seen.reduce((n, [, plain]) => n + plain, 0);
      await context.close();
    }
    console.log(`page ${name.padEnd(8)} JS+CSS ${gz} bytes on the wire (${bytes} unpacked)   first contentful paint median ${pct(paints, 0.5).toFixed(0)} ms`);
  }

  // Ring latency: join sent -> ring panel in the agent's page.
  const context = await b.newContext();
  const p = await context.newPage();
  await p.goto(`${base}/agent`);
  await p.evaluate((t) => sessionStorage.setItem('staff', t), token);
  await p.goto(`${base}/agent`);
  await p.waitForSelector('#agent-state[data-state]');
  const samples = [];
  for (let i = 0; i < 50; i++) {
    const visitor = `ring${i}`;
    const sent = Date.now();
    await api(base, 'POST', '/queue/join', { visitor_id: visitor });
    const handle = await p.waitForFunction((v) => window.ringShown && document.querySelector('#ring-who')?.textContent === v && window.ringShown.at, visitor);
    samples.push((await handle.jsonValue()) - sent);
    await api(base, 'POST', '/queue/leave', { visitor_id: visitor });
    await p.waitForSelector('#ring', { state: 'detached' }).catch(() => {});
  }
  console.log(`ring: join sent -> ring panel visible   p50 ${pct(samples, 0.5).toFixed(1)} ms   p99 ${pct(samples, 0.99).toFixed(1)} ms   (n=${samples.length})`);

  // axe-core on each page as a user first sees it (agent console and back
  // office signed in). The pages' CSP refuses axe's inline script: bypassed.
  const axeContext = await b.newContext({ bypassCSP: true, viewport: { width: 1280, height: 860 } });
  const admin = (await api(base, 'POST', '/auth/login', { username: 'admin', password: 'browser-admin-password' }, '')).token;
  const audit = async (name, path, staff, ready, after) => {
    const q = await axeContext.newPage();
    await q.goto(`${base}/`);
    await q.evaluate((t) => (t ? sessionStorage.setItem('staff', t) : sessionStorage.clear()), staff);
    await q.goto(`${base}${path}`);
    await q.waitForSelector(ready);
    if (after) await after(q);
    await q.addScriptTag({ path: new URL('node_modules/axe-core/axe.min.js', import.meta.url).pathname });
    const v = await q.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations.map((x) => `${x.impact}:${x.id}`));
    const bad = v.filter((x) => /^(serious|critical):/.test(x));
    console.log(`axe ${name.padEnd(20)} serious or critical ${bad.length}   all ${v.length}   ${v.join(' ')}`);
    await q.close();
  };
  await audit('home', '/', null, 'a.card');
  await audit('visitor entry', '/visit', null, '#name');
  await audit('agent sign-in', '/agent', null, '#username');
  await audit('agent console', '/agent', token, '#agent-state[data-state]');
  await audit('back office sign-in', '/admin', null, '#username');
  for (const t of ['dashboard', 'sessions', 'agents', 'workgroups', 'accounts', 'audit']) {
    await audit(`back office ${t}`, '/admin', admin, '#m-total', async (q) => {
      await q.click(`#tab-${t}`);
      await q.waitForTimeout(400);
    });
  }
} finally {
  await b.close();
  server.stop();
}
