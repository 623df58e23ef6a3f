import { api, roomPath, type Room } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { describeError } from '../errors.js';
import { checkbox, notice, onSubmit, textField } from '../forms.js';
import { countText, t } from '../i18n.js';
import { start } from '../tasks.js';
import { roomHref, type ConsoleContext, type View } from '../view.js';

/** All rooms, searchable; a form for a new one (admin, clerk). */
export function roomsView(context: ConsoleContext): View {
  const search = textField(t('rooms.search'), { name: 'search', type: 'search' });
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const list = h('div', { class: 'table-wrap' });
  let rooms: Room[] = [];

  function show(): void {
    const term = search.control.value.trim().toLocaleLowerCase();
    const shown = rooms.filter((room) => term === '' || room.name.includes(term) || (room.title ?? '').toLocaleLowerCase().includes(term));
    count.textContent = countText('rooms.count', shown.length);
    if (shown.length === 0) {
      replaceChildren(list, h('p', {}, t('rooms.none')));
      return;
    }
    replaceChildren(
      list,
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, [t('rooms.name'), t('rooms.title'), t('rooms.pins'), t('rooms.protected'), t('rooms.mutedColumn'), t('rooms.publicColumn')].map((text) => h('th', { scope: 'col' }, text)))),
        h(
          'tbody',
          {},
          shown.map((room) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, h('a', { href: roomHref(room.name) }, room.name)),
              h('td', {}, room.title ?? ''),
              h('td', {}, room.pinCount ?? 0),
              h('td', {}, room.hasPassword ? t('yes') : t('no')),
              h('td', {}, room.startMuted ? t('yes') : t('no')),
              h('td', {}, room.dialInPublic ? t('rooms.open') : t('rooms.closed')),
            ),
          ),
        ),
      ),
    );
  }

  search.control.addEventListener('input', show);
  start(async () => {
    rooms = (await api<{ items: Room[] }>('GET', '/api/v1/rooms')).items;
    show();
  });

  return {
    title: t('rooms.heading'),
    element: h('section', {}, h('h1', {}, t('rooms.heading')), search.element, count, list, context.canWrite && newRoomForm()),
  };
}

function newRoomForm(): HTMLElement {
  // No maxlength: a browser counts it in UTF-16 units, the server's 128 counts characters (room-name.ts).
  const name = textField(t('rooms.name'), { name: 'room', required: true, hint: t('rooms.nameHint') });
  const title = textField(t('rooms.title'), { name: 'title', hint: t('rooms.titleHint'), maxlength: 200 });
  const password = textField(t('rooms.password'), { name: 'password', maxlength: 64 });
  const startMuted = checkbox(t('rooms.startMuted'), 'startMuted', false);
  const dialInPublic = checkbox(t('rooms.public'), 'dialInPublic', false);
  const message = notice();

  async function create(): Promise<void> {
    message.clear();
    for (const field of [name, title, password]) field.showError(null);
    const room = name.control.value.trim();
    if (room === '') {
      name.showError(t('error.invalidRoom'));
      name.control.focus();
      return;
    }
    try {
      const created = await api<Room>('PUT', roomPath(room), {
        title: title.control.value.trim() || null,
        ...(password.control.value ? { password: password.control.value } : {}),
        startMuted: startMuted.control.checked,
        dialInPublic: dialInPublic.control.checked,
      });
      location.hash = roomHref(created.name);
    } catch (error) {
      const { text, field } = describeError(error);
      const target = { room: name, title, password }[field ?? ''];
      if (target) {
        target.showError(text);
        target.control.focus();
      } else message.say(text, 'error');
    }
  }

  return h(
    'form',
    {
      class: 'card',
      novalidate: true,
      'aria-labelledby': 'new-room-heading',
      onsubmit: onSubmit(create),
    },
    h('h2', { id: 'new-room-heading' }, t('rooms.createHeading')),
    name.element,
    title.element,
    password.element,
    startMuted.element,
    dialInPublic.element,
    h('button', { type: 'submit' }, t('rooms.create')),
    message.element,
  );
}
