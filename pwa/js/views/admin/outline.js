// The builder's outline: template settings, then each section and its items. A row selects what
// the editor shows. Reordering works three ways, none of them hover-only: drag a row by its grip,
// the move buttons on the selected row, or Alt+Arrow keys on a focused row (plain arrows walk the
// rows). Duplicate and delete (after a confirmation) are on the selected row too.

import { confirmDialog, h, icon } from '../../ui.js';
import { t, tx } from '../../i18n.js';
import * as model from './model.js';
import { aicon, iconButton, num } from './common.js';

const TYPE_WORD = (type) => t(`admin.type.${type}`);

// A stable DOM id per object of the working copy, so rows can be found again after a re-render.
const ids = new WeakMap();
let next = 0;
export function rowId(obj) {
  if (typeof obj === 'string') return `o-${obj}`;
  if (!ids.has(obj)) ids.set(obj, `o-${(next += 1)}`);
  return ids.get(obj);
}

function rowText(ui, obj) {
  const { def } = ui.session;
  if (obj === 'settings') return [h('span', { class: 'o-title', text: t('admin.settings') })];
  const at = model.locate(def, obj);
  if (!at) return [];
  if (at.i === undefined) {
    const title = tx(obj.title).trim() || t('admin.untitledSection');
    return [h('span', { class: 'o-num', text: `${num(at.s + 1)}.` }), h('span', { class: 'o-title', text: title }),
      h('span', { class: 'o-meta', dataset: { n: obj.items.length }, text: t('admin.itemCount', { count: obj.items.length }) })];
  }
  const label = tx(obj.label).trim() || `(${obj.key})`;
  return [
    h('span', { class: 'o-num', text: `${num(at.s + 1)}.${num(at.i + 1)}` }),
    h('span', { class: 'o-title', text: label }),
    h('span', { class: 'o-meta' }, h('span', { text: TYPE_WORD(obj.type) }),
      obj.critical ? h('span', { class: 'o-critical' }, icon('warn'), h('span', { text: t('item.critical') })) : null,
      obj.visible_if ? h('span', { class: 'o-cond', text: t('admin.conditional') }) : null),
  ];
}

function errorMark(ui, obj) {
  const n = ui.session.errors.filter((e) => e.obj === obj).length;
  return n ? h('span', { class: 'o-error' }, icon('alert'), h('span', { class: 'visually-hidden', text: t('admin.rowProblems', { count: n }) })) : null;
}

function rowButton(ui, obj) {
  const selected = ui.session.selected === obj;
  return h('button', {
    type: 'button', class: 'o-row', id: `${rowId(obj)}-btn`, 'aria-current': selected ? 'true' : null,
    dataset: { row: rowId(obj) },
    onclick: () => ui.select(obj, { fromOutline: true }),
    onkeydown: (e) => onRowKey(e, ui, obj),
  }, rowText(ui, obj), obj === 'settings' ? null : errorMark(ui, obj));
}

function toolbar(ui, obj) {
  const { def } = ui.session;
  const at = model.locate(def, obj);
  const isItem = at.i !== undefined;
  const name = isItem ? (tx(obj.label).trim() || obj.key) : (tx(obj.title).trim() || obj.key);
  const first = isItem ? at.s === 0 && at.i === 0 : at.s === 0;
  const last = isItem ? at.s === def.sections.length - 1 && at.i === def.sections[at.s].items.length - 1
    : at.s === def.sections.length - 1;
  return h('div', { class: 'o-tools', role: 'group', 'aria-label': t('admin.rowTools', { name }) },
    iconButton('up', t('admin.moveUp', { name }), () => move(ui, obj, -1), { disabled: first, dataset: { act: 'up' } }),
    iconButton('down', t('admin.moveDown', { name }), () => move(ui, obj, 1), { disabled: last, dataset: { act: 'down' } }),
    iconButton('copy', t('admin.duplicate', { name }), () => duplicate(ui, obj), { dataset: { act: 'duplicate' } }),
    iconButton('trash', t('admin.delete', { name }), () => remove(ui, obj), { class: 'tool-danger', dataset: { act: 'delete' } }));
}

export function move(ui, obj, delta) {
  const { def } = ui.session;
  const moved = model.locate(def, obj)?.i !== undefined ? model.moveItem(def, obj, delta) : model.moveSection(def, obj, delta);
  if (moved) ui.changed('moved', obj, { focusRow: true, announce: t('admin.moved', { position: position(ui, obj) }) });
}

function position(ui, obj) {
  const at = model.locate(ui.session.def, obj);
  return at.i === undefined ? num(at.s + 1) : `${num(at.s + 1)}.${num(at.i + 1)}`;
}

function duplicate(ui, obj) {
  const { def } = ui.session;
  const at = model.locate(def, obj);
  let copy;
  if (at.i === undefined) {
    copy = model.duplicateSection(def, obj);
    def.sections.splice(at.s + 1, 0, copy);
  } else {
    copy = model.duplicateItem(def, obj);
    def.sections[at.s].items.splice(at.i + 1, 0, copy);
  }
  ui.session.selected = copy;
  ui.changed('structure', copy, { focusRow: true, announce: t('admin.duplicated') });
}

async function remove(ui, obj) {
  const { def } = ui.session;
  const at = model.locate(def, obj);
  const isItem = at.i !== undefined;
  const keys = new Set(isItem ? [obj.key] : obj.items.map((i) => i.key));
  const deps = model.dependents(def, keys);
  const name = isItem ? (tx(obj.label).trim() || obj.key) : (tx(obj.title).trim() || obj.key);
  let message = isItem ? t('admin.deleteItemBody', { name }) : t('admin.deleteSectionBody', { name, count: obj.items.length });
  if (deps.length) message += ` ${t('admin.deleteDependents', { names: deps.map((d) => tx(d.label).trim() || d.key).join(', ') })}`;
  const ok = await confirmDialog(isItem ? t('admin.deleteItemTitle') : t('admin.deleteSectionTitle'), message, t('admin.deleteConfirm'));
  if (!ok) { document.getElementById(`${rowId(obj)}-btn`)?.focus(); return; }
  // The neighbour takes the selection, so the keyboard user stays where they were.
  const list = isItem ? def.sections[at.s].items : def.sections;
  const index = isItem ? at.i : at.s;
  model.removeObject(def, obj);
  ui.session.selected = list[index] || list[index - 1] || (isItem ? def.sections[at.s] : 'settings');
  ui.changed('structure', ui.session.selected, { focusRow: true, announce: t('admin.deleted') });
}

function onRowKey(e, ui, obj) {
  if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && obj !== 'settings') {
    e.preventDefault();
    ui.session.selected = obj;
    move(ui, obj, e.key === 'ArrowUp' ? -1 : 1);
    return;
  }
  if (!e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    e.preventDefault();
    const rows = [...e.currentTarget.closest('.outline').querySelectorAll('.o-row')];
    const i = rows.indexOf(e.currentTarget) + (e.key === 'ArrowUp' ? -1 : 1);
    rows[Math.max(0, Math.min(rows.length - 1, i))].focus();
    return;
  }
  if (e.key === 'Delete' && obj !== 'settings') { e.preventDefault(); remove(ui, obj); }
}

// Drag and drop. Items drop before or after another item, or at the top of a section (on its
// row); sections drop before or after another section.
function dragHandlers(ui, obj) {
  return {
    draggable: 'true',
    ondragstart: (e) => {
      e.stopPropagation();
      ui.session.dragging = obj;
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', obj.key);
      e.currentTarget.classList.add('dragging');
    },
    ondragend: (e) => {
      ui.session.dragging = null;
      e.currentTarget.classList.remove('dragging');
      for (const el of document.querySelectorAll('.drop-before, .drop-after')) el.classList.remove('drop-before', 'drop-after');
    },
  };
}

function dropTarget(ui, obj, line) {
  const isItem = model.locate(ui.session.def, obj)?.i !== undefined;
  const where = (e) => {
    const r = line.getBoundingClientRect();
    return e.clientY < r.top + r.height / 2 ? 'before' : 'after';
  };
  const accepts = () => {
    const d = ui.session.dragging;
    if (!d || d === obj) return false;
    const dragItem = model.locate(ui.session.def, d)?.i !== undefined;
    return dragItem || !isItem;  // an item goes anywhere; a section only next to a section
  };
  line.addEventListener('dragover', (e) => {
    if (!accepts()) return;
    e.preventDefault();
    e.stopPropagation();
    e.dataTransfer.dropEffect = 'move';
    line.classList.toggle('drop-before', where(e) === 'before');
    line.classList.toggle('drop-after', where(e) === 'after');
  });
  line.addEventListener('dragleave', () => line.classList.remove('drop-before', 'drop-after'));
  line.addEventListener('drop', (e) => {
    if (!accepts()) return;
    e.preventDefault();
    e.stopPropagation();
    line.classList.remove('drop-before', 'drop-after');
    const { def } = ui.session;
    const d = ui.session.dragging;
    const after = where(e) === 'after';
    let moved;
    if (model.locate(def, d)?.i === undefined) {
      const s = def.sections.indexOf(obj);
      moved = model.placeSection(def, d, after ? def.sections[s + 1] || null : obj);
    } else if (!isItem) {
      moved = model.placeItem(def, d, obj, obj.items[0] || null);  // onto a section: first in it
    } else {
      const at = model.locate(def, obj);
      const section = def.sections[at.s];
      moved = model.placeItem(def, d, section, after ? section.items[at.i + 1] || null : obj);
    }
    ui.session.dragging = null;
    if (moved) ui.changed('moved', d, { focusRow: true, announce: t('admin.moved', { position: position(ui, d) }) });
  });
}

function line(ui, obj) {
  const selected = ui.session.selected === obj;
  const el = h('div', { class: ['o-line', selected && 'selected'] },
    obj === 'settings' ? h('span', { class: 'grip grip-none', 'aria-hidden': 'true' }) : h('span', { class: 'grip', title: t('admin.dragHint'), 'aria-hidden': 'true' }, aicon('grip')),
    rowButton(ui, obj));
  if (obj !== 'settings') dropTarget(ui, obj, el);
  return el;
}

export function renderOutline(host, ui) {
  const { def } = ui.session;
  const list = h('ol', { class: 'outline-list' },
    h('li', { class: 'o-settings', id: rowId('settings') }, line(ui, 'settings')),
    def.sections.map((section) => {
      const items = h('ol', { class: 'o-items' }, section.items.map((item) => h('li', {
        class: 'o-item', id: rowId(item), ...dragHandlers(ui, item),
      }, line(ui, item), ui.session.selected === item ? toolbar(ui, item) : null)));
      return h('li', { class: 'o-section', id: rowId(section), ...dragHandlers(ui, section) },
        line(ui, section), ui.session.selected === section ? toolbar(ui, section) : null, items,
        h('button', { type: 'button', class: 'btn btn-light o-add', dataset: { add: 'item' },
          onclick: () => ui.addItem(section) }, aicon('plus'), h('span', { text: t('admin.addItemTo', { name: tx(section.title).trim() || section.key }) })));
    }));
  host.replaceChildren(
    h('div', { class: 'outline' },
      h('h2', { class: 'pane-title', id: 'outline-h', text: t('admin.outline') }),
      h('p', { class: 'hint', text: t('admin.outlineHint') }),
      list,
      h('button', { type: 'button', class: 'btn btn-secondary o-add-section', dataset: { add: 'section' }, onclick: () => ui.addSection() },
        aicon('plus'), h('span', { text: t('admin.addSection') }))));
}

// Cheap updates while typing: one row's words and the error marks, no re-render of the list.
export function updateRow(ui, obj) {
  const btn = document.getElementById(`${rowId(obj)}-btn`);
  if (!btn) return;
  btn.replaceChildren(...rowText(ui, obj));
  const mark = obj === 'settings' ? null : errorMark(ui, obj);
  if (mark) btn.append(mark);
}

export function updateMarks(ui) {
  updateRow(ui, 'settings');
  for (const section of ui.session.def.sections) {
    updateRow(ui, section);
    for (const item of section.items) updateRow(ui, item);
  }
}

// After a move: the row's element is put where the model now has it and the numbers are redone,
// instead of drawing the whole outline again (a 95-item outline redrawn costs a visible pause).
// Returns false when the row is not on screen, and the caller then redraws everything.
export function relocate(ui, obj) {
  const { def } = ui.session;
  const at = model.locate(def, obj);
  const li = document.getElementById(rowId(obj));
  if (!at || !li) return false;
  if (at.i === undefined) {
    const next = def.sections[at.s + 1];
    li.parentElement.insertBefore(li, next ? document.getElementById(rowId(next)) : null);
  } else {
    const section = def.sections[at.s];
    const list = document.getElementById(rowId(section))?.querySelector(':scope > .o-items');
    if (!list) return false;
    const next = section.items[at.i + 1];
    list.insertBefore(li, next ? document.getElementById(rowId(next)) : null);
  }
  def.sections.forEach((section, s) => {
    setNumber(section, `${num(s + 1)}.`);
    const count = document.getElementById(`${rowId(section)}-btn`)?.querySelector('.o-meta');
    if (count && count.dataset.n !== String(section.items.length)) {
      count.dataset.n = String(section.items.length);
      count.textContent = t('admin.itemCount', { count: section.items.length });
    }
    section.items.forEach((item, i) => setNumber(item, `${num(s + 1)}.${num(i + 1)}`));
  });
  const tools = li.querySelector(':scope > .o-tools');
  if (tools) tools.replaceWith(toolbar(ui, obj));
  return true;
}

function setNumber(obj, words) {
  const el = document.getElementById(`${rowId(obj)}-btn`)?.querySelector('.o-num');
  if (el && el.textContent !== words) el.textContent = words;
}
