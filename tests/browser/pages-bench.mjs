// Figures of the pages, printed (not a test): bytes of JavaScript and CSS
// each page loads (on the wire, gzipped by the server, and unpacked), time to first contentful paint
// of each page in headless Chromium (median of 5 loads), and the time from
// a visitor's join to the ring panel visible in the agent's page, p50/p99
// over 50 rings. Run: `node pages-bench.mjs` after `cargo build`.
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
  await p.waitForSelector('#status-select');
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
} finally {
  await b.close();
  server.stop();
}
