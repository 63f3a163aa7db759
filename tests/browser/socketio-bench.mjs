// Memory per idle socket.io connection (printed, not a test): N visitors
// join for chat, connect with the npm socket.io-client over WebSocket and
// stay idle; the server's resident memory is read before and after.
// Run: `node socketio-bench.mjs [N]` (default 2,000) after `cargo build`.
import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { api, sleep, startServer } from './lib.mjs';

const n = Number(process.argv[2] || 2000);
const server = await startServer({
  customerService: `  max_queue_size: ${n + 10}\n  max_sessions: ${n + 10}\n`,
  security: `  connections_per_address: ${2 * n + 100}\n  connections_max: ${2 * n + 100}\n`,
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))[1]);
const sockets = [];
try {
  const tokens = [];
  for (let i = 0; i < n; i++) {
    tokens.push((await api(server.base, 'POST', '/queue/join', { visitor_id: `m${i}`, channel: 'chat' })).token);
  }
  await sleep(500);
  const before = rss();
  for (let i = 0; i < n; i += 100) {
    await Promise.all(tokens.slice(i, i + 100).map((token) => new Promise((resolve, reject) => {
      const s = io(server.base, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      s.once('connected', resolve);
      s.once('connect_error', reject);
    })));
  }
  await sleep(2000);
  const after = rss();
  console.log(`idle socket.io: ${sockets.length} connected, server RSS ${before} -> ${after} KiB: ${((after - before) / sockets.length).toFixed(1)} KiB per connection`);
} finally {
  sockets.forEach((s) => s.disconnect());
  server.stop();
}
process.exit(0);
