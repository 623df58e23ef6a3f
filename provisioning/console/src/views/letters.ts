import { api, roomPath, type Pin, type Room, type Settings } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatLongTime, formatToday, t } from '../i18n.js';
import { start } from '../tasks.js';
import { roomHref, type ConsoleContext, type View } from '../view.js';
import { pinName, validityText } from './room.js';

/** "1234 5678": easier to read out and to type. */
const spacedPin = (pin: string) => pin.replace(/(\d{4})(?=\d)/g, '$1 ');

function windowText(pin: Pin): string {
  if (pin.validFrom !== null && pin.validUntil !== null) return t('letter.windowBoth', { from: formatLongTime(pin.validFrom), until: formatLongTime(pin.validUntil) });
  if (pin.validFrom !== null) return t('letter.windowFrom', { from: formatLongTime(pin.validFrom) });
  if (pin.validUntil !== null) return t('letter.windowUntil', { until: formatLongTime(pin.validUntil) });
  return t('letter.windowAlways');
}

function numbersText(settings: Settings): string {
  if (settings.dialInNumbers.length === 0) return t('letter.noNumbers');
  return settings.dialInNumbers.map((number) => number.formattedNumber).join(t('letter.orNumber'));
}

/** One A4 letter: who sends it, the meeting, when, the number, the PIN, the keys, what is stored. */
function letter(settings: Settings, room: Room, pin: Pin): HTMLElement {
  const meeting = room.title ?? room.name;
  return h(
    'article',
    { class: 'letter' },
    settings.municipality !== '' && h('p', { class: 'sender' }, settings.municipality),
    h('p', { class: 'date' }, formatToday()),
    h('h2', {}, t('letter.subject', { meeting })),
    h('p', {}, pin.label === null ? t('letter.greetingGeneral') : t('letter.greeting', { label: pin.label })),
    h('p', {}, t('letter.intro', { meeting })),
    h('p', {}, t('letter.when', { window: windowText(pin) })),
    h('p', { class: 'pin-box' }, h('span', { class: 'pin-caption' }, t('letter.yourPin')), h('span', { class: 'pin-large' }, spacedPin(pin.pin)), h('span', { class: 'pin-hash' }, '#')),
    h('p', {}, t('letter.steps')),
    h(
      'ol',
      {},
      h('li', {}, t('letter.step1', { numbers: numbersText(settings) })),
      h('li', {}, t('letter.step2')),
      h(
        'li',
        {},
        t('letter.step3'),
        pin.role === 'listener'
          ? h('p', {}, t('letter.listener'))
          : h('ul', { class: 'keys' }, h('li', {}, h('kbd', {}, '*6'), ' ', t('letter.keyMute')), h('li', {}, h('kbd', {}, '*1'), ' ', t('letter.keyHelp'))),
      ),
    ),
    h('p', {}, t('letter.keepSecret')),
    h('h3', {}, t('letter.privacyHeading')),
    h(
      'p',
      { class: 'privacy' },
      t('letter.privacy', {
        days: settings.callRecordRetentionDays,
        shownAs: pin.label === null ? t('letter.shownAsMasked') : t('letter.shownAsLabel', { label: pin.label }),
      }),
    ),
  );
}

function overview(room: Room, pins: Pin[]): HTMLElement {
  return h(
    'article',
    { class: 'overview' },
    h('h2', {}, t('overview.heading', { meeting: room.title ?? room.name })),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, [t('pins.label'), t('pins.role'), t('pins.pin'), t('pins.validity')].map((text) => h('th', { scope: 'col' }, text)))),
      h(
        'tbody',
        {},
        pins.map((pin) => h('tr', {}, h('th', { scope: 'row' }, pinName(pin)), h('td', {}, pin.role === 'listener' ? t('pins.listener') : t('pins.speaker')), h('td', { class: 'pin-digits' }, pin.pin), h('td', {}, validityText(pin)))),
      ),
    ),
  );
}

/** Letters for every PIN of the room (or for one), or the overview sheet; printed on A4. */
export function lettersView(context: ConsoleContext, roomName: string, what: { pinId?: string; overview?: boolean }): View {
  const pages = h('div', { class: 'pages' }, h('p', {}, t('app.loading')));
  start(async () => {
    const room = await api<Room & { pins: Pin[] }>('GET', roomPath(roomName));
    const pins = what.pinId === undefined ? room.pins : room.pins.filter((pin) => pin.id === what.pinId);
    if (pins.length === 0) replaceChildren(pages, h('p', {}, t('pins.none')));
    else if (what.overview) replaceChildren(pages, overview(room, pins));
    else replaceChildren(pages, pins.map((pin) => letter(context.settings, room, pin)));
  });
  return {
    title: what.overview ? t('pins.printOverview') : t('pins.printAll'),
    element: h(
      'section',
      { class: 'print-view' },
      h('p', { class: 'no-print buttons' }, h('a', { href: roomHref(roomName) }, t('letter.back')), h('button', { type: 'button', onclick: () => print() }, t('letter.print'))),
      h('h1', { class: 'visually-hidden' }, what.overview ? t('pins.printOverview') : t('pins.printAll')),
      pages,
    ),
  };
}
