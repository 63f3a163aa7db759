// The seed's socket.io chat, driven by the stock npm `socket.io-client`
// against the real binary: a visitor and an agent exchange messages both ways
// with statuses, typing, a retry that is not duplicated, a private note that
// never reaches the visitor, history after reconnecting, agent-to-agent
// messages, a system notification, refusals, the end of the session, and a
// disabled account's socket cut off.
import { io } from 'socket.io-client';
import { ADMIN, agent, api, check, sleep, startServer } from './lib.mjs';

/** A connected socket (rejects on connect_error, or after 5 s). Every
 *  acknowledgement it waits for times out after 5 s too: a lost one fails
 *  the run instead of hanging it. */
function connect(base, auth, transports) {
  const socket = io(base, { auth, transports, reconnection: false, forceNew: true, ackTimeout: 5000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect within 5 s')), 5000);
    socket.once('connect', () => {
      clearTimeout(t);
      resolve(socket);
    });
    socket.once('connect_error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Collects every `event` a socket receives. */
function collect(socket, event) {
  const got = [];
  socket.on(event, (data) => got.push(data));
  return got;
}

/** Resolves with the next `event` (5 s at most). */
function next(socket, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), 5000);
    socket.once(event, (data) => {
      clearTimeout(t);
      resolve(data);
    });
  });
}

const server = await startServer();
const { base } = server;
let failed = false;
const sockets = [];
try {
  const t1 = await agent(base, 'a1');
  const t2 = await agent(base, 'a2');
  await api(base, 'PUT', '/agents/a2/weight', { weight: 1 });
  await api(base, 'POST', '/agents/a2/unavailable', undefined, t2);

  // The agent over WebSocket only; the visitor lets the client poll, then upgrade.
  const a1 = await connect(base, { token: t1 }, ['websocket']);
  sockets.push(a1);
  const login = await a1.emitWithAck('agent:login', {});
  check(login.status === 'ok', 'agent:login signs the agent in');

  const offered = next(a1, 'customer:new');
  const joined = await api(base, 'POST', '/queue/join', { visitor_id: 'v1', visitor_name: '张三', channel: 'chat' }, '');
  const sid = joined.session_id;
  const offer = await offered;
  check(offer.session_id === sid && offer.channel === 'chat', 'customer:new offers the chat to the agent');

  let visitor = await connect(base, { token: joined.token }, undefined);
  sockets.push(visitor);
  const assigned = next(visitor, 'agent:assigned');
  const accepted = await a1.emitWithAck('session:accept', {});
  check(accepted.result === 'accepted', 'session:accept answers');
  check((await assigned).agent_id === 'a1', 'agent:assigned reaches the visitor');
  const start = await visitor.emitWithAck('customer:join', {});
  check(Array.isArray(start.messages), 'customer:join returns the history');

  // Visitor -> agent: markup is text, and the ack carries the stored message.
  const incoming = next(a1, 'customer:message');
  const html = '<i>hi</i><img src=x onerror=alert(1)>';
  const sent = await visitor.emitWithAck('customer:message', { text: html, client_id: 'c1' });
  check(sent.status === 'sent' && sent.message.seq > 0, `customer:message acknowledged once stored (seq ${sent.message.seq})`);
  const got = await incoming;
  check(got.text === html && got.from.name === '张三', 'the agent receives the same text, from the visitor');

  // Statuses: delivered and read reach the visitor.
  const statuses = collect(visitor, 'message:status');
  await a1.emitWithAck('message:receipt', { session_id: sid, delivered: got.seq });
  await a1.emitWithAck('message:receipt', { session_id: sid, read: got.seq });
  await sleep(300);
  check(statuses.some((s) => s.delivered === got.seq) && statuses.some((s) => s.read === got.seq), 'message:status delivered, then read');

  // Typing, agent -> visitor.
  const typing = next(visitor, 'agent:typing');
  await a1.emitWithAck('agent:typing', { session_id: sid });
  check((await typing).from.id === 'a1', 'agent:typing reaches the visitor');

  // Agent -> visitor; a private note does not.
  const fromAgent = collect(visitor, 'agent:message');
  await a1.emitWithAck('agent:message', { session_id: sid, text: 'Hello! How can I help?', client_id: 'a-1' });
  const note = await a1.emitWithAck('agent:message', { session_id: sid, text: 'refund pending', private: true });
  check(note.message.kind === 'note', 'a private note is stored as a note');
  // A retry of the visitor's message is not stored or delivered again.
  const seenByAgent = collect(a1, 'customer:message');
  const retry = await visitor.emitWithAck('customer:message', { text: html, client_id: 'c1' });
  check(retry.duplicate === true && retry.message.seq === sent.message.seq, 'a retry with the same client_id is not duplicated');
  await sleep(400);
  check(fromAgent.length === 1 && fromAgent[0].text === 'Hello! How can I help?', 'the visitor got the reply and not the note');
  check(seenByAgent.length === 0, 'the agent got no second copy of the retried message');

  // Reconnected, the visitor reads the history: in order, without the note.
  visitor.disconnect();
  visitor = await connect(base, { token: joined.token }, ['websocket']);
  sockets.push(visitor);
  const page = await visitor.emitWithAck('message:history', {});
  const texts = page.messages.filter((m) => m.kind !== 'system').map((m) => m.text);
  check(JSON.stringify(texts) === JSON.stringify([html, 'Hello! How can I help?']), `history after reconnecting: ${JSON.stringify(texts)}`);

  // Agents between themselves, and a notification from a supervisor.
  const a2 = await connect(base, { token: t2 }, ['websocket']);
  sockets.push(a2);
  const internal = next(a2, 'agent:internal');
  await a1.emitWithAck('agent:internal', { to_agent: 'a2', text: 'can you take billing?' });
  check((await internal).text === 'can you take billing?', 'agent:internal reaches the other agent');
  const notified = next(a2, 'system:notification');
  await api(base, 'POST', '/notifications', { text: '队列繁忙', level: 'warning' }, ADMIN);
  check((await notified).text === '队列繁忙', 'system:notification reaches agents');

  // Refusals: clear errors, nothing stored.
  const big = await visitor.emitWithAck('customer:message', { text: 'x'.repeat(5000), client_id: 'big' });
  check(big.error?.code === 'message_too_large', 'an oversized message is refused');
  const stranger = await api(base, 'POST', '/queue/join', { visitor_id: 'v2', channel: 'chat' }, '');
  const s2 = await connect(base, { token: stranger.token }, ['websocket']);
  sockets.push(s2);
  const foreign = await s2.emitWithAck('message:history', { session_id: sid });
  check(foreign.error?.code === 'forbidden', "another visitor cannot read this session's chat");
  const unknown = await a1.emitWithAck('agent:dance', {});
  check(unknown.error?.code === 'unknown_event', 'an unknown event is refused');
  const bad = await a1.emitWithAck('agent:message', 'not an object');
  check(bad.error?.code === 'invalid_input', 'malformed data is refused');
  let refused = false;
  try {
    sockets.push(await connect(base, { token: 'sbs_forged' }, ['websocket']));
  } catch {
    refused = true;
  }
  check(refused, 'a forged token cannot connect');
  // A frame over the server's frame limit (16 KiB) closes that socket
  // before anything reads it; others carry on.
  const closed = new Promise((resolve) => s2.once('disconnect', () => resolve(true)));
  s2.emit('customer:message', { text: 'x'.repeat(64 * 1024), client_id: 'huge' });
  check(await Promise.race([closed, sleep(3000).then(() => false)]), 'a frame over 16 KiB closes its socket');
  const after = await visitor.emitWithAck('message:history', {});
  check(after.messages.filter((m) => m.kind !== 'system').length === 2, 'nothing was stored by the refusals');

  // The visitor hangs up; the agent hears it.
  const ended = next(a1, 'session:end');
  await visitor.emitWithAck('session:end', {});
  check((await ended).session_id === sid, 'session:end reaches the agent');

  // Revocation reaches a live socket: a2's account disabled, its socket
  // (polling, then upgraded) is told and disconnected within a second.
  const late = await connect(base, { token: t2 }, ['polling', 'websocket']);
  sockets.push(late);
  const told = next(late, 'error');
  const gone = new Promise((resolve) => late.once('disconnect', () => resolve(true)));
  const at = Date.now();
  await api(base, 'PATCH', '/accounts/a2', { disabled: true });
  const [error, cut] = await Promise.all([told, Promise.race([gone, sleep(1500).then(() => false)])]);
  check(error.error.code === 'unauthorized' && cut && Date.now() - at < 1500, `a disabled account's socket.io socket is told and cut off (${Date.now() - at} ms)`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.stack || e.message}`);
} finally {
  sockets.forEach((s) => s.disconnect());
  server.stop();
}
process.exit(failed ? 1 : 0);
