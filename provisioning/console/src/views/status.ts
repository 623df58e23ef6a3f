import { api, type Status, type Trunk } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatTime, t } from '../i18n.js';
import { start } from '../tasks.js';
import type { View } from '../view.js';

const STATUS_REFRESH_MS = 10_000;

const stateBadge = (up: boolean, text: string) => h('span', { class: up ? 'badge up' : 'badge down' }, text);

/** drachtio-server, FreeSWITCH, the database, each Jigasi and each trunk: up or down, and why. */
export function statusView(): View {
  const content = h('div', {}, h('p', {}, t('app.loading')));

  async function refresh(): Promise<void> {
    const [status, trunks] = await Promise.all([api<Status>('GET', '/api/v1/status'), api<{ items: Trunk[] }>('GET', '/api/v1/trunks')]);
    const parts = (['database', 'drachtio', 'freeswitch'] as const).map((name) => {
      const part = status.components[name];
      return h('tr', {}, h('th', { scope: 'row' }, t(`status.${name}`)), h('td', {}, stateBadge(part.state === 'up', t(part.state === 'up' ? 'status.up' : 'status.down'))), h('td', {}, part.reason ?? ''));
    });
    const header = h('thead', {}, h('tr', {}, [t('status.component'), t('status.state'), t('status.reason')].map((text) => h('th', { scope: 'col' }, text))));
    replaceChildren(
      content,
      h('p', { class: status.ready ? 'notice ok' : 'notice error' }, status.ready ? t('status.ready') : t('status.notReady')),
      h('p', {}, t('status.calls', { count: status.calls })),
      h('div', { class: 'table-wrap' }, h('table', {}, header, h('tbody', {}, parts))),
      status.freeswitchServers.length > 0 && h('h2', {}, t('status.freeswitchServers')),
      status.freeswitchServers.length > 0 &&
        h('ul', {}, status.freeswitchServers.map((server) => h('li', {}, server.name, ' ', stateBadge(server.state === 'up', t(server.state === 'up' ? 'status.up' : 'status.down'))))),
      h('h2', {}, t('status.jigasi')),
      status.jigasi.length === 0
        ? h('p', {}, t('status.noJigasi'))
        : h('ul', {}, status.jigasi.map((jigasi) => h('li', {}, jigasi.uri, ' ', stateBadge(jigasi.state === 'up', t(jigasi.state === 'up' ? 'status.up' : 'status.down'))))),
      h('h2', {}, t('status.trunks')),
      trunks.items.length === 0
        ? h('p', {}, t('status.noTrunks'))
        : h(
            'ul',
            {},
            trunks.items.map((trunk) =>
              h('li', {}, `${trunk.name} (${trunk.registrar}) `, stateBadge(trunk.state === 'registered', t(`status.${trunk.state}`)), trunk.since === null ? '' : ` ${formatTime(trunk.since)}`, trunk.lastStatus === null ? '' : ` – SIP ${trunk.lastStatus}`),
            ),
          ),
    );
  }

  start(refresh);
  const timer = setInterval(() => start(refresh), STATUS_REFRESH_MS);
  return { title: t('status.heading'), element: h('section', {}, h('h1', {}, t('status.heading')), content), dispose: () => clearInterval(timer) };
}
