// The visitor's page: no login. From a link (`/?session=cs_…&role=customer&token=…`)
// or the public entry (`/visit?workgroup=…`): waiting with place and estimate,
// then the call (or the chat), then the rating. Stages as the seed's
// CallStage: waiting → connecting → connected → ended.
import { connect, watchMedia } from '/web/call.js';
import { t } from '/web/i18n.js';
import { api, chatPanel, clock, h, header, mediaLine, room, say, uid } from '/web/lib.js';

const main = h('main', { class: 'visitor' });
document.body.append(header('visitor_title'), main);

function show(...children) {
  main.replaceChildren(...children);
}

/** The public entry form; resolves with the joined session. */
function entry(workgroup) {
  return new Promise((resolve) => {
    const name = h('input', { id: 'name', required: true, autocomplete: 'name', maxlength: 100 });
    const question = h('textarea', { id: 'question', rows: 3, maxlength: 2000 });
    const channel = (value, key, checked) =>
      h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'channel', value, checked }), h('span', { text: key }));
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h(
      'form',
      {
        class: 'card entry',
        onsubmit: async (e) => {
          e.preventDefault();
          const data = new FormData(form);
          try {
            const visitor_id = `v_${uid().slice(0, 12)}`;
            const body = { visitor_id, visitor_name: name.value.trim(), channel: data.get('channel') };
            // The question titles the session for the agent and the back office.
            if (question.value.trim()) body.question = question.value.trim();
            if (workgroup && workgroup !== 'default') body.preferred_skill = workgroup;
            const j = await api('POST', '/queue/join', body);
            resolve({ session: j.session_id, token: j.token, visitor: visitor_id, question: question.value.trim(), channel: body.channel });
          } catch (err) {
            say(error, 'error_detail', err.message);
          }
        },
      },
      h('label', { for: 'name', text: 'your_name' }),
      name,
      h('label', { for: 'question', text: 'question' }),
      question,
      h('fieldset', {}, h('legend', { text: 'how' }), channel('video', 'video_call', true), channel('chat', 'text_chat', false)),
      error,
      h('button', { type: 'submit', class: 'primary', text: 'start' }),
    );
    show(form);
    name.focus();
  });
}

/** Runs one session from waiting to the rating. */
async function visit(s) {
  sessionStorage.setItem('visit', JSON.stringify(s));
  const detail = await api('GET', `/sessions/${s.session}`, undefined, s.token);
  s.visitor = detail.customer_id;
  s.channel = detail.channel || s.channel || 'video';
  const stage = h('p', { class: 'stage', role: 'status' });
  const setStage = (key) => {
    stage.dataset.stage = key;
    say(stage, key);
  };
  let call = null;
  let started = null;
  let timer;
  let ended = false;
  const ws = room({
    token: s.token,
    query: `role=customer&room_id=customer-service/${s.session}`,
    onframe: (f) => {
      if (chat.receive(f)) return;
      if (f.type === 'agent_assignment') {
        setStage('connecting');
        refuse.hidden = true;
      }
      // The assistant hands over (or takes the visitor back): the person button follows.
      if (f.type === 'bot_notice') {
        const back = f.notice === 'retrying' || f.notice === 'resumed' || f.notice === 'fallback';
        escalate.hidden = !back || f.notice === 'fallback';
        refuse.hidden = f.notice !== 'transferring';
        waiting.classList.toggle('with-bot', back);
        setStage(back ? 'with_bot' : 'waiting');
      }
      if (f.type === 'call_accepted') connected(f.media);
      if (f.type === 'call_ended') finish();
    },
  });
  const chat = chatPanel({ ws, session: s.session, me: { role: 'customer', id: s.visitor } });

  // Waiting: place and estimate, refreshed.
  const place = h('strong', { id: 'position' }, '–');
  const estimate = h('strong', { id: 'estimate' }, '–');
  const waiting = h(
    'section',
    { class: 'card waiting' },
    h('div', { class: 'pulse', 'aria-hidden': 'true' }),
    stage,
    h('p', { class: 'queue-figure' }, h('span', { text: 'position' }), ': ', place),
    h('p', { class: 'queue-figure' }, h('span', { text: 'estimate' }), ': ', estimate),
    h('button', { type: 'button', id: 'leave', onclick: leave, text: 'leave' }),
  );
  // With the workgroup's assistant: a person on request.
  const escalate = h('button', {
    type: 'button',
    id: 'escalate',
    text: 'talk_to_agent',
    onclick: () => api('POST', `/sessions/${s.session}/bot/escalate`, undefined, s.token).catch(() => {}),
  });
  // While a transfer is under way: stay with the assistant instead.
  const refuse = h('button', {
    type: 'button',
    id: 'refuse',
    text: 'stay_with_bot',
    hidden: true,
    onclick: () => api('POST', `/sessions/${s.session}/bot/refuse`, undefined, s.token).catch(() => {}),
  });
  waiting.append(escalate, refuse);
  async function refresh() {
    try {
      const p = await api('GET', `/queue/position/${encodeURIComponent(s.visitor)}`, undefined, s.token);
      if (p.status !== 'waiting') return;
      place.textContent = p.position ?? '–';
      if (p.estimated_wait_ms == null) say(estimate, 'no_estimate');
      else say(estimate, 'minutes', Math.round(p.estimated_wait_ms / 60000));
    } catch {
      // The next refresh tries again.
    }
  }
  const poll = setInterval(refresh, 3000);
  async function leave() {
    clearInterval(poll);
    await api('POST', '/queue/leave', { visitor_id: s.visitor }, s.token).catch(() => {});
    ws.close();
    sessionStorage.removeItem('visit');
    show(h('section', { class: 'card' }, h('p', { text: 'left' })));
  }

  // Connected: the call page.
  const remote = h('video', { id: 'remote', autoplay: true, playsinline: true, 't-aria-label': 'other' });
  const local = h('video', { id: 'local', autoplay: true, playsinline: true, muted: true, 't-aria-label': 'you' });
  const remoteAudio = h('audio', { id: 'remote-audio', autoplay: true });
  const elapsed = h('span', { class: 'timer', id: 'timer', role: 'timer' }, '00:00');
  // How the media really is, from this browser's own figures; when it
  // fails, the ways on.
  let stopWatch = () => {};
  const signal = mediaLine({
    retry: () => startMedia(s.media !== 'audio'),
    audioOnly: () => startMedia(false),
    chatOnly: () => {
      stopWatch();
      call?.hangup();
      call = null;
      videos.replaceChildren();
      signal.el.hidden = true;
    },
  });
  const videos = h('div', { class: 'videos' });
  const toggle = (key, set) => {
    const b = h('button', { type: 'button', 'aria-pressed': 'true', text: key });
    b.onclick = () => {
      const on = b.getAttribute('aria-pressed') !== 'true';
      b.setAttribute('aria-pressed', String(on));
      set(on);
    };
    return b;
  };
  const mediaControls = h('span', { class: 'media-controls' });
  /** Joins (or joins again) the call's media; `withVideo` false: audio only. */
  async function startMedia(withVideo) {
    stopWatch();
    call?.hangup();
    s.media = withVideo ? 'video' : 'audio';
    // An audio-only call plays through an audio element, no pictures.
    if (withVideo) videos.replaceChildren(h('figure', {}, remote), h('figure', { class: 'self' }, local));
    else videos.replaceChildren(h('p', { class: 'audio-only', 'aria-hidden': 'true' }, '🎧'), remoteAudio);
    signal.el.hidden = false;
    signal.update({ state: 'connecting' });
    try {
      call = await connect({ session: s.session, token: s.token, video: withVideo });
      window.call = call;
      local.srcObject = call.localStream;
      remote.srcObject = call.remoteStream;
      remoteAudio.srcObject = call.remoteStream;
      const camera = withVideo ? [toggle('camera', (on) => call.setCamera(on))] : [];
      mediaControls.replaceChildren(
        toggle('mic', (on) => call.setMic(on)),
        ...camera,
        h('button', { type: 'button', text: 'share', onclick: () => call.shareScreen().catch(() => {}) }),
      );
      stopWatch = watchMedia(call, signal.update, { video: withVideo });
    } catch (e) {
      signal.update({ state: 'failed' });
      console.warn('media', e.message);
    }
  }
  async function connected(media) {
    clearInterval(poll);
    setStage('connected');
    started = Date.now();
    timer = setInterval(() => (elapsed.textContent = clock(Date.now() - started)), 1000);
    const controls = h('nav', { class: 'controls', 't-aria-label': 'connected' }, mediaControls);
    if (s.channel === 'video') startMedia(media !== 'audio');
    else signal.el.hidden = true;
    controls.append(h('button', { type: 'button', class: 'danger', id: 'hangup', text: 'hangup', onclick: hangup }));
    show(h('section', { class: `call ${s.channel}` }, h('div', { class: 'bar' }, stage, elapsed, signal.el), videos, chat.el, controls));
  }
  async function hangup() {
    await ws.request({ type: 'control', data: { type: 'EndCall' } }).catch(() => finish());
  }

  // Ended: duration and rating.
  function finish() {
    if (ended) return;
    ended = true;
    clearInterval(poll);
    clearInterval(timer);
    stopWatch();
    call?.hangup({ ended: true });
    ws.close();
    setStage('ended');
    sessionStorage.removeItem('visit');
    if (!started) {
      show(h('section', { class: 'card' }, stage));
      return;
    }
    let stars = 0;
    const starButtons = [1, 2, 3, 4, 5].map((n) =>
      h('button', {
        type: 'button', class: 'star', 't-aria-label': ['stars', n], 'aria-pressed': 'false', 'data-stars': n,
        onclick: () => {
          stars = n;
          starButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(i < n)));
          error.textContent = '';
        },
      }, '★'),
    );
    const comment = h('textarea', { id: 'comment', rows: 3, maxlength: 2000 });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h(
      'form',
      {
        class: 'card rating',
        onsubmit: async (e) => {
          e.preventDefault();
          if (!stars) {
            say(error, 'rate_pick');
            starButtons[0].focus();
            return;
          }
          try {
            await api('POST', `/sessions/${s.session}/rate`, { rating: stars, comment: comment.value.trim() || undefined }, s.token);
            show(h('section', { class: 'card rating' }, h('p', { class: 'thanks', role: 'status', text: 'thanks' })));
          } catch (err) {
            say(error, 'error_detail', err.message);
          }
        },
      },
      stage,
      h('p', {}, h('span', { text: 'duration' }), ': ', clock(Date.now() - started)),
      h('h2', { text: 'rate' }),
      h('div', { class: 'stars', role: 'group', 't-aria-label': 'rate' }, starButtons),
      h('label', { for: 'comment', text: 'comment' }),
      comment,
      error,
      h('button', { type: 'submit', class: 'primary', text: 'submit' }),
    );
    show(form);
  }

  escalate.hidden = detail.status !== 'bot';
  waiting.classList.toggle('with-bot', detail.status === 'bot');
  setStage({ active: 'connected', bot: 'with_bot' }[detail.status] || 'waiting');
  // Chat visitors, and anyone the bot is talking with, write while they wait.
  if (s.channel === 'chat' || detail.status === 'bot') waiting.append(chat.el);
  show(waiting);
  await ws.ready;
  await chat.load().catch(() => {});
  if (s.question) {
    await ws.request({ type: 'chat_send', data: { session_id: s.session, text: s.question, client_id: `q-${s.session}` } }).then((r) => chat.receive({ type: 'chat_message', message: r.message })).catch(() => {});
    s.question = '';
    sessionStorage.setItem('visit', JSON.stringify(s));
  }
  if (detail.status === 'active') connected(detail.media);
  else refresh();
}

const q = new URLSearchParams(location.search);
const saved = JSON.parse(sessionStorage.getItem('visit') || 'null');
try {
  if (q.get('session') && q.get('token')) {
    await visit({ session: q.get('session'), token: q.get('token') });
  } else if (saved) {
    await visit(saved);
  } else {
    await visit(await entry(q.get('workgroup') || 'default'));
  }
} catch (e) {
  show(h('section', { class: 'card' }, h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message}`)));
}
