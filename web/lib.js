// What the pages share: DOM building, the API, the `/room` WebSocket, the
// header with the language switch, and the chat panel.
import { LANGS, language, setLanguage, t } from '/web/i18n.js';

export const CS = '/customer-service';

/** `[key, ...args]` of a label given as a key or an array. */
const keyed = (v) => (Array.isArray(v) ? v : [v]);

/** Sets `e`'s text to label `key` (with `args`), kept for a language switch. */
export function say(e, key, ...args) {
  e.dataset.t = key;
  if (args.length) e.dataset.targs = JSON.stringify(args);
  else delete e.dataset.targs;
  e.textContent = t(key, ...args);
  return e;
}

/** Sets attribute `name` of `e` to label `key` (with `args`), kept (in
 *  `data-tattrs`) for a language switch. */
export function sayAttr(e, name, key, ...args) {
  const kept = JSON.parse(e.dataset.tattrs || '{}');
  kept[name] = [key, ...args];
  e.dataset.tattrs = JSON.stringify(kept);
  e.setAttribute(name, t(key, ...args));
}

/** Builds an element: `h('button', {class: 'x', onclick}, 'text', child)`.
 *  `text: key` (or `[key, ...args]`) is a label; `'t-aria-label': key`
 *  likewise for an attribute. Strings become text nodes: message text is
 *  never parsed as markup. */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') say(e, ...keyed(v));
    else if (k.startsWith('t-')) sayAttr(e, k.slice(2), ...keyed(v));
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** The text of a time: relative within the last day ("5 minutes ago"),
 *  else the date and time, in the viewer's time zone and language. */
function timeText(ms) {
  const ago = (Date.now() - ms) / 1000;
  const lang = language();
  if (ago >= -60 && ago < 86400) {
    const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
    if (ago < 60) return rtf.format(0, 'second');
    if (ago < 3600) return rtf.format(-Math.floor(ago / 60), 'minute');
    return rtf.format(-Math.floor(ago / 3600), 'hour');
  }
  return new Date(ms).toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A `<time>` for `at` (RFC 3339 or Unix ms): relative when recent, the
 *  full local time on hover; redrawn on a language switch. */
export function when(at) {
  if (at == null || at === '') return '–';
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (Number.isNaN(ms)) return String(at);
  return drawTime(h('time', { datetime: new Date(ms).toISOString(), 'data-when': ms }));
}

/** Writes a `when` element's text and hover title in the current language. */
function drawTime(e) {
  const ms = Number(e.dataset.when);
  e.textContent = timeText(ms);
  e.title = new Date(ms).toLocaleString(language());
  return e;
}

/** Relabels every element built with labels (after a language switch). */
function relabel(root = document) {
  root.querySelectorAll('time[data-when]').forEach(drawTime);
  root.querySelectorAll('[data-t]').forEach((e) => {
    e.textContent = t(e.dataset.t, ...(e.dataset.targs ? JSON.parse(e.dataset.targs) : []));
  });
  root.querySelectorAll('[data-tattrs]').forEach((e) => {
    for (const [name, [key, ...args]] of Object.entries(JSON.parse(e.dataset.tattrs))) e.setAttribute(name, t(key, ...args));
  });
}

/** The page header: title and language switch. */
export function header(titleKey) {
  const select = h(
    'select',
    { 't-aria-label': 'language', onchange: (e) => setLanguage(e.target.value) },
    Object.entries(LANGS).map(([v, name]) => h('option', { value: v, selected: v === language() }, name)),
  );
  window.addEventListener('langchange', () => {
    relabel();
    document.title = `${t(titleKey)} · ${t('app')}`;
  });
  document.title = `${t(titleKey)} · ${t('app')}`;
  return h('header', { class: 'top' }, h('h1', { text: titleKey }), select);
}

/** Calls the API with `token`; resolves with the JSON body, throws an Error
 *  carrying `status` and `code` otherwise. */
export async function api(method, path, body, token) {
  const r = await fetch(`${CS}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const e = new Error(json?.error?.message || `${r.status}`);
    e.status = r.status;
    e.code = json?.error?.code;
    throw e;
  }
  return json;
}

/**
 * The `/room` WebSocket, with a single-use ticket (browsers cannot set an
 * Authorization header on a WebSocket). `onframe` gets every server frame;
 * `request(frame)` sends a frame and resolves with its ack's result (or
 * rejects with its error). Reconnects after a drop.
 */
export function room({ token, query, onframe }) {
  let ws;
  let closed = false;
  const waiting = [];
  // Resolves once the server has admitted the connection (its `joined`
  // frame); renewed on every reconnect. Requests wait for it.
  let joined;
  let admit;
  const renew = () => (joined = new Promise((resolve) => (admit = resolve)));
  renew();
  async function open() {
    const { ticket } = await api('POST', '/auth/ticket', {}, token);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/room?type=customer_service&${query}&ticket=${encodeURIComponent(ticket)}`);
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data);
      if (f.type === 'joined') return admit();
      if ((f.type === 'ack' || f.type === 'error') && waiting.length && (!f.action || waiting[0].action === f.action)) {
        const w = waiting.shift();
        if (f.type === 'ack') w.resolve(f.result);
        else w.reject(Object.assign(new Error(f.error?.message), { code: f.error?.code }));
        return;
      }
      onframe(f);
    };
    ws.onclose = () => {
      while (waiting.length) waiting.shift().reject(new Error('disconnected'));
      renew();
      if (!closed) setTimeout(() => open().catch(() => {}), 1000);
    };
  }
  open().catch(() => setTimeout(() => open().catch(() => {}), 1000));
  return {
    get ready() {
      return joined;
    },
    async request(frame) {
      await joined;
      return new Promise((resolve, reject) => {
        const action = frame.type === 'control' ? frame.data.type : frame.type;
        waiting.push({ action, resolve, reject });
        ws.send(JSON.stringify(frame));
      });
    },
    close() {
      closed = true;
      ws?.close();
    },
  };
}

/** The line that says how a call's media really is (fed by `watchMedia`):
 *  its state, and when connected the figures behind the verdict; when it
 *  failed, the ways on: retry, audio only, chat only. */
export function mediaLine({ retry, audioOnly, chatOnly }) {
  const text = h('span', { class: 'media-state', id: 'media-state' });
  const ways = h('span', { class: 'media-ways', hidden: true },
    h('button', { type: 'button', id: 'media-retry', text: 'media_retry', onclick: retry }),
    audioOnly && h('button', { type: 'button', id: 'media-audio', text: 'media_audio_only', onclick: audioOnly }),
    h('button', { type: 'button', id: 'media-chat', text: 'media_chat_only', onclick: chatOnly }),
  );
  const el = h('span', { class: 'quality', id: 'quality', role: 'status', 'data-state': 'connecting' }, text, ways);
  let last = { state: 'connecting' };
  const line = {
    el,
    update(m) {
      last = m;
      el.dataset.state = m.state;
      if (m.level) el.dataset.level = m.level;
      else delete el.dataset.level;
      ways.hidden = m.state !== 'failed';
      const parts = [t(`media_${m.state}`)];
      if (m.state === 'connected') {
        parts.push(t(`quality_${m.level}`));
        if (m.fps) parts.push(`${m.fps} fps`);
        parts.push(`${m.kbps} kbit/s`, `${t('loss')} ${(m.loss * 100).toFixed(1)}%`);
        if (m.rtt != null) parts.push(`${m.rtt} ms`);
      }
      text.textContent = parts.join(' · ');
    },
  };
  line.update(last);
  window.addEventListener('langchange', () => line.update(last));
  return line;
}

/** The figures of `party`'s own connection in a `call_quality` frame (the
 *  server's view), with a level: poor past 5 % loss or 400 ms RTT, fair past
 *  1 % or 150 ms; null while that connection is not up. */
export function qualityOf(frame, party) {
  const c = (frame.connections || []).find((x) => x.party === party);
  // Nothing to say of a connection that is not up (zeros would read as "fine").
  if (!c || !c.connected) return null;
  const loss = Math.max(c.loss_in ?? 0, c.loss_out ?? 0);
  const rtt = c.rtt_ms ?? 0;
  const level = loss > 0.05 || rtt > 400 ? 'poor' : loss > 0.01 || rtt > 150 ? 'fair' : 'good';
  return { level, loss, rtt, kbpsIn: c.bitrate_in_kbps, kbpsOut: c.bitrate_out_kbps };
}

/** `mm:ss` of `ms`. */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A random id for idempotent sends. */
export function uid() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

/**
 * The chat panel of one conversation over `ws`: history, live messages with
 * statuses, typing both ways, receipts. `me` is `{role, id}`; `session` the
 * conversation. Returns `{el, receive(frame), load()}`.
 */
export function chatPanel({ ws, session, me, notes = false }) {
  const list = h('ol', { class: 'messages', 'aria-live': 'polite', 't-aria-label': 'chat' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const input = h('textarea', { rows: 2, 't-aria-label': 'message', 't-placeholder': 'message' });
  const bySeq = new Map();
  let lastTyping = 0;
  let typingTimer;
  let highest = 0;

  function line(m) {
    if (bySeq.has(m.seq)) return;
    const own = m.from.role === me.role && m.from.id === me.id;
    let li;
    if (m.kind === 'system') {
      const data = m.data || {};
      li = h('li', { class: 'system', text: [`system_${m.text}`, data] });
    } else if (m.kind === 'bot') {
      // The bot's words, with its quick options as buttons that answer for the visitor.
      const options = (m.data && m.data.options) || [];
      li = h(
        'li',
        { class: 'theirs bot', 'data-seq': m.seq },
        h('span', { class: 'who', text: 'bot' }),
        h('span', { class: 'text' }, m.text),
        options.length && me.role === 'customer'
          ? h('span', { class: 'options' }, options.map((o) => h('button', { type: 'button', onclick: () => send(o) }, o)))
          : null,
      );
    } else {
      const status = own ? h('span', { class: 'status', text: 'sent' }) : null;
      li = h(
        'li',
        { class: `${own ? 'own' : 'theirs'}${m.kind === 'note' ? ' note' : ''}`, 'data-seq': m.seq },
        own ? h('span', { class: 'who', text: 'you' }) : h('span', { class: 'who' }, m.from.name),
        h('span', { class: 'text' }, m.text),
        m.attachment ? h('a', { href: `${CS}/sessions/${session}/attachments/${m.attachment.id}`, target: '_blank' }, m.attachment.name) : null,
        status,
      );
    }
    bySeq.set(m.seq, li);
    // In order of sequence, whatever the order of arrival.
    const after = [...list.children].find((c) => Number(c.dataset.seq || 0) > m.seq);
    li.dataset.seq = m.seq;
    list.insertBefore(li, after || null);
    list.scrollTop = list.scrollHeight;
    highest = Math.max(highest, m.seq);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    delete typing.dataset.t;
    typing.textContent = '';
  }

  function markStatus(kind, upTo) {
    for (const li of list.querySelectorAll('li.own')) {
      if (Number(li.dataset.seq) <= upTo) {
        const s = li.querySelector('.status');
        if (s && !(kind === 'delivered' && s.dataset.t === 'read')) say(s, kind);
      }
    }
  }

  function acknowledge() {
    if (!highest) return;
    const read = document.visibilityState === 'visible' ? highest : undefined;
    ws.request({ type: 'chat_receipt', data: { session_id: session, delivered: highest, read } }).catch(() => {});
  }

  /** Sends the input's text, or `preset` (a quick option). */
  async function send(preset) {
    const text = (preset ?? input.value).trim();
    if (!text) return;
    if (preset == null) input.value = '';
    const client_id = uid();
    try {
      const r = await ws.request({ type: 'chat_send', data: { session_id: session, text, client_id } });
      line(r.message);
    } catch (e) {
      if (preset == null) input.value = text;
      say(typing, 'send_failed', e.message);
    }
  }

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      ws.request({ type: 'chat_typing', data: { session_id: session } }).catch(() => {});
    }
  });
  document.addEventListener('visibilitychange', acknowledge);

  const el = h(
    'section',
    { class: 'chat', 't-aria-label': 'chat' },
    h('h2', { text: 'chat' }),
    list,
    typing,
    h('form', { class: 'compose', onsubmit: (e) => { e.preventDefault(); send(); } }, input, h('button', { type: 'submit', text: 'send' })),
  );
  return {
    el,
    input,
    /** Handles a server frame; true if it was this conversation's. */
    receive(f) {
      if (f.type === 'chat_message' && f.message.conversation === session) {
        line(f.message);
        if (f.message.from.role !== me.role) {
          // The message the other side was typing has come.
          stopTyping();
          acknowledge();
        }
        return true;
      }
      if (f.type === 'chat_typing' && f.conversation === session) {
        stopTyping();
        if (f.typing) {
          say(typing, 'typing', f.from.name);
          typingTimer = setTimeout(stopTyping, f.expires_in_ms);
        }
        return true;
      }
      if (f.type === 'chat_status' && f.conversation === session) {
        if (f.delivered) markStatus('delivered', f.delivered);
        if (f.read) markStatus('read', f.read);
        return true;
      }
      return false;
    },
    async load() {
      const page = await ws.request({ type: 'chat_history', data: { session_id: session } });
      page.messages.forEach(line);
      for (const r of page.receipts || []) {
        if (r.reader !== me.role) {
          markStatus('delivered', r.delivered);
          if (r.read) markStatus('read', r.read);
        }
      }
      acknowledge();
    },
  };
}

/** The sign-in form in `main`; resolves with the sign-in token. */
function signIn(main) {
  return new Promise((resolve) => {
    const user = h('input', { id: 'username', required: true, autocomplete: 'username' });
    const pass = h('input', { id: 'password', type: 'password', required: true, autocomplete: 'current-password' });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h(
      'form',
      {
        class: 'card login',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const r = await api('POST', '/auth/login', { username: user.value, password: pass.value });
            sessionStorage.setItem('staff', r.token);
            resolve(r.token);
          } catch (err) {
            if (err.status === 401) say(error, 'bad_login');
            else say(error, 'error_detail', err.message);
          }
        },
      },
      h('h2', { text: 'sign_in' }),
      h('label', { for: 'username', text: 'username' }),
      user,
      h('label', { for: 'password', text: 'password' }),
      pass,
      error,
      h('button', { type: 'submit', class: 'primary', text: 'sign_in' }),
    );
    main.replaceChildren(form);
    user.focus();
  });
}

/** A staff sign-in that `fits` (e.g. has an agent): the saved one, or a
 *  fresh one from the form. Resolves with `{token, me}`. */
export async function staff(main, fits) {
  const saved = sessionStorage.getItem('staff');
  if (saved) {
    try {
      const me = await api('GET', '/auth/me', undefined, saved);
      if (fits(me)) return { token: saved, me };
    } catch {
      // Expired or revoked: sign in again.
    }
    sessionStorage.removeItem('staff');
  }
  for (;;) {
    const token = await signIn(main);
    const me = await api('GET', '/auth/me', undefined, token);
    if (fits(me)) return { token, me };
    sessionStorage.removeItem('staff');
  }
}
