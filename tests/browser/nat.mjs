// 1:1 NAT, as on a cloud VM: the media plane is bound to a private address
// (10.211.0.2:8181) and told its public one (`public_ip: 10.211.0.1`), which
// only a user-space UDP relay holds: the browsers reach the server through
// it alone, and the server sees every packet arrive at its private address.
// Both sides decode video and play audio.
import { answeredCall, check, growth, run, selectedPair, udpRelay } from './lib.mjs';

const relay = await udpRelay({ listen: ['10.211.0.1', 8181], target: ['10.211.0.2', 8181] });
await run(
  async ({ base, browser: b }) => {
    const { visitor, agent: agent1 } = await answeredCall(b, base);
    for (const [who, page] of [['the visitor', visitor], ['the agent', agent1]]) {
      const r = (await selectedPair(page))?.remote;
      const remote = r && `${r.address}:${r.port}/${r.protocol}`;
      check(remote === '10.211.0.1:8181/udp', `${who} is connected to the public address (${remote})`);
      const stats = () => page.evaluate(() => window.call.stats());
      const [x, y] = await growth(stats, (s) => s.video.framesDecoded > 0 && s.audio.totalSamplesReceived > 0);
      check(y.video.framesDecoded > x.video.framesDecoded + 10, `${who} decodes video through the NAT (${x.video.framesDecoded} -> ${y.video.framesDecoded} frames)`);
      check(y.audio.totalSamplesReceived > x.audio.totalSamplesReceived, `${who} plays audio through the NAT`);
    }
    check(relay.counts.up > 100 && relay.counts.down > 100, `the media went through the relay (${relay.counts.up} up, ${relay.counts.down} down)`);
    relay.close();
  },
  { mediaBind: '10.211.0.2:8181', media: '  public_ip: 10.211.0.1\n' },
);
