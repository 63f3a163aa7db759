// Honest indicators: a call whose media cannot connect says so. The server
// advertises an address nobody holds (as a wrong `public_ip` would), so
// ICE never succeeds: after a few seconds both the visitor's page and the
// agent's console say the call could not connect and offer retry, audio
// only and chat only (never "good"); chat only keeps the conversation
// going. With media flowing (readme.mjs) the same line shows figures.
import { mkdirSync } from 'node:fs';
import { agent as account, check, run, signInAgent } from './lib.mjs';

const SHOTS = new URL('../../target/ui/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const line = (p) => p.evaluate(() => {
  const q = document.querySelector('#quality');
  return q && { state: q.dataset.state, level: q.dataset.level || null, text: q.querySelector('#media-state').textContent };
});

await run(
  async ({ base, browser }) => {
    await account(base, 'a1');
    const agent = await (await browser.newContext({ permissions: ['camera', 'microphone'] })).newPage();
    await signInAgent(agent, base, 'a1');
    const visitor = await (await browser.newContext({ permissions: ['camera', 'microphone'], viewport: { width: 390, height: 844 } })).newPage();
    await visitor.goto(`${base}/visit`);
    await visitor.fill('#name', 'Eve');
    await visitor.fill('#question', 'Hello?');
    await visitor.click('button[type=submit]');
    await agent.waitForSelector('#ring');
    await agent.click('#accept-video');
    await visitor.waitForSelector('section.call #quality');

    const early = await line(visitor);
    check(early.state === 'connecting' && !/good/.test(early.text), `while ICE checks, the visitor sees "${early.text}"`);
    for (const [who, p] of [['visitor', visitor], ['agent', agent]]) {
      await p.waitForFunction(() => document.querySelector('#quality')?.dataset.state === 'failed', null, { timeout: 20_000 });
      const l = await line(p);
      const ways = await p.$$eval('#quality .media-ways button', (b) => b.map((x) => x.id));
      check(!l.level && !/good/.test(l.text) && ways.join() === 'media-retry,media-audio,media-chat', `the ${who} is told the media failed and offered ${ways.join(', ')} ("${l.text}")`);
    }
    await visitor.screenshot({ path: `${SHOTS}visitor-media-failed-phone.png`, fullPage: true });
    await agent.screenshot({ path: `${SHOTS}agent-media-failed-desktop.png`, fullPage: true });
    // In Chinese too: the line follows a change of language.
    await visitor.selectOption('header select', 'zh-CN');
    await visitor.waitForFunction(() => document.querySelector('#media-state')?.textContent === '通话未能接通');
    check((await visitor.textContent('#media-chat')) === '仅文字', 'the failure and its ways read in Chinese');
    await visitor.screenshot({ path: `${SHOTS}visitor-media-failed-phone-zh.png`, fullPage: true });
    await visitor.selectOption('header select', 'en');

    // Chat only: no media, the conversation goes on.
    await visitor.click('#media-chat');
    check(await visitor.$$eval('section.call video', (v) => v.length) === 0, 'chat only drops the videos');
    await visitor.fill('.compose textarea', 'typing instead');
    await visitor.press('.compose textarea', 'Enter');
    await agent.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === 'typing instead'));
    check(true, 'the conversation goes on in chat');
  },
  { media: '  public_ip: 10.211.0.9\n' },
);
