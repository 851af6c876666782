// What every admin screen shares: its words and stylesheet (loaded with the first admin screen, so
// an inspector's phone never fetches them), the section navigation, form fields that show the
// server's 422 problems beside themselves (GOV.UK pattern: a summary with links, and the message at
// the field), and a download helper.

import { addStrings, getLang, problemText, sayKnown, t } from '../../i18n.js';
import { fieldBox, h, icon, mount } from '../../ui.js';
import strings from './strings.js';

addStrings(strings);

let stylesReady = null;

// Whole numbers as i18n writes them, in the digits the person chose.
export { fmtNumber as num } from '../../i18n.js';

// Resolves once admin.css has loaded (or failed), so a screen never paints unstyled first.
export function styles() {
  if (!stylesReady) {
    stylesReady = new Promise((resolve) => {
      const link = h('link', { rel: 'stylesheet', href: '/css/admin.css', id: 'admin-css' });
      link.addEventListener('load', resolve);
      link.addEventListener('error', resolve);
      document.head.append(link);
    });
  }
  return stylesReady;
}

// A region's, district's or circle's name in the reader's language (lists carry both).
export const placeName = (p) => (getLang() === 'ur' && p?.name_ur ? p.name_ur : p?.name || '');
// Both names on one line, the reader's language first: "Lahore — لاہور" or "لاہور — Lahore".
export function placeNames(p) {
  const first = placeName(p);
  const other = getLang() === 'ur' ? p?.name : p?.name_ur;
  return other && other !== first ? `${first} — ${other}` : first;
}

const SECTIONS = [
  ['templates', '/admin/templates'], ['users', '/admin/users'], ['hierarchy', '/admin/hierarchy'], ['audit', '/admin/audit'],
];

// The page frame: the admin sections as a navigation bar, then the screen.
export function adminPage(current, ...children) {
  return h('div', { class: 'admin page', dataset: { section: current } },
    h('nav', { class: 'admin-nav', 'aria-label': t('admin.nav') },
      h('ul', {}, SECTIONS.map(([key, href]) => h('li', {},
        h('a', { href: `#${href}`, 'aria-current': key === current ? 'page' : null, text: t(`admin.nav.${key}`) }))))),
    ...children);
}

let seq = 0;
export const uid = (prefix = 'a') => `${prefix}-${(seq += 1)}`;

// A labelled control with a place for its problem (ui.js; the reviewer's forms use it too).
export { fieldBox };

// A checkbox with its label after it, 44 px high.
export function checkBox(name, label, checked, onchange, { hint, disabled } = {}) {
  const box = h('input', { type: 'checkbox', checked, disabled, id: uid('c'), onchange: (e) => onchange(e.target.checked) });
  const hintEl = hint ? h('p', { class: 'hint', id: `${box.id}-hint`, text: hint }) : null;
  if (hintEl) box.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field check', dataset: { field: name } },
    h('p', { class: 'field-error', id: `${box.id}-err`, hidden: true }),
    h('div', { class: 'check-row' }, box, h('label', { for: box.id, text: label })), hintEl);
}

// A group of controls (options, a condition) with a legend and a place for the group's problem.
export function groupBox(name, legend, ...children) {
  const id = uid('g');
  return h('fieldset', { class: 'group', dataset: { field: name }, id },
    h('legend', { text: legend }), h('p', { class: 'field-error', id: `${id}-err`, hidden: true }), ...children);
}

export function input(value, oninput, attrs = {}) {
  return h('input', { type: 'text', value: value ?? '', autocomplete: 'off', ...attrs, oninput: (e) => oninput(e.target.value, e) });
}

// English and Urdu of one text side by side; the Urdu box is right-to-left whatever the UI language.
export function bilingual(name, label, value, onchange, { multiline = false, hintEn, hintUr } = {}) {
  const make = (lang) => h(multiline ? 'textarea' : 'input', {
    type: multiline ? null : 'text', rows: multiline ? 2 : null, lang, dir: lang === 'ur' ? 'rtl' : 'ltr',
    value: value?.[lang] ?? '', autocomplete: 'off', spellcheck: lang === 'en' ? 'true' : 'false',
    oninput: (e) => onchange(lang, e.target.value),
  });
  return h('div', { class: 'bi' },
    fieldBox(`${name}.en`, t('admin.inEnglish', { label }), make('en'), { hint: hintEn }),
    fieldBox(`${name}.ur`, t('admin.inUrdu', { label }), make('ur'), { hint: hintUr, class: 'field-ur' }));
}

const MESSAGES = [
  [/^must not be blank$/, 'admin.msg.blank'],
  [/^the (English|Urdu) name must not be blank$/, 'admin.msg.blank'],
  [/^a section needs at least one item$/, 'admin.msg.sectionEmpty'],
  [/^a template needs at least one section$/, 'admin.msg.noSections'],
  [/^a (choice|multi_choice) item needs at least one option$/, 'admin.msg.noOptions'],
  [/^at least one option must be worth more than 0 points$/, 'admin.msg.optionPoints'],
  [/^must be greater than 0$/, 'admin.msg.positive'],
  [/^must not be negative$/, 'admin.msg.notNegative'],
  [/^must be at most (\d+)$/, 'admin.msg.atMost'],
  [/^a template may have at most (\d+) items$/, 'admin.msg.tooManyItems'],
  [/^this item can never fail, so it cannot be critical$/, 'admin.msg.criticalNever'],
  [/^a scale needs a whole-number maximum of at least 1$/, 'admin.msg.scaleMax'],
  [/^the item key '(.+)' is used twice in this template$/, 'admin.msg.itemKeyTwice'],
  [/^the key '(.+)' is an? \w+ item in version (\d+), and dashboards/, 'admin.msg.keyMeaningType'],
  [/^none of these options is an option of '(.+)' in version (\d+)/, 'admin.msg.keyMeaningOptions'],
  [/^the section key '(.+)' is used twice$/, 'admin.msg.sectionKeyTwice'],
  [/^the option key '(.+)' is used twice$/, 'admin.msg.optionKeyTwice'],
  [/^'(.+)' must be an item that comes earlier in the template$/, 'admin.msg.visibleEarlier'],
  [/^must list at least one answer$/, 'admin.msg.visibleNone'],
  [/^give exactly one of 'equals' or 'in'$/, 'admin.msg.visibleNone'],
  [/^is not a possible answer of '(.+)'/, 'admin.msg.visibleAnswer'],
  [/^must not be greater than max$/, 'admin.msg.minMax'],
  [/^Expected `str` matching regex/, 'admin.msg.keyFormat'],
  [/^must be lower-case letters, digits and _ starting with a letter$/, 'admin.msg.keyFormat'],
  [/^another template has this key$/, 'admin.msg.keyTaken'],
  [/^must be between (\S+) and (\S+)$/, 'admin.msg.between'],
  [/^must name at least one kind of station/, 'admin.msg.kinds'],
  [/^bands must be listed from the highest minimum down/, 'admin.msg.bandsOrder'],
  [/^one band must start at 0/, 'admin.msg.bandZero'],
  [/^'fail' is reserved for a critical failure$/, 'admin.msg.bandFail'],
  [/^the grade '(.+)' is used twice$/, 'admin.msg.bandTwice'],
  [/^this username is taken$/, 'admin.msg.usernameTaken'],
  [/^a (reviewer|inspector) needs at least one region or district$/, 'admin.msg.scopeNeeded'],
  [/^another (region|district|circle|station) has this code$/, 'admin.msg.codeTaken'],
  [/^must be 1 to 40 letters, digits/, 'admin.msg.codeFormat'],
  [/^the circle is not in the station's district$/, 'admin.msg.circleDistrict'],
  [/^could be any of the (?:regions|districts|circles) (.+): write the code exactly as stored$/, 'admin.msg.codeTwins'],
  // A station's place, refused alike by its form and by the import (server/org/rules.check_station_point).
  [/^lat and lon look swapped/, 'admin.csvMsg.swapped'],
  [/^(\S+) is outside Pakistan \(lat /, 'admin.csvMsg.latOutside'],
  [/^(\S+) is outside Pakistan \(lon /, 'admin.csvMsg.lonOutside'],
];

// The server writes its problems in English; the common ones are said in the user's language.
export const serverMessage = (message) => sayKnown(MESSAGES, message);

export function boxFor(root, field) {
  // The exact field, else the nearest enclosing one: `options[2].points` -> `options[2]` -> `options`.
  let name = field;
  while (name) {
    const box = root.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (box) return box;
    const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('['));
    if (cut <= 0) break;
    name = name.slice(0, cut);
  }
  return null;
}

const controlOf = (box) => box?.querySelector('input, select, textarea, button');

// Clears and places problems inside `root`: each next to its field; returns those that found no
// field, each as {field, message}, with `box` set for those that did (for a summary's links).
export function placeErrors(root, errors) {
  for (const el of root.querySelectorAll('.field-error')) { el.hidden = true; el.replaceChildren(); }
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('.has-error')) el.classList.remove('has-error');
  const placed = [];
  for (const e of errors) {
    const box = boxFor(root, e.field);
    if (!box) { placed.push({ ...e, box: null }); continue; }
    const slot = box.querySelector(':scope > .field-error');
    slot.hidden = false;
    if (slot.childNodes.length) slot.append(h('br'));
    else slot.append(icon('alert'));
    slot.append(h('span', { text: serverMessage(e.message) }));
    box.classList.add('has-error');
    const control = controlOf(box);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      const ids = new Set((control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
      ids.add(slot.id);
      control.setAttribute('aria-describedby', [...ids].join(' '));
    }
    placed.push({ ...e, box });
  }
  return placed;
}

export function labelOfBox(box) {
  return box?.querySelector(':scope > label, :scope > legend, :scope .check-row > label')?.textContent || '';
}

export function focusBox(box) {
  if (!box) return;
  box.scrollIntoView({ block: 'center' });
  (controlOf(box) || box).focus({ preventScroll: true });
}

// The summary of a form's problems: a heading, then one link per problem that focuses its field.
export function errorSummary(host, placed, { title } = {}) {
  if (!placed.length) { mount(host); host.hidden = true; return; }
  host.hidden = false;
  mount(host, h('div', { class: 'callout callout-fail error-summary', role: 'alert', tabindex: '-1' }, icon('alert'),
    h('div', {},
      h('h2', { class: 'h3', text: title || t('admin.problems', { count: placed.length }) }),
      h('ul', {}, placed.map((p) => h('li', {}, p.box
        ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); focusBox(p.box); } },
          `${labelOfBox(p.box)}: ${serverMessage(p.message)}`)
        : `${p.field === 'body' || !p.field ? '' : `${p.field}: `}${serverMessage(p.message)}`))))));
}

// An ApiError as words for a person: its problems placed on the form when it is a 422.
export function showFailure(form, summaryHost, err) {
  if (err?.status === 422 && err.errors?.length) {
    errorSummary(summaryHost, placeErrors(form, err.errors));
  } else {
    placeErrors(form, []);
    errorSummary(summaryHost, [{ field: '', message: describeError(err), box: null }], { title: t('admin.notSaved') });
  }
  summaryHost.querySelector('.error-summary')?.focus();
}

export const describeError = (err) => problemText(err, {
  messages: MESSAGES,
  keys: { offline: 'admin.offline', signedOut: 'admin.signedOut', forbidden: 'admin.forbidden', conflict: 'admin.conflict' },
});

// Runs fn with the button disabled, so a double click never sends twice.
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally { button.disabled = false; button.removeAttribute('aria-busy'); }
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

// Debounce that can be flushed (run now if pending) and cancelled.
export function debounce(fn, ms) {
  let timer = null;
  const run = (...args) => { clearTimeout(timer); timer = setTimeout(() => { timer = null; fn(...args); }, ms); };
  run.flush = () => { if (timer) { clearTimeout(timer); timer = null; fn(); } };
  run.cancel = () => { clearTimeout(timer); timer = null; };
  return run;
}

export function select(options, value, onchange, attrs = {}) {
  return h('select', { ...attrs, onchange: (e) => onchange(e.target.value, e) },
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)));
}

// A search box with its icon and a label for screen readers.
export function searchBox(label, value, oninput, attrs = {}) {
  const box = h('input', { type: 'search', value: value ?? '', 'aria-label': label, placeholder: label, ...attrs,
    oninput: (e) => oninput(e.target.value) });
  return h('div', { class: 'search' }, icon('search'), box);
}

// The load behind a list its filters reload: only the newest request's reply is shown, so a slow
// search overtaken by a change of filter never puts its rows (or its failure) under the newer filters.
// The list is aria-busy while a request is out, for screen readers and for whoever waits on it.
export function newestOnly(list, fetch, show) {
  const turn = turns();
  const load = async () => {
    const mine = turn.take();
    list.setAttribute('aria-busy', 'true');
    try {
      const rows = await fetch();
      if (turn.current(mine)) show(rows);
    } catch (err) {
      if (turn.current(mine)) mount(list, h('li', {}, loadingFailed(err, load)));
    } finally {
      if (turn.current(mine)) list.removeAttribute('aria-busy');
    }
  };
  return load;
}

// Numbered requests whose replies may come back in any order: take() as one is sent, and draw its
// reply only while current(that number), i.e. no newer one was sent meanwhile.
export function turns() {
  let newest = 0;
  return { take: () => (newest += 1), current: (mine) => mine === newest };
}

export function loadingFailed(err, retry) {
  return h('div', { class: 'callout callout-fail', role: 'alert' }, icon('alert'), h('div', {},
    h('p', { text: describeError(err) }),
    retry ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: retry }, t('admin.retry')) : null));
}

// Icons the admin screens need beyond the kit's, drawn the same way (decorative, a word goes with them).
const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  up: 'M12 19V5M5 12l7-7 7 7',
  down: 'M12 5v14M5 12l7 7 7-7',
  copy: 'M8 8h12v12H8zM4 16V4h12',
  grip: 'M9 5v.5M15 5v.5M9 12v.5M15 12v.5M9 19v.5M15 19v.5',
  plus: 'M12 5v14M5 12h14',
  trash: 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  upload: 'M12 20V9M7 14l5-5 5 5M5 4h14',
  shield: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  user: 'M12 12a4 4 0 100-8 4 4 0 000 8zM4 21a8 8 0 0116 0',
  eye: 'M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12zM12 9a3 3 0 100 6 3 3 0 000-6z',
};

export function aicon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.plus);
  svg.append(path);
  return svg;
}

// An icon button whose name is spoken (aria-label) and shown as a tooltip; 44 px square.
export function iconButton(name, label, onclick, { class: extra, ...attrs } = {}) {
  return h('button', { type: 'button', class: ['btn', 'btn-light', 'icon-only', 'tool', extra], title: label,
    'aria-label': label, ...attrs, onclick }, aicon(name));
}

// A CSV import's problem's field: "row 5.lat" -> {row: 5, column: "lat"}; "header" and "body"
// concern the whole file.
export function splitField(field) {
  const m = /^row (\d+)(?:\.(\w+))?$/.exec(field || '');
  return m ? { row: Number(m[1]), column: m[2] || '' } : { row: null, column: field || '' };
}

// A refusal lists the file's first problems (csvfile.SHOWN_PROBLEMS) and counts them all.
export function problemCounts(err, byRow) {
  const count = err.body?.problem_count ?? err.errors.length;
  const rows = err.body?.rows_with_problems ?? new Set(byRow.map((e) => splitField(e.field).row)).size;
  return { count, rows, more: count > err.errors.length ? h('p', { class: 'hint', id: 'csv-first-shown', text: t('admin.csvFirstShown', { shown: err.errors.length }) }) : null };
}
