// Pieces the inspector screens share: the sync state of an inspection in words, the reviewer's
// comments, what the server refused (422) with jump links to the items concerned, and the photos it
// refused with the way out (remove them).

import { actionDescription, actionDue, getLang, problemText as serverProblem, t, tx } from '../../i18n.js';
import { carryOver, itemByKey, sectionOfItem } from '../../form.js';
import { editable, moveToVersion, removeRefusedPhoto, versionRefused } from '../../inspection.js';
import { on } from '../../bus.js';
import { TEMPLATE_GONE, actionChecks, dropActionCheck, enqueueActionCheck, photoRefusal, refusedAccess, retryRefused } from '../../outbox.js';
import { thumbUrl } from '../../photos.js';
import { navigate, render } from '../../router.js';
import { station, templatesFor } from '../../state.js';
import { button, confirmDialog, dialog, field, h, icon, keepingFocus, mount, pill, toast } from '../../ui.js';

export function notFound(message) {
  return h('div', { class: 'page' }, h('h1', { text: t('error.title') }), h('p', { text: message || t('error.notFound') }),
    h('a', { href: '#/', class: 'btn btn-primary' }, t('nav.home')));
}

// An inspection whose checklist this phone lacks. Usually the next download brings it; but once the
// outbox has heard that the server no longer has it either (TEMPLATE_GONE), "connect to download it"
// would send the inspector looking for a network that cannot help.
export function missingTemplate(draft) {
  const gone = draft.sync === 'attention' && draft.error?.status === 404 && draft.error?.title === TEMPLATE_GONE;
  const node = notFound(t(gone ? 'fill.templateGone' : 'fill.noTemplate'));
  if (gone) node.dataset.templateGone = '';
  const way = gone && moveCallout(draft, null);
  if (way) node.querySelector('p').replaceWith(way);
  return node;
}

// The way out for an inspection the server holds no checklist version for (inspection.versionRefused):
// the version of the same checklist this phone now offers at its station, when it has one. What will
// not move is said before anything moves: the answers whose item is gone, named as `fromDef` (the
// version the inspection was on, when the phone still has it) labels them, and those to give again.
export function moveCallout(draft, fromDef) {
  if (!versionRefused(draft)) return null;
  const target = templatesFor(station(draft.station_id))
    .find((v) => v.template_id === draft.template_id && v.id !== draft.template_version_id);
  if (!target) return null;
  const version = target.version;
  const named = (def, keys) => h('ul', {}, keys.map((key) => h('li', { text: tx(def && itemByKey(def, key)?.label) || key })));
  const move = button(t('move.button', { version }), async () => {
    const { leftOut, cleared } = carryOver(draft.answers, target.definition);
    const agreed = await dialog({
      title: t('move.confirmTitle', { version }),
      body: [
        h('p', { text: t('move.confirmBody', { version }) }),
        leftOut.length ? [h('p', { text: t('move.leftOut', { count: leftOut.length, version }) }), named(fromDef, leftOut)] : null,
        cleared.length ? [h('p', { text: t('move.cleared', { count: cleared.length, version }) }), named(target.definition, cleared)] : null,
      ],
      actions: [{ label: t('cancel'), value: false }, { label: t('move.yes'), value: true, kind: 'primary' }],
    });
    if (!agreed) return;
    move.disabled = true;
    // Not moved: sent or moved meanwhile (another tab); the screen drawn again says where it stands.
    if (await moveToVersion(draft, target)) navigate(`/i/${draft.id}/review`);
    else render();
  }, { kind: 'primary', iconName: 'next', id: 'move-version' });
  return h('div', { class: 'callout callout-warn', id: 'move-version-box', dataset: { version: target.id } },
    icon('warn'), h('div', {},
      h('h2', { class: 'h3', text: t('move.title') }),
      h('p', { text: t('move.body', { version }) }),
      move));
}

// The state of an inspection for the inspector, as a pill: word + icon + colour.
export function syncPill(draft) {
  const missingPhotos = draft.server?.missing_photos?.length || 0;
  switch (draft.sync) {
    case 'queued': return pill('pending', t('state.savedOnPhone'), { dataset: { sync: 'queued' } });
    case 'sending': return pill('busy', t('state.sending'), { dataset: { sync: 'sending' } });
    case 'attention': return pill('fail', t('state.attention'), { dataset: { sync: 'attention' } });
    case 'on_server':
      // Returned and not changed here yet: the server has it, and it waits for the inspector.
      if (draft.status === 'returned') return pill('warn', t('state.returnedOnServer'), { dataset: { sync: 'returned' } });
      return missingPhotos
        ? pill('pending', t('state.onServerPhotos', { count: missingPhotos }), { dataset: { sync: 'on_server' } })
        : pill('ok', t('state.onServer'), { dataset: { sync: 'on_server' } });
    default:
      return draft.status === 'returned'
        ? pill('warn', t('state.returned'), { dataset: { sync: 'local' } })
        : pill('info', t('state.draft'), { dataset: { sync: 'local' } });
  }
}

// Where an item is answered: its section of the fill screen, scrolled to the item.
const itemHref = (draft, def, key) => `#/i/${draft.id}/s/${sectionOfItem(def, key)}?item=${key}`;

// The reviewer's comments on a returned inspection: the general one, and a jump link to each item
// commented on, so the inspector goes straight to what to correct instead of paging through sections.
export function returnedCallout(draft, def) {
  const r = draft.review;
  const commented = Object.keys(r?.item_comments || {});
  if (!r || (!r.comment && !commented.length)) return null;
  const items = commented.map((key) => itemByKey(def, key)).filter((item) => item && sectionOfItem(def, item.key) >= 0);
  return h('div', { class: 'callout callout-warn', role: 'note', id: 'review-comment' }, icon('note'), h('div', {},
    h('h2', { class: 'h3', text: t('review.returnedTitle') }),
    r.comment ? h('p', { text: r.comment, dir: 'auto' }) : null,
    commented.length ? h('p', { class: 'hint', text: t('review.itemComments', { count: commented.length }) }) : null,
    items.length ? h('ul', { class: 'commented-items' },
      items.map((item) => h('li', {}, h('a', { href: itemHref(draft, def, item.key) }, tx(item.label))))) : null));
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
  if (e.message === 'is not a published template version') return t('attention.versionNotOnServer');
  if (/^does not apply to this station/.test(e.message || '')) return t('attention.notForStation');
  if (/^cannot change once the inspection has been submitted/.test(e.message || '')) return t('attention.placeFixed');
  if (/^must not be before started_at/.test(e.message || '')) return t('attention.finishBeforeStart');
  return getLang() === 'en' ? e.message : t('attention.notAccepted');
}

// The fields of the document that are not items, by the names the inspector knows them by.
const FIELD_NAMES = {
  template_version_id: 'attention.fieldChecklist', station_id: 'attention.fieldStation',
  location: 'attention.fieldLocation', finished_at: 'attention.fieldFinished',
};
const fieldName = (field) => (FIELD_NAMES[field] ? t(FIELD_NAMES[field]) : field);

export function errorsCallout(draft, def) {
  const err = draft.error;
  if (!err || draft.sync !== 'attention') return null;
  // Refused for its checklist version alone: nothing in the form can mend that, moving it can.
  const way = moveCallout(draft, def);
  if (way) return way;
  const access = refusedAccess({ state: 'attention', error: err });
  const title = err.status === 409 ? t('attention.conflictTitle') : err.status === 422 ? t('attention.invalidTitle')
    : access ? t('attention.accessTitle') : t('attention.title', { status: err.status });
  const body = err.status === 409 ? t('attention.conflictBody') : err.status === 422 ? t('attention.invalidBody')
    : access ? t('attention.accessBody') : '';
  return h('div', { class: 'callout callout-fail', role: 'alert', id: 'attention', dataset: { status: err.status } },
    icon('alert'), h('div', {},
      h('h2', { class: 'h3', text: title }),
      body ? h('p', { text: body }) : null,
      // A conflict or a refused submission is explained above in the person's language; the server's
      // own sentence (English, written for API clients: "merge with server_copy") is only for the rest.
      err.detail && !body ? h('p', { class: 'server-message' }, h('span', { class: 'strong', text: `${t('attention.server')} ` }), err.detail) : null,
      err.errors?.length ? h('ul', { class: 'server-errors' }, err.errors.map((e) => {
        const item = itemOfField(def, e.field);
        const text = `${item ? tx(item.label) : fieldName(e.field)}: ${problemText(e)}`;
        return h('li', {}, item
          ? h('a', { href: itemHref(draft, def, item.key) }, text)
          : text);
      })) : null,
      access ? button(t('attention.tryAgain'), async () => { await retryRefused(); render(); },
        { kind: 'primary', id: 'retry-refused', iconName: 'sync' }) : null));
}


// The photos of this inspection the server refused for what they are (too large, not an image format
// it takes, unreadable), by item, each with the way out: remove it, so the rest can be sent. Only on
// the inspector's confirmation; nothing else goes with it. `def` gives the items' labels.
export function refusedPhotosCallout(draft, def, entries) {
  const refused = entries.filter(photoRefusal);
  if (!refused.length) return null;
  return h('div', { class: 'callout callout-fail refused-photos', role: 'alert', id: 'refused-photos' },
    icon('alert'), h('div', {},
      h('h2', { class: 'h3', text: t('refused.title', { count: refused.length }) }),
      h('p', { text: t('refused.body') }),
      h('ul', {}, refused.map((e) => refusedPhotoRow(draft, def, e)))));
}

function refusedPhotoRow(draft, def, entry) {
  const item = itemByKey(def, entry.item_key);
  const label = item ? tx(item.label) : entry.item_key;
  // "Photo 2: …" as the item's strip numbers it, so the inspector knows which of its photos this is.
  const n = (draft.answers[entry.item_key]?.photos || []).indexOf(entry.ref) + 1;
  const name = n > 0 ? t('photo.alt', { n, label }) : label;
  const thumb = h('img', { class: 'refused-thumb', alt: '', hidden: true });
  // A refused photo may be no picture at all: its thumbnail then stays hidden rather than broken.
  thumb.onload = () => { thumb.hidden = false; };
  thumbUrl(entry.ref).then((url) => { if (url) thumb.src = url; }).catch(() => {});
  const remove = button(t('refused.remove'), async () => {
    if (!(await confirmDialog(t('refused.removeTitle'), t('refused.removeBody'), t('refused.removeYes')))) return;
    remove.disabled = true;
    // The outbox emits 'outbox', which renders this screen again without the photo.
    await removeRefusedPhoto(draft.id, entry.seq);
  }, { kind: 'danger', iconName: 'trash', class: 'remove-refused' });
  const where = item && sectionOfItem(def, item.key) >= 0
    ? h('a', { href: itemHref(draft, def, item.key) }, name) : name;
  return h('li', { dataset: { photo: entry.ref, reason: photoRefusal(entry) } }, thumb,
    h('div', {}, h('p', { class: 'strong' }, where), h('p', { class: 'refused-reason', text: t(`refused.${photoRefusal(entry)}`) }), remove));
}

// Photos removed after the server refused them, which its copy (read-only to the inspector once
// submitted) still names: the reviewer sees them missing, and the inspector should know why.
export function removedPhotosNote(draft, def) {
  const gone = draft.refused_photos || [];
  if (!gone.length || editable(draft)) return null;
  const labels = [...new Set(gone.map((p) => tx(itemByKey(def, p.item_key)?.label) || p.item_key))];
  return h('div', { class: 'callout callout-warn', role: 'note', id: 'photos-removed' }, icon('warn'), h('div', {},
    h('p', { text: t('refused.removedNote', { count: gone.length }) }),
    h('ul', {}, labels.map((l) => h('li', { text: l })))));
}

// A screen drawn from the outbox follows it as it drains (here, in another tab or in the service worker):
// `build` makes the screen's parts in full and `put` puts them in place, so the page never shrinks
// meanwhile and the scroll position stays; a drawing overtaken by a newer one is dropped, and focus stays
// where the person had it. Drawn once before it returns; returns what stops the following.
export async function followOutbox(node, build, put) {
  let drawn = 0;
  const draw = async () => {
    const mine = ++drawn;
    const parts = await build();
    if (mine === drawn) put(parts);
  };
  await draw();
  return on('outbox', () => keepingFocus(draw, node));
}

// A corrective action open at the station (or done, for the inspector to verify), where the inspector
// meets it (its item's card, or atop the first section when this checklist has no such item): what
// must be done and by when, with its words isolated so an English description keeps its place in an
// Urdu sentence. While the inspection can be changed, "Seen fixed" records that the inspector saw the
// fix (with a note, as the server requires); it goes with the outbox, offline or not. `check` is the
// outbox entry of a check made already.
export function actionCallout(a, check, { canCheck, lead = 'actions.onItem' }) {
  const box = h('div', { class: 'callout callout-info action-callout', dataset: { action: a.id } });
  // As the outbox sends or refuses the check, the callout follows; once sent, it says so.
  let shown = check?.state ?? null;
  const off = on('outbox', async () => {
    if (!box.isConnected) { off(); return; }
    const entry = (await actionChecks()).get(a.id);
    if (entry && entry.state !== shown) draw(entry);
    else if (!entry && shown && shown !== 'sent') draw({ state: 'sent' });
  });
  const draw = (entry) => {
    shown = entry?.state ?? null;
    // Drawn again while the inspector is on it: focus stays in the callout, on what took its place.
    const focused = box.contains(document.activeElement);
    const state = entry && (entry.state === 'attention'
      ? [pill('fail', t('actions.checkRefused')), h('p', { class: 'field-error', text: serverProblem(entry.error) }),
        button(t('actions.dropCheck'), async () => {
          if (await dropActionCheck(entry.seq)) draw(null).querySelector('.action-seen')?.focus();
        }, { class: 'action-drop' })]
      : entry.state === 'sent' ? pill('ok', t('actions.checkSent'), { class: 'action-check', tabindex: '-1' })
        : pill('pending', t('actions.checkQueued'), { class: 'action-check', tabindex: '-1' }));
    const seen = !entry && canCheck && button(t('actions.seenFixed'), () => seenFixed(a, draw), { iconName: 'check', class: 'action-seen' });
    mount(box, icon('warn'), h('div', {}, h('p', {}, actionLine(a, lead)), state, seen));
    if (focused) box.querySelector('.action-check, .action-drop, .action-seen')?.focus();
    return box;
  };
  return draw(check);
}

// A done action is one the office was told is fixed: what the inspector is asked is to look and verify,
// so it says that in place of "open" and a due date.
const DONE_LEAD = { 'actions.item': 'actions.itemDone', 'actions.onItem': 'actions.onItemDone' };

// An action's words in a sentence (`lead`: {text} and {due}), the description isolated in a <bdi>.
export function actionLine(a, lead = 'actions.item') {
  if (a?.status === 'done' && DONE_LEAD[lead]) lead = DONE_LEAD[lead];
  const [before, after] = t(lead, { text: '\u0000', due: actionDue(a) }).split('\u0000');
  return [before, h('bdi', { text: actionDescription(a) }), after];
}

async function seenFixed(a, redraw) {
  // 4000: the server's limit for an action's note (server/actions/models.py NoteText).
  const note = h('textarea', { rows: 3, dir: 'auto', required: true, 'aria-required': 'true', maxlength: 4000, class: 'action-note' });
  const error = h('p', { class: 'field-error', id: `note-error-${a.id}`, role: 'alert', hidden: true, text: t('actions.noteNeeded') });
  const agreed = await dialog({
    title: t('actions.checkTitle'),
    body: [h('p', { dir: 'auto', text: actionDescription(a) }), h('p', { class: 'hint', text: t('actions.checkLead') }),
      field(t('actions.checkNote'), note), error],
    actions: [{ label: t('cancel'), value: false }, { label: t('actions.checkConfirm'), value: true, kind: 'primary' }],
    onSubmit: () => {
      if (note.value.trim()) return true;
      error.hidden = false;
      note.setAttribute('aria-invalid', 'true');
      note.setAttribute('aria-describedby', error.id);
      note.focus();
      return false;
    },
  });
  if (!agreed) return;
  try {
    // Not added when another tab checked it meanwhile: that check is what the callout shows.
    await enqueueActionCheck(a, note.value.trim());
  } catch (err) {
    // Not stored (a full phone): nothing is waiting, and the button stays for another try.
    toast(t(err?.name === 'QuotaExceededError' ? 'save.full' : 'save.failed'), { kind: 'error' });
    return;
  }
  // Its button is gone: focus goes to what took its place, not to the top of the page.
  redraw((await actionChecks()).get(a.id) || { state: 'pending' }).querySelector('.action-check, .action-drop')?.focus();
}
