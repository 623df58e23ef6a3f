import { api, roomPath, type Pin, type Room } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { describeError } from '../errors.js';
import { checkbox, isoFromLocal, notice, onSubmit, selectField, textArea, textField, type Field } from '../forms.js';
import { countText, formatTime, t } from '../i18n.js';
import { start } from '../tasks.js';
import { roomHref, type ConsoleContext, type View } from '../view.js';

const MAX_NAMES_AT_ONCE = 200;

export const pinName = (pin: Pin) => pin.label ?? t('pins.general');

export function validityText(pin: Pick<Pin, 'validFrom' | 'validUntil'>): string {
  if (pin.validFrom === null && pin.validUntil === null) return t('pins.always');
  return `${pin.validFrom === null ? '…' : formatTime(pin.validFrom)} – ${pin.validUntil === null ? '…' : formatTime(pin.validUntil)}`;
}

/** A room: its settings, its PINs (one, or one per pasted name), letters, revoke and regenerate. */
export function roomView(context: ConsoleContext, roomName: string): View {
  const heading = h('h1', {}, t('room.heading', { room: roomName }));
  const settingsArea = h('div');
  const pinsArea = h('div', { class: 'table-wrap' });
  const message = notice();
  let pins: Pin[] = [];

  async function load(): Promise<void> {
    const answer = await api<Room & { pins: Pin[] }>('GET', roomPath(roomName));
    pins = answer.pins;
    heading.textContent = answer.title ?? t('room.heading', { room: answer.name });
    if (context.canWrite && settingsArea.childElementCount === 0) settingsArea.append(settingsForm(answer));
    showPins();
  }

  function showPins(): void {
    if (pins.length === 0) {
      replaceChildren(pinsArea, h('p', {}, t('pins.none')));
      return;
    }
    const columns = [t('pins.label'), t('pins.role'), t('pins.pin'), t('pins.validity'), t('pins.lastUsed'), t('pins.actions')];
    replaceChildren(
      pinsArea,
      h(
        'table',
        { class: 'pins' },
        h('thead', {}, h('tr', {}, columns.map((text) => h('th', { scope: 'col' }, text)))),
        h(
          'tbody',
          {},
          pins.map((pin) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, pinName(pin)),
              h('td', {}, pin.role === 'listener' ? t('pins.listener') : t('pins.speaker')),
              h('td', { class: 'pin-digits' }, pin.pin),
              h('td', {}, validityText(pin)),
              h('td', {}, pin.lastUsedAt === null ? t('pins.never') : formatTime(pin.lastUsedAt)),
              h(
                'td',
                { class: 'actions' },
                h('a', { href: `${roomHref(roomName)}/letters/${encodeURIComponent(pin.id)}`, 'aria-label': t('pins.letterFor', { label: pinName(pin) }) }, t('pins.letter')),
                context.canWrite && h('button', { type: 'button', class: 'secondary', 'aria-label': t('pins.regenerateFor', { label: pinName(pin) }), onclick: () => start(async () => regenerate(pin)) }, t('pins.regenerate')),
                context.canWrite && h('button', { type: 'button', class: 'danger', 'aria-label': t('pins.revokeFor', { label: pinName(pin) }), onclick: () => start(async () => revoke(pin)) }, t('pins.revoke')),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function revoke(pin: Pin): Promise<void> {
    if (!confirm(t('pins.revokeConfirm', { label: pinName(pin) }))) return;
    try {
      await api('DELETE', `/api/v1/pins/${encodeURIComponent(pin.id)}`);
      message.say(t('pins.revoked', { label: pinName(pin) }));
    } catch (error) {
      message.say(describeError(error).text, 'error');
    }
    await load();
  }

  /** A new PIN with the same name, role and validity; the old one stops working once the new one exists. */
  async function regenerate(pin: Pin): Promise<void> {
    if (!confirm(t('pins.regenerateConfirm', { label: pinName(pin) }))) return;
    try {
      await api('POST', `${roomPath(roomName)}/pins`, { label: pin.label, role: pin.role, validFrom: pin.validFrom, validUntil: pin.validUntil });
      await api('DELETE', `/api/v1/pins/${encodeURIComponent(pin.id)}`);
      message.say(t('pins.regenerated', { label: pinName(pin) }));
    } catch (error) {
      message.say(describeError(error).text, 'error');
    }
    await load();
  }

  function settingsForm(current: Room): HTMLElement {
    const title = textField(t('rooms.title'), { name: 'title', value: current.title ?? '', hint: t('rooms.titleHint'), maxlength: 200 });
    const password = textField(t('rooms.password'), { name: 'password', hint: current.hasPassword ? t('rooms.passwordSet') : undefined, maxlength: 64 });
    const removePassword = checkbox(t('rooms.removePassword'), 'removePassword', false);
    const startMuted = checkbox(t('rooms.startMuted'), 'startMuted', current.startMuted);
    const dialInPublic = checkbox(t('rooms.public'), 'dialInPublic', current.dialInPublic);
    const sharedListeners = checkbox(t('rooms.sharedListeners'), 'sharedListeners', current.listeners === 'shared');
    const saved = notice();
    async function save(): Promise<void> {
      saved.clear();
      title.showError(null);
      password.showError(null);
      const passwordChange = removePassword.control.checked ? { password: null } : password.control.value ? { password: password.control.value } : {};
      try {
        await api('PUT', roomPath(roomName), { title: title.control.value.trim() || null, ...passwordChange, startMuted: startMuted.control.checked, dialInPublic: dialInPublic.control.checked, listeners: sharedListeners.control.checked ? 'shared' : 'separate' });
        password.control.value = '';
        saved.say(t('room.saved'));
        await load();
      } catch (error) {
        const { text, field } = describeError(error);
        const target = { title, password }[field ?? ''];
        if (target) target.showError(text);
        else saved.say(text, 'error');
      }
    }
    async function remove(): Promise<void> {
      if (!confirm(t('room.deleteConfirm', { room: roomName }))) return;
      try {
        await api('DELETE', roomPath(roomName));
        location.hash = '#/rooms';
      } catch (error) {
        saved.say(describeError(error).text, 'error');
      }
    }
    return h(
      'form',
      { class: 'card', novalidate: true, 'aria-labelledby': 'settings-heading', onsubmit: onSubmit(save) },
      h('h2', { id: 'settings-heading' }, t('room.settings')),
      title.element,
      password.element,
      current.hasPassword && removePassword.element,
      startMuted.element,
      dialInPublic.element,
      sharedListeners.element,
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('room.save')), h('button', { type: 'button', class: 'danger', onclick: () => start(remove) }, t('room.delete'))),
      saved.element,
    );
  }

  function newPinsForm(): HTMLElement {
    const label = textField(t('pins.label'), { name: 'label', hint: t('pins.labelHint'), maxlength: 64 });
    const role = selectField(t('pins.role'), 'role', [
      ['speaker', t('pins.speaker')],
      ['listener', t('pins.listener')],
    ]);
    const validFrom = textField(t('pins.validFrom'), { name: 'validFrom', type: 'datetime-local' });
    const validUntil = textField(t('pins.validUntil'), { name: 'validUntil', type: 'datetime-local' });
    const names = textArea(t('pins.names'), { name: 'names', hint: t('pins.namesHint'), rows: 8 });
    const created = notice();
    const fields: Record<string, Field<HTMLInputElement | HTMLTextAreaElement>> = { label, validFrom, validUntil };

    function common(): { role: string; validFrom: string | null; validUntil: string | null } | undefined {
      const window = { role: role.control.value, validFrom: isoFromLocal(validFrom.control.value), validUntil: isoFromLocal(validUntil.control.value) };
      if (window.validFrom !== null && window.validUntil !== null && window.validUntil <= window.validFrom) {
        validUntil.showError(t('pins.untilBeforeFrom'));
        validUntil.control.focus();
        return undefined;
      }
      return window;
    }

    function clearErrors(): void {
      created.clear();
      for (const field of [label, validFrom, validUntil, names]) field.showError(null);
    }

    function showFailure(error: unknown, prefix?: string): void {
      const { text, field } = describeError(error);
      const target = fields[field ?? ''];
      if (target && prefix === undefined) {
        target.showError(text);
        target.control.focus();
      } else created.say(prefix === undefined ? text : t('pins.stoppedAt', { label: prefix, error: text }), 'error');
    }

    async function createOne(): Promise<void> {
      clearErrors();
      const window = common();
      if (!window) return;
      try {
        const pin = await api<Pin>('POST', `${roomPath(roomName)}/pins`, { label: label.control.value.trim() || null, ...window });
        label.control.value = '';
        created.say(t('pins.created', { label: pinName(pin) }));
      } catch (error) {
        showFailure(error);
      }
      await load();
    }

    async function createForNames(): Promise<void> {
      clearErrors();
      const list = names.control.value
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '');
      if (list.length === 0) return names.showError(t('pins.noNames'));
      if (list.length > MAX_NAMES_AT_ONCE) return names.showError(t('pins.tooManyNames'));
      const window = common();
      if (!window) return;
      let done = 0;
      for (const name of list) {
        try {
          await api('POST', `${roomPath(roomName)}/pins`, { label: name, ...window });
          done++;
        } catch (error) {
          showFailure(error, name);
          names.control.value = list.slice(done).join('\n');
          await load();
          return;
        }
      }
      names.control.value = '';
      created.say(countText('pins.createdMany', done));
      await load();
    }

    return h(
      'form',
      { class: 'card', novalidate: true, 'aria-labelledby': 'new-pins-heading', onsubmit: onSubmit(createOne) },
      h('h2', { id: 'new-pins-heading' }, t('pins.createHeading')),
      h('div', { class: 'row' }, role.element, validFrom.element, validUntil.element),
      label.element,
      h('button', { type: 'submit' }, t('pins.createOne')),
      names.element,
      h('button', { type: 'button', onclick: () => start(createForNames) }, t('pins.createMany')),
      created.element,
    );
  }

  start(load);
  return {
    title: t('room.heading', { room: roomName }),
    element: h(
      'section',
      {},
      h('p', {}, h('a', { href: '#/rooms' }, t('room.back'))),
      heading,
      message.element,
      h('h2', {}, t('pins.heading')),
      h('p', { class: 'buttons' }, h('a', { class: 'button-link', href: `${roomHref(roomName)}/letters` }, t('pins.printAll')), h('a', { class: 'button-link', href: `${roomHref(roomName)}/overview` }, t('pins.printOverview'))),
      pinsArea,
      context.canWrite && newPinsForm(),
      settingsArea,
    ),
  };
}
