// Sign-in (online, once) and signing in again after the server said 401, which keeps every
// draft, photo and outbox entry: only the token is replaced.

import { problemText, t } from '../i18n.js';
import { retryRefused } from '../outbox.js';
import { refreshBundle, signIn, state } from '../state.js';
import { dialog, field, h, icon } from '../ui.js';

function errorText(err) {
  if (err.code === 'other-user-unsent') return t('login.otherUser');
  if (err.status === 0) return t('login.offline');
  if (err.status === 401) return t('login.wrong');
  if (err.status === 403) return t('login.switchedOff');
  if (err.status === 429) return t('login.throttled');
  return problemText(err);
}

export async function loginView() {
  const user = h('input', { name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, h('span', { text: t('login.submit') }));
  const form = h('form', {
    class: 'card login', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      if (!user.value.trim() || !pass.value) { showError(t('login.required')); return; }
      submit.disabled = true;
      try {
        await signIn(user.value.trim(), pass.value);
        navigator.storage?.persist?.();  // asked after a user gesture, when browsers grant it
        await refreshBundle().catch(() => {});
        retryRefused();  // what the server refused this person before may go now
        location.hash = '#/';
      } catch (err) {
        showError(errorText(err));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h1', { text: t('login.title') }),
  h('p', { class: 'lead', text: t('login.lead') }),
  error,
  field(t('login.username'), user),
  field(t('login.password'), pass),
  submit);
  function showError(msg) {
    error.replaceChildren(icon('alert'), h('span', { text: msg }));
    error.hidden = false;
  }
  return h('div', { class: 'page narrow' }, form);
}

// Resolves true once signed in again, false if the user closes it (work stays queued).
export function reauthDialog() {
  const pass = h('input', { type: 'password', autocomplete: 'current-password' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return dialog({
    title: t('reauth.title'),
    body: [h('p', { text: t('reauth.body') }), h('p', { class: 'strong', text: state.user?.username || '' }), error,
      field(t('login.password'), pass)],
    actions: [{ label: t('reauth.later'), value: false }, { label: t('login.submit'), value: true, kind: 'primary' }],
    onSubmit: async () => {
      try {
        await signIn(state.user.username, pass.value);
        return true;
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        return false;
      }
    },
  });
}

