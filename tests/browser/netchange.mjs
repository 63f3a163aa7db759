// A network change mid-call: the visitor's path dies (the relay that stands
// for its NAT drops everything from and to the address it used, as when a
// phone leaves Wi-Fi or a NAT forgets a mapping) while another way to the
// server still exists. The call must come back by itself: the visitor's
// page restarts ICE (new credentials through WHIP's PATCH) on another path,
// and then decodes the agent's video again and the agent the visitor's.
// Prints the time from the change to media flowing again on both sides.
import { ADMIN, answeredCall, check, run, selectedPair, sleep, udpRelay } from './lib.mjs';

const relay = await udpRelay({ listen: ['10.211.0.1', 8181], target: ['10.211.0.2', 8181] });
const frames = (page) => page.evaluate(() => window.call.stats().then((s) => s.video.framesDecoded));

/** Ms from `since` until `page` has decoded `count` more frames than it had
 *  once its old path was surely dead (a second after the change). */
async function recovered(page, since, count = 10) {
  await sleep(Math.max(0, since + 1000 - Date.now()));
  const stalled = await frames(page);
  for (;;) {
    if ((await frames(page)) >= stalled + count) return Date.now() - since;
    if (Date.now() - since > 30_000) return null;
    await sleep(50);
  }
}

await run(
  async ({ base, browser: b }) => {
    const { visitor, agent: agent1 } = await answeredCall(b, base);
    await sleep(2000);
    const before = (await selectedPair(visitor)).local;
    relay.block(before.address, before.port);
    const changed = Date.now();
    const [v, a] = await Promise.all([recovered(visitor, changed), recovered(agent1, changed)]);
    console.log(`  time to media again after the visitor's network changed: visitor ${v} ms, agent ${a} ms`);
    check(v != null, `the visitor decodes the agent's video again (${v} ms after the change)`);
    check(a != null, `the agent decodes the visitor's video again (${a} ms after the change)`);
    const after = (await selectedPair(visitor)).local;
    const recoveries = await visitor.evaluate(() => window.call.recoveries);
    check(recoveries.length >= 1, `the visitor's page saw its path go quiet and come back (${recoveries.join(', ')} ms from the last packet to the next)`);
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const answered = Number(/switchboard_media_ice_restarts_total (\d+)/.exec(metrics)?.[1]);
    check(answered >= 1, `the server answered the restart (${answered} in /metrics)`);
    check(`${after.address}:${after.port}` !== `${before.address}:${before.port}`, `on another path (${before.address}:${before.port} -> ${after.address}:${after.port})`);
    relay.close();
  },
  { mediaBind: '10.211.0.2:8181', media: '  public_ip: 10.211.0.1\n' },
);
