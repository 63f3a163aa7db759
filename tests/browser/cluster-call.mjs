// A call through a cluster whose leader dies in the middle: the visitor
// and the agent use the follower's pages and media plane; the leader is
// SIGKILLed while they talk; their media goes on, the follower is elected,
// and the call is ended and rated through it.
import { ADMIN, agent, api, check, growth, leaderOf, openCall, sleep, startCluster, startEtcd, browser } from './lib.mjs';

const stats = (page) => page.evaluate(() => window.call.stats());

async function grows(page, who, when) {
  const [a, b] = await growth(() => stats(page), (s) => s.video.framesDecoded > 0);
  check(b.video.framesDecoded > a.video.framesDecoded + 10, `${who} decodes video ${when} (${a.video.framesDecoded} -> ${b.video.framesDecoded} frames)`);
}

const etcd = await startEtcd();
const nodes = [];
let b;
let failed = false;
try {
  nodes.push(...(await startCluster(etcd, ['n1', 'n2'], { record: false })));
  const leader = await leaderOf(nodes);
  const follower = nodes.find((n) => n !== leader);
  const base = follower.base;

  // Everything through the follower: its writes go to the leader.
  const a1 = await agent(base, 'agent_a1');
  const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'visitor_1' }, '');
  await api(base, 'POST', '/agents/agent_a1/accept', { media: 'video' }, a1);
  b = await browser();
  const visitor = await openCall(b, base, joined.session_id, joined.token);
  const agent1 = await openCall(b, base, joined.session_id, a1);
  await grows(visitor, 'the visitor', 'before the leader dies');
  await grows(agent1, 'the agent', 'before the leader dies');

  const killed = Date.now();
  leader.stop();
  await grows(visitor, 'the visitor', 'while the leader is dead');
  await grows(agent1, 'the agent', 'while the leader is dead');
  check((await leaderOf([follower])) === follower, `the follower leads (seen ${((Date.now() - killed) / 1000).toFixed(1)} s after the kill)`);

  // The call goes on to its end, through the new leader.
  await api(base, 'DELETE', `/sessions/${joined.session_id}`, undefined, a1);
  await api(base, 'POST', `/sessions/${joined.session_id}/rate`, { rating: 5 }, joined.token);
  const s = await api(base, 'GET', `/sessions/${joined.session_id}`, undefined, ADMIN);
  check(s.status === 'ended' && s.rating?.rating === 5, `the call ends and is rated after the failover (${s.status}, ${JSON.stringify(s.rating)})`);
  await sleep(100);
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  failed = true;
} finally {
  if (b) await b.close();
  for (const n of nodes) n.stop();
  etcd.stop();
}
process.exit(failed ? 1 : 0);
