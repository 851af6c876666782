// Pure questions about a template and a set of answers: what is visible, what is answered,
// what is still missing, and the §7 document sent to the server. No I/O, no DOM, so the page
// and the service worker (which builds the document when it sends) share exactly this code.
// Scoring itself is scoring.js, the twin of the server's scorer.

import { itemScore, visibility } from './scoring.js';

export const SCORED = new Set(['yes_no', 'scale', 'choice', 'multi_choice', 'number']);

export function* items(definition) {
  for (const section of definition.sections || []) for (const item of section.items || []) yield [section, item];
}

export function itemByKey(definition, key) {
  for (const [, item] of items(definition)) if (item.key === key) return item;
  return null;
}

export function sectionOfItem(definition, key) {
  return (definition.sections || []).findIndex((s) => (s.items || []).some((i) => i.key === key));
}

// As the server judges (server/templates/scoring.py, _completeness): text of only spaces is no
// answer, while an empty multi_choice list is one ("none of these", scoring 0) and is sent as such.
const blank = (v) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

export function photoCount(answer) {
  return answer?.photos?.length || 0;
}

export function isAnswered(item, answer) {
  if (item.type === 'photo') return photoCount(answer) > 0;
  return !blank(answer?.value);
}

// Photos still owed, as the server counts them at submit: evidence backs an answer, so an
// unanswered item and an n.a. need none.
export function photosShort(item, answer) {
  if (!isAnswered(item, answer) || (item.type === 'yes_no' && answer?.value === 'na')) return 0;
  return Math.max(0, (item.min_photos || 0) - photoCount(answer));
}

// Does this answer fail the item? Used to mark the card (colour AND icon AND word) and to list
// critical failures: exactly when the server's scorer gives it 0 (multi_choice included).
export function isFailed(item, answer) {
  return itemScore(item, answer) === 0;
}

// What still blocks submission, in form order: required visible items without an answer and
// visible items with fewer photos than min_photos. Each entry names its section for jump links.
export function missing(definition, answers) {
  const visible = visibility(definition, answers);
  const out = [];
  (definition.sections || []).forEach((section, s) => {
    for (const item of section.items || []) {
      if (!visible[item.key]) continue;
      const answer = answers[item.key];
      if (item.required && !isAnswered(item, answer)) out.push({ section: s, item, reason: 'answer' });
      if (photosShort(item, answer) > 0) out.push({ section: s, item, reason: 'photos', have: photoCount(answer), need: item.min_photos });
    }
  });
  return out;
}

// Progress over the visible items: answered ones (and photo minimums met) out of all visible.
export function progressOf(definition, answers, sectionIndex = null) {
  const visible = visibility(definition, answers);
  let done = 0;
  let total = 0;
  (definition.sections || []).forEach((section, s) => {
    if (sectionIndex !== null && s !== sectionIndex) return;
    for (const item of section.items || []) {
      if (!visible[item.key]) continue;
      total += 1;
      const answer = answers[item.key];
      if (isAnswered(item, answer) && photosShort(item, answer) === 0) done += 1;
    }
  });
  return { done, total };
}

// The §7 inspection document. Answers of hidden items stay on the phone (the inspector may flip
// the controlling answer back) but are not sent, and neither are empty notes or photo lists.
export function buildDocument(draft, definition) {
  const visible = visibility(definition, draft.answers || {});
  const answers = {};
  for (const [key, a] of Object.entries(draft.answers || {})) {
    const item = itemByKey(definition, key);
    if (!item || !visible[key]) continue;
    const out = {};
    if (item.type !== 'photo' && !blank(a.value)) out.value = a.value;
    if (a.note && a.note.trim()) out.note = a.note;
    if (a.photos?.length) out.photos = [...a.photos];
    if (Object.keys(out).length) answers[key] = out;
  }
  return {
    station_id: draft.station_id,
    template_version_id: draft.template_version_id,
    base_revision: draft.base_revision || 0,
    status: draft.status === 'submitted' ? 'submitted' : 'draft',
    started_at: draft.started_at,
    finished_at: draft.finished_at || null,
    location: draft.location || null,
    answers,
  };
}

// Photos on answers of items the inspector's other answers now hide: {key, item, photos}. They are
// not sent (buildDocument leaves hidden answers out), so Submit says so and then frees their space.
export function hiddenPhotos(draft, definition) {
  const visible = visibility(definition, draft.answers || {});
  return Object.entries(draft.answers || {})
    .filter(([key, a]) => !visible[key] && a?.photos?.length && itemByKey(definition, key))
    .map(([key, a]) => ({ key, item: itemByKey(definition, key), photos: [...a.photos] }));
}

// The longest text answer the server takes, in characters (server/templates/rules.py MAX_TEXT).
export const MAX_TEXT = 5000;

// Whether `value` is an answer `item` takes, as the server judges it (server/templates/rules.py,
// value_problem). A number outside the item's range is an answer: it scores 0.
export function fits(item, value) {
  const keys = (item.options || []).map((o) => o.key);
  switch (item.type) {
    case 'yes_no': return value === 'yes' || value === 'no' || value === 'na';
    case 'scale': return Number.isInteger(value) && value >= 0 && value <= (item.max ?? 0);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'choice': return typeof value === 'string' && keys.includes(value);
    case 'multi_choice':
      return Array.isArray(value) && new Set(value).size === value.length && value.every((v) => keys.includes(v));
    // Counted by code point, as Python counts a str.
    case 'text': return typeof value === 'string' && [...value].length <= MAX_TEXT;
    case 'date': return isDate(value);
    case 'photo': return value === undefined || value === null;
    default: return false;
  }
}

// A calendar date written YYYY-MM-DD (not 2026-02-30).
function isDate(value) {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const day = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
}

// An inspection's answers carried to another version of its checklist (inspection.moveToVersion). An
// answer stays with its item when the new version still has it: its note and photos always, its value
// when the item still takes it. `leftOut` names the answers with something in them whose item is gone
// (value, note and photos go with it); `cleared` those whose value must be given again.
export function carryOver(answers, definition) {
  const kept = {};
  const leftOut = [];
  const cleared = [];
  for (const [key, answer] of Object.entries(answers || {})) {
    const item = itemByKey(definition, key);
    const something = !blank(answer?.value) || !!answer?.note?.trim() || photoCount(answer) > 0;
    if (!item) {
      if (something) leftOut.push(key);
      continue;
    }
    const a = { ...answer };
    if (a.value !== undefined && !fits(item, a.value)) {
      if (!blank(a.value)) cleared.push(key);
      delete a.value;
    }
    kept[key] = a;
  }
  return { answers: kept, leftOut, cleared };
}

// Photo ids the document references, so only those are uploaded.
export function referencedPhotos(doc) {
  return Object.values(doc.answers).flatMap((a) => a.photos || []);
}

// The SHA-256 of a Blob's or an ArrayBuffer's bytes, in hex (crypto.subtle: a secure context only).
export async function sha256Hex(data) {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
