// The builder's editor pane: the template's settings, a section, or an item, with English and Urdu
// side by side. Every control writes straight into the working copy and tells the builder what
// kind of change it was; the pane re-renders only when the set of fields changes (a new type, an
// option added), so typing never loses the caret. Each field carries the server's name for it
// (`label.ur`, `options[1].points`, `visible_if.in`) and shows that field's problem beside it.

import { inputNumber, readNumber, t, tx } from '../../i18n.js';
import { confirmDialog, h } from '../../ui.js';
import * as model from './model.js';
import {
  aicon, bilingual, checkBox, fieldBox, groupBox, iconButton, input, labelOfBox, num, placeErrors, select, serverMessage,
} from './common.js';

// Which items', sections' and options' keys still follow their English words (new in this session
// and never typed by hand); the key is a stable machine name, so it stops following once set.
const autoKey = new WeakSet();
export const followWords = (obj) => autoKey.add(obj);

// The most photos an answer may carry (MAX_PHOTOS_PER_ITEM in server/structs.py, which
// tests/test_template_defects.py holds this to): the server refuses a template asking for more.
const MAX_PHOTOS_PER_ITEM = 50;

// Read by readNumber, as the inspector's number answers: Urdu digits count, what is not a number is
// marked and sets nothing.
function numberInput(value, onchange, attrs = {}) {
  return h('input', {
    type: 'text', inputmode: 'decimal', dir: 'ltr', autocomplete: 'off', spellcheck: 'false', value: inputNumber(value), ...attrs,
    oninput: (e) => {
      const n = readNumber(e.target.value);
      if (Number.isNaN(n)) e.target.setAttribute('aria-invalid', 'true'); else e.target.removeAttribute('aria-invalid');
      onchange(Number.isFinite(n) ? n : undefined);
    },
  });
}

// `rename(key)` sets the key (and, for items and options, carries the conditions naming it along).
function keyField(ui, obj, taken, words, rename = (key) => { obj.key = key; }) {
  const control = input(obj.key, (v) => {
    autoKey.delete(obj);
    rename(v.trim());
    ui.changed('text', obj);
  }, { spellcheck: 'false', autocapitalize: 'off', dir: 'ltr', class: 'key-input' });
  // Typing the English words of a new object proposes its key as it goes.
  words.onEnglish = (text) => {
    if (!autoKey.has(obj)) return;
    rename(model.uniqueKey(model.slug(text, words.fallback), taken()));
    control.value = obj.key;
  };
  return fieldBox('key', t('admin.key'), control, { hint: t('admin.keyHint') });
}

function textPair(ui, obj, field, label, opts = {}, words = null) {
  return bilingual(field, label, obj[field], (lang, value) => {
    obj[field] = { en: obj[field]?.en ?? '', ur: obj[field]?.ur ?? '', [lang]: value };
    if (lang === 'en' && words) words.onEnglish(value);
    ui.changed('text', obj);
  }, opts);
}

function heading(text, sub) {
  return h('div', { class: 'editor-head' }, h('h2', { class: 'pane-title', id: 'editor-h', text }), sub ? h('p', { class: 'hint', text: sub }) : null);
}

// Template-wide settings: title, which kinds of station it applies to, grade bands.
function settingsEditor(ui) {
  const { def, tpl } = ui.session;
  const kindsBox = h('div', { class: 'kinds' });
  const renderKinds = () => {
    const limited = Array.isArray(def.kinds);
    kindsBox.replaceChildren(
      groupBox('kinds', t('admin.kinds'),
        h('div', { class: 'choice-col' },
          checkBox('kinds.all', t('admin.kindsAll'), !limited, (all) => {
            if (all) delete def.kinds; else def.kinds = [];
            renderKinds();
            ui.changed('text', 'settings');
          }),
          limited ? model.KINDS.map((k) => checkBox(`kinds.${k}`, t(`kind.${k}`), def.kinds.includes(k), (on) => {
            def.kinds = model.KINDS.filter((x) => (x === k ? on : def.kinds.includes(x)));
            ui.changed('text', 'settings');
          })) : null)));
  };
  renderKinds();
  const bands = groupBox('grade_bands', t('admin.bands'),
    h('p', { class: 'hint', text: t('admin.bandsHint') }),
    h('ol', { class: 'bands' }, def.grade_bands.map((band, b) => h('li', { class: 'band-row', dataset: { field: `grade_bands[${b}]` } },
      fieldBox(`grade_bands[${b}].grade`, t('admin.bandGrade'), input(band.grade, (v) => { band.grade = v; ui.changed('text', 'settings'); }, { maxlength: 20 })),
      fieldBox(`grade_bands[${b}].min`, t('admin.bandMin'), numberInput(band.min, (v) => { band.min = v; ui.changed('text', 'settings'); }, { min: 0, max: 100 })),
      iconButton('trash', t('admin.bandRemove', { grade: band.grade || num(b + 1) }), () => {
        def.grade_bands.splice(b, 1);
        ui.changed('editor', 'settings', { focus: 'grade_bands' });
      }, { class: 'tool-danger' })))),
    h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => {
      def.grade_bands.push({ grade: '', min: 0 });
      ui.changed('editor', 'settings');
    } }, aicon('plus'), h('span', { text: t('admin.bandAdd') })));
  return h('div', { class: 'editor-body' },
    heading(t('admin.settings'), t('admin.templateKey', { key: tpl.key })),
    textPair(ui, def, 'title', t('admin.templateTitle'), { hintEn: t('admin.titleHint') }),
    kindsBox, bands);
}

function sectionEditor(ui, section) {
  const { def } = ui.session;
  const at = model.locate(def, section);
  const words = { fallback: 'section' };
  return h('div', { class: 'editor-body' },
    heading(t('admin.sectionN', { n: num(at.s + 1) }), t('admin.sectionHint')),
    textPair(ui, section, 'title', t('admin.sectionTitle'), {}, words),
    h('div', { class: 'row-2' },
      keyField(ui, section, () => model.sectionKeys(def, section), words),
      fieldBox('weight', t('admin.weight'), numberInput(section.weight, (v) => { section.weight = v; ui.changed('text', section); }, { min: 0 }),
        { hint: t('admin.sectionWeightHint') })),
    h('div', { class: 'field', dataset: { field: 'items' } },
      h('p', { class: 'field-error', id: 'section-items-err', hidden: true }),
      h('p', { text: t('admin.itemCount', { count: section.items.length }) }),
      h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => ui.addItem(section) },
        aicon('plus'), h('span', { text: t('admin.addItem') }))));
}

function optionsEditor(ui, item) {
  const rows = (item.options || []).map((option, o) => {
    const words = { fallback: 'option' };
    const name = `options[${o}]`;
    const keyBox = keyField(ui, option, () => new Set(item.options.filter((x) => x !== option).map((x) => x.key)), words,
      (key) => model.renameOptionKey(ui.session.def, item, option, key));
    // The option's fields are named under options[o] so the server's problems find them.
    keyBox.dataset.field = `${name}.key`;
    const pair = bilingual(`${name}.label`, t('admin.optionLabel'), option.label, (lang, value) => {
      option.label = { ...option.label, [lang]: value };
      if (lang === 'en') words.onEnglish(value);
      ui.changed('text', item);
    });
    return h('li', { class: 'option-row', dataset: { field: name } },
      h('div', { class: 'option-head' },
        h('h4', { text: t('admin.optionN', { n: num(o + 1) }) }),
        h('div', { class: 'tools-inline' },
          // After the pane is redrawn the keyboard stays with the option that moved, or near the one removed.
          iconButton('up', t('admin.optionUp', { n: o + 1 }), () => { swap(item.options, o, o - 1); ui.changed('editor', item, { focus: `options[${o - 1}].label.en` }); }, { disabled: o === 0 }),
          iconButton('down', t('admin.optionDown', { n: o + 1 }), () => { swap(item.options, o, o + 1); ui.changed('editor', item, { focus: `options[${o + 1}].label.en` }); }, { disabled: o === item.options.length - 1 }),
          iconButton('trash', t('admin.optionRemove', { n: o + 1 }), async () => {
            // An option that items' conditions name is asked about first: those items would lose their condition.
            const deps = model.optionDependents(ui.session.def, item, option.key);
            const names = deps.map((d) => tx(d.label).trim() || d.key).join(t('admin.listSep'));
            if (deps.length && !await confirmDialog(t('admin.optionRemoveTitle'), t('admin.optionRemoveBody', { names }), t('admin.deleteConfirm'))) return;
            item.options.splice(o, 1);
            ui.changed('editor', item, { focus: 'options' });
          }, { class: 'tool-danger' }))),
      pair,
      h('div', { class: 'row-2' }, keyBox,
        fieldBox(`${name}.points`, t('admin.points'), numberInput(option.points, (v) => { option.points = v; ui.changed('text', item); }))));
  });
  return groupBox('options', t('admin.options'),
    h('p', { class: 'hint', text: item.type === 'choice' ? t('admin.optionsHintChoice') : t('admin.optionsHintMulti') }),
    h('ol', { class: 'options' }, rows),
    h('button', { type: 'button', class: 'btn btn-secondary', dataset: { add: 'option' }, onclick: () => {
      item.options = item.options || [];
      const option = model.newOption(item);
      followWords(option);
      item.options.push(option);
      ui.changed('editor', item, { focus: `options[${item.options.length - 1}].label.en` });
    } }, aicon('plus'), h('span', { text: t('admin.optionAdd') })));
}

function swap(list, a, b) {
  if (b < 0 || b >= list.length) return;
  [list[a], list[b]] = [list[b], list[a]];
}

function answerWord(a) {
  if (a.word) return t(a.word);
  if (a.label) return tx(a.label).trim() || a.value;
  return num(a.number);
}

// "Show this item only when <an earlier item> is answered <one of these>".
function conditionEditor(ui, item) {
  const { def } = ui.session;
  const earlier = model.earlierItems(def, item);
  const cond = item.visible_if;
  const parent = cond ? earlier.find((x) => x.key === cond.item) : null;
  const choices = [['', t('admin.alwaysShown')], ...earlier.map((x) => [x.key, `${tx(x.label).trim() || x.key} (${x.key})`])];
  if (cond && !parent) choices.push([cond.item, t('admin.missingItem', { key: cond.item })]);
  const parentSelect = select(choices, cond?.item ?? '', (key) => {
    if (!key) delete item.visible_if;
    else {
      const p = earlier.find((x) => x.key === key);
      item.visible_if = model.possibleAnswers(p) ? { item: key, in: [] } : { item: key, equals: '' };
    }
    ui.changed('editor', item, { focus: 'visible_if.item' });
  });
  const parts = [fieldBox('visible_if.item', t('admin.showWhen'), parentSelect)];
  if (cond && parent) {
    const answers = model.possibleAnswers(parent);
    const chosen = model.conditionValues(cond);
    if (answers) {
      parts.push(groupBox('visible_if.in', t('admin.showWhenAnswer', { name: tx(parent.label).trim() || parent.key }),
        h('div', { class: 'choice-col' }, answers.map((a) => checkBox(`visible_if.value.${a.value}`, answerWord(a), chosen.includes(a.value), (on) => {
          const now = new Set(model.conditionValues(item.visible_if));
          if (on) now.add(a.value); else now.delete(a.value);
          // Kept in the parent's own order, and always as `in`, the form that holds one or many.
          item.visible_if = { item: parent.key, in: answers.map((x) => x.value).filter((v) => now.has(v)) };
          ui.changed('text', item);
        })))));
    } else {
      const numeric = parent.type === 'number';
      const control = numeric
        ? numberInput(cond.equals, (n) => {
          item.visible_if = { item: parent.key, equals: n ?? '' };
          ui.changed('text', item);
        })
        : h('input', {
          type: parent.type === 'date' ? 'date' : 'text', value: cond.equals ?? '', oninput: (e) => {
            item.visible_if = { item: parent.key, equals: e.target.value };
            ui.changed('text', item);
          },
        });
      parts.push(fieldBox('visible_if.equals', t('admin.showWhenEquals', { name: tx(parent.label).trim() || parent.key }), control));
    }
  }
  return groupBox('visible_if', t('admin.condition'), h('p', { class: 'hint', text: t('admin.conditionHint') }), ...parts);
}

function itemEditor(ui, item) {
  const { def } = ui.session;
  const at = model.locate(def, item);
  const words = { fallback: 'item' };
  const typeSelect = select(model.TYPES.map((k) => [k, t(`admin.type.${k}`)]), item.type, (type) => {
    item.type = type;
    if ((type === 'choice' || type === 'multi_choice') && !item.options?.length) {
      item.options = [model.newOption(item)];
      item.options.push(model.newOption(item));
      item.options.forEach(followWords);
    }
    if (type === 'scale' && (item.max === undefined || item.max === null)) item.max = 5;
    ui.changed('editor', item, { focus: 'type' });
  });
  const numberField = (field, label, attrs, hint) => fieldBox(field, label,
    numberInput(item[field], (v) => { if (v === undefined) delete item[field]; else item[field] = v; ui.changed('text', item); }, attrs), { hint });
  const typeFields = [];
  if (item.type === 'scale') typeFields.push(numberField('max', t('admin.scaleMax'), {}, t('admin.scaleMaxHint')));
  if (item.type === 'number') {
    // The unit in both languages, as every text an inspector reads. One written before units were
    // bilingual shows as its English and stays as it is until the admin edits it: opening the item
    // must not change the draft.
    const unitText = () => (typeof item.unit === 'string' ? { en: item.unit, ur: '' } : item.unit);
    typeFields.push(h('div', { class: 'row-2' },
      numberField('min', t('admin.numberMin'), {}, null), numberField('max', t('admin.numberMax'), {}, null)),
    bilingual('unit', t('admin.unit'), unitText(), (lang, value) => {
      item.unit = { en: unitText()?.en ?? '', ur: unitText()?.ur ?? '', [lang]: value };
      ui.changed('text', item);
    }),
    h('p', { class: 'hint', text: t('admin.numberHint') }));
  }
  if (item.type === 'choice' || item.type === 'multi_choice') typeFields.push(optionsEditor(ui, item));
  if (['text', 'photo', 'date'].includes(item.type)) typeFields.push(h('p', { class: 'callout callout-info' }, t('admin.notScored')));
  return h('div', { class: 'editor-body' },
    heading(t('admin.itemN', { n: `${num(at.s + 1)}.${num(at.i + 1)}` }), tx(def.sections[at.s].title)),
    h('div', { class: 'row-2' }, fieldBox('type', t('admin.type'), typeSelect), keyField(ui, item, () => model.itemKeys(def, item), words, (key) => model.renameItemKey(def, item, key))),
    textPair(ui, item, 'label', t('admin.label'), {}, words),
    textPair(ui, item, 'help', t('admin.help'), { multiline: true, hintEn: t('admin.helpHint') }),
    h('div', { class: 'row-2 checks' },
      checkBox('required', t('admin.required'), !!item.required, (on) => { item.required = on; ui.changed('text', item); }, { hint: t('admin.requiredHint') }),
      checkBox('critical', t('admin.critical'), !!item.critical, (on) => { item.critical = on; ui.changed('text', item); }, { hint: t('admin.criticalHint') })),
    h('div', { class: 'row-2' },
      numberField('weight', t('admin.weight'), { min: 0 }, t('admin.weightHint')),
      numberField('min_photos', t('admin.minPhotos'), { min: 0, max: MAX_PHOTOS_PER_ITEM, step: 1 }, t('admin.minPhotosHint'))),
    ...typeFields,
    conditionEditor(ui, item));
}

export function renderEditor(host, ui, { focus } = {}) {
  const sel = ui.session.selected;
  const body = sel === 'settings' || !model.locate(ui.session.def, sel) ? settingsEditor(ui)
    : model.locate(ui.session.def, sel).i === undefined ? sectionEditor(ui, sel) : itemEditor(ui, sel);
  const other = h('div', { class: 'editor-other', hidden: true });
  host.replaceChildren(h('div', { class: 'editor', 'aria-labelledby': 'editor-h' }, other, body));
  applyErrors(host, ui);
  if (focus) host.querySelector(`[data-field="${CSS.escape(focus)}"]`)?.querySelector('input, select, textarea, button')?.focus();
}

// The selected object's problems beside their fields; any the pane has no field for are listed at
// its top, so no problem is ever invisible.
export function applyErrors(host, ui) {
  const sel = ui.session.selected;
  const mine = ui.session.errors.filter((e) => e.obj === sel || (sel === 'settings' && e.obj === 'settings'))
    .map((e) => ({ field: e.rest, message: e.message }));
  const placed = placeErrors(host, mine);
  const other = host.querySelector('.editor-other');
  if (!other) return;
  const lost = placed.filter((p) => !p.box);
  other.hidden = !lost.length;
  other.replaceChildren(...(lost.length ? [h('div', { class: 'callout callout-fail' },
    h('ul', {}, lost.map((p) => h('li', { text: `${p.field ? `${p.field}: ` : ''}${serverMessage(p.message)}` }))))] : []));
}

// The words of a problem for the summary: where it is ("Item 2.3 — Label in Urdu") and what.
export function describeProblem(ui, e) {
  const { def } = ui.session;
  const at = e.obj === 'settings' ? null : model.locate(def, e.obj);
  let where = t('admin.settings');
  if (at && at.i === undefined) where = t('admin.sectionN', { n: num(at.s + 1) });
  if (at && at.i !== undefined) {
    where = `${t('admin.itemN', { n: `${num(at.s + 1)}.${num(at.i + 1)}` })} ${tx(e.obj.label).trim() ? `“${tx(e.obj.label).trim()}”` : ''}`.trim();
  }
  // The template's own title is not a section's: its words differ.
  const field = e.obj === 'settings' && /^title\.(en|ur)$/.test(e.rest)
    ? t(e.rest.endsWith('en') ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.templateTitle') }) : fieldWords(e.rest);
  return { where, field, message: serverMessage(e.message) };
}

const FIELD_WORDS = [
  [/^label\.(en|ur)$/, (m) => t(m[1] === 'en' ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.label') })],
  [/^help\.(en|ur)$/, (m) => t(m[1] === 'en' ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.help') })],
  [/^title\.(en|ur)$/, (m) => t(m[1] === 'en' ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.sectionTitle') })],
  [/^options\[(\d+)\]\.label\.(en|ur)$/, (m) => `${t('admin.optionN', { n: num(Number(m[1]) + 1) })}: ${t(m[2] === 'en' ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.optionLabel') })}`],
  [/^options\[(\d+)\]\.(\w+)$/, (m) => `${t('admin.optionN', { n: num(Number(m[1]) + 1) })}: ${t(m[2] === 'points' ? 'admin.points' : 'admin.key')}`],
  [/^options$/, () => t('admin.options')],
  [/^visible_if/, () => t('admin.condition')],
  [/^grade_bands/, () => t('admin.bands')],
  [/^kinds/, () => t('admin.kinds')],
  [/^key$/, () => t('admin.key')], [/^weight$/, () => t('admin.weight')], [/^critical$/, () => t('admin.critical')],
  [/^min_photos$/, () => t('admin.minPhotos')], [/^max$/, () => t('admin.max')], [/^min$/, () => t('admin.numberMin')],
  [/^unit$/, () => t('admin.unit')],
  [/^unit\.(en|ur)$/, (m) => t(m[1] === 'en' ? 'admin.inEnglish' : 'admin.inUrdu', { label: t('admin.unit') })],
  [/^items$/, () => t('admin.items')], [/^sections$/, () => t('admin.sections')],
  [/^type$/, () => t('admin.type')],
];

function fieldWords(rest) {
  for (const [re, fn] of FIELD_WORDS) {
    const m = re.exec(rest || '');
    if (m) return fn(m);
  }
  return rest || '';
}

export { labelOfBox };
