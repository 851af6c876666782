// Pure questions about a template and a set of answers: what is visible, what is answered,
// what is still missing, and the §7 document sent to the server. No I/O, no DOM, so the page
// and the service worker (which builds the document when it sends) share exactly this code.
// Scoring itself is scoring.js, the twin of the server's scorer.

import { visibility } from './scoring.js';

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

const blank = (v) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

export function photoCount(answer) {
  return answer?.photos?.length || 0;
}

export function isAnswered(item, answer) {
  if (item.type === 'photo') return photoCount(answer) > 0;
  return !blank(answer?.value);
}

// Does this answer fail the item? Used to mark the card (colour AND icon AND word).
export function isFailed(item, answer) {
  const v = answer?.value;
  if (blank(v)) return false;
  switch (item.type) {
    case 'yes_no': return v === 'no';
    case 'scale': return v === 0;
    case 'number':
      return typeof v === 'number' && ((item.min != null && v < item.min) || (item.max != null && v > item.max));
    case 'choice': {
      const o = (item.options || []).find((x) => x.key === v);
      return !!o && o.points <= 0 && (item.options || []).some((x) => x.points > 0);
    }
    default: return false;
  }
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
      const need = item.min_photos || 0;
      if (need > photoCount(answer)) out.push({ section: s, item, reason: 'photos', have: photoCount(answer), need });
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
      if (isAnswered(item, answer) && photoCount(answer) >= (item.min_photos || 0)) done += 1;
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

// Photo ids the document references, so only those are uploaded.
export function referencedPhotos(doc) {
  return Object.values(doc.answers).flatMap((a) => a.photos || []);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
