import { api, type AuditEntry } from '../api.js';
import { h } from '../dom.js';
import { formatTime, isMessageKey, t } from '../i18n.js';
import { start } from '../tasks.js';
import type { View } from '../view.js';

function actionText(action: string): string {
  const key = `action.${action}`;
  return isMessageKey(key) ? t(key) : action;
}

/** Who changed what, newest first; older pages on request. */
export function auditView(): View {
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('audit.more'));
  const empty = h('p', { hidden: true }, t('audit.none'));
  let next: string | null = null;

  async function load(): Promise<void> {
    const page = await api<{ items: AuditEntry[]; next: string | null }>('GET', `/api/v1/audit?limit=50${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
    for (const entry of page.items) {
      body.append(h('tr', {}, h('td', {}, formatTime(entry.at)), h('td', {}, entry.sub), h('td', {}, actionText(entry.action)), h('td', {}, entry.target)));
    }
    empty.hidden = body.childElementCount > 0;
    next = page.next;
    more.hidden = next === null;
  }

  more.addEventListener('click', () => start(load));
  start(load);
  return {
    title: t('audit.heading'),
    element: h(
      'section',
      {},
      h('h1', {}, t('audit.heading')),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.who'), t('audit.action'), t('audit.target')].map((text) => h('th', { scope: 'col' }, text)))), body)),
      empty,
      more,
    ),
  };
}
