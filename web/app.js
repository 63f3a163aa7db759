// Picks the page by path: `/visit` and visitor links (`/?session=…&role=customer&token=…`)
// are the visitor's page, `/agent` the agent console; `/` alone offers both.
import { t } from '/web/i18n.js';
import { h, header } from '/web/lib.js';

const q = new URLSearchParams(location.search);
const path = location.pathname;
if (path === '/visit' || (q.get('role') === 'customer' && q.get('session'))) {
  await import('/web/visitor.js');
} else if (path === '/agent' || q.get('role') === 'agent') {
  await import('/web/agent.js');
} else {
  document.body.append(
    header('app'),
    h('main', { class: 'home' },
      h('a', { class: 'card link', href: '/visit' }, h('span', { text: 'visitor_title' })),
      h('a', { class: 'card link', href: '/agent' }, h('span', { text: 'agent_console' })),
    ),
  );
  document.title = t('app');
}
