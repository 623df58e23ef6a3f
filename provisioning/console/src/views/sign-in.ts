import { api, ApiFailure } from '../api.js';
import { h } from '../dom.js';
import { notice, onSubmit, textField } from '../forms.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';
import type { View } from '../view.js';

export function signInView(onSignedIn: () => void, expired: boolean): View {
  const name = textField(t('signIn.name'), { name: 'name', required: true, autocomplete: 'username', maxlength: 64 });
  const password = textField(t('signIn.password'), { name: 'password', type: 'password', required: true, autocomplete: 'current-password', maxlength: 256 });
  const message = notice();
  if (expired) message.say(t('signIn.expired'), 'error');
  const submit = h('button', { type: 'submit' }, t('signIn.submit'));
  const form = h(
    'form',
    {
      class: 'card sign-in',
      novalidate: true,
      onsubmit: onSubmit(signIn),
    },
    name.element,
    password.element,
    submit,
    message.element,
  );

  async function signIn(): Promise<void> {
    message.clear();
    if (name.control.value.trim() === '' || password.control.value === '') {
      message.say(t('signIn.wrong'), 'error');
      return;
    }
    submit.disabled = true;
    try {
      await api('POST', '/api/v1/session', { name: name.control.value.trim(), password: password.control.value });
      onSignedIn();
    } catch (error) {
      password.control.value = '';
      const text = error instanceof ApiFailure && error.status === 401 ? t('signIn.wrong') : error instanceof ApiFailure && error.code === 'too-many-sign-ins' ? t('signIn.locked') : describeError(error).text;
      message.say(text, 'error');
      password.control.focus();
    } finally {
      submit.disabled = false;
    }
  }

  return { title: t('signIn.heading'), element: h('section', {}, h('h1', {}, t('signIn.heading')), form) };
}
