// The customer panel of the agent's call page (agent.js).
import { h, when } from '/web/lib.js';

/** Stars as text, 1 to 5. */
const starText = (n) => '★'.repeat(n) + '☆'.repeat(5 - n);

/** The customer panel: who the visitor is, how they came, their question,
 *  their earlier sessions (transcripts a click away) and the notes kept on
 *  them across sessions, with a field to add one (a private note in session
 *  `sid`, sent over `ws`); `call` is the console's API caller. */
export function customerPanel({ detail, sid, call, ws, onError }) {
  const el = h('aside', { class: 'customer card', id: 'customer-panel', 't-aria-label': 'customer_panel' });
  const note = h('textarea', { id: 'customer-note', rows: 2, 't-aria-label': 'note' });
  async function draw() {
    const history = await call('GET', `/customers/${encodeURIComponent(detail.customer_id)}`).catch(() => null);
    const earlier = (history?.sessions || []).filter((s) => s.session_id !== sid);
    const notes = history?.notes || [];
    const row = (key, value) => value ? [h('dt', { text: key }), h('dd', {}, value)] : [];
    el.replaceChildren(
      h('h2', { text: 'customer_panel' }),
      h('dl', { class: 'figures' },
        row('name', detail.customer_name || detail.customer_id),
        row('arrival', h('span', { text: `arrival_${detail.arrival}` })),
        row('created', when(detail.created_at)),
        row('their_question', detail.description)),
      h('h3', { text: 'earlier_sessions' }),
      earlier.length
        ? h('ul', { class: 'earlier', id: 'earlier-sessions' }, earlier.map((s) => earlierSession(s)))
        : h('p', { class: 'empty', text: 'first_contact' }),
      h('h3', { text: 'notes_on_customer' }),
      notes.length
        ? h('ul', { class: 'notes', id: 'customer-notes' }, notes.map((m) => h('li', {}, h('span', { class: 'who' }, `${m.from.name} · `, when(m.at)), h('span', { class: 'text' }, m.text))))
        : h('p', { class: 'empty', text: 'no_notes' }),
      h('form', { class: 'add-note', onsubmit: async (e) => {
        e.preventDefault();
        const text = note.value.trim();
        if (!text) return;
        await ws.request({ type: 'chat_send', data: { session_id: sid, text, private: true, client_id: `note-${Date.now()}` } })
          .then(() => { note.value = ''; draw(); })
          .catch(onError);
      } }, note, h('button', { type: 'submit', text: 'add_note' })),
    );
  }
  function earlierSession(s) {
    const transcript = h('ol', { class: 'messages', hidden: true });
    const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', text: 'show_transcript', onclick: async () => {
      const open_ = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open_));
      transcript.hidden = !open_;
      if (open_ && !transcript.childElementCount) {
        const tr = await call('GET', `/sessions/${s.session_id}/transcript`).catch(() => null);
        const lines = (tr?.messages || []).filter((m) => m.kind !== 'system');
        transcript.replaceChildren(...(lines.length ? lines.map((m) => h('li', { class: m.kind }, h('span', { class: 'who' }, m.from.name), h('span', { class: 'text' }, m.text))) : [h('li', { class: 'system', text: 'no_messages' })]));
      }
    } });
    return h('li', { 'data-session': s.session_id },
      h('span', {}, when(s.created_at)), ' · ', h('span', { text: `status_${s.status}` }),
      s.title ? ` · ${s.title}` : '',
      s.rating ? h('span', { class: 'stars-view', 't-aria-label': ['stars', s.rating.rating] }, ` ${starText(s.rating.rating)}`) : '',
      ' ', toggle, transcript);
  }
  draw();
  return { el, draw };
}
