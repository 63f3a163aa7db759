// The back office (`/admin`, supervisors and admins): a dashboard kept live
// by the center's event stream (`/room?role=monitor`, no polling), sessions
// (filter, search, paging, bulk end, ratings, create, assign, links with QR
// codes, detail with transcript, quality and recordings), agents, workgroups,
// accounts and API tokens, and the audit log.
import { t } from '/web/i18n.js';
import { api, clock, h, header, room, staff } from '/web/lib.js';

const main = h('main', { class: 'admin' });
document.body.append(header('back_office'), main);
const PAGE = 20;

/** A table in a box that scrolls sideways on narrow screens. */
function table(headers, rows) {
  return h('div', { class: 'scroll' },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col', text: k })))), h('tbody', {}, rows)));
}

function stars(n) {
  return n ? h('span', { class: 'stars-view', 'aria-label': t('stars', n) }, '★'.repeat(n) + '☆'.repeat(5 - n)) : '–';
}

/** A bar chart as SVG with a table beside it as its text alternative. */
function bars(id, labelKey, entries) {
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const w = 40;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${entries.length * w} 120`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${t(labelKey)}: ${entries.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  entries.forEach(([k, v], i) => {
    const height = (v / max) * 90;
    const rect = document.createElementNS(svg.namespaceURI, 'rect');
    Object.entries({ x: i * w + 6, y: 100 - height, width: w - 12, height, class: 'bar' }).forEach(([a, b]) => rect.setAttribute(a, b));
    const label = document.createElementNS(svg.namespaceURI, 'text');
    Object.entries({ x: i * w + w / 2, y: 115, 'text-anchor': 'middle' }).forEach(([a, b]) => label.setAttribute(a, b));
    label.textContent = k;
    svg.append(rect, label);
  });
  const alt = h('table', { class: 'visually-hidden', id }, h('caption', { text: labelKey }),
    h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { 'data-key': k }, v)))));
  return h('figure', { class: 'chart' }, h('figcaption', { text: labelKey }), svg, alt);
}

/** A call's quality: the summary kept after it, or the live connections. */
function qualityView(q) {
  const sum = q?.summary;
  if (sum) {
    const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
    return h('dl', { class: 'figures quality-summary' },
      row(t('rtt'), sum.rtt_avg_ms != null ? `${Math.round(sum.rtt_avg_ms)} ms (max ${Math.round(sum.rtt_max_ms)})` : '–'),
      row(t('loss'), `${(sum.loss_avg * 100).toFixed(1)}% (max ${(sum.loss_max * 100).toFixed(1)}%)`),
      row(t('bitrate'), `${Math.round(sum.bitrate_in_avg_kbps)} kbps`));
  }
  const live = q?.connections || [];
  if (!live.length) return h('p', { class: 'quality-summary', text: 'none' });
  return h('ul', { class: 'quality-summary' }, live.map((c) =>
    h('li', {}, `${c.party}: ${c.bitrate_in_kbps}/${c.bitrate_out_kbps} kbps, ${t('rtt')} ${c.rtt_ms ?? '–'} ms`)));
}

/** One workgroup's staffing advice: agents needed against signed in, and
 * what the agents signed in now should give. */
function staffingCard(f) {
  const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)}%`);
  const secs = (x) => (x == null ? '–' : x < 10 ? `${x.toFixed(1)} s` : x < 90 ? `${Math.round(x)} s` : `${Math.round(x / 60)} min`);
  const short = f.agents_needed != null && f.agents_needed > f.agents_signed_in;
  const row = (k, v) => [h('dt', { text: k }), h('dd', {}, v)];
  return h('div', { class: `card forecast${short ? ' short' : ''}`, id: `forecast-${f.workgroup_id}` },
    h('span', {}, f.workgroup_id),
    h('strong', { class: 'needed', 'aria-label': t('agents_needed_of', f.agents_needed ?? '–', f.agents_signed_in) },
      `${f.agents_needed ?? '–'} / ${f.agents_signed_in}`),
    h('small', { text: 'agents_needed_signed_in' }),
    h('dl', { class: 'figures' },
      row('expected_service_level', `${pct(f.service_level_expected)} (${t('target')} ${pct(f.service_level_target)} / ${f.service_level_secs} s)`),
      row('expected_wait', secs(f.expected_wait_secs)),
      row('arrivals_per_hour', f.arrivals_per_hour == null ? '–' : String(f.arrivals_per_hour)),
      // Nothing handled yet: no handling time to show.
      row('handle_time', secs(f.aht_secs > 0 ? f.aht_secs : null)),
      row('expected_abandon', pct(f.abandon_expected))));
}

async function backOffice({ token }) {
  const call = (method, path, body) => api(method, path, body, token);
  const views = {};
  const nav = h('nav', { class: 'tabs', 'aria-label': t('back_office') });
  const body = h('div', { class: 'tab-body' });
  function tab(key, render) {
    views[key] = render;
    nav.append(h('button', { type: 'button', id: `tab-${key}`, text: key, onclick: () => go(key) }));
  }
  let current = 'dashboard';
  async function go(key) {
    current = key;
    nav.querySelectorAll('button').forEach((b) => b.setAttribute('aria-current', String(b.id === `tab-${key}`)));
    body.replaceChildren(await views[key]());
  }

  // Dashboard: cards, rating distribution and trend, from the live stream.
  const cards = h('div', { class: 'cards' });
  const staffing = h('div', { class: 'cards staffing' });
  const charts = h('div', { class: 'charts' });
  let latest = null;
  function drawDashboard() {
    if (!latest) return;
    const s = latest.stats;
    const r = latest.ratings;
    const card = (key, value, id) => h('div', { class: 'card metric', id }, h('span', { text: key }), h('strong', {}, value));
    cards.replaceChildren(
      card('sessions_total', s.sessions.total, 'm-total'),
      card('active_calls', s.sessions.active, 'm-active'),
      card('waiting_now', s.sessions.waiting, 'm-waiting'),
      card('ready_now', s.agents.ready, 'm-ready'),
      card('average_rating', r.total ? r.average.toFixed(2) : '–', 'm-rating'),
    );
    staffing.replaceChildren(...(latest.forecasts || []).map(staffingCard));
    charts.replaceChildren(bars('rating-table', 'rating_distribution', ['1', '2', '3', '4', '5'].map((k) => [k, r.distribution[k]])), trendChart);
  }
  let trendChart = h('div');
  async function drawTrend() {
    const trend = await call('GET', '/stats/trend?days=7').catch(() => null);
    const days = trend?.trend || [];
    trendChart = bars('trend-table', 'daily_trend', days.map((d) => [String(d.date).slice(5), d.created ?? d.counts?.created ?? 0]));
    drawDashboard();
  }
  tab('dashboard', async () => {
    drawDashboard();
    return h('section', {}, cards, h('h2', { text: 'staffing' }), staffing, charts);
  });

  // The live stream: statistics after every change; sessions refresh on events.
  let refreshSessions = null;
  room({
    token,
    query: 'role=monitor',
    onframe: (f) => {
      if (f.type === 'stats') {
        latest = f;
        drawDashboard();
      }
      if (f.type === 'center_event') {
        if (f.event.type === 'call_ended') drawTrend();
        refreshSessions?.();
        if (current === 'agents') liveAgents();
      }
    },
  });
  drawTrend();

  /** The bot's part of a session: outcome, ticket, and every weighing
   *  with its parts, score and threshold (the transfer controller's record). */
  function botView(b) {
    const parts = (d) => Object.entries(d.parts).filter(([, w]) => w > 0).map(([k, w]) => `${k} ${w}`).join(' + ') || '–';
    return h('section', { class: 'bot-view', id: 'bot-view' },
      h('h3', { text: 'bot' }),
      h('p', {}, `${t(`bot_phase_${b.phase}`)}${b.outcome ? ` · ${t(`bot_outcome_${b.outcome}`)}` : ''}${b.attempts ? ` · ${t('attempts', b.attempts)}` : ''}`),
      b.ticket ? h('p', { class: 'ticket' }, h('strong', { text: 'ticket' }), ' ', b.ticket) : null,
      h('table', { class: 'decisions' },
        h('thead', {}, h('tr', {}, ['time', 'reason', 'parts', 'score_col'].map((k) => h('th', { text: k })))),
        h('tbody', {}, (b.decisions || []).map((d) => h('tr', { class: d.handoff ? 'handoff' : '' },
          h('td', {}, new Date(d.at).toLocaleTimeString()),
          h('td', {}, t(`reason_${d.cause}`)),
          h('td', {}, parts(d)),
          h('td', {}, `${d.score} / ${d.threshold}${d.handoff ? ' →' : ''}`))))));
  }

  // Sessions.
  tab('sessions', async () => {
    const filter = h('select', { id: 'status-filter', 'aria-label': t('status') },
      ['', 'bot', 'waiting', 'active', 'ended'].map((v) => h('option', { value: v }, t(v ? `status_${v}` : 'all'))));
    const search = h('input', { id: 'search', type: 'search', placeholder: t('search'), 'aria-label': t('search') });
    const list = h('div', { class: 'list' });
    const detail = h('div', { class: 'detail' });
    let page = 0;
    let all = [];
    const selected = new Set();
    async function load() {
      all = (await call('GET', '/sessions')).sessions.reverse();
      draw();
    }
    function draw() {
      const q = search.value.trim().toLowerCase();
      const rows = all.filter((s) => (!filter.value || s.status === filter.value) &&
        (!q || [s.session_id, s.title, s.customer_id, s.customer_name, s.agent_id].some((x) => String(x || '').toLowerCase().includes(q))));
      const shown = rows.slice(page * PAGE, (page + 1) * PAGE);
      list.replaceChildren(
        table(['', 'title', 'visitor', 'agent', 'status', 'rating', 'actions'], shown.map((s) => h('tr', { 'data-session': s.session_id },
          h('td', {}, h('input', { type: 'checkbox', 'aria-label': s.session_id, checked: selected.has(s.session_id),
            onchange: (e) => (e.target.checked ? selected.add(s.session_id) : selected.delete(s.session_id)) })),
          h('td', {}, s.title || s.session_id),
          h('td', {}, s.customer_name || s.customer_id),
          h('td', {}, s.agent_id || s.ringing_agent_id || '–'),
          h('td', { 'data-status': s.status }, t(`status_${s.status}`)),
          h('td', { class: 'rating-cell' }, stars(s.rating?.rating)),
          h('td', {}, h('button', { type: 'button', text: 'detail', onclick: () => showDetail(s.session_id) })),
        ))),
        h('p', { class: 'pager' },
          h('button', { type: 'button', text: 'previous', disabled: page === 0, onclick: () => { page--; draw(); } }),
          ` ${page + 1} / ${Math.max(1, Math.ceil(rows.length / PAGE))} `,
          h('button', { type: 'button', text: 'next', disabled: (page + 1) * PAGE >= rows.length, onclick: () => { page++; draw(); } })),
      );
    }
    async function showDetail(sid) {
      const s = await call('GET', `/sessions/${sid}`);
      const agents = (await call('GET', '/agents/available')).agents || [];
      const pick = h('select', { id: 'assign-agent', 'aria-label': t('assign') }, agents.map((a) => h('option', { value: a.agent_id }, a.agent_name || a.agent_id)));
      const links = h('div', { class: 'links' });
      const transcript = await call('GET', `/sessions/${sid}/transcript`).catch(() => null);
      const quality = await call('GET', `/sessions/${sid}/quality`).catch(() => null);
      const recordings = await call('GET', `/sessions/${sid}/recordings`).catch(() => null);
      detail.replaceChildren(h('section', { class: 'card', id: 'session-detail' },
        h('h2', {}, s.title || sid),
        h('dl', { class: 'figures' },
          h('dt', { text: 'status' }), h('dd', {}, t(`status_${s.status}`)),
          h('dt', { text: 'visitor' }), h('dd', {}, s.customer_name || s.customer_id),
          h('dt', { text: 'agent' }), h('dd', {}, s.agent_id || '–'),
          h('dt', { text: 'created' }), h('dd', {}, s.created_at),
          h('dt', { text: 'answered_at' }), h('dd', {}, s.started_at || '–'),
          h('dt', { text: 'ended_at' }), h('dd', {}, s.ended_at ? `${s.ended_at} (${s.end_reason}, ${s.ended_by})` : '–'),
          h('dt', { text: 'transfers' }), h('dd', {}, s.transfers),
          h('dt', { text: 'duration' }), h('dd', {}, s.duration_secs != null ? clock(s.duration_secs * 1000) : '–'),
          h('dt', { text: 'rating' }), h('dd', {}, stars(s.rating?.rating), s.rating?.comment ? ` ${s.rating.comment}` : '')),
        s.status === 'waiting' ? h('p', {}, pick, h('button', { type: 'button', id: 'assign', text: 'assign', onclick: () => call('POST', `/sessions/${sid}/assign`, { agent_id: pick.value }).then(load) })) : null,
        s.status !== 'ended' ? h('p', {}, h('button', { type: 'button', id: 'make-links', text: 'links', onclick: async () => {
          const l = await call('POST', `/sessions/${sid}/link`, {});
          const qr = (svg, label) => h('img', { src: `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`, alt: label, width: 160, height: 160 });
          links.replaceChildren(
            h('figure', {}, qr(l.qr_svg, t('visitor_link')), h('figcaption', {}, h('span', { text: 'visitor_link' }), h('input', { readonly: true, value: l.url, id: 'visitor-url', 'aria-label': t('visitor_link') }))),
            h('figure', {}, qr(l.agent_qr_svg, t('agent_link')), h('figcaption', {}, h('span', { text: 'agent_link' }), h('input', { readonly: true, value: l.agent_url, 'aria-label': t('agent_link') }))),
          );
        } }), links) : null,
        s.bot_detail ? botView(s.bot_detail) : null,
        h('h3', { text: 'transcript' }),
        h('ol', { class: 'messages', id: 'transcript' }, (transcript?.messages || []).map((m) =>
          m.kind === 'system'
            ? h('li', { class: 'system' }, t(`system_${m.text}`, m.data || {}))
            : h('li', { class: m.kind }, h('span', { class: 'who' }, m.kind === 'bot' ? t('bot') : m.from.name), h('span', { class: 'text' }, m.text)))),
        h('h3', { text: 'quality_summary' }),
        qualityView(quality),
        h('h3', { text: 'recordings' }),
        h('ul', {}, (recordings?.recordings || []).map((r) => h('li', {}, h('video', { controls: true, src: `/customer-service/sessions/${sid}/recordings/${r.file}`, 'aria-label': r.file, preload: 'none' })))),
      ));
    }
    const newForm = h('form', { class: 'inline', id: 'new-session', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(newForm);
      await call('POST', '/sessions', {
        title: f.get('title'), description: f.get('description') || undefined,
        customer_id: f.get('customer'), customer_name: f.get('customer_name') || undefined,
      });
      newForm.reset();
      load();
    } },
    h('h2', { text: 'new_session' }),
    h('label', {}, h('span', { text: 'title' }), h('input', { name: 'title', required: true })),
    h('label', {}, h('span', { text: 'description' }), h('input', { name: 'description' })),
    h('label', {}, h('span', { text: 'customer' }), h('input', { name: 'customer', required: true })),
    h('label', {}, h('span', { text: 'customer_name' }), h('input', { name: 'customer_name' })),
    h('button', { type: 'submit', class: 'primary', text: 'create' }));
    filter.onchange = () => { page = 0; draw(); };
    search.oninput = () => { page = 0; draw(); };
    let pending;
    refreshSessions = () => {
      clearTimeout(pending);
      pending = setTimeout(load, 200);
    };
    await load();
    return h('section', {},
      h('div', { class: 'toolbar' }, filter, search, h('button', { type: 'button', class: 'danger', id: 'end-selected', text: 'end_selected', onclick: async () => {
        await Promise.all([...selected].map((sid) => call('DELETE', `/sessions/${sid}`).catch(() => {})));
        selected.clear();
        load();
      } })),
      list, detail, newForm);
  });

  // Agents: live state (redrawn on the center's events), figures, skill
  // levels per workgroup (`billing:3, default:1`), forced state changes.
  let pendingAgents;
  const liveAgents = () => {
    clearTimeout(pendingAgents);
    pendingAgents = setTimeout(() => current === 'agents' && go('agents'), 300);
  };
  tab('agents', async () => {
    const { agents } = await call('GET', '/agents');
    return table(['agent', 'status', 'answered', 'talk_time', 'avg_rating', 'skills', 'actions'], agents.map((a) => {
      const skills = h('input', { value: a.workgroups.map((m) => `${m.workgroup_id}:${m.level}`).join(', '), 'aria-label': `${t('skills')} ${a.agent_id}` });
      const saveSkills = () => call('PUT', `/agents/${a.agent_id}/workgroups`, {
        workgroups: skills.value.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
          const [workgroup_id, level] = x.split(':');
          return { workgroup_id: workgroup_id.trim(), level: Number(level || 1) };
        }),
      }).then(() => go('agents'), (e) => alert(e.message));
      return h('tr', { 'data-agent': a.agent_id },
        h('td', {}, a.agent_name || a.agent_id), h('td', { class: 'agent-status', 'data-state': a.status }, t(`state_${a.status}`)), h('td', {}, a.stats.answered),
        h('td', {}, clock(a.stats.talk_ms)), h('td', {}, a.stats.avg_rating ? a.stats.avg_rating.toFixed(1) : '–'),
        h('td', {}, skills, h('button', { type: 'button', text: 'save', onclick: saveSkills })),
        h('td', {},
          h('button', { type: 'button', text: 'force_not_ready', onclick: () => call('POST', `/agents/${a.agent_id}/unavailable`).then(() => go('agents')) }),
          h('button', { type: 'button', text: 'force_offline', onclick: () => call('POST', `/agents/${a.agent_id}/offline`).then(() => go('agents')) })),
      );
    }));
  });

  // Workgroups: routing mode and the public entry.
  tab('workgroups', async () => {
    const { workgroups } = await call('GET', '/workgroups');
    const modes = ['round_robin', 'least_active', 'longest_idle', 'fastest_response', 'random', 'weighted_random', 'consistent_hash', 'recent', 'manual'];
    const others = workgroups.map((g) => g.workgroup_id);
    const form = h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      await call('POST', '/workgroups', { workgroup_id: new FormData(form).get('id') });
      go('workgroups');
    } }, h('label', {}, h('span', { text: 'new_workgroup' }), h('input', { name: 'id', required: true })), h('button', { type: 'submit', text: 'create' }));
    return h('section', {}, table(['name', 'routing', 'overflow', 'public_entry', 'waiting_now', 'ready_now', 'actions'], workgroups.map((g) => {
      const mode = h('select', { 'aria-label': t('routing') }, modes.map((m) => h('option', { value: m, selected: m === g.routing_mode }, m)));
      const open = h('input', { type: 'checkbox', checked: g.public_join, 'aria-label': t('public_entry') });
      const after = h('input', { type: 'number', min: 1, max: 86400, value: g.overflow_after_secs ?? '', 'aria-label': t('overflow_after'), class: 'narrow' });
      const to = h('select', { 'aria-label': t('overflow_to') }, h('option', { value: '' }, t('none')),
        others.filter((o) => o !== g.workgroup_id).map((o) => h('option', { value: o, selected: o === g.overflow_to }, o)));
      const save = () => call('PATCH', `/workgroups/${g.workgroup_id}`, {
        routing_mode: mode.value, public_join: open.checked,
        overflow_after_secs: to.value && after.value ? Number(after.value) : null, overflow_to: to.value && after.value ? to.value : null,
      }).then(() => go('workgroups'), (e) => alert(e.message));
      return h('tr', {}, h('td', {}, g.name || g.workgroup_id), h('td', {}, mode), h('td', {}, after, to), h('td', {}, open), h('td', {}, g.waiting), h('td', {}, g.ready_agents),
        h('td', {}, h('button', { type: 'button', text: 'save', onclick: save })));
    })), form);
  });

  // Accounts and API tokens.
  tab('accounts', async () => {
    const { accounts } = await call('GET', '/accounts');
    const tokens = await call('GET', '/tokens').catch(() => ({ tokens: [] }));
    const shown = h('p', { class: 'secret', role: 'status' });
    const form = h('form', { class: 'inline', id: 'new-account', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(form);
      await call('POST', '/accounts', { username: f.get('username'), password: f.get('password'), role: f.get('role'), agent_id: f.get('agent_id') || undefined });
      go('accounts');
    } },
    h('h2', { text: 'new_account' }),
    h('label', {}, h('span', { text: 'username' }), h('input', { name: 'username', id: 'new-username', required: true })),
    h('label', {}, h('span', { text: 'password' }), h('input', { name: 'password', id: 'new-password', type: 'password', required: true, minlength: 8 })),
    h('label', {}, h('span', { text: 'role' }), h('select', { name: 'role', id: 'new-role' }, ['agent', 'supervisor', 'admin'].map((r) => h('option', { value: r }, r)))),
    h('label', {}, h('span', { text: 'agent_id' }), h('input', { name: 'agent_id', id: 'new-agent-id' })),
    h('button', { type: 'submit', class: 'primary', id: 'create-account', text: 'create' }));
    const tokenForm = h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(tokenForm);
      const made = await call('POST', '/tokens', { name: f.get('name'), role: f.get('role') });
      shown.replaceChildren(h('span', { text: 'token_once' }), ' ', h('code', {}, made.token));
    } },
    h('h2', { text: 'new_token' }),
    h('label', {}, h('span', { text: 'name' }), h('input', { name: 'name', required: true })),
    h('label', {}, h('span', { text: 'role' }), h('select', { name: 'role' }, ['agent', 'supervisor', 'admin'].map((r) => h('option', { value: r }, r)))),
    h('button', { type: 'submit', text: 'create' }));
    return h('section', {},
      table(['username', 'role', 'agent_id', 'status'], accounts.map((a) => h('tr', {}, h('td', {}, a.username), h('td', {}, a.role), h('td', {}, a.agent_id || '–'), h('td', {}, a.disabled ? '✗' : '✓')))),
      form,
      h('h2', { text: 'tokens' }),
      table(['name', 'role', 'actions'], (tokens.tokens || []).map((k) => h('tr', {}, h('td', {}, k.name), h('td', {}, k.role),
        h('td', {}, h('button', { type: 'button', text: 'revoke', onclick: () => call('DELETE', `/tokens/${k.id}`).then(() => go('accounts')) }))))),
      tokenForm, shown);
  });

  // The audit log.
  tab('audit', async () => {
    const r = await call('GET', '/audit?limit=200');
    return table(['when', 'who', 'action', 'target', 'outcome'], r.entries.map((e) => h('tr', {},
      h('td', {}, new Date(e.at_ms).toLocaleString()), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target || ''), h('td', {}, e.outcome))));
  });

  main.replaceChildren(nav, body);
  await go(current);
}

try {
  await backOffice(await staff(main, (me) => me.role === 'admin' || me.role === 'supervisor'));
} catch (e) {
  main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message}`));
}
