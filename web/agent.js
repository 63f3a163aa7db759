// The agent console (`/agent`): sign in, one status control (Ready, Not
// ready with the center's reasons; In a call, Ringing and Wrap-up shown as
// they come), the ring panel with its countdown (accept with video, audio
// only, reject; keys V, A, R), the call page (videos, chat, the customer
// panel, transfer, live figures, mixing an audio file into the outgoing
// audio, end), the call's end with its wrap-up notes and tags, chat-only
// conversations with unread counts, and the agent's own figures. Every
// change of the call is also announced to screen readers.
import { connect, watchMedia } from '/web/call.js';
import { customerPanel } from '/web/customer.js';
import { named, t } from '/web/i18n.js';
import { api, chatPanel, clock, h, header, mediaLine, qualityOf, room, say, staff } from '/web/lib.js';

const main = h('main', { class: 'agent' });
document.body.append(header('agent_console'), main);

/** A polite live region: what changed, for screen readers. */
const announcer = h('p', { class: 'visually-hidden', id: 'announce', role: 'status', 'aria-live': 'polite' });
document.body.append(announcer);
function announce(key, ...args) {
  say(announcer, key, ...args);
}

async function console_({ token, me }) {
  const id = me.agent_id;
  const myName = me.display_name || me.name;
  const call = (method, path, body) => api(method, path, body, token);
  const state = h('strong', { class: 'state-pill', id: 'agent-state' });
  const statusSelect = h('select', { id: 'status-select', 't-aria-label': 'status_control' });
  const queueLength = h('strong', { id: 'queue-length' }, '0');
  const readyAgents = h('strong', { id: 'ready-agents' }, '0');
  const figures = h('dl', { class: 'figures', 't-aria-label': 'my_figures' });
  // After-call work: shown with what is left of it.
  const wrapUp = h('p', { class: 'wrap-up', id: 'wrap-up', role: 'timer', hidden: true });
  let wrapUntil = null;
  setInterval(() => {
    const left = wrapUntil ? wrapUntil - Date.now() : 0;
    wrapUp.hidden = left <= 0;
    if (left > 0) wrapUp.textContent = `${t('wrap_up')} ${clock(left)}`;
  }, 250);
  const chats = h('ul', { class: 'chat-list', 't-aria-label': 'chats' });
  const idle = h('section', { class: 'card idle', id: 'idle' }, h('h2'), h('p'));
  const notices = h('div', { class: 'notices' });
  const stage = h('div', { class: 'stage-area' });
  const area = h('div', { class: 'workspace' }, notices, idle, stage);
  const open = new Map(); // session id -> {panel, media, el, ...}
  let reasons = [];
  let mine = null;
  const names = new Map(); // agent id -> display name

  /** The status control and the pill: what the agent is, and may choose. */
  function drawStatus() {
    const a = mine;
    if (!a) return;
    const reason = a.not_ready?.reason;
    const wrapping = a.status === 'online' && a.resume?.reason === 'wrap_up';
    const shown = a.status === 'busy' ? 'busy' : a.status === 'ringing' ? 'ringing' : wrapping ? 'wrap_up' : a.status === 'online' ? `not_ready:${reason}` : 'ready';
    const option = (value, label, disabled) => h('option', { value, disabled, selected: value === shown }, label);
    statusSelect.replaceChildren(
      option('ready', t('state_ready')),
      ...reasons.map((r) => option(`not_ready:${r}`, t('not_ready_as', named('nr_', r)))),
      // The states the agent does not choose, shown while they last.
      ...(['busy', 'ringing', 'wrap_up'].includes(shown) ? [option(shown, t(`state_${shown}`), true)] : []),
      ...(reason && !reasons.includes(reason) ? [option(`not_ready:${reason}`, t('not_ready_as', named('nr_', reason)), true)] : []),
    );
    state.dataset.state = a.status;
    state.dataset.reason = reason || '';
    if (a.status === 'online' && !wrapping) say(state, 'not_ready_as', named('nr_', reason));
    else if (wrapping) say(state, 'state_wrap_up');
    else say(state, `state_${a.status}`);
    if (a.status === 'busy' && reason) state.textContent += ` · ${t('then_not_ready', named('nr_', reason))}`;
    // Nothing open: say what the agent is waiting for (while it rings, the
    // ring panel says it).
    idle.hidden = open.size > 0 || a.status === 'ringing';
    const ready = a.status === 'ready' || a.status === 'busy';
    say(idle.children[0], ready ? 'waiting_for_calls' : 'not_taking_calls');
    say(idle.children[1], ready ? 'waiting_for_calls_hint' : 'not_taking_calls_hint');
    idle.dataset.ready = String(ready);
  }
  statusSelect.addEventListener('change', async () => {
    const v = statusSelect.value;
    try {
      if (v === 'ready') {
        if (mine?.status === 'offline') await call('POST', '/agents/register', { agent_id: id, agent_name: myName });
        else await call('POST', `/agents/${id}/available`);
      } else if (v.startsWith('not_ready:')) {
        await call('POST', `/agents/${id}/unavailable`, { reason: v.slice('not_ready:'.length) });
      }
    } catch (e) {
      notice('error', 'error_detail', e.message);
    }
    refresh();
  });
  window.addEventListener('langchange', drawStatus);

  async function refresh() {
    try {
      const [q, list] = await Promise.all([call('GET', '/queue/status'), call('GET', '/agents')]);
      queueLength.textContent = q.length;
      readyAgents.textContent = q.ready_agents;
      reasons = list.not_ready_reasons || [];
      list.agents.forEach((a) => names.set(a.agent_id, a.agent_name));
      mine = list.agents.find((a) => a.agent_id === id) || null;
      if (mine) {
        wrapUntil = mine.resume?.reason === 'wrap_up' ? Date.parse(mine.resume.until) : null;
        // The core ends wrap-up on its own: look again when it is due.
        if (wrapUntil) setTimeout(refresh, Math.max(0, wrapUntil - Date.now()) + 300);
        const st = mine.stats;
        const away = Object.values(st.not_ready_ms || {}).reduce((x, y) => x + y, 0);
        figures.replaceChildren(
          h('dt', { text: 'calls_taken' }), h('dd', { id: 'calls-taken' }, st.answered + (st.transferred_in || 0)),
          h('dt', { text: 'talk_time' }), h('dd', {}, clock(st.talk_ms)),
          h('dt', { text: 'not_ready_time' }), h('dd', {}, clock(away)),
          h('dt', { text: 'avg_rating' }), h('dd', {}, st.avg_rating ? st.avg_rating.toFixed(1) : '–'),
        );
        drawStatus();
      }
      for (const o of open.values()) o.fillTargets?.();
    } catch {
      // Shown as it was; the next refresh tries again.
    }
  }

  // As the seed's console: entering it signs the agent in, Ready (an agent
  // already signed in keeps its state and calls). The room admits
  // registered agents only: a ring that signing in brings may come before
  // it, and is found below.
  const before = (await call('GET', '/agents')).agents.find((a) => a.agent_id === id);
  if (!before || before.status === 'offline') await call('POST', '/agents/register', { agent_id: id, agent_name: myName });
  const ws = room({
    token,
    query: `role=agent&agent_id=${encodeURIComponent(id)}`,
    onframe: (f) => {
      for (const o of open.values()) if (o.panel?.receive(f)) return listChats();
      if (f.type === 'incoming_call') ring(f);
      // The offer ends: answered, lapsed, or the visitor left while ringing.
      if (['ring_timeout', 'call_accepted', 'call_ended'].includes(f.type) && ringing?.session === f.session_id) closeRing();
      if (f.type === 'call_accepted') openSession(f.session_id, f.media);
      if (f.type === 'call_transferred' && f.from_agent_id === id) closeSession(f.session_id, { to: f.to_agent_id });
      if (f.type === 'call_transferred' && f.to_agent_id === id) openSession(f.session_id);
      if (f.type === 'call_ended') closeSession(f.session_id, { ended: true });
      if (f.type === 'call_quality') open.get(f.session_id)?.quality(f);
      if (f.type === 'chat_message') listChats();
      if (f.type === 'system_notification') notice(f.level, null, `${f.from}: ${f.text}`);
      if (f.type === 'queue_status') {
        // Pushed by the server whenever either figure changes.
        queueLength.textContent = f.length;
        readyAgents.textContent = f.ready_agents;
        for (const o of open.values()) o.fillTargets?.();
        return;
      }
      refresh();
    },
  });

  // The ring panel: a focused alert dialog with a countdown.
  let ringing = null;
  /** What the bot learnt, on the ring panel: why it handed over, the
   *  fields it collected, and the visitor's last words to it. */
  function botContext(c, elId = 'ring-context') {
    const fields = Object.entries(c.fields || {}).map(([k, v]) => `${k}: ${v}`);
    const said = (c.transcript || []).filter((l) => l.from === 'visitor').pop();
    const weighed = ['message', 'silence', 'bot_timeout', 'action_failed'].includes(c.reason);
    return h(
      'div',
      { class: 'bot-context', id: elId },
      h('p', {}, [t('bot_context'), t(`reason_${c.reason}`), c.bot_reason, weighed ? t('score', c.score) : null].filter(Boolean).join(' · ')),
      fields.length ? h('p', { class: 'fields' }, fields.join(' · ')) : null,
      said ? h('p', { class: 'said' }, `“${said.text}”`) : null,
    );
  }

  function ring(f) {
    closeRing();
    const chat = f.channel === 'chat';
    const left = h('span', { class: 'countdown', id: 'countdown', role: 'timer' });
    // A frame says how long; an offer found on opening the console, until when.
    const deadline = f.until ?? (f.timeout_secs == null ? null : Date.now() + f.timeout_secs * 1000);
    const tick = () => {
      if (deadline) say(left, 'seconds_left', Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
    };
    tick();
    const timer = setInterval(tick, 250);
    const answer = (media) => ws.request({ type: 'control', data: { type: 'AcceptCall', data: { media } } }).catch(() => {});
    const reject = () => ws.request({ type: 'control', data: { type: 'RejectCall' } }).catch(() => {}).then(closeRing);
    const buttons = chat
      ? [h('button', { type: 'button', class: 'primary', id: 'accept-video', text: 'accept_chat', onclick: () => answer('video') })]
      : [
          h('button', { type: 'button', class: 'primary', id: 'accept-video', text: 'accept_video', onclick: () => answer('video'), 'aria-keyshortcuts': 'V' }),
          h('button', { type: 'button', id: 'accept-audio', text: 'accept_audio', onclick: () => answer('audio'), 'aria-keyshortcuts': 'A' }),
        ];
    const keys = (e) => {
      const k = e.key.toLowerCase();
      if (k === 'v') answer('video');
      else if (k === 'a' && !chat) answer('audio');
      else if (k === 'r' || k === 'escape') reject();
    };
    const panel = h(
      'div',
      { class: 'ring', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'ring-title', 'aria-describedby': 'ring-who', id: 'ring' },
      h('div', { class: 'ring-box' },
        h('h2', { id: 'ring-title', text: chat ? 'incoming_chat' : 'incoming' }),
        h('p', { id: 'ring-who', class: 'visitor-name' }, f.visitor_name),
        f.context ? botContext(f.context) : null,
        left,
        h('div', { class: 'actions' }, buttons, h('button', { type: 'button', class: 'danger', id: 'reject', text: 'reject', onclick: reject, 'aria-keyshortcuts': 'R' })),
      ),
    );
    document.addEventListener('keydown', keys);
    document.body.append(panel);
    buttons[0].focus();
    ringing = { panel, timer, keys, shownAt: performance.now(), session: f.session_id };
    window.ringShown = { session: f.session_id, at: performance.timeOrigin + performance.now() };
  }
  function closeRing() {
    if (!ringing) return;
    clearInterval(ringing.timer);
    document.removeEventListener('keydown', ringing.keys);
    ringing.panel.remove();
    ringing = null;
  }

  /** A notice at the top of the workspace; `key` a label, or `text` as is. */
  function notice(level, key, ...args) {
    const p = h('p', { class: `notice ${level}`, role: 'status' });
    if (key) say(p, key, ...args);
    else p.textContent = args[0];
    notices.prepend(p);
    return p;
  }

  // A call or chat this agent holds.
  async function openSession(sid, media) {
    if (open.has(sid)) return;
    const entry = { panel: null, media: null, quality: () => {} };
    open.set(sid, entry);
    const detail = await call('GET', `/sessions/${sid}`).catch(() => null);
    if (!detail) {
      open.delete(sid);
      return;
    }
    const who = detail.customer_name || detail.customer_id;
    entry.who = who;
    entry.channel = detail.channel;
    // What the bot learnt before handing the visitor over, kept in view.
    const handoff = detail.bot_detail?.handoff;
    const panel = chatPanel({ ws, session: sid, me: { role: 'agent', id } });
    entry.panel = panel;
    const figuresLine = h('p', { class: 'live', id: 'live-figures', 'aria-live': 'off' });
    const lifecycle = h('p', { class: 'lifecycle', id: 'call-status', role: 'status' });
    const setLife = (key) => {
      lifecycle.dataset.stage = key;
      say(lifecycle, `lc_${key}`);
    };
    entry.setLife = setLife;
    const controls = h('nav', { class: 'controls', 'aria-label': who });
    const videos = h('div', { class: 'videos' });
    const started = Date.now();
    entry.started = started;
    const elapsed = h('span', { class: 'timer', role: 'timer' }, '00:00');
    const timer = setInterval(() => (elapsed.textContent = clock(Date.now() - started)), 1000);
    entry.stop = () => clearInterval(timer);
    let lastQuality = null;
    window.addEventListener('langchange', () => lastQuality && entry.quality(lastQuality));
    entry.quality = (f) => {
      lastQuality = f;
      const q = qualityOf(f, 'agent');
      figuresLine.textContent = q ? `${t('server_view')}: ${t('bitrate')} ${q.kbpsIn}/${q.kbpsOut} kbps · ${t('loss')} ${(q.loss * 100).toFixed(1)}% · ${t('rtt')} ${Math.round(q.rtt)} ms` : '';
    };
    // Transfer to a Ready agent from the live list, next to its button.
    const target = h('select', { id: 'transfer-target', 't-aria-label': 'transfer_to' });
    const transferButton = h('button', { type: 'button', id: 'transfer', text: 'transfer' });
    entry.fillTargets = async () => {
      const list = await call('GET', '/agents/available').catch(() => ({ agents: [] }));
      const others = (list.agents || []).filter((a) => a.agent_id !== id);
      const chosen = target.value;
      target.replaceChildren(...(others.length
        ? others.map((a) => h('option', { value: a.agent_id, selected: a.agent_id === chosen }, a.agent_name || a.agent_id))
        : [h('option', { value: '', text: 'no_ready_agents' })]));
      target.disabled = !others.length;
      transferButton.disabled = !others.length;
    };
    target.addEventListener('focus', entry.fillTargets);
    entry.fillTargets();
    transferButton.onclick = () =>
      target.value && ws.request({ type: 'control', data: { type: 'TransferCall', data: { target_agent_id: target.value, session_id: sid } } }).catch((e) => notice('warning', 'error_detail', e.message));
    const transferGroup = h('span', { class: 'transfer', role: 'group', 't-aria-label': 'transfer' }, target, transferButton);
    // The media as this browser really gets it, and the ways on when it fails.
    const line = mediaLine({
      retry: () => startMedia(mode),
      audioOnly: () => startMedia('audio'),
      chatOnly: () => {
        entry.stopWatch?.();
        entry.media?.hangup();
        entry.media = null;
        videos.replaceChildren();
        line.el.hidden = true;
      },
    });
    line.el.hidden = detail.channel === 'chat';
    const mediaControls = h('span', { class: 'media-controls' });
    let mode = media || detail.media;
    /** Joins (or joins again) the call's media in `next` mode (video or audio). */
    async function startMedia(next) {
      mode = next;
      entry.stopWatch?.();
      entry.media?.hangup();
      const audioOnly = mode === 'audio';
      const remote = h(audioOnly ? 'audio' : 'video', { id: 'remote', autoplay: true, playsinline: true, 't-aria-label': 'other' });
      const local = h('video', { id: 'local', autoplay: true, playsinline: true, muted: true, 't-aria-label': 'you' });
      if (audioOnly) videos.replaceChildren(h('p', { class: 'audio-only', 'aria-hidden': 'true' }, '🎧'), remote);
      else videos.replaceChildren(h('figure', {}, remote), h('figure', { class: 'self' }, local));
      line.el.hidden = false;
      line.update({ state: 'connecting' });
      setLife('connecting');
      try {
        const m = await connect({ session: sid, token, video: !audioOnly });
        // Ended or transferred away while connecting: nothing to join.
        if (open.get(sid) !== entry) return m.hangup({ ended: true });
        entry.media = m;
        window.call = m;
        window.callSession = sid;
        local.srcObject = m.localStream;
        remote.srcObject = m.remoteStream;
        let mix = null;
        const volume = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value: 0.5, id: 'mix-volume', 't-aria-label': 'mix_volume', oninput: () => mix?.setVolume(Number(volume.value)) });
        // The browser's own file button speaks the browser's language: a
        // labelled button of ours opens it instead.
        const chosen = h('span', { class: 'file-name', text: 'no_file' });
        const file = h('input', { type: 'file', accept: 'audio/*', id: 'mix-file', class: 'visually-hidden', tabindex: '-1', 't-aria-label': 'mix', onchange: async () => {
          await mix?.stop();
          const f = file.files[0];
          if (f) chosen.replaceChildren(f.name);
          mix = f ? await m.mixAudio(f, Number(volume.value)) : null;
        } });
        const pick = h('button', { type: 'button', id: 'mix-pick', text: 'choose_file', onclick: () => file.click() });
        const camera = audioOnly ? [] : [h('button', { type: 'button', 'aria-pressed': 'true', text: 'camera', onclick: (e) => toggle(e.target, (on) => m.setCamera(on)) })];
        mediaControls.replaceChildren(
          h('button', { type: 'button', id: 'mic', 'aria-pressed': 'true', text: 'mic', onclick: (e) => toggle(e.target, (on) => {
            m.setMic(on);
            setLife(on ? 'connected' : 'muted');
          }) }),
          ...camera,
          h('span', { class: 'mix', role: 'group', 't-aria-label': 'mix' }, pick, file, chosen, volume),
        );
        entry.stopWatch = watchMedia(m, (s) => {
          line.update(s);
          if (s.state === 'connected' && lifecycle.dataset.stage === 'connecting') {
            setLife('connected');
            announce('lc_connected');
          }
        }, { video: !audioOnly });
      } catch (e) {
        line.update({ state: 'failed' });
        figuresLine.textContent = `${t('error')}: ${e.message}`;
      }
    }
    controls.append(mediaControls, transferGroup);
    if (detail.channel !== 'chat') startMedia(mode);
    else setLife('connected');
    controls.append(h('button', { type: 'button', class: 'danger', id: 'end-call', text: 'end_call', onclick: () => ws.request({ type: 'control', data: { type: 'EndCall', data: { session_id: sid } } }).catch(() => {}) }));
    const customer = customerPanel({ detail, sid, call, ws, onError: (e) => notice('warning', 'error_detail', e.message) });
    entry.customer = customer;
    entry.el = h('section', { class: `call ${detail.channel}`, 'data-session': sid },
      h('div', { class: 'bar' }, h('strong', {}, who), elapsed, lifecycle, line.el, figuresLine),
      handoff ? botContext(handoff, 'session-context') : null,
      videos, panel.el, customer.el, controls);
    stage.replaceChildren(entry.el);
    drawStatus();
    await panel.load().catch(() => {});
    listChats();
  }
  function toggle(button, set) {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    set(on);
  }
  /** A call this agent no longer holds: gone from the stage, and a notice
   *  that says so: ended (with the wrap-up's notes and tags), or
   *  transferred to `to`. */
  function closeSession(sid, { ended = false, to = null } = {}) {
    const o = open.get(sid);
    if (!o) return;
    o.stop?.();
    o.stopWatch?.();
    o.media?.hangup({ ended: true });
    o.el?.remove();
    open.delete(sid);
    const who = o.who || sid;
    if (to) {
      notice('info', 'transferred_away', who, names.get(to) || to);
      announce('transferred_away', who, names.get(to) || to);
    } else if (ended) {
      endedNotice(sid, o);
      announce(o.channel === 'chat' ? 'chat_ended_with' : 'call_ended_with', who, clock(Date.now() - (o.started || Date.now())));
    }
    drawStatus();
    listChats();
  }
  /** The end of a call: how long it was, and the wrap-up form (notes and
   *  tags kept with the session, as a closed chat keeps them). */
  function endedNotice(sid, o) {
    const notes = h('textarea', { id: 'wrap-up-notes', rows: 2 });
    const tags = h('input', { id: 'wrap-up-tags' });
    const done = h('p', { class: 'saved', role: 'status' });
    const card = h('section', { class: 'card ended-notice', id: 'call-ended', 'data-session': sid });
    const form = h('form', { class: 'wrap-up-form', onsubmit: async (e) => {
      e.preventDefault();
      const list = tags.value.split(',').map((x) => x.trim()).filter(Boolean);
      try {
        await call('POST', `/sessions/${sid}/close`, { comment: notes.value.trim() || undefined, tags: list });
        say(done, 'wrap_up_saved');
      } catch (err) {
        say(done, 'error_detail', err.message);
      }
    } },
    h('label', { for: 'wrap-up-notes', text: 'wrap_up_notes' }), notes,
    h('label', { for: 'wrap-up-tags', text: 'wrap_up_tags' }), tags,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'wrap_up_save' }),
      h('button', { type: 'button', text: 'dismiss', onclick: () => card.remove() })),
    done);
    const duration = clock(Date.now() - (o.started || Date.now()));
    card.append(
      h('h2', { text: o.channel === 'chat' ? ['chat_ended_with', o.who] : ['call_ended_with', o.who, duration] }),
      form,
    );
    notices.querySelectorAll('.ended-notice').forEach((c) => c.remove());
    notices.prepend(card);
  }
  async function listChats() {
    const r = await ws.request({ type: 'chat_list' }).catch(() => null);
    if (!r) return;
    chats.replaceChildren(...r.chats.filter((c) => !c.ringing).map((c) =>
      h('li', {}, h('button', { type: 'button', 'data-session': c.session_id, onclick: () => show(c.session_id) },
        c.visitor_name, c.unread ? h('span', { class: 'badge', 't-aria-label': ['unread', c.unread] }, c.unread) : null)),
    ));
  }
  function show(sid) {
    const o = open.get(sid);
    if (o?.el) stage.replaceChildren(o.el);
    else openSession(sid);
  }

  const manual = h('input', { id: 'manual-session', placeholder: 'cs_…', 't-aria-label': 'manual' });
  main.replaceChildren(
    h('section', { class: 'console card' },
      h('h2', { class: 'me' }, myName),
      h('label', { for: 'status-select', text: 'status_control' }),
      statusSelect,
      h('p', { class: 'state-line' }, state),
      wrapUp,
      h('p', {}, h('span', { text: 'queue_length' }), ': ', queueLength, ' · ', h('span', { text: 'ready_agents' }), ': ', readyAgents),
      h('h2', { text: 'my_figures' }), figures,
      h('h2', { text: 'chats' }), chats,
      h('form', { class: 'manual', onsubmit: (e) => { e.preventDefault(); if (manual.value.trim()) show(manual.value.trim()); } },
        h('label', { for: 'manual-session', text: 'manual' }), manual, h('button', { type: 'submit', text: 'open' })),
      h('button', { type: 'button', id: 'sign-out', text: 'sign_out', onclick: async () => {
        await call('POST', `/agents/${id}/offline`).catch(() => {});
        await call('POST', '/auth/logout').catch(() => {});
        sessionStorage.removeItem('staff');
        ws.close();
        location.reload();
      } }),
    ),
    area,
  );
  await ws.ready;
  await refresh();
  // The queue figures are pushed; the agent's own state and figures are
  // refreshed on its events, and now and then for changes made by others
  // (a supervisor forcing a break).
  setInterval(refresh, 15000);
  const held = mine?.sessions || [];
  held.filter((sid) => sid !== mine?.session_id || mine?.status !== 'ringing').forEach((sid) => openSession(sid));
  // A console opened (or reloaded) while this agent is being rung shows the
  // offer, with what is left of it.
  const rung = (await call('GET', '/sessions')).sessions.find((x) => x.ringing_agent_id === id);
  if (rung && !ringing) {
    ring({ session_id: rung.session_id, visitor_name: rung.customer_name || rung.customer_id, channel: rung.channel, until: rung.ringing_until ? Date.parse(rung.ringing_until) : null });
  }
  // The agent link of the back office (`/?session=cs_…&role=agent`) opens that session.
  const linked = new URLSearchParams(location.search).get('session');
  if (linked && !held.includes(linked)) manual.value = linked;
}

try {
  await console_(await staff(main, (me) => Boolean(me.agent_id)));
} catch (e) {
  main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message}`));
}
