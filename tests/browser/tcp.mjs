// ICE over TCP: a server that offers only its passive TCP candidate (as a
// network that drops UDP would leave it), a visitor and an agent in
// headless Chromium: the call connects over TCP and both sides decode video
// and play audio.
import { answeredCall, check, growth, run, selectedPair } from './lib.mjs';

/** The protocol of the pair ICE chose, from the browser's own stats. */
const transport = async (page) => {
  const pair = await selectedPair(page);
  return { local: pair?.local?.protocol, remote: pair?.remote?.protocol, tcpType: pair?.remote?.tcpType };
};

await run(
  async ({ base, browser: b }) => {
    const { visitor, agent: agent1 } = await answeredCall(b, base);
    for (const [who, page] of [['the visitor', visitor], ['the agent', agent1]]) {
      const t = await transport(page);
      check(t.local === 'tcp' && t.remote === 'tcp' && t.tcpType === 'passive', `${who} is connected over TCP (${JSON.stringify(t)})`);
      const stats = () => page.evaluate(() => window.call.stats());
      const [x, y] = await growth(stats, (s) => s.video.framesDecoded > 0 && s.audio.totalSamplesReceived > 0);
      check(y.video.framesDecoded > x.video.framesDecoded + 10, `${who} decodes video over TCP (${x.video.framesDecoded} -> ${y.video.framesDecoded} frames)`);
      check(y.audio.totalSamplesReceived > x.audio.totalSamplesReceived, `${who} plays audio over TCP`);
    }
  },
  { media: '  ice_udp: false\n' },
);
