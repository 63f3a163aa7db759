// The back office (`/admin`, supervisors and admins): a dashboard kept live
// by the center's event stream (`/room?role=monitor`, no polling), sessions
// (filter, search, paging, bulk end, ratings, create, assign, links with QR
// codes and copy buttons, detail with transcript, quality and recordings),
// agents (by name, state with its Not-ready reason, skills picked from the
// workgroups), workgroups, accounts (create, edit, disable, reset a
// password) and API tokens, and the audit log. People show by name, times
// in the viewer's zone, and every empty list says what to do next.
import { named, t } from '/web/i18n.js';
import { api, clock, h, header, room, say, sayAttr, staff, when } from '/web/lib.js';

const main = h('main', { class: 'admin' });
document.body.append(header('back_office'), main);
const PAGE = 20;
const ROLES = ['agent', 'supervisor', 'admin'];
const MODES = ['round_robin', 'least_active', 'longest_idle', 'fastest_response', 'random', 'weighted_random', 'consistent_hash', 'recent', 'manual'];

/** A table in a box that scrolls sideways on narrow screens (on phones each
 *  row becomes a card whose cells carry their column's name); `empty` is the
 *  label shown instead when there are no rows. */
function table(headers, rows, empty) {
  if (!rows.length && empty) return h('p', { class: 'empty card', text: empty });
  for (const row of rows) {
    [...row.children].forEach((cell, i) => headers[i] && sayAttr(cell, 'data-label', headers[i]));
  }
  return h('div', { class: 'scroll' },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col', text: k || 'select' })))), h('tbody', {}, rows)));
}

function stars(n) {
  return n ? h('span', { class: 'stars-view', 't-aria-label': ['stars', n] }, '★'.repeat(n) + '☆'.repeat(5 - n)) : '–';
}

/** A read-only field with a copy button (links, tokens). */
function copyField(value, labelKey, id) {
  const input = h('input', { readonly: true, value, id, 't-aria-label': labelKey });
  const done = h('span', { class: 'copied', role: 'status' });
  const button = h('button', { type: 'button', class: 'copy', text: 'copy', onclick: async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      input.select();
      document.execCommand('copy');
    }
    say(done, 'copied');
  } });
  return h('span', { class: 'copy-field' }, input, button, done);
}

/** A bar chart as SVG with a table beside it as its text alternative; an
 *  empty state instead when every bar is zero. */
function bars(id, labelKey, entries) {
  if (!entries.some(([, v]) => v > 0)) {
    return h('figure', { class: 'chart' }, h('figcaption', { text: labelKey }), h('p', { class: 'empty', text: 'empty_chart' }),
      h('table', { class: 'visually-hidden', id }, h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { 'data-key': k }, v))))));
  }
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
    const row = (k, v) => [h('dt', { text: k }), h('dd', {}, v)];
    return h('dl', { class: 'figures quality-summary' },
      row('rtt', sum.rtt_avg_ms != null ? `${Math.round(sum.rtt_avg_ms)} ms (max ${Math.round(sum.rtt_max_ms)})` : '–'),
      row('loss', `${(sum.loss_avg * 100).toFixed(1)}% (max ${(sum.loss_max * 100).toFixed(1)}%)`),
      row('bitrate', `${Math.round(sum.bitrate_in_avg_kbps)} kbps`));
  }
  const live = q?.connections || [];
  if (!live.length) return h('p', { class: 'quality-summary empty', text: 'empty_quality' });
  return h('ul', { class: 'quality-summary' }, live.map((c) =>
    h('li', {}, `${c.party}: ${c.bitrate_in_kbps}/${c.bitrate_out_kbps} kbps, ${t('rtt')} ${c.rtt_ms ?? '–'} ms`)));
}

/** One workgroup's staffing advice in plain words: agents needed now
 *  against signed in, what those should give, and, until enough calls were
 *  handled for it to mean something, that it is a guess. */
function staffingCard(f) {
  const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)}%`);
  const secs = (x) => (x == null ? '–' : x < 10 ? `${x.toFixed(1)} s` : x < 90 ? `${Math.round(x)} s` : `${Math.round(x / 60)} min`);
  const settled = f.settled !== false;
  const short = settled && f.agents_needed != null && f.agents_needed > f.agents_signed_in;
  const row = (k, v) => [h('dt', { text: k }), h('dd', {}, v)];
  return h('div', { class: `card forecast${short ? ' short' : ''}${settled ? '' : ' unsettled'}`, id: `forecast-${f.workgroup_id}` },
    h('span', {}, f.workgroup_id),
    h('strong', { class: 'needed', text: ['agents_needed_now', f.agents_needed ?? '–'] }),
    h('small', { text: ['signed_in_now', f.agents_signed_in] }),
    settled ? null : h('p', { class: 'guess', text: ['too_little_data', f.handled_60 ?? 0] }),
    h('dl', { class: 'figures' },
      row('expected_service_level', h('span', {}, pct(f.service_level_expected), ' (', h('span', { text: ['sl_target', pct(f.service_level_target), f.service_level_secs] }), ')')),
      row('expected_wait', secs(f.expected_wait_secs)),
      row('arrivals_per_hour', f.arrivals_per_hour == null ? '–' : String(f.arrivals_per_hour)),
      // Nothing handled yet: no handling time to show.
      row('handle_time', secs(f.aht_secs > 0 ? f.aht_secs : null)),
      row('expected_abandon', pct(f.abandon_expected))));
}

/** An inline error line for a form: the refusal shows on the page. */
const errorLine = () => h('p', { class: 'error', role: 'alert' });
const failed = (line) => (e) => say(line, 'error_detail', e.message);

async function backOffice({ token, me }) {
  const call = (method, path, body) => api(method, path, body, token);
  const views = {};
  const nav = h('nav', { class: 'tabs', 't-aria-label': 'back_office' });
  const body = h('div', { class: 'tab-body' });
  function tab(key, render) {
    views[key] = render;
    nav.append(h('button', { type: 'button', id: `tab-${key}`, text: key, onclick: () => go(key) }));
  }
  let current = 'dashboard';
  async function go(key) {
    current = key;
    nav.querySelectorAll('button[id^=tab-]').forEach((b) => b.setAttribute('aria-current', String(b.id === `tab-${key}`)));
    body.replaceChildren(await views[key]());
  }
  /** Agent names by id, for the tables. */
  const names = new Map();
  const nameOf = (id) => (id ? names.get(id) || id : '–');
  const loadNames = async () => (await call('GET', '/agents').catch(() => ({ agents: [] }))).agents.forEach((a) => names.set(a.agent_id, a.agent_name));

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
    return h('section', {}, cards, h('h2', { text: 'staffing_now' }), staffing, charts);
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
          h('td', {}, when(d.at)),
          h('td', { text: `reason_${d.cause}` }),
          h('td', {}, parts(d)),
          h('td', {}, `${d.score} / ${d.threshold}${d.handoff ? ' →' : ''}`))))));
  }

  // Sessions. The detail shown stays shown when the tab is drawn again.
  let shownDetail = null;
  tab('sessions', async () => {
    const filter = h('select', { id: 'status-filter', 't-aria-label': 'status' },
      ['', 'bot', 'waiting', 'active', 'ended'].map((v) => h('option', { value: v, text: v ? `status_${v}` : 'all' })));
    const search = h('input', { id: 'search', type: 'search', 't-placeholder': 'search', 't-aria-label': 'search' });
    const list = h('div', { class: 'list' });
    const detail = h('div', { class: 'detail' });
    let page = 0;
    let all = [];
    const selected = new Set();
    async function load() {
      await loadNames();
      all = (await call('GET', '/sessions')).sessions.reverse();
      draw();
    }
    const titleOf = (s) => s.title || s.customer_name || s.customer_id;
    function draw() {
      const q = search.value.trim().toLowerCase();
      const rows = all.filter((s) => (!filter.value || s.status === filter.value) &&
        (!q || [s.session_id, s.title, s.customer_id, s.customer_name, s.agent_id, nameOf(s.agent_id)].some((x) => String(x || '').toLowerCase().includes(q))));
      const shown = rows.slice(page * PAGE, (page + 1) * PAGE);
      list.replaceChildren(
        table(['', 'title', 'visitor', 'agent', 'created', 'status', 'rating', 'actions'], shown.map((s) => h('tr', { 'data-session': s.session_id },
          h('td', {}, h('input', { type: 'checkbox', 'aria-label': titleOf(s), checked: selected.has(s.session_id),
            onchange: (e) => (e.target.checked ? selected.add(s.session_id) : selected.delete(s.session_id)) })),
          h('td', {}, titleOf(s)),
          h('td', {}, s.customer_name || s.customer_id),
          h('td', {}, nameOf(s.agent_id || s.ringing_agent_id)),
          h('td', {}, when(s.created_at)),
          h('td', { 'data-status': s.status, text: `status_${s.status}` }),
          h('td', { class: 'rating-cell' }, stars(s.rating?.rating)),
          h('td', {}, h('button', { type: 'button', text: 'detail', onclick: () => showDetail(s.session_id) })),
        )), all.length ? 'empty_filtered' : 'empty_sessions'),
        rows.length > PAGE ? h('p', { class: 'pager' },
          h('button', { type: 'button', text: 'previous', disabled: page === 0, onclick: () => { page--; draw(); } }),
          ` ${page + 1} / ${Math.max(1, Math.ceil(rows.length / PAGE))} `,
          h('button', { type: 'button', text: 'next', disabled: (page + 1) * PAGE >= rows.length, onclick: () => { page++; draw(); } })) : '',
      );
    }
    async function showDetail(sid) {
      shownDetail = sid;
      const s = await call('GET', `/sessions/${sid}`);
      const agents = (await call('GET', '/agents/available')).agents || [];
      const pick = h('select', { id: 'assign-agent', 't-aria-label': 'assign' }, agents.map((a) => h('option', { value: a.agent_id }, a.agent_name || a.agent_id)));
      const links = h('div', { class: 'links' });
      const assignError = errorLine();
      const transcript = await call('GET', `/sessions/${sid}/transcript`).catch(() => null);
      const quality = await call('GET', `/sessions/${sid}/quality`).catch(() => null);
      const recordings = await call('GET', `/sessions/${sid}/recordings`).catch(() => null);
      const messages = transcript?.messages || [];
      const files = recordings?.recordings || [];
      detail.replaceChildren(h('section', { class: 'card', id: 'session-detail' },
        h('h2', {}, titleOf(s)),
        h('dl', { class: 'figures' },
          h('dt', { text: 'status' }), h('dd', { text: `status_${s.status}` }),
          h('dt', { text: 'visitor' }), h('dd', {}, s.customer_name || s.customer_id),
          h('dt', { text: 'arrival' }), h('dd', { text: `arrival_${s.arrival}` }),
          h('dt', { text: 'description' }), h('dd', {}, s.description || '–'),
          h('dt', { text: 'agent' }), h('dd', {}, nameOf(s.agent_id)),
          h('dt', { text: 'created' }), h('dd', {}, when(s.created_at)),
          h('dt', { text: 'answered_at' }), h('dd', {}, when(s.started_at)),
          h('dt', { text: 'ended_at' }), h('dd', {}, when(s.ended_at), s.ended_at ? ` (${s.end_reason}, ${s.ended_by})` : ''),
          h('dt', { text: 'transfers' }), h('dd', {}, s.transfers),
          h('dt', { text: 'duration' }), h('dd', {}, s.duration_secs != null ? clock(s.duration_secs * 1000) : '–'),
          h('dt', { text: 'rating' }), h('dd', {}, stars(s.rating?.rating), s.rating?.comment ? ` ${s.rating.comment}` : '')),
        s.status === 'waiting'
          ? agents.length
            ? h('p', {}, pick, h('button', { type: 'button', id: 'assign', text: 'assign', onclick: () => call('POST', `/sessions/${sid}/assign`, { agent_id: pick.value }).then(load, failed(assignError)) }), assignError)
            : h('p', { class: 'empty', id: 'no-ready', text: 'no_ready_to_assign' })
          : null,
        s.status !== 'ended' ? h('p', {}, h('button', { type: 'button', id: 'make-links', text: 'links', onclick: async () => {
          const l = await call('POST', `/sessions/${sid}/link`, {});
          const qr = (svg, label) => h('img', { src: `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`, 't-alt': label, width: 160, height: 160 });
          links.replaceChildren(
            h('figure', {}, qr(l.qr_svg, 'visitor_link'), h('figcaption', {}, h('span', { text: 'visitor_link' }), copyField(l.url, 'visitor_link', 'visitor-url'))),
            h('figure', {}, qr(l.agent_qr_svg, 'agent_link'), h('figcaption', {}, h('span', { text: 'agent_link' }), copyField(l.agent_url, 'agent_link', 'agent-url'))),
          );
        } }), links) : null,
        s.bot_detail ? botView(s.bot_detail) : null,
        h('h3', { text: 'transcript' }),
        messages.length
          ? h('ol', { class: 'messages', id: 'transcript' }, messages.map((m) =>
            m.kind === 'system'
              ? h('li', { class: 'system', text: [`system_${m.text}`, m.data || {}] })
              : h('li', { class: m.kind }, m.kind === 'bot' ? h('span', { class: 'who', text: 'bot' }) : h('span', { class: 'who' }, m.from.name), h('span', { class: 'text' }, m.text))))
          : h('p', { class: 'empty', id: 'transcript', text: 'empty_transcript' }),
        h('h3', { text: 'quality_summary' }),
        qualityView(quality),
        h('h3', { text: 'recordings' }),
        files.length
          ? h('ul', {}, files.map((r) => h('li', {}, h('video', { controls: true, src: `/customer-service/sessions/${sid}/recordings/${r.file}`, 'aria-label': r.file, preload: 'none' }))))
          : h('p', { class: 'empty', text: 'empty_recordings' }),
      ));
    }
    const newError = errorLine();
    const newForm = h('form', { class: 'inline', id: 'new-session', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(newForm);
      try {
        await call('POST', '/sessions', {
          title: f.get('title'), description: f.get('description') || undefined,
          customer_id: f.get('customer'), customer_name: f.get('customer_name') || undefined,
        });
        newForm.reset();
        newError.textContent = '';
        load();
      } catch (err) {
        failed(newError)(err);
      }
    } },
    h('h2', { text: 'new_session' }),
    h('label', {}, h('span', { text: 'title' }), h('input', { name: 'title', required: true })),
    h('label', {}, h('span', { text: 'description' }), h('input', { name: 'description' })),
    h('label', {}, h('span', { text: 'customer' }), h('input', { name: 'customer', required: true })),
    h('label', {}, h('span', { text: 'customer_name' }), h('input', { name: 'customer_name' })),
    h('button', { type: 'submit', class: 'primary', text: 'create' }), newError);
    filter.onchange = () => { page = 0; draw(); };
    search.oninput = () => { page = 0; draw(); };
    let pending;
    refreshSessions = () => {
      clearTimeout(pending);
      pending = setTimeout(load, 200);
    };
    await load();
    if (shownDetail) showDetail(shownDetail).catch(() => (shownDetail = null));
    return h('section', {},
      h('div', { class: 'toolbar' }, filter, search, h('button', { type: 'button', class: 'danger', id: 'end-selected', text: 'end_selected', onclick: async () => {
        await Promise.all([...selected].map((sid) => call('DELETE', `/sessions/${sid}`).catch(() => {})));
        selected.clear();
        load();
      } })),
      list, detail, newForm);
  });

  // Agents: live state with its Not-ready reason (redrawn on the center's
  // events), figures, skill levels picked per workgroup, forced state changes.
  let pendingAgents;
  const liveAgents = () => {
    clearTimeout(pendingAgents);
    pendingAgents = setTimeout(() => current === 'agents' && go('agents'), 300);
  };
  /** The skills picker of agent `a`: a row per workgroup with its level. */
  function skillsPicker(a, groups) {
    const rows = h('div', { class: 'skills' });
    const error = errorLine();
    const addRow = (group, level) => {
      const g = h('select', { 't-aria-label': 'workgroups' }, groups.map((id) => h('option', { value: id, selected: id === group }, id)));
      const l = h('input', { type: 'number', min: 1, max: 10, value: level, class: 'narrow', 't-aria-label': 'level' });
      const row = h('div', { class: 'skill-row' }, g, l, h('button', { type: 'button', text: 'remove', onclick: () => row.remove() }));
      rows.append(row);
    };
    a.workgroups.forEach((m) => addRow(m.workgroup_id, m.level));
    const save = () => call('PUT', `/agents/${a.agent_id}/workgroups`, {
      workgroups: [...rows.children].map((r) => ({ workgroup_id: r.children[0].value, level: Number(r.children[1].value || 1) })),
    }).then(() => go('agents'), failed(error));
    return h('div', { class: 'skills-picker', 'data-agent': a.agent_id }, rows,
      h('div', { class: 'skill-row' },
        h('button', { type: 'button', class: 'add-skill', text: 'add_skill', onclick: () => addRow(groups[0], 1) }),
        h('button', { type: 'button', class: 'primary', text: 'save', onclick: save })), error);
  }
  tab('agents', async () => {
    const [{ agents }, { workgroups }] = await Promise.all([call('GET', '/agents'), call('GET', '/workgroups')]);
    const groups = workgroups.map((g) => g.workgroup_id);
    const stateOf = (a) => (a.status === 'online' && a.not_ready ? t('not_ready_as', named('nr_', a.not_ready.reason)) : t(`state_${a.status}`));
    return table(['agent', 'status', 'calls_taken', 'talk_time', 'not_ready_time', 'avg_rating', 'skills', 'actions'], agents.map((a) => h('tr', { 'data-agent': a.agent_id },
      h('td', {}, a.agent_name || a.agent_id),
      h('td', { class: 'agent-status', 'data-state': a.status }, stateOf(a), ' · ', when(a.status_since)),
      h('td', {}, a.stats.answered + (a.stats.transferred_in || 0)),
      h('td', {}, clock(a.stats.talk_ms)),
      h('td', {}, clock(Object.values(a.stats.not_ready_ms || {}).reduce((x, y) => x + y, 0))),
      h('td', {}, a.stats.avg_rating ? a.stats.avg_rating.toFixed(1) : '–'),
      h('td', {}, skillsPicker(a, groups)),
      h('td', {},
        h('button', { type: 'button', text: 'force_not_ready', onclick: () => call('POST', `/agents/${a.agent_id}/unavailable`).then(() => go('agents')) }),
        h('button', { type: 'button', text: 'force_offline', onclick: () => call('POST', `/agents/${a.agent_id}/offline`).then(() => go('agents')) })),
    )), 'empty_agents');
  });

  // Workgroups: routing mode and the public entry.
  tab('workgroups', async () => {
    const { workgroups } = await call('GET', '/workgroups');
    const others = workgroups.map((g) => g.workgroup_id);
    const createError = errorLine();
    const form = h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      await call('POST', '/workgroups', { workgroup_id: new FormData(form).get('id') }).then(() => go('workgroups'), failed(createError));
    } }, h('label', {}, h('span', { text: 'new_workgroup' }), h('input', { name: 'id', required: true })), h('button', { type: 'submit', text: 'create' }), createError);
    return h('section', {}, table(['name', 'routing', 'overflow', 'public_entry', 'waiting_now', 'ready_now', 'actions'], workgroups.map((g) => {
      const mode = h('select', { 't-aria-label': 'routing' }, MODES.map((m) => h('option', { value: m, selected: m === g.routing_mode }, named('mode_', m))));
      const openEntry = h('input', { type: 'checkbox', checked: g.public_join, 't-aria-label': 'public_entry' });
      const after = h('input', { type: 'number', min: 1, max: 86400, value: g.overflow_after_secs ?? '', 't-aria-label': 'overflow_after', class: 'narrow' });
      const to = h('select', { 't-aria-label': 'overflow_to' }, h('option', { value: '', text: 'none' }),
        others.filter((o) => o !== g.workgroup_id).map((o) => h('option', { value: o, selected: o === g.overflow_to }, o)));
      const error = errorLine();
      const save = () => call('PATCH', `/workgroups/${g.workgroup_id}`, {
        routing_mode: mode.value, public_join: openEntry.checked,
        overflow_after_secs: to.value && after.value ? Number(after.value) : null, overflow_to: to.value && after.value ? to.value : null,
      }).then(() => go('workgroups'), failed(error));
      return h('tr', {}, h('td', {}, g.name || g.workgroup_id), h('td', {}, mode), h('td', {}, after, to), h('td', {}, openEntry), h('td', {}, g.waiting), h('td', {}, g.ready_agents),
        h('td', {}, h('button', { type: 'button', text: 'save', onclick: save }), error));
    })), form);
  });

  // Accounts and API tokens.
  tab('accounts', async () => {
    const { accounts } = await call('GET', '/accounts');
    const tokens = await call('GET', '/tokens').catch(() => ({ tokens: [] }));
    const shown = h('div', { class: 'secret', role: 'status' });
    const error = h('p', { class: 'error', role: 'alert', id: 'account-error' });
    const form = h('form', { class: 'inline', id: 'new-account', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(form);
      try {
        await call('POST', '/accounts', {
          username: f.get('username'), password: f.get('password'), role: f.get('role'),
          agent_id: f.get('agent_id') || undefined, display_name: f.get('display_name') || undefined,
        });
        go('accounts');
      } catch (err) {
        // The form keeps what was typed; the reason shows beside it.
        failed(error)(err);
      }
    } },
    h('h2', { text: 'new_account' }),
    h('label', {}, h('span', { text: 'username' }), h('input', { name: 'username', id: 'new-username', required: true, autocomplete: 'off' })),
    h('label', {}, h('span', { text: 'display_name' }), h('input', { name: 'display_name', id: 'new-display-name' })),
    h('label', {}, h('span', { text: 'password' }), h('input', { name: 'password', id: 'new-password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })),
    h('label', {}, h('span', { text: 'role' }), h('select', { name: 'role', id: 'new-role' }, ROLES.map((r) => h('option', { value: r, text: `role_${r}` })))),
    h('label', {}, h('span', { text: 'agent_id' }), h('input', { name: 'agent_id', id: 'new-agent-id' })),
    h('button', { type: 'submit', class: 'primary', id: 'create-account', text: 'create' }), error);
    const tokenError = errorLine();
    const tokenForm = h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(tokenForm);
      try {
        const made = await call('POST', '/tokens', { name: f.get('name'), role: f.get('role') });
        shown.replaceChildren(h('span', { text: 'token_once' }), ' ', copyField(made.token, 'tokens', 'new-token'));
      } catch (err) {
        failed(tokenError)(err);
      }
    } },
    h('h2', { text: 'new_token' }),
    h('label', {}, h('span', { text: 'name' }), h('input', { name: 'name', required: true })),
    h('label', {}, h('span', { text: 'role' }), h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r, text: `role_${r}` })))),
    h('button', { type: 'submit', text: 'create' }), tokenError);
    /** An account's row: its name, role and state, editable in place. */
    const accountRow = (a) => {
      const rowError = errorLine();
      const display = h('input', { value: a.display_name || '', 't-aria-label': 'display_name', class: 'display-name' });
      const role = h('select', { 't-aria-label': 'role' }, ROLES.map((r) => h('option', { value: r, selected: r === a.role, text: `role_${r}` })));
      const password = h('input', { type: 'password', minlength: 8, 't-aria-label': 'new_password', 't-placeholder': 'new_password', autocomplete: 'new-password', class: 'new-password' });
      const patch = (change) => call('PATCH', `/accounts/${encodeURIComponent(a.username)}`, change).then(() => go('accounts'), failed(rowError));
      const mine = a.username === me.name;
      return h('tr', { 'data-account': a.username },
        h('td', {}, a.username),
        h('td', {}, h('span', { class: 'account-edit' }, display, h('button', { type: 'button', class: 'save-name', text: 'save', onclick: () => patch({ display_name: display.value }) }))),
        h('td', {}, h('span', { class: 'account-edit' }, role, h('button', { type: 'button', text: 'save', disabled: mine, onclick: () => patch({ role: role.value }) }))),
        h('td', {}, a.agent_id || '–'),
        h('td', { 'data-disabled': String(a.disabled), text: a.disabled ? 'disabled' : 'active' }),
        h('td', {},
          h('span', { class: 'account-edit' }, password, h('button', { type: 'button', class: 'reset', text: 'reset_password', onclick: () => password.value && patch({ password: password.value }) })),
          h('button', { type: 'button', class: a.disabled ? '' : 'danger', disabled: mine, text: a.disabled ? 'enable' : 'disable', onclick: () => patch({ disabled: !a.disabled }) }),
          rowError),
      );
    };
    return h('section', {},
      table(['username', 'display_name', 'role', 'agent_id', 'status', 'actions'], accounts.map(accountRow)),
      form,
      h('h2', { text: 'tokens' }),
      table(['name', 'role', 'actions'], (tokens.tokens || []).map((k) => h('tr', {}, h('td', {}, k.name), h('td', { text: `role_${k.role}` }),
        h('td', {}, h('button', { type: 'button', text: 'revoke', onclick: () => call('DELETE', `/tokens/${k.id}`).then(() => go('accounts')) })))), 'empty_tokens'),
      tokenForm, shown);
  });

  // The audit log.
  tab('audit', async () => {
    const r = await call('GET', '/audit?limit=200');
    return table(['when', 'who', 'action', 'target', 'outcome'], r.entries.map((e) => h('tr', {},
      h('td', {}, when(e.at_ms)), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target || ''), h('td', {}, e.outcome))), 'empty_audit');
  });

  nav.append(
    h('span', { class: 'signed-as' }, me.display_name || me.name),
    h('button', { type: 'button', id: 'sign-out', text: 'sign_out', onclick: async () => {
      await call('POST', '/auth/logout').catch(() => {});
      sessionStorage.removeItem('staff');
      location.reload();
    } }),
  );
  main.replaceChildren(nav, body);
  // A language switch redraws the tab: its dates, states and names too.
  window.addEventListener('langchange', () => go(current));
  await loadNames();
  await go(current);
}

try {
  await backOffice(await staff(main, (me) => me.role === 'admin' || me.role === 'supervisor'));
} catch (e) {
  main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message}`));
}
