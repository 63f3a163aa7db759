// The pages served by the binary, in Chromium: an agent signs in and goes
// Ready; a visitor comes through the public entry, waits with a place and an
// estimate, is rung through; the agent's ring panel is a focused alert
// dialog and accepts with video; both decode each other's video; they chat
// both ways (markup stays text, read statuses arrive); the visitor hangs up
// and gives 4 stars with a comment, which the statistics then show. Also an
// audio-only accept, a reject, and a visitor link that cannot open another
// session. Screenshots of every page, desktop and phone, English and
// Chinese, are written under target/ui/.
import { mkdirSync } from 'node:fs';
import { api, check, growth, run, signInAdmin, signInStaff } from './lib.mjs';

const SHOTS = new URL('../../target/ui/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** A page that fails the run on any console error or uncaught exception. */
async function page(browser, viewport, lang = 'en') {
  const context = await browser.newContext({ viewport, locale: lang, permissions: ['camera', 'microphone'] });
  const p = await context.newPage();
  p.errors = [];
  p.on('console', (m) => m.type() === 'error' && p.errors.push(m.text()));
  p.on('pageerror', (e) => p.errors.push(e.message));
  p.on('response', (r) => r.status() >= 400 && p.errors.push(`${r.status()} ${r.request().method()} ${r.url()}`));
  if (process.env.DEBUG) {
    p.on('console', (m) => console.log('console', m.type(), m.text()));
    p.on('websocket', (ws) => ws.on('framereceived', (f) => console.log('ws <-', String(f.payload).slice(0, 160))));
  }
  return p;
}

async function shot(p, name) {
  await p.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

const signIn = (p, base, user) => signInStaff(p, base, '/agent', user, `password-${user}`, '#status-select');

await run(async ({ base, browser }) => {
  // An admin signs in to the back office and creates the agents' accounts.
  const admin = await page(browser, DESKTOP);
  await signInAdmin(admin, base);
  await admin.click('#tab-accounts');
  for (const a of ['a1', 'a2']) {
    await admin.waitForSelector('#new-username');
    await admin.fill('#new-username', a);
    await admin.fill('#new-password', `password-${a}`);
    await admin.selectOption('#new-role', 'agent');
    await admin.fill('#new-agent-id', a);
    await admin.click('#create-account');
    await admin.waitForFunction((u) => [...document.querySelectorAll('td')].some((td) => td.textContent === u), a);
  }
  check(true, 'the admin creates two agent accounts in the back office');
  await shot(admin, 'admin-accounts-desktop');
  await admin.click('#tab-dashboard');
  await admin.waitForSelector('#rating-table');

  // The agent signs in (Ready on entering the console, as the seed's) and
  // takes a break: the visitor will queue.
  const agent = await page(browser, DESKTOP);
  await agent.goto(`${base}/agent`);
  await shot(agent, 'agent-login-desktop');
  await signIn(agent, base, 'a1');
  await agent.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'ready');
  await shot(agent, 'agent-console-desktop');
  await agent.selectOption('#status-select', 'not_ready:break');
  await agent.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'online');
  check(true, 'the agent signs in, goes Ready and Not ready');

  // The back office opens a session for Alice and makes her link (with its
  // QR code); she opens it and waits.
  await admin.click('#tab-sessions');
  await admin.waitForSelector('#new-session');
  await admin.fill('#new-session input[name=title]', 'Late order');
  await admin.fill('#new-session input[name=description]', 'Order 42 has not arrived');
  await admin.fill('#new-session input[name=customer]', 'alice');
  await admin.fill('#new-session input[name=customer_name]', 'Alice <b>');
  await admin.click('#new-session button[type=submit]');
  await admin.waitForSelector('tr[data-session] button');
  await admin.click('tr[data-session] button');
  await admin.click('#make-links');
  await admin.waitForSelector('.links img');
  const link = await admin.inputValue('#visitor-url');
  check(link.startsWith(`${base}/?session=cs_`) && link.includes('role=customer&token=sbv_'), 'the back office makes the visitor link with its QR code');
  await admin.click('#tab-dashboard');
  await admin.waitForSelector('#rating-table');
  const visitor = await page(browser, DESKTOP);
  await visitor.goto(link);
  await visitor.waitForFunction(() => document.querySelector('#position')?.textContent === '1');
  await visitor.waitForFunction(() => /min/.test(document.querySelector('#estimate')?.textContent || ''));
  check(true, `the visitor waits at place 1 with an estimate (${await visitor.textContent('#estimate')})`);
  await agent.waitForFunction(() => document.querySelector('#queue-length')?.textContent === '1');
  check(true, "the agent's console shows the queue length, pushed by the server");
  await shot(visitor, 'visitor-waiting-desktop');

  // Ready: the ring panel, focused, with the visitor's name and a countdown.
  await agent.selectOption('#status-select', 'ready');
  await agent.waitForSelector('#ring[role=alertdialog]');
  const ring = await agent.evaluate(() => ({
    name: document.querySelector('#ring-who').textContent,
    focused: document.activeElement?.id,
    countdown: document.querySelector('#countdown').textContent,
  }));
  check(ring.name === 'Alice <b>' && ring.focused === 'accept-video' && /\d+/.test(ring.countdown), `ring panel: ${JSON.stringify(ring)}`);
  await shot(agent, 'agent-ring-desktop');
  await agent.keyboard.press('v');
  await agent.waitForSelector('section.call video#remote');
  check((await agent.textContent('section.call .bar strong')) === 'Alice <b>', "the agent's call page names the visitor");
  await visitor.waitForSelector('section.call video#remote');

  // Both decode each other's video.
  const frames = (p) => p.evaluate(async () => (window.call ? (await window.call.stats()).video.framesDecoded : 0) || 0);
  const [v0, v1] = await growth(() => frames(visitor));
  const [g0, g1] = await growth(() => frames(agent));
  check(v1 > v0 && g1 > g0, `video both ways: visitor ${v0}->${v1}, agent ${g0}->${g1} frames decoded`);

  // Chat both ways, as text, with statuses.
  await visitor.fill('.compose textarea', 'My order is late');
  await visitor.press('.compose textarea', 'Enter');
  await agent.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === 'My order is late'));
  await visitor.fill('.compose textarea', '<img src=x onerror=alert(1)> order 42');
  await visitor.press('.compose textarea', 'Enter');
  await agent.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === '<img src=x onerror=alert(1)> order 42'));
  check(await agent.$$eval('.messages img', (x) => x.length) === 0, 'markup in a message arrives as text');
  await agent.fill('.compose textarea', 'Let me check order 42.');
  await agent.press('.compose textarea', 'Enter');
  await visitor.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === 'Let me check order 42.'));
  await visitor.waitForFunction(() => [...document.querySelectorAll('.messages li.own .status')].some((e) => e.dataset.t === 'read'));
  check(true, 'messages cross both ways and the visitor sees them read');
  await shot(visitor, 'visitor-call-desktop');
  await shot(agent, 'agent-call-desktop');

  // A second agent comes in (Ready); the first transfers the call to them
  // from the live list; the visitor's video goes on.
  const agent2 = await page(browser, DESKTOP);
  await signIn(agent2, base, 'a2');
  await agent2.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'ready');
  await agent.focus('#transfer-target');
  await agent.waitForFunction(() => [...document.querySelectorAll('#transfer-target option')].some((o) => o.value === 'a2'));
  await agent.selectOption('#transfer-target', 'a2');
  const beforeTransfer = await frames(visitor);
  const visitorPc = await visitor.evaluate(() => window.call.pc.connectionState);
  await agent.click('#transfer');
  await agent2.waitForSelector('section.call video#remote');
  await agent.waitForFunction(() => !document.querySelector('section.call'));
  await agent2.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === 'Let me check order 42.'));
  const [t0, t1] = await growth(() => frames(agent2));
  const [w0, w1] = await growth(() => frames(visitor), (v) => v > beforeTransfer);
  const samePc = await visitor.evaluate(() => window.call.pc.connectionState);
  check(t1 > t0 && w1 > w0 && visitorPc === 'connected' && samePc === 'connected',
    `transferred: the new agent decodes ${t0}->${t1} and reads the history; the visitor's same connection decodes ${w0}->${w1}`);
  await shot(agent2, 'agent2-after-transfer-desktop');

  // The visitor hangs up and rates; the agent's after-call work counts down.
  await visitor.click('#hangup');
  await visitor.waitForSelector('form.rating');
  await agent2.waitForFunction(() => !document.querySelector('section.call'));
  await agent2.waitForSelector('#wrap-up:not([hidden])');
  check(/\d\d:\d\d/.test(await agent2.textContent('#wrap-up')), `wrap-up shown with its countdown (${await agent2.textContent('#wrap-up')})`);
  await shot(agent2, 'agent-wrap-up-desktop');
  await agent2.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'ready', null, { timeout: 10000 });
  await visitor.click('button[data-stars="4"]');
  await visitor.fill('#comment', 'Quick and kind');
  await shot(visitor, 'visitor-rating-desktop');
  await visitor.click('form.rating button[type=submit]');
  await visitor.waitForSelector('.thanks');
  await shot(visitor, 'visitor-thanks-desktop');
  const ratings = await api(base, 'GET', '/stats/ratings');
  check(ratings.distribution['4'] === 1 && ratings.total === 1, `the rating is counted: ${JSON.stringify(ratings)}`);
  // The dashboard, open since the start, shows it without a reload.
  await admin.waitForFunction(() => document.querySelector('#rating-table td[data-key="4"]')?.textContent === '1');
  const average = await admin.textContent('#m-rating strong');
  check(average === '4.00', `the back office shows the 4 stars live (average ${average}), no reload`);
  // The staffing card of the default group, from the same live stream.
  const advice = await api(base, 'GET', '/workgroups/default/forecast');
  await admin.waitForFunction((n) => document.querySelector('#forecast-default small')?.textContent === `${n} signed in`, advice.agents_signed_in);
  const card = await admin.textContent('#forecast-default');
  check(/agents? needed now/.test(card) && card.includes('target 80% within 20 s') && !card.includes('Erlang'),
    `the dashboard shows the group's staffing advice in plain words and its 80% target: ${card}`);
  check(advice.settled === false && /Too little data: \d calls handled/.test(card),
    `after two calls the advice says it is a guess (settled ${advice.settled}): ${card}`);
  await shot(admin, 'admin-dashboard-desktop');
  // The session's detail: transcript, links with QR codes.
  await admin.click('#tab-sessions');
  await admin.waitForSelector('tr[data-session] button');
  await admin.click('tr[data-session] button');
  await admin.waitForSelector('#transcript li');
  check((await admin.textContent('#transcript')).includes('Let me check order 42.'), 'the session detail shows the transcript');
  await shot(admin, 'admin-sessions-desktop');

  // Audio only, and a reject, from the ring panel's keys (the second agent
  // takes a break so that the first is rung).
  await agent2.selectOption('#status-select', 'not_ready:break');
  await agent2.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'online');
  const v2 = await page(browser, PHONE);
  await v2.goto(`${base}/visit`);
  await shot(v2, 'visitor-entry-phone');
  await v2.fill('#name', 'Bob');
  await v2.fill('#question', 'Is my warranty valid?');
  await v2.click('button[type=submit]');
  await agent.waitForSelector('#ring');
  await shot(agent, 'agent-ring-second');
  const first = await agent.evaluate(() => window.ringShown.at);
  await agent.keyboard.press('r');
  // Rejected, the visitor goes back to the head of the queue and, this agent
  // being the only one Ready, is offered again.
  await agent.waitForFunction((t0) => window.ringShown.at > t0 && document.querySelector('#ring'), first);
  check(true, 'R rejects the call, which is offered again');
  await agent.click('#accept-audio');
  await v2.waitForSelector('section.call');
  await agent.waitForFunction(() => [...document.querySelectorAll('.messages li .text')].some((e) => e.textContent === 'Is my warranty valid?'));
  check(true, "the public entry's question arrives as the first message");
  const bob = await v2.evaluate(() => JSON.parse(sessionStorage.getItem('visit')).session);
  await agent.waitForFunction((sid) => window.callSession === sid, bob);
  const sentVideo = await agent.evaluate(() => window.call.localStream.getVideoTracks().length);
  const pictures = await v2.$$eval('section.call video', (x) => x.length);
  check(sentVideo === 0 && pictures === 0, 'an audio-only accept sends no camera and shows no video');
  const controls = [];
  for (const p of [v2, agent]) {
    await p.waitForSelector('section.call .media-controls button');
    controls.push(await p.textContent('section.call .media-controls'));
  }
  check(controls.every((c) => !/false|null|undefined/.test(c)), `the audio-only controls show no stray values (${controls.join(' | ')})`);
  await shot(v2, 'visitor-call-phone');
  await shot(agent, 'agent-call-audio-desktop');
  await agent.click('#end-call');
  await v2.waitForSelector('form.rating');
  await shot(v2, 'visitor-rating-phone');
  await v2.click('button[data-stars="5"]');
  await v2.click('form.rating button[type=submit]');
  await v2.waitForSelector('.thanks');
  await shot(v2, 'visitor-thanks-phone');

  // An unanswered ring lapses: the panel goes, and the visitor, queued again
  // at the head, is offered again.
  await agent2.selectOption('#status-select', 'ready');
  await agent2.waitForFunction(() => document.querySelector('#agent-state')?.dataset.state === 'ready');
  await agent.selectOption('#status-select', 'not_ready:break');
  const carol = await page(browser, PHONE);
  await carol.goto(`${base}/visit`);
  await carol.fill('#name', 'Carol');
  await carol.click('button[type=submit]');
  await agent2.waitForSelector('#ring');
  const rungAt = await agent2.evaluate(() => window.ringShown.at);
  await shot(carol, 'visitor-connecting-phone');
  const desktopEntry = await page(browser, DESKTOP);
  await desktopEntry.goto(`${base}/visit?workgroup=default`);
  await shot(desktopEntry, 'visitor-entry-desktop');
  // The lapse and the next offer arrive together: the panel is replaced.
  const again = await agent2.waitForFunction((t0) => window.ringShown.at > t0 && document.querySelectorAll('#ring').length === 1 && window.ringShown.at, rungAt, { timeout: 15000 });
  const lapsed = ((await again.jsonValue()) - rungAt) / 1000;
  check(lapsed >= 7.5, `a ring that is not answered lapses (after ${lapsed.toFixed(1)} s of 8) and the visitor is offered again`);

  // Links with QR codes for a live session, from the back office.
  await admin.click('#tab-sessions');
  await admin.waitForSelector('tr[data-session] button');
  const live = await admin.$$eval('tr[data-session]', (rows) => rows.find((r) => r.children[4].dataset.status !== 'ended')?.dataset.session);
  await admin.click(`tr[data-session="${live}"] button`);
  await admin.click('#make-links');
  await admin.waitForSelector('.links img');
  const url = await admin.inputValue('#visitor-url');
  check(url.includes(`session=${live}`) && url.includes('token=sbv_'), 'a visitor link with its QR code');
  await shot(admin, 'admin-links-desktop');
  const adminPhone = await page(browser, PHONE);
  await signInAdmin(adminPhone, base);
  await shot(adminPhone, 'admin-dashboard-phone');
  for (const t of ['sessions', 'agents', 'workgroups', 'accounts', 'audit']) {
    await adminPhone.click(`#tab-${t}`);
    await adminPhone.waitForSelector('table');
    await shot(adminPhone, `admin-${t}-phone`);
  }


  // A visitor link for one session cannot open another.
  const other = await api(base, 'POST', '/queue/join', { visitor_id: 'intruder', channel: 'chat' }, '');
  const sessions = await api(base, 'GET', '/sessions');
  const target = sessions.sessions.find((s) => s.session_id !== other.session_id && s.status !== 'ended');
  const r = await fetch(`${base}/customer-service/sessions/${target.session_id}`, { headers: { authorization: `Bearer ${other.token}` } });
  const intruder = await page(browser, DESKTOP);
  await intruder.goto(`${base}/?session=${target.session_id}&role=customer&token=${other.token}`);
  await intruder.waitForSelector('.error[role=alert]');
  // The refusal itself is the expected console error of this page.
  intruder.errors = intruder.errors.filter((e) => !/403/.test(e));
  check(r.status === 403, 'a visitor token for one session is refused on another (403), and the page says so');

  // The agents' states are live in the back office too.
  await admin.click('#tab-agents');
  await admin.waitForSelector('tr[data-agent="a1"]');
  await agent.selectOption('#status-select', 'ready');
  await admin.waitForFunction(() => /ready|ringing|busy/.test(document.querySelector('tr[data-agent="a1"] .agent-status')?.dataset.state));
  check(true, `an agent's new state shows in the back office without a reload (${await admin.textContent('tr[data-agent="a1"] .agent-status')})`);
  await shot(admin, 'admin-agents-desktop');
  await admin.click('#tab-workgroups');
  await admin.waitForSelector('table');
  await shot(admin, 'admin-workgroups-desktop');
  await admin.click('#tab-audit');
  await admin.waitForSelector('table');
  await shot(admin, 'admin-audit-desktop');

  // Chinese and phone layouts.
  const zh = await page(browser, PHONE, 'zh-CN');
  await zh.goto(`${base}/visit?lang=zh-CN`);
  check((await zh.textContent('label[for=name]')) === '您的称呼', 'the visitor page renders in Chinese');
  await shot(zh, 'visitor-entry-phone-zh');
  const zhAgent = await page(browser, PHONE, 'zh-CN');
  await zhAgent.goto(`${base}/agent?lang=zh-CN`);
  await shot(zhAgent, 'agent-login-phone-zh');
  await signIn(zhAgent, base, 'a2');
  // a2 is being rung for Carol in its other page: a new console shows the offer too.
  await zhAgent.waitForSelector('#ring[role=alertdialog]');
  check((await zhAgent.textContent('#ring-who')) === 'Carol', 'a console opened while ringing shows the offer');
  await shot(zhAgent, 'agent-ring-phone-zh');
  const home = await page(browser, PHONE);
  await home.goto(`${base}/`);
  await shot(home, 'home-phone');

  for (const p of [admin, adminPhone, agent, agent2, visitor, v2, carol, desktopEntry, intruder, zh, zhAgent, home]) {
    check(p.errors.length === 0, `no console errors on ${p.url().replace(base, '') || '/'}${p.errors.length ? `: ${p.errors.join(' | ')}` : ''}`);
  }
}, { customerService: '  accept_timeout_secs: 8\n  wrap_up_secs: 3\n' });
