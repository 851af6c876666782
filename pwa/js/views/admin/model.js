// The template builder's model: pure functions over a definition (DESIGN §4, §7), no DOM, no I/O.
//
// The builder edits a working copy that may hold more than a definition should: an item switched
// from choice to yes_no keeps its options, so switching back restores them. `clean` makes the
// definition that is saved, previewed and published from it. It never drops an element of a list
// (sections, items, options, bands), so a problem the server reports at `sections[1].items[3]`
// names the same object in the working copy.

export const TYPES = ['yes_no', 'scale', 'choice', 'multi_choice', 'number', 'text', 'photo', 'date'];
export const KINDS = ['police_station', 'khidmat_markaz', 'driving_centre', 'other'];
export const KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;
const CHOICE = new Set(['choice', 'multi_choice']);

export const defaultBands = () => [
  { grade: 'A', min: 90 }, { grade: 'B', min: 75 }, { grade: 'C', min: 60 }, { grade: 'D', min: 0 },
];

const text = (en = '', ur = '') => ({ en, ur });
const blank = (v) => v === undefined || v === null || v === '';
const hasText = (x) => !!x && (String(x.en || '').trim() !== '' || String(x.ur || '').trim() !== '');

// A key from English words: "Front desk staffed?" -> "front_desk_staffed".
export function slug(words, fallback = 'item') {
  let s = String(words || '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40)
    .replace(/_+$/, '');
  if (!/^[a-z]/.test(s)) s = s ? `${fallback}_${s}` : fallback;
  return s.slice(0, 64);
}

export function uniqueKey(base, taken) {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const k = `${base.slice(0, 60)}_${n}`;
    if (!taken.has(k)) return k;
  }
}

export function* allItems(def) {
  for (const section of def.sections || []) for (const item of section.items || []) yield [section, item];
}

export const itemKeys = (def, except = null) =>
  new Set([...allItems(def)].filter(([, i]) => i !== except).map(([, i]) => i.key));
export const sectionKeys = (def, except = null) =>
  new Set((def.sections || []).filter((s) => s !== except).map((s) => s.key));

// A key changed in the builder takes the conditions that name it along: other items' `visible_if.item`
// for an item's key, and the answers a condition lists for an option's key. Only when the change is
// unambiguous: neither the old key nor the new one belongs to another item (or option) as well, as it
// can for a moment while a key is typed by hand; the server then names the condition left behind.
export function renameItemKey(def, item, key) {
  const old = item.key;
  const others = itemKeys(def, item);
  item.key = key;
  if (old === key || others.has(old) || others.has(key)) return;
  for (const [, other] of allItems(def)) {
    if (other.visible_if?.item === old) other.visible_if.item = key;
  }
}

export function renameOptionKey(def, item, option, key) {
  const old = option.key;
  const others = new Set((item.options || []).filter((o) => o !== option).map((o) => o.key));
  option.key = key;
  if (old === key || others.has(old) || others.has(key)) return;
  for (const [, other] of allItems(def)) {
    const cond = other.visible_if;
    if (!cond || cond.item !== item.key) continue;
    if (Array.isArray(cond.in)) cond.in = cond.in.map((v) => (v === old ? key : v));
    else if (cond.equals === old) cond.equals = key;
  }
}

export function newDefinition(title) {
  return { title: text(title?.en || '', title?.ur || ''), grade_bands: defaultBands(), sections: [] };
}

export function newSection(def) {
  const n = (def.sections || []).length + 1;
  return { key: uniqueKey(`section_${n}`, sectionKeys(def)), title: text(), weight: 1, items: [] };
}

export function newItem(def, type = 'yes_no') {
  const key = uniqueKey(`item_${[...allItems(def)].length + 1}`, itemKeys(def));
  const item = { key, type, label: text(), required: false, critical: false, weight: 1, min_photos: 0 };
  if (type === 'scale') item.max = 5;
  if (CHOICE.has(type)) item.options = [newOption(item), newOption(item)];
  return item;
}

export function newOption(item) {
  const taken = new Set((item.options || []).map((o) => o.key));
  return { key: uniqueKey(`option_${taken.size + 1}`, taken), label: text(), points: taken.size ? 0 : 1 };
}

export function duplicateItem(def, item) {
  const copy = structuredClone(item);
  copy.key = uniqueKey(`${item.key.slice(0, 58)}_copy`, itemKeys(def));
  return copy;
}

export function duplicateSection(def, section) {
  const copy = structuredClone(section);
  copy.key = uniqueKey(`${section.key.slice(0, 58)}_copy`, sectionKeys(def));
  const taken = itemKeys(def);
  const renamed = new Map();
  for (const item of copy.items) {
    const key = uniqueKey(`${item.key.slice(0, 58)}_copy`, taken);
    taken.add(key);
    renamed.set(item.key, key);
    item.key = key;
  }
  // Conditions inside the copy follow the copied items, not the originals.
  for (const item of copy.items) {
    if (item.visible_if && renamed.has(item.visible_if.item)) item.visible_if.item = renamed.get(item.visible_if.item);
  }
  return copy;
}

// The definition to save: only the fields the item's type uses, optional fields left out when blank.
export function clean(def) {
  const out = { title: text(def.title?.en ?? '', def.title?.ur ?? ''), grade_bands: (def.grade_bands || []).map((b) => ({ ...b })) };
  if (Array.isArray(def.kinds)) out.kinds = [...def.kinds];
  out.sections = (def.sections || []).map((s) => ({
    key: s.key, title: text(s.title?.en ?? '', s.title?.ur ?? ''), weight: s.weight, items: (s.items || []).map(cleanItem),
  }));
  return out;
}

function cleanItem(item) {
  const out = {
    key: item.key, type: item.type, label: text(item.label?.en ?? '', item.label?.ur ?? ''),
    required: !!item.required, critical: !!item.critical, weight: item.weight, min_photos: item.min_photos,
  };
  if (hasText(item.help)) out.help = text(item.help.en ?? '', item.help.ur ?? '');
  if (item.type === 'number') {
    if (!blank(item.min)) out.min = item.min;
    if (!blank(item.max)) out.max = item.max;
    if (typeof item.unit === 'string' && item.unit.trim()) out.unit = item.unit.trim();
    else if (hasText(item.unit)) out.unit = text(item.unit.en ?? '', item.unit.ur ?? '');
  }
  if (item.type === 'scale' && !blank(item.max)) out.max = item.max;
  if (CHOICE.has(item.type)) {
    out.options = (item.options || []).map((o) => ({ key: o.key, label: text(o.label?.en ?? '', o.label?.ur ?? ''), points: o.points }));
  }
  const cond = item.visible_if;
  if (cond && !blank(cond.item)) {
    out.visible_if = Array.isArray(cond.in) ? { item: cond.item, in: [...cond.in] } : { item: cond.item, equals: cond.equals ?? null };
  }
  return out;
}

// Where an object sits: {s} for a section, {s, i} for an item, null when it was deleted.
export function locate(def, obj) {
  const sections = def.sections || [];
  for (let s = 0; s < sections.length; s += 1) {
    if (sections[s] === obj) return { s };
    const i = sections[s].items.indexOf(obj);
    if (i >= 0) return { s, i };
  }
  return null;
}

export function pathOf(def, obj) {
  const at = locate(def, obj);
  if (!at) return '';
  return at.i === undefined ? `sections[${at.s}]` : `sections[${at.s}].items[${at.i}]`;
}

// Moves an item one place up or down; past the edge of its section it joins the neighbouring one.
export function moveItem(def, item, delta) {
  const at = locate(def, item);
  if (!at || at.i === undefined) return false;
  const sections = def.sections;
  const list = sections[at.s].items;
  const to = at.i + delta;
  if (to >= 0 && to < list.length) {
    list.splice(at.i, 1);
    list.splice(to, 0, item);
    return true;
  }
  const next = at.s + (delta < 0 ? -1 : 1);
  if (next < 0 || next >= sections.length) return false;
  list.splice(at.i, 1);
  if (delta < 0) sections[next].items.push(item); else sections[next].items.unshift(item);
  return true;
}

export function moveSection(def, section, delta) {
  const s = def.sections.indexOf(section);
  const to = s + delta;
  if (s < 0 || to < 0 || to >= def.sections.length) return false;
  def.sections.splice(s, 1);
  def.sections.splice(to, 0, section);
  return true;
}

// Drag and drop: put `item` into `section` before `before` (an item of it), or at the end.
export function placeItem(def, item, section, before = null) {
  const at = locate(def, item);
  if (!at || at.i === undefined || item === before) return false;
  def.sections[at.s].items.splice(at.i, 1);
  const index = before ? section.items.indexOf(before) : -1;
  if (index >= 0) section.items.splice(index, 0, item); else section.items.push(item);
  return true;
}

export function placeSection(def, section, before = null) {
  if (section === before) return false;
  def.sections.splice(def.sections.indexOf(section), 1);
  const index = before ? def.sections.indexOf(before) : -1;
  if (index >= 0) def.sections.splice(index, 0, section); else def.sections.push(section);
  return true;
}

export function removeObject(def, obj) {
  const at = locate(def, obj);
  if (!at) return;
  if (at.i === undefined) def.sections.splice(at.s, 1); else def.sections[at.s].items.splice(at.i, 1);
}

// Items whose visibility depends on any of `keys` (to warn before deleting them).
export function dependents(def, keys) {
  return [...allItems(def)].map(([, i]) => i).filter((i) => i.visible_if && keys.has(i.visible_if.item) && !keys.has(i.key));
}

// Items shown only for this option of `item` (their condition names it), to warn before removing it.
export function optionDependents(def, item, optionKey) {
  return [...allItems(def)].map(([, i]) => i).filter((i) => {
    const cond = i.visible_if;
    return cond && cond.item === item.key && (cond.equals === optionKey || (cond.in || []).includes(optionKey));
  });
}

// Items an item may depend on: those met earlier in the form that have an answer (not photos).
export function earlierItems(def, item) {
  const out = [];
  for (const [, other] of allItems(def)) {
    if (other === item) break;
    if (other.type !== 'photo') out.push(other);
  }
  return out;
}

// The answers a condition can name, for the types whose answers can be listed; null for the rest
// (number, text, date), whose condition is one value typed in.
export function possibleAnswers(item) {
  switch (item.type) {
    case 'yes_no': return [{ value: 'yes', word: 'answer.yes' }, { value: 'no', word: 'answer.no' }, { value: 'na', word: 'answer.na' }];
    case 'scale': return Array.from({ length: Math.max(0, Math.floor(Number(item.max) || 0)) + 1 }, (_, v) => ({ value: v, number: v }));
    case 'choice':
    case 'multi_choice': return (item.options || []).map((o) => ({ value: o.key, label: o.label }));
    default: return null;
  }
}

// The values a condition currently names, as a list, whichever of `in` / `equals` it uses.
export function conditionValues(cond) {
  if (!cond) return [];
  if (Array.isArray(cond.in)) return cond.in;
  return cond.equals === undefined || cond.equals === null ? [] : [cond.equals];
}

const PATH = /^sections\[(\d+)\](?:\.items\[(\d+)\])?(?:\.(.+))?$/;

// The objects each index named when a draft was sent: [{section, items}], so problems reported for
// that draft pin to the right objects even if the outline was reordered while it was on its way.
export const layoutOf = (def) => (def.sections || []).map((section) => ({ section, items: [...section.items] }));

// Pins each server problem ({field, message}) to the object it concerns: 'settings', a section or
// an item, with `rest` the field within it (`label.ur`, `options[1].points`).
export function resolveErrors(layout, errors) {
  return (errors || []).map((e) => {
    const m = PATH.exec(e.field || '');
    const at = m && layout[Number(m[1])];
    if (!at) return { ...e, obj: 'settings', rest: e.field || '' };
    if (m[2] === undefined) return { ...e, obj: at.section, rest: m[3] || '' };
    const item = at.items[Number(m[2])];
    return item ? { ...e, obj: item, rest: m[3] || '' } : { ...e, obj: at.section, rest: 'items' };
  });
}

// JSON with object keys sorted, to compare definitions whatever order their fields came in
// (PostgreSQL's jsonb reorders keys).
export function stable(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

// Count of items in a definition, for lists and summaries.
export const itemCount = (def) => [...allItems(def || {})].length;
