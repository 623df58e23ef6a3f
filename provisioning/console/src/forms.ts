import { h, uniqueId } from './dom.js';
import { start } from './tasks.js';

/** A labelled control with its hint and a place for its error, tied together for screen readers. */
export interface Field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement> {
  element: HTMLElement;
  control: T;
  showError(text: string | null): void;
}

function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(label: string, control: T, hint?: string): Field<T> {
  const id = uniqueId('field');
  control.id = id;
  const hintElement = hint === undefined ? null : h('p', { class: 'hint', id: `${id}-hint` }, hint);
  const errorElement = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const describe = (withError: boolean) => [hintElement ? `${id}-hint` : '', withError ? `${id}-error` : ''].filter(Boolean).join(' ');
  const described = describe(false);
  if (described) control.setAttribute('aria-describedby', described);
  const element = h('div', { class: 'field' }, h('label', { for: id }, label), hintElement, control, errorElement);
  return {
    element,
    control,
    showError(text) {
      errorElement.textContent = text ?? '';
      errorElement.hidden = text === null;
      if (text === null) control.removeAttribute('aria-invalid');
      else control.setAttribute('aria-invalid', 'true');
      const description = describe(text !== null);
      if (description) control.setAttribute('aria-describedby', description);
      else control.removeAttribute('aria-describedby');
    },
  };
}

export function textField(label: string, options: { name: string; type?: string; required?: boolean; hint?: string; value?: string; autocomplete?: string; maxlength?: number }): Field<HTMLInputElement> {
  const input = h('input', {
    name: options.name,
    type: options.type ?? 'text',
    required: options.required ?? false,
    autocomplete: options.autocomplete ?? 'off',
    maxlength: options.maxlength,
  });
  input.value = options.value ?? '';
  return field(label, input, options.hint);
}

export function textArea(label: string, options: { name: string; hint?: string; rows?: number }): Field<HTMLTextAreaElement> {
  return field(label, h('textarea', { name: options.name, rows: options.rows ?? 6 }), options.hint);
}

export function selectField(label: string, name: string, choices: Array<[value: string, text: string]>): Field<HTMLSelectElement> {
  return field(label, h('select', { name }, choices.map(([value, text]) => h('option', { value }, text))));
}

export function checkbox(label: string, name: string, checked: boolean): { element: HTMLElement; control: HTMLInputElement } {
  const id = uniqueId('check');
  const control = h('input', { type: 'checkbox', id, name });
  control.checked = checked;
  return { element: h('div', { class: 'field check' }, control, h('label', { for: id }, label)), control };
}

/** A message region read out when it changes: results of an action, errors not tied to a field. */
export function notice(): { element: HTMLElement; say(text: string, kind?: 'ok' | 'error'): void; clear(): void } {
  const element = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  return {
    element,
    say(text, kind = 'ok') {
      element.textContent = text;
      element.className = `notice ${kind}`;
    },
    clear() {
      element.textContent = '';
      element.className = 'notice';
    },
  };
}

/** A datetime-local value as ISO 8601 (the browser's time zone), null when empty. */
export function isoFromLocal(value: string): string | null {
  return value === '' ? null : new Date(value).toISOString();
}

/** A submit handler that keeps the page where it is and starts `action`. */
export function onSubmit(action: () => Promise<void>): (event: Event) => void {
  return (event) => {
    event.preventDefault();
    start(action);
  };
}
