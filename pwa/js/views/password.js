// Changing one's own password: every role, from the settings screen beside "Sign out". It needs the
// server there and then (the current password is checked against it): a password is never kept on
// the phone to send later, so without a connection the screen says so and nothing changes. The other
// sessions of the person end on the server; the one used here goes on.
//
// An admin set the password of someone whose account says `password_must_change` (a new account, a
// reset, an import): the app brings them here first (app.js, guard) and the screen says why. Once they
// have chosen their own, they go on to their role's home.

import { api } from '../api.js';
import { emit, emitHere } from '../bus.js';
import { kv } from '../db.js';
import { problemText, t } from '../i18n.js';
import { state } from '../state.js';
import { fieldBox, h, icon, toast } from '../ui.js';

const MIN = 8;  // as the server's rule for any password (server/auth/models.py, Password)
const MAX = 256;

// The server's problem with a field, in the person's words: the few it sends, else its own sentence.
function serverWords(field, message = '') {
  if (field === 'current_password') return /not correct/.test(message) ? t('password.wrong') : t('password.required');
  if (field === 'new_password') {
    if (/differ/.test(message)) return t('password.same');
    if (/>=/.test(message)) return t('password.short');
    if (/<=/.test(message)) return t('password.long');
  }
  return problemText({ status: 422, detail: message });
}

// What can be said before asking the server: each field's problem, by the name the server uses.
function localProblems(current, next, again) {
  const found = {};
  if (!current) found.current_password = t('password.required');
  if (next.length < MIN) found.new_password = t('password.short');
  else if (next.length > MAX) found.new_password = t('password.long');
  else if (next === current) found.new_password = t('password.same');
  if (!found.new_password && again !== next) found.new_password_again = t('password.mismatch');
  return found;
}

// The person chose their own: the app stops asking (the server cleared its flag with the change).
async function chosen() {
  state.user = { ...state.user, password_must_change: false };
  state.passwordChosenAt = Date.now();
  await kv.set('user', state.user);
  emit('session');  // the app's other tabs stop asking too (app.js, followSession)
  toast(t('password.done'), { timeout: 10000 });
  location.hash = '#/';  // the guard takes each role to its home
}

export default function passwordView() {
  const asked = !!state.user?.password_must_change;
  const input = (name, autocomplete) => h('input', { name, type: 'password', autocomplete, required: true, maxlength: MAX });
  const inputs = {
    current_password: input('current_password', 'current-password'),
    new_password: input('new_password', 'new-password'),
    new_password_again: input('new_password_again', 'new-password'),
  };
  const boxes = {
    current_password: fieldBox('current_password', t('password.current'), inputs.current_password,
      asked ? { hint: t('password.mustChangeCurrent') } : undefined),
    new_password: fieldBox('new_password', t('password.new'), inputs.new_password, { hint: t('password.newHint') }),
    new_password_again: fieldBox('new_password_again', t('password.again'), inputs.new_password_again),
  };
  const formError = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const done = h('div', { class: 'callout callout-ok', role: 'status', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, h('span', { text: t('password.submit') }));
  const later = h('p', { id: 'password-later', hidden: true }, h('a', { class: 'btn btn-secondary', href: '#/' },
    h('span', { text: t('password.later') })));

  function clear() {
    formError.hidden = true;
    done.hidden = true;
    for (const [name, box] of Object.entries(boxes)) {
      const err = box.querySelector('.field-error');
      err.hidden = true;
      err.replaceChildren();
      inputs[name].removeAttribute('aria-invalid');
      const hint = box.querySelector('.hint');
      if (hint) inputs[name].setAttribute('aria-describedby', hint.id);
      else inputs[name].removeAttribute('aria-describedby');
    }
  }

  function showErrors(found) {
    let first = null;
    for (const [name, message] of Object.entries(found)) {
      const box = boxes[name];
      if (!box) continue;
      const err = box.querySelector('.field-error');
      err.replaceChildren(icon('alert'), h('span', { text: message }));
      err.hidden = false;
      inputs[name].setAttribute('aria-invalid', 'true');
      inputs[name].setAttribute('aria-describedby', [box.querySelector('.hint')?.id, err.id].filter(Boolean).join(' '));
      first ||= inputs[name];
    }
    first?.focus();
    return !!first;
  }

  function showFormError(text) {
    formError.replaceChildren(icon('alert'), h('span', { text }));
    formError.hidden = false;
    formError.focus();
  }

  async function send(e) {
    e.preventDefault();
    clear();
    const current = inputs.current_password.value;
    const next = inputs.new_password.value;
    if (showErrors(localProblems(current, next, inputs.new_password_again.value))) return;
    submit.disabled = true;
    try {
      await api.changePassword(current, next);
      for (const el of Object.values(inputs)) el.value = '';
      if (asked) { await chosen(); return; }
      done.replaceChildren(icon('check'), h('p', { text: t('password.done') }));
      done.hidden = false;
      done.focus();
    } catch (err) {
      const placed = {};
      for (const { field, message } of err.errors || []) if (boxes[field] && !placed[field]) placed[field] = serverWords(field, message);
      if (err.status === 422 && showErrors(placed)) return;
      if (asked && (err.status === 0 || err.status === 429)) {
        // Cannot be changed now: the person goes on to their work and is asked again later (app.js).
        state.passwordDeferred = true;
        later.hidden = false;
        emitHere('password-deferred', { seconds: err.status === 429 ? Number(err.body?.retry_after) || 900 : 60 });
      }
      if (err.status === 0) showFormError(t('password.offline'));
      else if (err.status === 429) showFormError(t('password.throttled'));
      else if (err.status === 409) showFormError(t('password.conflict'));
      else showFormError(problemText(err));
    } finally {
      submit.disabled = false;
    }
  }

  return h('div', { class: 'page narrow' },
    h('form', { class: 'card password-form', novalidate: true, onsubmit: send },
      h('h1', { text: t('password.title') }),
      asked ? h('div', { class: 'callout callout-warn', id: 'password-must-change', role: 'status' },
        icon('warn'), h('p', { text: t('password.mustChange') })) : null,
      h('p', { class: 'lead', text: t('password.lead') }),
      h('p', { class: 'hint', id: 'password-network', text: t('password.needsNetwork') }),
      done,
      formError,
      later,
      boxes.current_password,
      boxes.new_password,
      boxes.new_password_again,
      submit),
    // Asked to choose one, the person may still sign out instead (Settings); nothing else is open.
    h('p', {}, h('a', { href: '#/settings', text: t(asked ? 'password.signOutInstead' : 'password.back') })));
}
