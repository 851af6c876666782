// Drafts on the phone: created at Start, changed by every tap, saved at once. There is no save
// button; a write is issued for each change and coalesced while one is in flight, so a reload,
// a killed tab or a reboot loses nothing the user saw on screen.

import { emit } from './bus.js';
import { DRAFTS, OUTBOX, PHOTOS, get, getAll, req, tx } from './db.js';
import { carryOver, uuid } from './form.js';
import { recentFix } from './geo.js';
import { TEMPLATE_GONE, enqueueSubmission, photoRefusal, sendQueued, serverPart } from './outbox.js';
import { forget, prepare } from './photos.js';
import { score } from './scoring.js';

export async function createDraft({ station, version, assignment, location }) {
  const now = new Date().toISOString();
  const draft = {
    id: uuid(), station_id: station.id, template_version_id: version.id, template_id: version.template_id,
    assignment_id: assignment?.id || null, base_revision: 0, status: 'draft', sync: 'local',
    started_at: now, finished_at: null, location: location || null,
    answers: {}, review: null, server: null, error: null, conflict: null, updated_at: now,
  };
  await tx(DRAFTS, 'readwrite', (s) => req(s[DRAFTS].add(draft)));
  emit('drafts');
  return draft;
}

export const allDrafts = () => getAll(DRAFTS);

export const editable = (draft) => draft.status === 'draft' || draft.status === 'returned';

// Every change is written as what it changes, not as a screen's whole copy of the draft: each
// screen loads its own copy, and a change that lands late (a photo still being resized, a GPS fix)
// belongs to a copy the inspector has since moved on from. Written whole, such a copy would undo the
// answers given on the next screen, and the next tap there would undo the photo in turn. So a change
// is a function applied to the screen's copy at once and to the stored draft inside the write's
// transaction (read, change, put), and a stale copy never reaches IndexedDB.
//
// Coalescing writer: at most one write in flight per draft, the changes asked for meanwhile go
// together in the next one.
const writing = new Map();
// Changes a write refused (phone full), per draft: they go with the next write, as the screen still
// shows them.
const refused = new Map();
// Photos being resized and stored, and removed, per draft: a screen opened meanwhile waits for them.
const storing = new Map();

// Waits for the draft's write in progress, if any, to end; a refusal of it was already said by save.
const settled = (draft) => writing.get(draft.id)?.done.catch(() => {});
// A write the phone refused (storage full), said to the person by app.js.
const saveFailed = (err) => emit('save-failed', { name: err?.name || 'Error' });

// Everything asked for on a draft so far, photos included, is stored (or was refused).
async function pendingWrites(id) {
  while (storing.get(id)?.size) await Promise.allSettled([...storing.get(id)]);
  await writing.get(id)?.done.catch(() => {});
}

function track(id, promise) {
  if (!storing.has(id)) storing.set(id, new Set());
  storing.get(id).add(promise);
  const over = () => { storing.get(id)?.delete(promise); if (!storing.get(id)?.size) storing.delete(id); };
  promise.then(over, over);
  return promise;
}

// Applies changes to the stored draft, only while it is still editable: a change can arrive late (a
// GPS fix or a photo that lands after the inspector submitted, discarded the draft or signed out),
// and would turn a submitted inspection back into a draft (sent to the server as one, so no reviewer
// ever sees it) or revive a deleted one. A change made on a copy from before the draft moved to
// another checklist version (moveToVersion) is as stale. Resolves whether anything was written. For
// use inside a transaction on DRAFTS.
async function changeIfEditable(s, id, changes) {
  const stored = await req(s[DRAFTS].get(id));
  if (!stored || !editable(stored)) return false;
  const mine = changes.filter((c) => c.version === stored.template_version_id);
  if (!mine.length) return false;
  for (const c of mine) c.apply(stored);
  // An edit is work only this phone has, whatever the server holds (a returned inspection, a copy
  // taken from the server): unsent until submitted again. A refusal still waiting for the inspector
  // (attention) stays said.
  if (stored.sync !== 'attention') stored.sync = 'local';
  stored.updated_at = new Date().toISOString();
  await req(s[DRAFTS].put(stored));
  return true;
}

// A screen opens a draft as it stands after the writes already asked for: the last taps of the
// screen before (coalesced behind a write in flight) and a photo still being stored would otherwise
// be missing from it, and a Submit there would freeze the draft without them.
export async function loadDraft(id) {
  await pendingWrites(id);
  const draft = await get(DRAFTS, id);
  // Changes the phone refused to store (full) are still the inspector's: shown on every screen, and
  // written with the next change or the Submit.
  if (draft) replayRefused(draft);
  return draft;
}

function replayRefused(draft) {
  for (const c of refused.get(draft.id) || []) if (c.version === draft.template_version_id) c.apply(draft);
}

// Makes a change (`apply`, a function of a draft) on the screen's copy and on the stored draft.
export function save(draft, apply = () => {}) {
  apply(draft);
  draft.updated_at = new Date().toISOString();
  const change = { apply, version: draft.template_version_id };
  const slot = writing.get(draft.id);
  if (slot) { slot.changes.push(change); return slot.done; }
  const id = draft.id;
  const mine = { changes: [...(refused.get(id) || []), change] };
  refused.delete(id);
  mine.done = (async () => {
    try {
      while (mine.changes.length) {
        const batch = mine.changes;
        mine.changes = [];
        try {
          await tx(DRAFTS, 'readwrite', (s) => changeIfEditable(s, id, batch));
        } catch (err) {
          // Refused (phone full): kept for the next change, which writes them with it.
          refused.set(id, [...batch, ...mine.changes]);
          throw err;
        }
      }
    } finally {
      writing.delete(id);
    }
    emit('drafts');
  })();
  // Callers of a tap do not wait for the write, so a refusal is said here, once per write.
  mine.done.catch(saveFailed);
  writing.set(id, mine);
  return mine.done;
}

export function answerOf(draft, key) {
  if (!draft.answers[key]) draft.answers[key] = {};
  return draft.answers[key];
}

export function setValue(draft, key, value) {
  return save(draft, (d) => {
    const a = answerOf(d, key);
    if (value === undefined || value === null || value === '') delete a.value; else a.value = value;
  });
}

export function setNote(draft, key, note) {
  return save(draft, (d) => { answerOf(d, key).note = note; });
}

// A GPS fix that came after the draft was begun without one; a fix the draft already has stays.
export function setLocation(draft, fix) {
  const location = { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m };
  return save(draft, (d) => { if (!d.location) d.location = location; });
}

// Resizes and stores the photo and links it to the item in one transaction. `fromCamera`
// decides whether the current GPS fix describes where it was taken (a gallery picture may be old),
// and is kept as the photo's `source`, sent with its upload: resizing strips the EXIF, so without it
// the reviewer could not tell an old gallery picture from a camera shot taken without a fix.
export function addPhoto(draft, key, file, { fromCamera }) {
  return track(draft.id, storePhoto(draft, key, file, fromCamera));
}

async function storePhoto(draft, key, file, fromCamera) {
  const prepared = await prepare(file);
  const fix = fromCamera ? recentFix() : null;
  const taken = fromCamera || !file.lastModified ? new Date() : new Date(file.lastModified);
  const photo = {
    id: uuid(), inspection_id: draft.id, item_key: key, taken_at: taken.toISOString(),
    lat: fix?.lat ?? null, lon: fix?.lon ?? null, accuracy_m: fix?.accuracy_m ?? null,
    source: fromCamera ? 'camera' : 'gallery', state: 'local', size: prepared.blob.size,
    width: prepared.width, height: prepared.height, blob: prepared.blob, thumb: prepared.thumb,
  };
  const link = (d) => {
    const a = answerOf(d, key);
    a.photos = [...(a.photos || []), photo.id];
  };
  await tx([DRAFTS, PHOTOS], 'readwrite', async (s) => {
    // Submitted meanwhile (from another screen): the photo would join no queue and un-submit it.
    if (!(await changeIfEditable(s, draft.id, [{ apply: link, version: draft.template_version_id }]))) {
      throw new Error('the inspection is no longer editable');
    }
    s[PHOTOS].put(photo);
  });
  // Counted only once stored (not when the phone is full): a later change would otherwise record an
  // id that no upload will ever fill, and the inspection would be submitted short of a photo.
  link(draft);
  draft.updated_at = new Date().toISOString();
  emit('drafts');
  return photo;
}

export function removePhoto(draft, key, photoId) {
  const unlink = (d) => {
    const a = answerOf(d, key);
    a.photos = (a.photos || []).filter((p) => p !== photoId);
  };
  // A submitted inspection keeps its photos: its queued upload needs the local copy. The screen's copy
  // loses the photo only once the stored draft has (not when the phone refused the write, full: the
  // photo would look gone while the stored draft, and so the submission, still named it).
  return track(draft.id, tx([DRAFTS, PHOTOS], 'readwrite', async (s) => {
    if (!(await changeIfEditable(s, draft.id, [{ apply: unlink, version: draft.template_version_id }]))) return false;
    s[PHOTOS].delete(photoId);
    return true;
  }).then((removed) => {
    if (!removed) return;
    unlink(draft);
    forget(photoId);
  }));
}

// Submit: freeze the draft with the score the phone shows, then hand it to the outbox. Both in one
// transaction: if the phone refuses the write (storage full) the inspection stays an editable draft.
// What is frozen is the stored draft after every change asked for (a GPS fix that came while the
// review screen was open included), not the review screen's copy; `also` changes it first.
export async function submit(draft, definition, also = () => {}) {
  await pendingWrites(draft.id);
  let frozen = null;
  let dropped = [];
  try {
    dropped = await enqueueSubmission(draft.id, definition, (d) => {
      // Discarded, or submitted already (from another tab): nothing to freeze, and not twice.
      if (!d || !(editable(d) || d.sync === 'attention')) throw new Error('the inspection is no longer editable');
      replayRefused(d);
      also(d);
      d.status = 'submitted';
      d.finished_at = new Date().toISOString();
      d.local_score = score(definition, d.answers);
      d.updated_at = d.finished_at;
      frozen = d;
    });
  } catch (err) {
    saveFailed(err);
    throw err;
  }
  refused.delete(draft.id);
  Object.assign(draft, frozen);
  for (const id of dropped || []) forget(id);
  return sendQueued();
}

// After a 409: keep the phone's answers and send them on top of the server's newer revision.
export async function keepMine(draft, definition) {
  return submit(draft, definition, (d) => {
    d.base_revision = d.conflict?.revision ?? d.base_revision;
    d.conflict = null;
  });
}

// After a 409: take the server's copy instead (the user chose this; the local answers go).
export async function takeServerCopy(draft) {
  const copy = draft.conflict || {};
  const kept = new Set(Object.values(copy.answers || {}).flatMap((a) => a.photos || []));
  let waiting = 0;
  await tx([DRAFTS, OUTBOX, PHOTOS], 'readwrite', async (s) => {
    // Photos the server's copy still references keep their place in the queue; the others go
    // with the answers that referenced them.
    const entries = await req(s[OUTBOX].index('inspection_id').getAll(draft.id));
    waiting = 0;
    for (const e of entries) {
      if (e.kind === 'photo' && kept.has(e.ref)) { waiting += 1; continue; }
      s[OUTBOX].delete(e.seq);
      if (e.kind === 'photo') { s[PHOTOS].delete(e.ref); forget(e.ref); }
    }
    // On the stored draft, not the screen's copy: what came meanwhile (a reviewer's comments) stays.
    const stored = (await req(s[DRAFTS].get(draft.id))) || draft;
    s[DRAFTS].put({
      ...stored, answers: copy.answers || {}, base_revision: copy.revision ?? stored.base_revision,
      status: copy.status === 'returned' || copy.status === 'draft' ? copy.status : 'submitted',
      sync: waiting ? 'queued' : 'on_server', error: null, conflict: null,
      server: serverPart(copy),
    });
  });
  emit('outbox');
  emit('drafts');
  // The kept photos were held behind the refused inspection: send them now, not at the next
  // reconnection or start of the app.
  if (waiting) sendQueued().catch(() => {});
}

// A photo the server refused for what it is (outbox.photoRefusal) would be refused again if sent, and
// holds up the rest of its inspection. At the inspector's request it goes, and only it: from its
// answer, from the phone and from the outbox; the inspection's other photos and answers then go on.
// Resolves whether it was removed (not if it was sent or removed meanwhile, by the service worker
// or another tab).
export async function removeRefusedPhoto(inspectionId, seq) {
  let removed = null;
  await tx([DRAFTS, OUTBOX, PHOTOS], 'readwrite', async (s) => {
    const entry = await req(s[OUTBOX].get(seq));
    if (!photoRefusal(entry) || entry.inspection_id !== inspectionId) return;
    s[OUTBOX].delete(seq);
    s[PHOTOS].delete(entry.ref);
    removed = entry.ref;
    const draft = await req(s[DRAFTS].get(inspectionId));
    if (!draft) return;
    const rest = (await req(s[OUTBOX].index('inspection_id').getAll(inspectionId))).filter((e) => e.seq !== seq);
    const fate = documentFate(draft, rest);
    if (fate === 'resend') {
      s[OUTBOX].add({ kind: 'inspection', ref: inspectionId, inspection_id: inspectionId, state: 'pending', attempts: 0, error: null, created_at: new Date().toISOString() });
    }
    s[DRAFTS].put(withoutRefusedPhoto(draft, entry, rest, fate));
  });
  if (!removed) return false;
  forget(removed);
  emit('outbox');
  emit('drafts');
  sendQueued().catch(() => {});
  return true;
}

// What becomes of the document that names the removed photo:
// - 'queued': an inspection entry still waits; it is built from the draft when sent, so without the id;
// - 'edit': the inspector can still edit it, and submits it again (with a new photo if the item needs one);
// - 'kept': the server's copy is submitted or reviewed, read-only to its inspector, so a changed one
//   would only be refused (409): it keeps naming the photo, and its reviewer sees that photo missing;
// - 'resend': otherwise the document goes to the server again, without the id.
function documentFate(draft, rest) {
  if (rest.some((e) => e.kind === 'inspection')) return 'queued';
  if (editable(draft)) return 'edit';
  if (draft.server && !['draft', 'returned'].includes(draft.server.status)) return 'kept';
  return 'resend';
}

// The draft after its refused photo went: the photo out of its answer, and the state said by what is
// still queued for it. A photo the server's copy keeps naming is remembered (refused_photos), so the
// phone says why the server lists it as missing instead of "still to send".
function withoutRefusedPhoto(draft, entry, rest, fate) {
  const answers = structuredClone(draft.answers || {});
  const a = answers[entry.item_key];
  if (a?.photos) a.photos = a.photos.filter((p) => p !== entry.ref);
  const parked = rest.find((e) => e.state === 'attention');
  const next = {
    ...draft, answers, updated_at: new Date().toISOString(),
    sync: parked ? 'attention' : rest.length || fate === 'resend' ? 'queued' : fate === 'edit' ? 'local' : 'on_server',
    error: parked ? parked.error : null,
  };
  if (fate === 'kept') {
    next.server = { ...draft.server, missing_photos: (draft.server.missing_photos || []).filter((id) => id !== entry.ref) };
    next.refused_photos = [...(draft.refused_photos || []), { id: entry.ref, item_key: entry.item_key, reason: photoRefusal(entry) }];
  }
  // Returned by its reviewer while this photo waited (state.mergeReturned): nothing of the submitted
  // revision is left to send, so the return applies now, as when a last photo is sent.
  if (!rest.length && draft.pending_return) return { ...next, ...draft.pending_return, pending_return: null, sync: 'on_server' };
  return next;
}

// Whether the server refused this inspection for its checklist version alone, the version it was
// begun on being one the server does not have (its database restored from before that version was
// published, say): sent as it is, it would be refused for ever. The way out is moveToVersion. The
// server then holds no copy of the inspection either, whatever the phone last heard, since every
// inspection it holds is on a version it holds.
export function versionRefused(draft) {
  const err = draft?.error;
  if (draft?.sync !== 'attention' || !err) return false;
  if (err.status === 404) return err.title === TEMPLATE_GONE;
  return err.status === 422 && (err.errors || []).some((e) => e.field === 'template_version_id'
    && e.message === 'is not a published template version');
}

// At its inspector's request, an inspection versionRefused moves to `ver`, another version of its
// checklist on this phone: a draft again on that version, with the answers that have a place in it and
// their photos (form.carryOver); the rest, which the inspector was shown before agreeing, leaves the
// phone. None of it is on the server, so its queue starts afresh when it is submitted again.
// Resolves whether it moved (not when it was sent, changed or moved meanwhile, by another tab).
export async function moveToVersion(draft, ver) {
  const dropped = [];
  let moved = false;
  await settled(draft);
  await tx([DRAFTS, OUTBOX, PHOTOS], 'readwrite', async (s) => {
    const stored = await req(s[DRAFTS].get(draft.id));
    if (!versionRefused(stored) || stored.template_version_id !== draft.template_version_id) return;
    const { answers } = carryOver(stored.answers, ver.definition);
    const kept = new Set(Object.values(answers).flatMap((a) => a.photos || []));
    for (const e of await req(s[OUTBOX].index('inspection_id').getAll(draft.id))) s[OUTBOX].delete(e.seq);
    for (const id of await req(s[PHOTOS].index('inspection_id').getAllKeys(draft.id))) {
      if (!kept.has(id)) { s[PHOTOS].delete(id); dropped.push(id); }
    }
    s[DRAFTS].put({
      ...stored, template_version_id: ver.id, template_id: ver.template_id, answers, status: 'draft',
      sync: 'local', error: null, conflict: null, server: null, base_revision: 0, finished_at: null,
      local_score: null, updated_at: new Date().toISOString(),
    });
    moved = true;
  });
  for (const id of dropped) forget(id);
  if (moved) { emit('outbox'); emit('drafts'); }
  return moved;
}

// Drafts the inspector abandons before submitting (never sent, so nothing on the server).
export async function discard(draft) {
  await tx([DRAFTS, PHOTOS, OUTBOX], 'readwrite', async (s) => {
    const photos = await req(s[PHOTOS].index('inspection_id').getAllKeys(draft.id));
    for (const id of photos) { s[PHOTOS].delete(id); forget(id); }
    s[DRAFTS].delete(draft.id);
  });
  emit('drafts');
}
