// The agent console (`/agent`): sign in, go Ready, the ring panel with its
// countdown (accept with video, audio only, reject; keys V, A, R), the call
// page (videos, chat, transfer, live figures, mixing an audio file into the
// outgoing audio, end), wrap-up, chat-only conversations with unread counts,
// and the agent's own figures.
import { connect, watchMedia } from '/web/call.js';
import { t } from '/web/i18n.js';
import { api, chatPanel, clock, h, header, mediaLine, qualityOf, room, staff } from '/web/lib.js';

const main = h('main', { class: 'agent' });
document.body.append(header('agent_console'), main);


async function console_({ token, me }) {
  const id = me.agent_id;
  const call = (method, path, body) => api(method, path, body, token);
  const state = h('strong', { id: 'agent-state', 'aria-live': 'polite' });
  const queueLength = h('strong', { id: 'queue-length' }, '0');
  const readyAgents = h('strong', { id: 'ready-agents' }, '0');
  const figures = h('dl', { class: 'figures', 'aria-label': t('my_figures') });
  // After-call work: shown with what is left of it.
  const wrapUp = h('p', { class: 'wrap-up', id: 'wrap-up', role: 'timer', hidden: true });
  let wrapUntil = null;
  setInterval(() => {
    const left = wrapUntil ? wrapUntil - Date.now() : 0;
    wrapUp.hidden = left <= 0;
    if (left > 0) wrapUp.textContent = `${t('wrap_up')} ${clock(left)}`;
  }, 250);
  const chats = h('ul', { class: 'chat-list', 'aria-label': t('chats') });
  const stage = h('div', { class: 'stage-area' });
  const open = new Map(); // session id -> {panel, media}

  function setState(s) {
    state.dataset.state = s;
    state.textContent = t(`state_${s}`);
  }
  async function refresh() {
    try {
      const [q, agents] = await Promise.all([call('GET', '/queue/status'), call('GET', '/agents')]);
      queueLength.textContent = q.length;
      readyAgents.textContent = q.ready_agents;
      const mine = agents.agents.find((a) => a.agent_id === id);
      if (mine) {
        setState(mine.status);
        wrapUntil = mine.resume?.reason === 'wrap_up' ? Date.parse(mine.resume.until) : null;
        // The core ends wrap-up on its own: look again when it is due.
        if (wrapUntil) setTimeout(refresh, Math.max(0, wrapUntil - Date.now()) + 300);
        const st = mine.stats;
        figures.replaceChildren(
          h('dt', { text: 'answered' }), h('dd', {}, st.answered),
          h('dt', { text: 'talk_time' }), h('dd', {}, clock(st.talk_ms)),
          h('dt', { text: 'avg_rating' }), h('dd', {}, st.avg_rating ? st.avg_rating.toFixed(1) : '–'),
        );
      }
    } catch {
      // Shown as it was; the next refresh tries again.
    }
  }

  // As the seed's console: entering it signs the agent in, Ready (an agent
  // already signed in keeps its state and calls).
  const before = (await call('GET', '/agents')).agents.find((a) => a.agent_id === id);
  if (!before || before.status === 'offline') await call('POST', '/agents/register', { agent_id: id });
  const ws = room({
    token,
    query: `role=agent&agent_id=${encodeURIComponent(id)}`,
    onframe: (f) => {
      for (const o of open.values()) if (o.panel.receive(f)) return listChats();
      if (f.type === 'incoming_call') ring(f);
      // The offer ends: answered, lapsed, or the visitor left while ringing.
      if (['ring_timeout', 'call_accepted', 'call_ended'].includes(f.type) && ringing?.session === f.session_id) closeRing();
      if (f.type === 'call_accepted') openSession(f.session_id, f.media);
      if (f.type === 'call_transferred' && f.from_agent_id === id) closeSession(f.session_id);
      if (f.type === 'call_transferred' && f.to_agent_id === id) openSession(f.session_id);
      if (f.type === 'call_ended') closeSession(f.session_id);
      if (f.type === 'call_quality') open.get(f.session_id)?.quality(f);
      if (f.type === 'chat_message') listChats();
      if (f.type === 'system_notification') notify(f);
      if (f.type === 'queue_status') {
        // Pushed by the server whenever either figure changes.
        queueLength.textContent = f.length;
        readyAgents.textContent = f.ready_agents;
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
    // An offer found on opening the console has no known deadline: no countdown.
    const deadline = f.timeout_secs == null ? null : Date.now() + f.timeout_secs * 1000;
    const tick = () => {
      if (deadline) left.textContent = t('seconds_left', Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
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

  // A call or chat this agent holds.
  async function openSession(sid, media) {
    if (open.has(sid)) return;
    const detail = await call('GET', `/sessions/${sid}`);
    // What the bot learnt before handing the visitor over, kept in view.
    const handoff = detail.bot_detail?.handoff;
    const panel = chatPanel({ ws, session: sid, me: { role: 'agent', id } });
    const entry = { panel, media: null, quality: () => {} };
    open.set(sid, entry);
    const figuresLine = h('p', { class: 'live', id: 'live-figures', 'aria-live': 'off' });
    const controls = h('nav', { class: 'controls', 'aria-label': detail.customer_name || detail.customer_id });
    const videos = h('div', { class: 'videos' });
    const started = Date.now();
    const elapsed = h('span', { class: 'timer', role: 'timer' }, '00:00');
    const timer = setInterval(() => (elapsed.textContent = clock(Date.now() - started)), 1000);
    entry.stop = () => clearInterval(timer);
    entry.quality = (f) => {
      const q = qualityOf(f, 'agent');
      figuresLine.textContent = q ? `${t('server_view')}: ${t('bitrate')} ${q.kbpsIn}/${q.kbpsOut} kbps · ${t('loss')} ${(q.loss * 100).toFixed(1)}% · ${t('rtt')} ${Math.round(q.rtt)} ms` : '';
    };
    // Transfer to a Ready agent from the live list.
    const target = h('select', { id: 'transfer-target', 'aria-label': t('transfer_to') });
    const fillTargets = async () => {
      const list = await call('GET', '/agents/available').catch(() => ({ agents: [] }));
      target.replaceChildren(...(list.agents || []).filter((a) => a.agent_id !== id).map((a) => h('option', { value: a.agent_id }, a.agent_name || a.agent_id)));
    };
    target.addEventListener('focus', fillTargets);
    fillTargets();
    const transfer = () =>
      target.value && ws.request({ type: 'control', data: { type: 'TransferCall', data: { target_agent_id: target.value, session_id: sid } } }).catch((e) => (figuresLine.textContent = `${t('error')}: ${e.message}`));
    controls.append(target, h('button', { type: 'button', id: 'transfer', text: 'transfer', onclick: transfer }));
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
      const remote = h(audioOnly ? 'audio' : 'video', { id: 'remote', autoplay: true, playsinline: true, 'aria-label': t('other') });
      const local = h('video', { id: 'local', autoplay: true, playsinline: true, muted: true, 'aria-label': t('you') });
      if (audioOnly) videos.replaceChildren(h('p', { class: 'audio-only', 'aria-hidden': 'true' }, '🎧'), remote);
      else videos.replaceChildren(h('figure', {}, remote), h('figure', { class: 'self' }, local));
      line.el.hidden = false;
      line.update({ state: 'connecting' });
      try {
        const m = await connect({ session: sid, token, video: !audioOnly });
        entry.media = m;
        window.call = m;
        window.callSession = sid;
        local.srcObject = m.localStream;
        remote.srcObject = m.remoteStream;
        let mix = null;
        const volume = h('input', { type: 'range', min: 0, max: 1, step: 0.05, value: 0.5, id: 'mix-volume', 'aria-label': t('mix_volume'), oninput: () => mix?.setVolume(Number(volume.value)) });
        const file = h('input', { type: 'file', accept: 'audio/*', id: 'mix-file', 'aria-label': t('mix'), onchange: async () => {
          await mix?.stop();
          mix = file.files[0] ? await m.mixAudio(file.files[0], Number(volume.value)) : null;
        } });
        const camera = audioOnly ? [] : [h('button', { type: 'button', 'aria-pressed': 'true', text: 'camera', onclick: (e) => toggle(e.target, (on) => m.setCamera(on)) })];
        mediaControls.replaceChildren(
          h('button', { type: 'button', 'aria-pressed': 'true', text: 'mic', onclick: (e) => toggle(e.target, (on) => m.setMic(on)) }),
          ...camera,
          h('label', { class: 'mix' }, h('span', { text: 'mix' }), file, volume),
        );
        entry.stopWatch = watchMedia(m, line.update, { video: !audioOnly });
      } catch (e) {
        line.update({ state: 'failed' });
        figuresLine.textContent = `${t('error')}: ${e.message}`;
      }
    }
    controls.prepend(mediaControls);
    if (detail.channel !== 'chat') startMedia(mode);
    controls.append(h('button', { type: 'button', class: 'danger', id: 'end-call', text: 'end_call', onclick: () => ws.request({ type: 'control', data: { type: 'EndCall', data: { session_id: sid } } }).catch(() => {}) }));
    entry.el = h('section', { class: `call ${detail.channel}`, 'data-session': sid }, h('div', { class: 'bar' }, h('strong', {}, detail.customer_name || detail.customer_id), elapsed, line.el, figuresLine), handoff ? botContext(handoff, 'session-context') : null, videos, panel.el, controls);
    stage.replaceChildren(entry.el);
    await panel.load().catch(() => {});
    listChats();
  }
  function toggle(button, set) {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    set(on);
  }
  function closeSession(sid) {
    const o = open.get(sid);
    if (!o) return;
    o.stop?.();
    o.stopWatch?.();
    o.media?.hangup({ ended: true });
    o.el?.remove();
    open.delete(sid);
    listChats();
  }
  async function listChats() {
    const r = await ws.request({ type: 'chat_list' }).catch(() => null);
    if (!r) return;
    chats.replaceChildren(...r.chats.filter((c) => !c.ringing).map((c) =>
      h('li', {}, h('button', { type: 'button', 'data-session': c.session_id, onclick: () => show(c.session_id) },
        c.visitor_name, c.unread ? h('span', { class: 'badge', 'aria-label': t('unread', c.unread) }, c.unread) : null)),
    ));
  }
  function show(sid) {
    const o = open.get(sid);
    if (o?.el) stage.replaceChildren(o.el);
    else openSession(sid);
  }
  function notify(f) {
    stage.prepend(h('p', { class: `notice ${f.level}`, role: 'status' }, `${f.from}: ${f.text}`));
  }

  const manual = h('input', { id: 'manual-session', placeholder: 'cs_…', 'aria-label': t('manual') });
  main.replaceChildren(
    h('section', { class: 'console card' },
      h('p', {}, h('span', { text: 'state' }), ': ', state),
      wrapUp,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', id: 'go-ready', text: 'go_ready', onclick: async () => {
          await call('POST', '/agents/register', { agent_id: id }).catch(() => call('POST', `/agents/${id}/available`));
          refresh();
        } }),
        h('button', { type: 'button', id: 'go-not-ready', text: 'go_not_ready', onclick: () => call('POST', `/agents/${id}/unavailable`).then(refresh, refresh) }),
        h('button', { type: 'button', id: 'sign-out', text: 'sign_out', onclick: async () => {
          await call('POST', `/agents/${id}/offline`).catch(() => {});
          await call('POST', '/auth/logout').catch(() => {});
          sessionStorage.removeItem('staff');
          ws.close();
          location.reload();
        } }),
      ),
      h('p', {}, h('span', { text: 'queue_length' }), ': ', queueLength, ' · ', h('span', { text: 'ready_agents' }), ': ', readyAgents),
      h('h2', { text: 'my_figures' }), figures,
      h('h2', { text: 'chats' }), chats,
      h('form', { class: 'manual', onsubmit: (e) => { e.preventDefault(); if (manual.value.trim()) show(manual.value.trim()); } },
        h('label', { for: 'manual-session', text: 'manual' }), manual, h('button', { type: 'submit', text: 'open' })),
    ),
    stage,
  );
  await ws.ready;
  await refresh();
  // The queue figures are pushed; the agent's own state and figures are
  // refreshed on its events, and now and then for changes made by others
  // (a supervisor forcing a break).
  setInterval(refresh, 15000);
  const held = (await call('GET', '/agents')).agents.find((a) => a.agent_id === id)?.sessions || [];
  held.forEach((sid) => openSession(sid));
  // A console opened (or reloaded) while this agent is being rung shows the offer.
  const rung = (await call('GET', '/sessions')).sessions.find((x) => x.ringing_agent_id === id);
  if (rung && !ringing) {
    ring({ session_id: rung.session_id, visitor_name: rung.customer_name || rung.customer_id, channel: rung.channel, timeout_secs: null });
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
