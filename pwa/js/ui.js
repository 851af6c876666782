// The shared UI kit: an element builder and the few widgets every role's views use.
// Everything is built with DOM calls (never HTML strings), which keeps user and template
// text inert and satisfies the strict CSP (no inline scripts or style attributes).

import { getLang, t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';

// h('button', {class: 'btn', onclick: fn, 'aria-pressed': 'true'}, 'Yes')
// attrs: class (string or array, falsy parts dropped), on<event> functions, dataset (object),
// boolean values set or remove the attribute, and 'text' as a shortcut for textContent.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  // What someone types takes its direction from its own first letters, not the screen's: an English
  // comment on an Urdu screen otherwise shows ".FIR No. 45/2026 not entered", and an Urdu note on an
  // English one runs left to right with its full stop astray.
  if ((tag === 'textarea' || (tag === 'input' && TYPED.has(el.type))) && !el.hasAttribute('dir')) el.dir = 'auto';
  append(el, children);
  return el;
}

const TYPED = new Set(['text', 'search']);

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// Like el.append, but skips null / false children (which append would print as text).
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Icons are small inline SVG paths. Those that point somewhere are marked so the CSS mirrors
// them in right-to-left layouts; they are decorative (aria-hidden): a word always goes with them.
const ICONS = {
  check: 'M4 12l5 5L20 6',
  cross: 'M6 6l12 12M18 6L6 18',
  warn: 'M12 3l10 18H2L12 3zM12 10v5M12 18v.5',
  alert: 'M12 2a10 10 0 100 20 10 10 0 000-20zM12 7v6M12 16v.5',
  camera: 'M4 8h3l2-3h6l2 3h3v11H4zM12 10a3.5 3.5 0 100 7 3.5 3.5 0 000-7z',
  image: 'M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15 9.5v.5',
  note: 'M5 4h10l4 4v12H5zM8 12h8M8 16h6',
  help: 'M12 2a10 10 0 100 20 10 10 0 000-20zM9.5 9a2.5 2.5 0 114 2c-1 .7-1.5 1.2-1.5 2.5M12 17v.5',
  next: 'M9 5l7 7-7 7',
  back: 'M15 5l-7 7 7 7',
  cloud: 'M7 18h10a4 4 0 000-8 6 6 0 00-11.5 1.5A3.3 3.3 0 007 18z',
  phone: 'M8 2h8v20H8zM11 18h2',
  sync: 'M4 12a8 8 0 0114-5l2 2M20 12a8 8 0 01-14 5l-2-2M20 4v5h-5M4 20v-5h5',
  pin: 'M12 22s7-7 7-12a7 7 0 10-14 0c0 5 7 12 7 12zM12 7a3 3 0 100 6 3 3 0 000-6z',
  menu: 'M4 6h16M4 12h16M4 18h16',
  star: 'M12 3l2.7 6 6.3.6-4.8 4.2 1.4 6.2L12 17l-5.6 3 1.4-6.2L3 9.6 9.3 9z',
  trash: 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13',
  search: 'M11 4a7 7 0 100 14 7 7 0 000-14zM16 16l5 5',
};
const DIRECTIONAL = new Set(['next', 'back']);

export function icon(name, extraClass = '') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', ['icon', DIRECTIONAL.has(name) && 'dir-icon', extraClass].filter(Boolean).join(' '));
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.alert);
  svg.append(path);
  return svg;
}

export function button(label, onclick, { kind = 'secondary', iconName, class: extra, ...attrs } = {}) {
  return h('button', { type: 'button', ...attrs, class: ['btn', `btn-${kind}`, extra], onclick },
    iconName && icon(iconName), h('span', { text: label }));
}

export const card = (attrs, ...children) => h('section', { ...attrs, class: ['card', attrs?.class] }, ...children);

// A status line that never relies on colour alone: kind picks colour and icon, label is a word.
const STATUS_ICON = { ok: 'check', fail: 'cross', warn: 'warn', info: 'alert', pending: 'phone', busy: 'sync' };
export function pill(kind, label, attrs = {}) {
  return h('span', { ...attrs, class: ['pill', `pill-${kind}`, attrs.class] }, icon(STATUS_ICON[kind] || 'alert'), h('span', { text: label }));
}

export function progress(value, max, label) {
  const fill = h('div', { class: 'progress-fill' });
  // CSP forbids style attributes in markup but allows CSSOM writes like this one.
  fill.style.inlineSize = `${max > 0 ? Math.round((value / max) * 100) : 0}%`;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': max,
    'aria-valuenow': value, 'aria-label': label }, fill);
}

export function toast(message, { kind = 'info', timeout = 5000, action } = {}) {
  const host = document.getElementById('toasts');
  const el = h('div', { class: ['toast', `toast-${kind}`] }, h('span', { text: message }),
    action && button(action.label, () => { el.remove(); action.onclick(); }, { kind: 'light' }));
  host.append(el);
  if (timeout) setTimeout(() => el.remove(), timeout);
  return el;
}

// A modal dialog on the native <dialog> element. Resolves with the value of the chosen
// action, or null when dismissed with Escape. `body` may be nodes; actions are
// [{label, value, kind}] and `onSubmit` may veto closing by returning false.
export function dialog({ title, body, actions = [{ label: t('ok'), value: true, kind: 'primary' }], onSubmit }) {
  return new Promise((resolve) => {
    const heading = h('h2', { id: `dlg-${Date.now()}`, text: title });
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': heading.id });
    const finish = async (value) => {
      if (onSubmit && value && (await onSubmit(value, dlg)) === false) return;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    mount(dlg, heading, h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'dialog-actions' },
        actions.map((a) => button(a.label, () => finish(a.value), { kind: a.kind || 'secondary' }))));
    document.body.append(dlg);
    dlg.showModal();
    // A destructive action never has the first focus: Enter pressed again, meaning to close a photo
    // just opened, deleted it.
    if (document.activeElement?.classList.contains('btn-danger')) dlg.querySelector('.dialog-actions .btn:not(.btn-danger)')?.focus();
  });
}

export const alertDialog = (title, message) => dialog({ title, body: h('p', { text: message }) });

export const confirmDialog = (title, message, okLabel) => dialog({
  title, body: h('p', { text: message }),
  actions: [{ label: t('cancel'), value: false }, { label: okLabel || t('ok'), value: true, kind: 'primary' }],
});

// Draws the screen again (`redraw`, e.g. the router's render) without losing the person's place: the
// element that had focus is found again in the new screen, by its id, else by what it is (tag, link
// target, words) and which of its like it was, and focused; when it is gone, the screen's heading is,
// so the next Tab starts from this screen and not from the top of the page. Focus that moved on
// meanwhile (a dialog, another screen) is left where it is.
export async function keepingFocus(redraw, root = document.getElementById('main')) {
  const was = document.activeElement;
  if (!was || was === document.body || !root?.contains(was)) return redraw();
  const alike = () => [...root.querySelectorAll(was.tagName)].filter((el) => el.getAttribute('href') === was.getAttribute('href')
    && el.textContent === was.textContent);
  const nth = alike().indexOf(was);
  await redraw();
  if (document.activeElement && document.activeElement !== document.body) return;
  const heading = root.querySelector('h1');
  if (heading && !heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  ((was.id && document.getElementById(was.id)) || alike()[nth] || heading)?.focus({ preventScroll: true });
}

// Renders a long list in chunks as the user scrolls, so 1,000 stations cost one screenful.
export function lazyList(container, items, render, { chunk = 30 } = {}) {
  let index = 0;
  const sentinel = h('li', { class: 'sentinel', 'aria-hidden': 'true' });
  const more = () => {
    const frag = document.createDocumentFragment();
    for (const item of items.slice(index, index + chunk)) frag.append(render(item));
    index += chunk;
    sentinel.before(frag);
    if (index >= items.length) { observer.disconnect(); sentinel.remove(); }
  };
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) more();
  }, { rootMargin: '400px' });
  container.replaceChildren(sentinel);
  more();
  if (index < items.length) observer.observe(sentinel);
  return () => observer.disconnect();
}

// A labelled control with an empty place for the server's problem with it (GOV.UK: the error at the
// field), for forms whose 422 problems are placed later. `name` is the field the server names.
let boxSeq = 0;
export function fieldBox(name, label, control, { hint, class: extra, lang } = {}) {
  control.id ||= `fb-${(boxSeq += 1)}`;
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: ['field', extra], dataset: { field: name } },
    h('label', { for: control.id, text: label, lang }), hintEl,
    h('p', { class: 'field-error', id: `${control.id}-err`, hidden: true }), control);
}

export function field(label, control, { hint, error, id } = {}) {
  const cid = id || control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = cid;
  const described = [];
  const hintEl = hint && h('p', { class: 'hint', id: `${cid}-hint`, text: hint });
  const errEl = error && h('p', { class: 'field-error', id: `${cid}-err` }, icon('alert'), h('span', { text: error }));
  if (hintEl) described.push(hintEl.id);
  if (errEl) { described.push(errEl.id); control.setAttribute('aria-invalid', 'true'); }
  if (described.length) control.setAttribute('aria-describedby', described.join(' '));
  return h('div', { class: ['field', error && 'has-error'] }, h('label', { for: cid, text: label }), hintEl, errEl, control);
}

// A name in the interface's language first, then, smaller and marked with its own `lang`, the other
// (the lists carry both: {en, ur}). Every role's lists show names this way.
export function namePair(name) {
  const [first, second] = getLang() === 'ur' ? ['ur', 'en'] : ['en', 'ur'];
  const main = name?.[first] || name?.[second] || '';
  return h('span', { class: 'rv-bi' }, h('span', { class: 'rv-name', lang: name?.[first] ? first : second, text: main }),
    name?.[second] && name[second] !== main && h('span', { class: 'rv-alt', lang: second, text: name[second] }));
}

// A count said to a screen reader only when it changes: not as the screen opens (that is no news),
// and not on every redraw of the list that shows it (a live list is read out whole after each tap).
// Put `node` on the screen and call `say(n)` after each redraw.
export function countStatus(words, attrs = {}) {
  const node = h('p', { class: 'visually-hidden', role: 'status', ...attrs });
  let last = null;
  const say = (n) => {
    if (last !== null && n !== last) node.textContent = words(n);
    last = n;
  };
  return { node, say };
}
