// Picks the page by path: `/visit` and visitor links (`/?session=…&role=customer&token=…`)
// are the visitor's page, `/agent` the agent console, `/admin` the back
// office; `/` alone offers the three.
import { t } from '/web/i18n.js';
import { h, header } from '/web/lib.js';

const q = new URLSearchParams(location.search);
const path = location.pathname;
if (path === '/visit' || (q.get('role') === 'customer' && q.get('session'))) {
  await import('/web/visitor.js');
} else if (path === '/agent' || q.get('role') === 'agent') {
  await import('/web/agent.js');
} else if (path === '/admin') {
  await import('/web/admin.js');
} else {
  document.body.append(
    header('app'),
    h('main', { class: 'home' },
      h('a', { class: 'card link', href: '/visit' }, h('span', { text: 'visitor_title' })),
      h('a', { class: 'card link', href: '/agent' }, h('span', { text: 'agent_console' })),
      h('a', { class: 'card link', href: '/admin' }, h('span', { text: 'back_office' })),
    ),
  );
  document.title = t('app');
}
