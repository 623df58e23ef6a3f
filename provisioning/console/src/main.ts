import { api, ApiFailure, whenSignedOut, type Session, type Settings } from './api.js';
import { h, replaceChildren } from './dom.js';
import { describeError } from './errors.js';
import { language, switchLanguage, t, type MessageKey } from './i18n.js';
import { start } from './tasks.js';
import type { ConsoleContext, View } from './view.js';
import { auditView } from './views/audit.js';
import { callsView } from './views/calls.js';
import { lettersView } from './views/letters.js';
import { roomView } from './views/room.js';
import { roomsView } from './views/rooms.js';
import { signInView } from './views/sign-in.js';
import { statusView } from './views/status.js';

/** The admin console: sign-in, then rooms, live calls, audit log and status, addressed by the URL's #fragment. */

const app = document.getElementById('app')!;
let current: View | undefined;
let context: ConsoleContext | undefined;
let main: HTMLElement | undefined;
let nav: HTMLElement | undefined;

const SECTIONS: Array<[hash: string, key: MessageKey]> = [
  ['#/rooms', 'nav.rooms'],
  ['#/calls', 'nav.calls'],
  ['#/audit', 'nav.audit'],
  ['#/status', 'nav.status'],
];

function show(view: View, into: HTMLElement): void {
  current?.dispose?.();
  current = view;
  document.title = `${view.title} – ${t('app.title')}`;
  replaceChildren(into, view.element);
}

function viewFor(hash: string, ctx: ConsoleContext): View {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [section, room, page, pinId] = parts;
  if (section === 'rooms' && room) {
    if (page === 'letters') return lettersView(ctx, room, { pinId });
    if (page === 'overview') return lettersView(ctx, room, { overview: true });
    return roomView(ctx, room);
  }
  if (section === 'calls') return callsView(ctx);
  if (section === 'audit') return auditView();
  if (section === 'status') return statusView();
  return roomsView(ctx);
}

function route(): void {
  if (!context || !main || !nav) return;
  const hash = location.hash || '#/rooms';
  for (const link of nav.querySelectorAll('a')) {
    if (hash.startsWith(link.getAttribute('href') ?? '')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  show(viewFor(hash, context), main);
  main.focus();
}

function renderShell(ctx: ConsoleContext): void {
  main = h('main', { id: 'main', tabindex: -1 });
  nav = h('nav', { 'aria-label': t('nav.label') }, h('ul', {}, SECTIONS.map(([hash, key]) => h('li', {}, h('a', { href: hash }, t(key))))));
  replaceChildren(
    app,
    h('a', { class: 'skip-link', href: '#main', onclick: (event) => {
        event.preventDefault();
        main?.focus();
      },
    }, t('app.skip')),
    h(
      'header',
      { class: 'no-print' },
      h('p', { class: 'app-title' }, t('app.title')),
      h(
        'div',
        { class: 'account' },
        h('span', {}, t('app.signedInAs', { name: ctx.session.name, role: t(`role.${ctx.session.role}`) })),
        h('button', { type: 'button', class: 'secondary', lang: language === 'de' ? 'en' : 'de', onclick: () => {
          switchLanguage();
          renderShell(ctx);
        },
      }, t('app.language')),
        h('button', { type: 'button', class: 'secondary', onclick: () => start(signOut) }, t('app.signOut')),
      ),
      nav,
    ),
    h('p', { id: 'unexpected', class: 'notice error', role: 'alert', hidden: true }),
    main,
  );
  route();
}

function showSignIn(expired: boolean): void {
  current?.dispose?.();
  context = undefined;
  main = h('main', { id: 'main', tabindex: -1 });
  replaceChildren(app, h('header', {}, h('p', { class: 'app-title' }, t('app.title'))), main);
  show(
    signInView(() => start(boot), expired),
    main,
  );
  main.querySelector('input')?.focus();
}

async function signOut(): Promise<void> {
  await api('DELETE', '/api/v1/session');
  showSignIn(false);
}

async function boot(): Promise<void> {
  document.documentElement.lang = language;
  let session: Session;
  try {
    session = await api<Session>('GET', '/api/v1/session');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return showSignIn(false);
    replaceChildren(app, h('p', { class: 'notice error', role: 'alert' }, describeError(error).text));
    return;
  }
  const settings = await api<Settings>('GET', '/api/v1/settings');
  context = { session, settings, canWrite: session.role !== 'viewer' };
  renderShell(context);
}

whenSignedOut(() => {
  if (context) showSignIn(true);
});
window.addEventListener('hashchange', route);
start(boot);
