import { api, type LiveCall } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { describeError } from '../errors.js';
import { notice } from '../forms.js';
import { countText, formatTime, isMessageKey, t } from '../i18n.js';
import { start } from '../tasks.js';
import type { ConsoleContext, View } from '../view.js';

/** How often the list asks the service again: a caller who joins shows within this time. */
export const CALLS_REFRESH_MS = 2000;

const callerOf = (call: LiveCall) => call.label ?? call.caller;

function stateText(call: LiveCall): string {
  const key = `state.${call.state}`;
  return isMessageKey(key) ? t(key) : call.state;
}

/** Calls in progress, refreshed without reload; mute, unmute and hang up (admin, clerk). */
export function callsView(context: ConsoleContext): View {
  const count = h('p', { class: 'count' });
  const list = h('div', { class: 'table-wrap' });
  const message = notice();
  let shownIds = '';

  function render(calls: LiveCall[]): void {
    count.textContent = countText('calls.count', calls.length);
    // Only a change of calls rebuilds the table, so a focused button keeps its focus while nothing changes.
    const signature = JSON.stringify(calls.map((call) => [call.id, call.state, call.muted, call.listeners]));
    if (signature === shownIds) return;
    const focusedId = document.activeElement?.getAttribute('data-action');
    shownIds = signature;
    if (calls.length === 0) {
      replaceChildren(list, h('p', {}, t('calls.none')));
      return;
    }
    const columns = [t('calls.room'), t('calls.caller'), t('calls.role'), t('calls.state'), t('calls.muted'), t('calls.since')];
    replaceChildren(
      list,
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, [...columns, context.canWrite ? t('pins.actions') : null].filter((text) => text !== null).map((text) => h('th', { scope: 'col' }, text)))),
        h('tbody', {}, calls.map((call) => row(call))),
      ),
    );
    if (focusedId) list.querySelector<HTMLElement>(`[data-action="${CSS.escape(focusedId)}"]`)?.focus();
  }

  function row(call: LiveCall): HTMLElement {
    const who = callerOf(call);
    const isSharedLeg = call.listeners !== undefined;
    const inConference = call.state === 'bridged' && !isSharedLeg;
    return h(
      'tr',
      {},
      h('td', {}, call.room ?? '–'),
      h('th', { scope: 'row' }, who, call.direction === 'out' ? ` (${t('calls.out')})` : '', call.listeners !== undefined ? ` (${t('calls.sharedLeg', { count: call.listeners })})` : ''),
      h('td', {}, call.role === null ? '–' : call.role === 'listener' ? t('pins.listener') : t('pins.speaker')),
      h('td', {}, stateText(call)),
      h('td', {}, call.muted ? t('yes') : t('no')),
      h('td', {}, formatTime(call.startedAt)),
      context.canWrite &&
        h(
          'td',
          { class: 'actions' },
          inConference &&
            h(
              'button',
              { type: 'button', class: 'secondary', 'data-action': `mute-${call.id}`, 'aria-label': t(call.muted ? 'calls.unmuteFor' : 'calls.muteFor', { caller: who }), onclick: () => start(async () => setMuted(call, !call.muted)) },
              call.muted ? t('calls.unmute') : t('calls.mute'),
            ),
          h('button', { type: 'button', class: 'danger', 'data-action': `hang-up-${call.id}`, 'aria-label': t('calls.hangUpFor', { caller: who }), onclick: () => start(async () => hangUp(call)) }, t('calls.hangUp')),
        ),
    );
  }

  async function setMuted(call: LiveCall, muted: boolean): Promise<void> {
    message.clear();
    try {
      await api('PATCH', `/api/v1/calls/${encodeURIComponent(call.id)}`, { muted });
    } catch (error) {
      message.say(describeError(error).text, 'error');
    }
    await refresh();
  }

  async function hangUp(call: LiveCall): Promise<void> {
    if (!confirm(t('calls.hangUpConfirm', { caller: callerOf(call) }))) return;
    message.clear();
    try {
      await api('DELETE', `/api/v1/calls/${encodeURIComponent(call.id)}`);
      message.say(t('calls.hungUp', { caller: callerOf(call) }));
    } catch (error) {
      message.say(describeError(error).text, 'error');
    }
    await refresh();
  }

  let refreshing = false;
  async function refresh(): Promise<void> {
    if (refreshing) return;
    refreshing = true;
    try {
      render((await api<{ items: LiveCall[] }>('GET', '/api/v1/calls')).items);
    } finally {
      refreshing = false;
    }
  }

  start(refresh);
  const timer = setInterval(() => start(refresh), CALLS_REFRESH_MS);
  return {
    title: t('calls.heading'),
    element: h('section', {}, h('h1', {}, t('calls.heading')), count, message.element, list),
    dispose: () => clearInterval(timer),
  };
}
