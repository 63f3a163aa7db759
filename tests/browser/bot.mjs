// The bot front desk in the pages: a workgroup's rule bot greets a chat
// visitor with quick options; an option answers for the visitor; "Talk to a
// person" hands over; the agent's ring panel shows what the bot learnt
// (reason, the order number it collected, the visitor's last words); the
// agent accepts and the conversation, bot lines included, is on the
// console. Screenshots under target/ui/ (desktop and phone, en and zh).
import { mkdirSync } from 'node:fs';
import { agent, api, check, run } from './lib.mjs';

const SHOTS = new URL('../../target/ui/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const BOT = {
  bot: {
    kind: 'rules',
    dialog: {
      start: 'welcome',
      nodes: {
        welcome: {
          reply: '您好，我是智能助手。请问有什么可以帮您？',
          options: ['查订单', '退货'],
          routes: [{ keywords: ['订单'], next: 'order' }],
        },
        order: {
          reply: '请告诉我订单号',
          intent: 'order_status',
          routes: [{ pattern: '(?P<order_no>\\d{6,})', next: 'noted' }],
        },
        noted: { reply: '好的，订单 {order_no} 已记下。' },
      },
    },
  },
};

async function page(browser, viewport, lang) {
  const context = await browser.newContext({ viewport, locale: lang });
  const p = await context.newPage();
  p.errors = [];
  p.on('pageerror', (e) => p.errors.push(e.message));
  p.on('console', (m) => m.type() === 'error' && p.errors.push(m.text()));
  return p;
}

const shot = (p, name) => p.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
const texts = (p) => p.$$eval('.messages li', (li) => li.map((x) => x.textContent));

await run(async ({ base, browser }) => {
  await api(base, 'PUT', '/workgroups/default/bot', BOT);
  await agent(base, 'a1');
  for (const [lang, viewport, suffix] of [
    ['zh-CN', DESKTOP, 'desktop-zh'],
    ['en', PHONE, 'phone-en'],
  ]) {
    const visitorId = `bot-${suffix}`;
    const joined = await api(base, 'POST', '/queue/join', { visitor_id: visitorId, channel: 'chat' }, '');
    check(joined.status === 'bot', `the join says the bot has the visitor (${joined.status})`);
    const visitor = await page(browser, viewport, lang);
    await visitor.goto(`${base}/?session=${joined.session_id}&role=customer&token=${joined.token}&lang=${lang}`);
    await visitor.waitForSelector('.messages li.bot .options button');
    await visitor.waitForSelector('#escalate:not([hidden])');
    check((await texts(visitor)).some((t) => t.includes('智能助手')), 'the bot greets the visitor with its quick options');
    // A quick option answers for the visitor; the bot follows its route.
    await visitor.click('.messages li.bot .options button >> text=查订单');
    await visitor.waitForFunction(() => [...document.querySelectorAll('.messages li.bot .text')].some((e) => e.textContent === '请告诉我订单号'));
    await visitor.fill('.compose textarea', '订单号 88123456');
    await visitor.press('.compose textarea', 'Enter');
    await visitor.waitForFunction(() => [...document.querySelectorAll('.messages li.bot .text')].some((e) => e.textContent.includes('88123456')));
    check(true, 'a quick option and a typed order number take the dialog along');
    await shot(visitor, `visitor-bot-${suffix}`);

    const console_ = await page(browser, viewport, lang);
    await console_.goto(`${base}/agent?lang=${lang}`);
    await console_.fill('#username', 'a1');
    await console_.fill('#password', 'password-a1');
    await console_.click('button[type=submit]');
    await console_.waitForSelector('#status-select');

    // A transfer the visitor declines, then one they ask for.
    await console_.selectOption('#status-select', 'not_ready:break');
    await visitor.click('#escalate');
    await visitor.waitForSelector('#refuse:not([hidden])');
    await visitor.click('#refuse');
    await visitor.waitForSelector('#escalate:not([hidden])');
    check((await texts(visitor)).some((t) => /carrying on|继续/.test(t)), 'the visitor may stay with the assistant instead');
    await console_.selectOption('#status-select', 'ready');
    await visitor.click('#escalate');
    await console_.waitForSelector('#ring #ring-context');
    const ctx = await console_.textContent('#ring-context');
    check(/talk to a person|转人工/.test(ctx) && ctx.includes('order_no: 88123456') && ctx.includes('订单号 88123456'), `the ring panel shows the bot's context: ${ctx}`);
    await visitor.waitForFunction(() => document.querySelector('#escalate').hidden);
    check((await texts(visitor)).some((t) => /转接|Connecting/.test(t)), 'the visitor is told they are being transferred');
    await shot(console_, `agent-ring-bot-${suffix}`);
    await console_.keyboard.press('v');
    await console_.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent.includes('请告诉我订单号')));
    check(true, "the agent's console has the whole conversation, the bot's lines included");
    const kept = await console_.textContent('#session-context');
    check(kept.includes('order_no: 88123456'), `the console keeps the bot's context in view: ${kept}`);
    await shot(console_, `agent-chat-bot-${suffix}`);
    await api(base, 'DELETE', `/sessions/${joined.session_id}`);
    for (const p of [visitor, console_]) {
      check(p.errors.length === 0, `no console errors: ${p.errors.join(' | ')}`);
      await p.context().close();
    }
  }
  // The back office shows the bot's record of a session: each weighing.
  const admin = await page(browser, DESKTOP, 'en');
  await admin.goto(`${base}/admin`);
  await admin.fill('#username', 'admin');
  await admin.fill('#password', 'browser-admin-password');
  await admin.click('button[type=submit]');
  await admin.waitForSelector('#m-total');
  await admin.click('#tab-sessions');
  await admin.waitForSelector('tr[data-session] button');
  await admin.click('tr[data-session] button');
  await admin.waitForSelector('#bot-view table.decisions tbody tr');
  const rows = await admin.$$eval('#bot-view tbody tr', (r) => r.map((x) => x.textContent));
  check(rows.some((r) => r.includes('→')), `the back office lists the bot's decisions: ${rows.join(' | ')}`);
  await shot(admin, 'admin-bot-decisions-desktop');
  check(admin.errors.length === 0, `no console errors in the back office: ${admin.errors.join(' | ')}`);
  const stats = await api(base, 'GET', '/workgroups/default/bot');
 check(stats.stats.handoffs === 4 && stats.stats.reasons.escalate === 4 && stats.stats.refused === 2, `the bot's figures: ${JSON.stringify(stats.stats.reasons)}`);
});
