// Pieces the inspector screens share: the sync state of an inspection in words, the reviewer's
// comments, and what the server refused (422) with jump links to the items concerned.

import { getLang, t, tx } from '../../i18n.js';
import { itemByKey, sectionOfItem } from '../../form.js';
import { h, icon, pill } from '../../ui.js';

export function notFound(message) {
  return h('div', { class: 'page' }, h('h1', { text: t('error.title') }), h('p', { text: message || t('error.notFound') }),
    h('a', { href: '#/', class: 'btn btn-primary' }, t('nav.home')));
}

// The state of an inspection for the inspector, as a pill: word + icon + colour.
export function syncPill(draft) {
  const missingPhotos = draft.server?.missing_photos?.length || 0;
  switch (draft.sync) {
    case 'queued': return pill('pending', t('state.savedOnPhone'), { dataset: { sync: 'queued' } });
    case 'sending': return pill('busy', t('state.sending'), { dataset: { sync: 'sending' } });
    case 'attention': return pill('fail', t('state.attention'), { dataset: { sync: 'attention' } });
    case 'on_server':
      return missingPhotos
        ? pill('pending', t('state.onServerPhotos', { count: missingPhotos }), { dataset: { sync: 'on_server' } })
        : pill('ok', t('state.onServer'), { dataset: { sync: 'on_server' } });
    default:
      return draft.status === 'returned'
        ? pill('warn', t('state.returned'), { dataset: { sync: 'local' } })
        : pill('info', t('state.draft'), { dataset: { sync: 'local' } });
  }
}

export function returnedCallout(draft) {
  const r = draft.review;
  if (!r || (!r.comment && !Object.keys(r.item_comments || {}).length)) return null;
  const n = Object.keys(r.item_comments || {}).length;
  return h('div', { class: 'callout callout-warn', role: 'note', id: 'review-comment' }, icon('note'), h('div', {},
    h('h2', { class: 'h3', text: t('review.returnedTitle') }),
    r.comment ? h('p', { text: r.comment }) : null,
    n ? h('p', { class: 'hint', text: t('review.itemComments', { count: n }) }) : null));
}

// Maps a server error field ("answers.fd_staffed.photos", "fd_staffed", …) to a template item.
function itemOfField(def, field) {
  for (const part of String(field || '').split(/[.[\]/]/)) {
    const item = part && itemByKey(def, part);
    if (item) return item;
  }
  return null;
}

// The server's problems with an item, in the person's language. It writes them in English for API
// clients; the ones a phone can meet are said again here, and any other keeps the server's words in
// English and a plain "not accepted" in Urdu.
function problemText(e) {
  const photos = /^needs at least (\d+) photo/.exec(e.message || '');
  if (photos) return t('attention.needsPhotos', { count: Number(photos[1]) });
  if (e.message === 'is required') return t('attention.needsAnswer');
  if (e.message === 'is not an item of this template') return t('attention.notInChecklist');
  return getLang() === 'en' ? e.message : t('attention.notAccepted');
}

export function errorsCallout(draft, def) {
  const err = draft.error;
  if (!err || draft.sync !== 'attention') return null;
  const title = err.status === 409 ? t('attention.conflictTitle')
    : err.status === 422 ? t('attention.invalidTitle') : t('attention.title', { status: err.status });
  const body = err.status === 409 ? t('attention.conflictBody') : err.status === 422 ? t('attention.invalidBody') : '';
  return h('div', { class: 'callout callout-fail', role: 'alert', id: 'attention', dataset: { status: err.status } },
    icon('alert'), h('div', {},
      h('h2', { class: 'h3', text: title }),
      body ? h('p', { text: body }) : null,
      // A conflict or a refused submission is explained above in the person's language; the server's
      // own sentence (English, written for API clients: "merge with server_copy") is only for the rest.
      err.detail && !body ? h('p', { class: 'server-message' }, h('span', { class: 'strong', text: `${t('attention.server')} ` }), err.detail) : null,
      err.errors?.length ? h('ul', { class: 'server-errors' }, err.errors.map((e) => {
        const item = itemOfField(def, e.field);
        const text = item ? `${tx(item.label)}: ${problemText(e)}` : `${e.field}: ${problemText(e)}`;
        return h('li', {}, item
          ? h('a', { href: `#/i/${draft.id}/s/${sectionOfItem(def, item.key)}?item=${item.key}` }, text)
          : text);
      })) : null));
}

