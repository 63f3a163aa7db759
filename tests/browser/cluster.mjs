// Two nodes of a cluster on a one-member etcd, driven by the npm
// socket.io-client: an agent's socket on the leader and a visitor's on the
// follower chat both ways. The follower forwards the visitor's events to
// the leader and delivers the agent's messages from the log; the visitor
// joined through the follower, which forwarded that too.
import { io } from 'socket.io-client';
import { agent, api, check, leaderOf, startCluster, startEtcd } from './lib.mjs';

/** A connected socket (rejects after 5 s); acks time out after 5 s. */
function connect(base, auth) {
  const socket = io(base, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ackTimeout: 5000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect within 5 s')), 5000);
    socket.once('connect', () => { clearTimeout(t); resolve(socket); });
    socket.once('connect_error', (e) => { clearTimeout(t); reject(e); });
  });
}

/** The next `event` on `socket` (5 s at most). */
function next(socket, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), 5000);
    socket.once(event, (data) => { clearTimeout(t); resolve(data); });
  });
}

const etcd = await startEtcd();
const nodes = [];
const sockets = [];
let failed = false;
try {
  nodes.push(...(await startCluster(etcd, ['n1', 'n2'], { record: false })));
  const leader = await leaderOf(nodes);
  const follower = nodes.find((n) => n !== leader);

  const token = await agent(leader.base, 'a1');
  const a1 = await connect(leader.base, { token });
  sockets.push(a1);
  check((await a1.emitWithAck('agent:login', {})).status === 'ok', 'the agent signs in on the leader');
  const offered = next(a1, 'customer:new');
  const joined = await api(follower.base, 'POST', '/queue/join', { visitor_id: 'v1', visitor_name: 'Visitor', channel: 'chat' }, '');
  check((await offered).session_id === joined.session_id, 'a join through the follower rings the agent on the leader');

  const visitor = await connect(follower.base, { token: joined.token });
  sockets.push(visitor);
  const assigned = next(visitor, 'agent:assigned');
  check((await a1.emitWithAck('session:accept', {})).result === 'accepted', 'the agent accepts on the leader');
  check((await assigned).agent_id === 'a1', 'agent:assigned reaches the visitor on the follower');

  const incoming = next(a1, 'customer:message');
  const sent = await visitor.emitWithAck('customer:message', { text: 'hello from the follower', client_id: 'c1' });
  check(sent.status === 'sent' && sent.message.seq > 0, 'the visitor\'s message, sent on the follower, is acknowledged once stored');
  check((await incoming).text === 'hello from the follower', 'the agent receives it on the leader');

  const reply = next(visitor, 'agent:message');
  await a1.emitWithAck('agent:message', { session_id: joined.session_id, text: 'hello from the leader', client_id: 'a-1' });
  check((await reply).text === 'hello from the leader', 'the agent\'s reply reaches the visitor on the follower');
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  failed = true;
} finally {
  for (const s of sockets) s.close();
  for (const n of nodes) n.stop();
  etcd.stop();
}
process.exit(failed ? 1 : 0);
