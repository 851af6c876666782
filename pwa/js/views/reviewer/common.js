// What every reviewer screen shares: its words (merged into the one table when the first screen
// loads), the section navigation, names in both languages, pills of icon + word, tables that
// stack into cards on a phone, downloads through object URLs, and server problems in plain words.

import { api } from '../../api.js';
import { addDays, addStrings, fmtPercent, getLang, pakistanDay, problemText, sayKnown, t } from '../../i18n.js';
import { state } from '../../state.js';
import { dialog, h, icon, mount } from '../../ui.js';
import strings from './strings.js';

addStrings(strings);

export const page = (current, title, ...children) => h('div', { class: 'reviewer' },
  h('nav', { class: 'rv-nav', 'aria-label': t('rv.nav.label') }, h('ul', {},
    [['/review', 'queue'], ['/review/visits', 'visits'], ['/review/actions', 'actions'], ['/review/dashboard', 'dashboard']].map(([path, key]) =>
      h('li', {}, h('a', { href: `#${path}`, 'aria-current': path === current && 'page', text: t(`rv.nav.${key}`) }))))),
  title && h('h1', { text: title }), children);

export { namePair as bilingual } from '../../ui.js';

// Why a cancelled action was cancelled: withdrawn by the server (its cancel_reason), or by a person.
const WITHDRAWN = { override_passed: 'rv.act.withdrawnOverride', answer_corrected: 'rv.act.withdrawnCorrected' };
export const cancelledWhy = (a) => t(WITHDRAWN[a.cancel_reason] || 'rv.act.cancelledByPerson');

// That an unfinished action's failure has since left the record, by a reviewer's score change or by
// the inspector's correction after a return ({title, short}); null when it has not, or the action is
// final. An action someone worked on is left for a person to cancel.
export function sincePassed(a) {
  if (a.status === 'verified' || a.status === 'cancelled') return null;
  if (a.item_passed_by_override) return { title: t('rv.act.passedTitle'), short: t('rv.act.passedShort'), mark: 'passed' };
  if (a.item_corrected) return { title: t('rv.act.correctedTitle'), short: t('rv.act.correctedShort'), mark: 'corrected' };
  return null;
}

export const districtName = (d) => ({ en: d?.name, ur: d?.name_ur });
export const oneName = (name) => name?.[getLang()] || name?.en || '';

// A pill: colour, icon and word together; the word is what carries the meaning.
export const tag = (kind, iconName, text, attrs = {}) => h('span', { ...attrs, class: ['pill', `pill-${kind}`] },
  iconName && icon(iconName), h('span', { text }));

const FLAGS = [['far_from_station', 'far', 'pin', 'warn'], ['reused_photos', 'reused', 'image', 'warn'],
  ['critical_failed', 'critical', 'cross', 'fail'], ['missing_photos', 'missing', 'camera', 'warn'],
  // The photo evidence (server/review/evidence.py): the name is also the queue's `flag` filter.
  ['photos_far', 'photos_far', 'pin', 'warn'], ['photos_off_time', 'photos_off_time', 'alert', 'warn'],
  ['photos_unproven', 'photos_unproven', 'camera', 'warn'], ['location_imprecise', 'imprecise', 'pin', 'warn'],
  // The fix is the station's recorded position to the centimetre: set by hand or by an app, not read.
  ['location_exact', 'exact', 'pin', 'warn'],
  // The fix is exactly another visit's, to the centimetre (schema 0026): real fixes jitter by metres.
  ['location_repeated', 'repeated', 'pin', 'warn'],
  // The visit's own times (server/review/timing.py): answered too fast, or overlapping another visit.
  ['too_fast', 'too_fast', 'alert', 'warn'], ['overlaps_other', 'overlaps', 'alert', 'warn']];
export const FLAG_NAMES = FLAGS.map((f) => f[1]);

export function flagPill(name) {
  const [, , iconName, kind] = FLAGS.find((f) => f[1] === name);
  return tag(kind, iconName, t(`rv.flag.${name}`), { dataset: { flag: name } });
}

export function flagList(flags) {
  const on = FLAGS.filter(([key]) => flags[key]);
  return on.length ? h('ul', { class: 'rv-flags' }, on.map((f) => h('li', {}, flagPill(f[1]))))
    : h('span', { class: 'hint', text: t('rv.flag.none') });
}

export const gradePill = (grade) => grade && (grade === 'fail'
  ? tag('fail', 'cross', t('rv.gradeFail'), { dataset: { grade } }) : tag('info', null, t('review.grade', { grade }), { dataset: { grade } }));

// The day `n` days from today on Pakistan's calendar, as YYYY-MM-DD (what a date input takes). Not
// toISOString(), which gives UTC's day, the day before from midnight to 05:00 in Pakistan; nor the
// device's own calendar, which an office laptop left on UTC shares.
export const inDays = (n) => addDays(pakistanDay(), n);

export const pct = (p) => (p === null || p === undefined ? '—' : fmtPercent(p));

// A change in percentage points as it is shown, the one rule for the tables' words and the charts'
// signs: its direction (`way`), 'same' when it rounds to 0.0, and its size to one decimal (`points`).
// No change (null) means no figure for the period before, which is all the API can say: a group may
// have figures from earlier periods (before a month without inspections), so it is not called new.
export function changeOf(change) {
  if (change === null) return { way: 'none' };
  if (Math.abs(change) < 0.05) return { way: 'same' };
  return { way: change > 0 ? 'up' : 'down', points: pct(Math.abs(change)).replace('%', '') };
}

// A change with a word for its direction, never a sign or a colour alone.
export function changeText(change) {
  const { way, points } = changeOf(change);
  return t(`rv.change.${way}`, { points });
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // Long enough for the browser to start the download; the URL is freed afterwards.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// The review's own refusals, said in the reviewer's words (i18n.problemText says the rest).
const MESSAGES = [
  [/^you inspected this station yourself/, 'rv.msg.own'],
  [/^only reviewers and administrators review/, 'rv.msg.onlyReviewers'],
  [/^the inspection changed since you opened it/, 'rv.stale.body'],
  [/^only a submitted inspection can be reviewed; this one is (\w+)$/, 'rv.msg.notSubmitted'],
  [/^give the reason for the override$/, 'rv.msg.reason'],
  [/^is not an item of this template$/, 'rv.msg.notItem'],
  [/^a \w+ item earns no score to override$/, 'rv.msg.noScore'],
  [/^is hidden by the inspector's answers/, 'rv.msg.hidden'],
];

const statusWords = (status) => t(`rv.st.${status}`);

export const sayServer = (message) => sayKnown(MESSAGES, message, statusWords);

export const problem = (err) => problemText(err, {
  messages: MESSAGES, fill: statusWords, keys: { offline: 'rv.offline', notFound: 'rv.msg.notFound', forbidden: 'error.forbidden' },
});

export const errorBox = (err) => h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('p', { text: problem(err) }));

// Disables the button while the work runs, so a double tap never sends twice.
export async function busy(btn, fn) {
  btn.disabled = true;
  try { return await fn(); } finally { btn.disabled = false; }
}

// Reference lists asked for once per signed-in user (another user on this browser asks again).
const once = (fn) => {
  const cache = new Map();
  return () => {
    const uid = state.user?.id;
    if (!cache.has(uid)) cache.set(uid, fn().catch((e) => { cache.delete(uid); throw e; }));
    return cache.get(uid);
  };
};

export const districts = once(() => api.reviewer.districts());

// Stations in scope: the offline bundle has them for every role; the API answers when it is empty.
export const stations = once(async () => {
  const local = Object.values(state.bundle.stations);
  return (local.length ? local : await api.reviewer.stations({ active: true })).sort((a, b) => a.code.localeCompare(b.code));
});

export const definitionOf = async (versionId) => (state.bundle.templates[versionId] || await api.reviewer.version(versionId)).definition;

// A <select> of [value, label] pairs, led by an "all" option when `all` is given.
export const select = (name, options, value, { all, ...attrs } = {}) => h('select', { name, ...attrs },
  all && h('option', { value: '', text: all }),
  options.map(([v, label]) => h('option', { value: v, text: label, selected: v === value })));

// headers: [[label, numeric?]]. Cells carry their column's name, which the phone layout shows.
export const table = (headers, rows, cls = '') => h('table', { class: ['rv-table', cls] },
  h('thead', {}, h('tr', {}, headers.map(([label, num]) => h('th', { scope: 'col', class: num && 'num', text: label })))),
  h('tbody', {}, rows));

export const row = (headers, cells, attrs = {}) => h('tr', attrs, cells.map((c, i) =>
  h('td', { 'data-label': headers[i][0], class: headers[i][1] && 'num' }, c)));

// Ending something for good (cancelling a visit or an action, stopping a repeating visit) cannot be
// undone from these screens, so the dialog says what will happen and its safe choice comes first (and
// has the focus). `check(form)`, when given, may refuse before anything is sent (a required note),
// having shown why. While the request runs its buttons are disabled and Escape is held, so the answer
// is never lost behind a closed dialog. A refusal is shown in it by `fail(form, host, err)`: when the
// thing was ended or changed meanwhile (409) or left the officer's area (404), asking again cannot
// succeed, so only Close remains; a lost connection or a server failure can be tried again. The
// screen should be drawn again after a refusal (`refused`), since it no longer matches the server.
export async function endDialog({ title, body, keep, confirm, working, send, check = () => true, fail = showError, kind = 'danger' }) {
  const host = h('div');
  const form = h('div', { class: 'rv-form rv-end' }, host, body);
  let refused = false;
  const choice = await dialog({
    title,
    body: form,
    actions: [{ label: keep, value: null }, { label: confirm, value: 'confirm', kind }],
    onSubmit: async (value, dlg) => {
      if (value !== 'confirm') return true;
      mount(host);
      if (!check(form)) return false;
      const buttons = [...dlg.querySelectorAll('.dialog-actions button')];
      const go = buttons[buttons.length - 1];
      const hold = (e) => { e.preventDefault(); e.stopImmediatePropagation(); };
      const settle = (running) => {
        for (const b of buttons) b.disabled = running;
        go.lastChild.textContent = running ? working : confirm;
        dlg.toggleAttribute('aria-busy', running);
        dlg[running ? 'addEventListener' : 'removeEventListener']('cancel', hold, true);
      };
      settle(true);
      try { await send(); return true; } catch (err) {
        refused = true;
        settle(false);
        fail(form, host, err);
        if (err.status === 409 || err.status === 404) {
          go.disabled = true;
          buttons[0].lastChild.textContent = t('close');
          buttons[0].focus();
        } else {
          go.focus();
        }
        return false;
      }
    },
  });
  return { done: choice === 'confirm', refused };
}

const showError = (form, host, err) => mount(host, errorBox(err));

// What will happen, in plain words, marked so it is not read past.
export const what = (...lines) => h('div', { class: 'callout callout-warn rv-what' }, icon('warn'),
  h('div', {}, lines.map((line) => h('p', { text: line }))));

// A labelled control with a place for the server's problem with it: ui.js, as on the admin screens.
export { fieldBox } from '../../ui.js';

// Places each problem ({field, message}) beside its field inside `root`, after clearing the last
// ones; `say` turns the server's English message into the user's words. Returns the problems that
// named no field here, and focuses the first field that has one.
export function placeProblems(root, problems, say = (m) => m) {
  for (const slot of root.querySelectorAll('.field-error')) { slot.hidden = true; slot.replaceChildren(); }
  for (const box of root.querySelectorAll('.field.has-error')) {
    box.classList.remove('has-error');
    const control = box.querySelector('input, select, textarea');
    control.removeAttribute('aria-invalid');
    control.setAttribute('aria-describedby', (control.getAttribute('aria-describedby') || '').replace(/\S+-err\b/, '').trim());
  }
  const left = [];
  let first = null;
  for (const p of problems) {
    const box = root.querySelector(`.field[data-field="${CSS.escape(p.field || '')}"]`);
    if (!box) { left.push(p); continue; }
    const slot = box.querySelector(':scope > .field-error');
    const control = box.querySelector('input, select, textarea');
    if (!slot.childNodes.length) slot.append(icon('alert'));
    slot.append(h('span', { text: say(p.message) }));
    slot.hidden = false;
    box.classList.add('has-error');
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') || ''} ${slot.id}`.trim());
    first ||= control;
  }
  first?.focus();
  return left;
}
