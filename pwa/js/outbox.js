// The ordered outbox: what the phone still owes the server, kept in IndexedDB until the server
// acknowledges it. One code path sends it, whether the page calls drain() (on start, on
// `online`, after each enqueue) or the service worker does on a Background Sync event; a Web
// Lock makes sure only one of them sends at a time.
//
// Order: an inspection's PUT first, then its photos. The server then knows from the start which
// photos the inspection expects and lists the absent ones in `missing_photos`, so an attachment
// that never arrives is visible on both sides (the commonest loss in ODK and Kobo); and each
// photo upload names an inspection that already exists, which the server can check ownership of.
// A photo is therefore never orphaned on the server, and nothing waits on a large upload to
// tell the reviewer that the inspection exists.
//
// Failures: no network, 5xx, 408 and 429 stop the drain and retry later with exponential backoff
// and jitter. 401 stops it and asks the user to sign in again (nothing is dropped). Any other
// 4xx (409 edited elsewhere, 422 validation) parks the entry as "needs attention" with the
// server's message; later entries of the same inspection wait behind it, others go on.
// An inspection whose checklist (template version) cannot be had just now waits alone: its own
// entries stay for a later drain, the others go on; one the server no longer has either is parked.
// A photo refused for what it is (photoRefusal) is parked too, until the inspector removes it.
//
// A corrective action the inspector saw fixed is an entry of its own (enqueueActionCheck), of no
// inspection: it waits for none, and none waits for it.

import { ApiError, api } from './api.js';
import { emit } from './bus.js';
import { DRAFTS, OUTBOX, PHOTOS, byIndex, get, getAll, kv, put, req, tx } from './db.js';
import { buildDocument, hiddenPhotos, referencedPhotos, sha256Hex, uuid } from './form.js';
import { dictionaries, getLang } from './i18n.js';

const LOCK = 'muaina-outbox';
// The title of the refusal an inspection is parked with when the server no longer has its checklist
// either: the screens tell it from a checklist merely not downloaded yet by this title.
export const TEMPLATE_GONE = 'template version not found';
const BASE_DELAY = 2000;
const MAX_DELAY = 5 * 60 * 1000;
const MAX_JITTER = 1.5;  // a delay is spread over ½ to 1½ times its step

let timer = null;

// A phone out of space refuses every write that adds bytes, deletes excepted. The outbox must still
// send then, since each acknowledged photo it deletes is what gives the space back, so its own
// bookkeeping (states shown on screen, the backoff) never stops a send.
const isFull = (err) => err?.name === 'QuotaExceededError';
const quietly = (promise) => promise.catch(() => {});

// What an entry is part of, as the inspector knows it: its inspection (the document and its photos),
// or the one corrective action it checks. A refused entry holds up the rest of its unit only, and the
// badge and the sync screen count and list units.
// What the phone keeps of the server's copy of an inspection (a PUT's reply, a conflict's copy).
// updated_at: when the server took it, by the server's clock (how long the phone keeps it, pruneSent).
export const serverPart = (stored) => ({
  revision: stored.revision, status: stored.status, score: stored.score || null,
  missing_photos: stored.missing_photos || [], updated_at: stored.updated_at,
});

export const unitOf = (e) => (e.kind === 'action' ? `action:${e.ref}` : e.inspection_id);

// Queue a submitted inspection and every photo it references that is still on the phone. Resolves to
// the ids of the photos it deleted (of hidden items).
// Re-submitting after a 409/422 re-arms the parked entries instead of adding new ones.
// `freeze` (the inspector's Submit) changes the stored draft in the same transaction as its entries
// are queued, so the phone never holds a submitted inspection that nothing is queued to send.
export async function enqueueSubmission(inspectionId, definition, freeze = () => {}) {
  return tx([DRAFTS, PHOTOS, OUTBOX], 'readwrite', async (s) => {
    const draft = await req(s[DRAFTS].get(inspectionId));
    freeze(draft);
    const doc = buildDocument(draft, definition);
    const existing = await req(s[OUTBOX].index('inspection_id').getAll(inspectionId));
    // Submitted with an item hidden that holds photos: they are not sent (nor a queued one of them from
    // an earlier submission), and left on the phone they would keep its space for good, the inspection
    // with them (pruneSent keeps what holds photos), with nothing ever saying so. The review screen
    // said they go (hiddenPhotos); the hidden answer keeps its value and note.
    // Never one the document names elsewhere, nor one the server's copy still waits for (sent in an
    // earlier revision and not yet uploaded): a 409 answered with "take the server's copy" needs it.
    const dropped = new Set();
    if (doc.status === 'submitted') {
      const needed = new Set([...referencedPhotos(doc), ...(draft.server?.missing_photos || [])]);
      for (const { key, photos } of hiddenPhotos(draft, definition)) {
        const going = photos.filter((id) => !needed.has(id));
        for (const id of going) { s[PHOTOS].delete(id); dropped.add(id); }
        draft.answers[key] = { ...draft.answers[key], photos: photos.filter((id) => needed.has(id)) };
      }
    }
    for (const e of existing) if (e.kind === 'photo' && dropped.has(e.ref)) s[OUTBOX].delete(e.seq);
    const queued = new Map(existing.filter((e) => !dropped.has(e.ref)).map((e) => [`${e.kind}:${e.ref}`, e]));
    const now = new Date().toISOString();
    const want = [{ kind: 'inspection', ref: inspectionId }];
    for (const id of referencedPhotos(doc)) {
      const photo = await req(s[PHOTOS].get(id));
      if (photo && photo.blob) want.push({ kind: 'photo', ref: id, item_key: photo.item_key });
    }
    for (const w of want) {
      const old = queued.get(`${w.kind}:${w.ref}`);
      if (old) s[OUTBOX].put({ ...old, state: 'pending', error: null, attempts: 0 });
      else s[OUTBOX].add({ ...w, inspection_id: inspectionId, state: 'pending', attempts: 0, error: null, created_at: now });
    }
    draft.sync = 'queued';
    draft.error = null;
    s[DRAFTS].put(draft);
    return [...dropped];  // the photos deleted, for the page to let go of their blob URLs
  });
}

// The inspector saw a corrective action's fix at the station: queued like a submission, and sent as
// PATCH {status: verified, note, note_id}. The note's id is made once, here, so the request sent twice
// (a drain cut off before the reply) is stored once and changes nothing the second time. What the
// screens show of the action (its words, due date) is kept with the entry: the phone may drop the
// action from its bundle before the entry goes.
// Resolves once the check is stored (rejects if the phone could not store it: full), and sends it
// meanwhile without waiting for the network. One check per action: one already queued (from another
// tab, or a dialog left open while it was made) stands, and this one is not added (resolves false).
export async function enqueueActionCheck(action, note) {
  const { id, station_id, item_key, item_label, description, description_kind, due_date } = action;
  const added = await tx(OUTBOX, 'readwrite', async (s) => {
    const queued = (await req(s[OUTBOX].getAll())).some((e) => e.kind === 'action' && e.ref === id);
    if (queued) return false;
    await req(s[OUTBOX].add({
      kind: 'action', ref: id, action: { id, station_id, item_key, item_label, description, description_kind, due_date },
      note, note_id: uuid(), state: 'pending', attempts: 0, error: null, created_at: new Date().toISOString(),
    }));
    return true;
  });
  if (added) sendQueued().catch(() => {});
  return added;
}

// A check the server refused (parked): the inspector may drop it, and the action stays as the office
// has it; they can say again what they saw. Resolves whether it was dropped (not if it was sent or
// dropped meanwhile, by the service worker or another tab).
export async function dropActionCheck(seq) {
  let dropped = false;
  await tx(OUTBOX, 'readwrite', async (s) => {
    const entry = await req(s[OUTBOX].get(seq));
    if (entry?.kind !== 'action' || entry.state !== 'attention') return;
    s[OUTBOX].delete(seq);
    dropped = true;
  });
  emit('outbox');
  return dropped;
}

// The inspector's checks of corrective actions still on the phone, by action id.
export async function actionChecks() {
  return new Map((await getAll(OUTBOX)).filter((e) => e.kind === 'action').map((e) => [e.ref, e]));
}

// After enqueueSubmission: send now, and have the browser wake the worker for it if the page closes.
export async function sendQueued() {
  emit('outbox');
  await quietly(kv.set('backoff', null));
  requestBackgroundSync();
  return drain();
}

// Ask the browser to wake the service worker when the network is back, even if the page is
// closed by then. Where Background Sync is missing, start-up and `online` cover it.
async function requestBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register('outbox');
  } catch { /* not supported or not allowed: the page drains on its own */ }
}

// Sends what it can, in order. Resolves with {sent, transient, auth}: `transient` tells a
// Background Sync event to fail so the browser tries again later.
export async function drain() {
  if (!self.navigator?.locks) return drainLocked();
  // A drain already running (here or in the worker) read its list when it started, so a later
  // call waits its turn and then looks again rather than returning early.
  return navigator.locks.request(LOCK, drainLocked);
}

async function drainLocked() {
  clearTimeout(timer);
  // Known offline: nothing to try; `online` (or Background Sync) starts the next drain.
  if (self.navigator && self.navigator.onLine === false) return { sent: 0, transient: true };
  const backoff = await kv.get('backoff');
  // A deadline further off than any backOff sets was written under a clock set right since (a phone a
  // day fast, corrected by the network): waiting it out would hold the work back that long. Try now.
  const wait = backoff ? backoff.next_at - Date.now() : 0;
  if (wait > 0 && wait <= MAX_DELAY * MAX_JITTER) { schedule(wait); return { sent: 0, transient: true }; }
  const entries = (await getAll(OUTBOX)).sort((a, b) => a.seq - b.seq);
  const blocked = new Set();
  const bundle = (await kv.get('bundle')) || { templates: {} };
  let sent = 0;
  let unrecorded = false;
  let later = false;  // something was left for a later drain although the network answered
  let slowPhoto = false;  // a photo ran out of time in this drain
  for (const entry of entries) {
    if (entry.state === 'attention') { blocked.add(unitOf(entry)); continue; }
    if (blocked.has(unitOf(entry))) continue;
    try {
      await quietly(mark(entry, 'sending'));
      if (entry.kind === 'inspection') {
        // Sent, but a full phone could not record it: its photos go on (their acknowledgements free
        // space) and the inspection is sent again after them, which the server answers as a replay.
        if (await sendInspection(entry, bundle) === 'unrecorded') { unrecorded = true; continue; }
        // A submission completes its assignment on the server: the page fetches the bundle again.
        emit('acknowledged', { id: entry.inspection_id });
      } else if (entry.kind === 'action') await sendActionCheck(entry);
      else await sendPhoto(entry);
      sent += 1;
    } catch (err) {
      if (err.status === 401) {
        await quietly(put(OUTBOX, { ...entry, state: 'pending' }));
        await quietly(setDraftSync(entry.inspection_id, 'queued'));
        await quietly(kv.set('auth_needed', true));
        emit('auth-needed');
        emit('outbox');
        return { sent, auth: true };
      }
      if (entry.kind === 'photo' && err.timedOut && !slowPhoto) {
        // A photo the link was too slow for: the photos after it (most smaller) go now rather than
        // wait behind it, and it is tried again at the next drain. One per drain: a second running out
        // of time says the link passes nothing at all, and the drain backs off as for any failure.
        slowPhoto = true;
        await requeue(entry, err);
        later = true;
        emit('outbox');
        continue;
      }
      if (err.waitAlone) {
        // Its checklist could not be fetched just now: only this inspection waits, and is tried again.
        await requeue(entry, err);
        blocked.add(unitOf(entry));
        later = true;
        emit('outbox');
        continue;
      }
      if (err.status === undefined || err.transient) {
        await requeue(entry, err);
        await backOff();
        emit('outbox');
        return { sent, transient: true };
      }
      if (await quietly(keptPlace(entry, err))) {
        blocked.add(unitOf(entry));
        later = true;
        emit('outbox');
        continue;
      }
      try {
        await park(entry, err);
      } catch {
        // Full: the refusal cannot be kept yet; the entry is sent (and refused) again later.
        await backOff();
        return { sent, transient: true };
      }
      blocked.add(unitOf(entry));
    }
    emit('outbox');
  }
  if (unrecorded || later) { await backOff(); emit('outbox'); return { sent, transient: true }; }
  await quietly(kv.set('backoff', null));
  return { sent };
}

async function mark(entry, state) {
  await put(OUTBOX, { ...entry, state });
  await setDraftSync(entry.inspection_id, 'sending');
  emit('outbox');
}

// An editable draft the inspector changed after it was last sent (a copy taken from the server whose
// photos are still going) stays unsent while those photos go: sending them sends none of the change.
const editedHere = (d) => (d.status === 'draft' || d.status === 'returned') && d.sync === 'local';
const sendingState = (d, sync) => (editedHere(d) && sync !== 'attention' ? 'local' : sync);

async function setDraftSync(id, sync, extra = {}) {
  if (id === undefined) return;  // an entry of no inspection (an action's check)
  await tx(DRAFTS, 'readwrite', async (s) => {
    const d = await req(s[DRAFTS].get(id));
    if (d) s[DRAFTS].put({ ...d, sync: sendingState(d, sync), ...extra });
  });
}

async function sendInspection(entry, bundle) {
  const draft = await get(DRAFTS, entry.ref);
  if (!draft) { await tx(OUTBOX, 'readwrite', (s) => req(s[OUTBOX].delete(entry.seq))); return; }
  const definition = await definitionOf(draft, bundle);
  const stored = await putInspection(draft, definition);
  // The acknowledgement and the removal of the entry commit together: after a crash the phone
  // either still has the entry (and re-sends, which the server treats as a replay) or has both.
  return tx([DRAFTS, OUTBOX], 'readwrite', async (s) => {
    const d = await req(s[DRAFTS].get(draft.id));
    const rest = (await req(s[OUTBOX].index('inspection_id').getAll(draft.id))).filter((e) => e.seq !== entry.seq);
    s[DRAFTS].put({
      ...d,
      base_revision: stored.revision,
      server: serverPart(stored),
      sync: rest.length ? 'sending' : 'on_server',
      error: null, conflict: null, acked_at: new Date().toISOString(),
      // A returned inspection the server now holds as submitted again: the reviewer's comments were
      // answered, and showing them on would say it is still returned. A new return brings new ones.
      review: stored.status === 'submitted' ? null : d.review,
    });
    s[OUTBOX].delete(entry.seq);
  }).catch((err) => { if (isFull(err)) return 'unrecorded'; throw err; });
}

// The server's word for an inspection it has no row for, sent as a change of one it had acknowledged.
const LOST = 'must be 0: the server has no inspection with this id yet';

// The PUT of an inspection. A server that says it has no inspection with this id, although it once
// acknowledged one (its database restored from before), would refuse the change for ever: the phone's
// copy is then all there is, and it is sent once more as new. Nobody else can hold the id (the server
// answers 404, not 422, for an id it has under another inspector), so nothing is overwritten; the
// acknowledgement then records the revision the server made.
async function putInspection(draft, definition) {
  try {
    return await api.putInspection(draft.id, buildDocument(draft, definition));
  } catch (err) {
    const lost = err.status === 422 && draft.base_revision > 0
      && err.errors?.some((e) => e.field === 'base_revision' && e.message === LOST);
    if (!lost) throw err;
    return api.putInspection(draft.id, buildDocument({ ...draft, base_revision: 0 }, definition));
  }
}

// The checklist an inspection was filled on. When this phone's bundle no longer holds that version,
// it is fetched from the server for this drain (a published version never changes). Not fetched
// just now: the inspection waits alone (waitAlone). Not on the server either: it can never be sent
// as it is, and the inspector is told so in plain words (the entry is parked).
async function definitionOf(draft, bundle) {
  const id = draft.template_version_id;
  const known = bundle.templates?.[id]?.definition;
  if (known) return known;
  let found;
  try {
    found = id ? await api.templateVersion(id) : null;
  } catch (err) {
    if (err.status === 401) throw err;
    if (err.status !== 404 && err.status !== 400) throw Object.assign(err, { waitAlone: true });
  }
  if (!found?.definition) throw new ApiError(404, { title: TEMPLATE_GONE, detail: await plainText('outbox.templateGone') });
  bundle.templates = { ...bundle.templates, [id]: found };
  return found.definition;
}

// A message the inspector reads later, in their language, written here or in the service worker.
async function plainText(key) {
  const lang = (await kv.get('lang').catch(() => null)) || getLang();
  return dictionaries[lang]?.[key] ?? dictionaries.en[key];
}

async function sendPhoto(entry) {
  const photo = await get(PHOTOS, entry.ref);
  if (photo?.blob) {
    const { blob, ...meta } = photo;
    if (blob.size > PART_BYTES) await sendInParts(entry, { ...meta, blob });
    else await api.putPhoto({ ...meta, blob });
  }
  // Acknowledged: the local copy goes, together with its entry.
  const drop = (s) => { s[PHOTOS].delete(entry.ref); s[OUTBOX].delete(entry.seq); };
  const note = async (s) => {
    const rest = (await req(s[OUTBOX].index('inspection_id').getAll(entry.inspection_id))).filter((e) => e.seq !== entry.seq);
    const d = await req(s[DRAFTS].get(entry.inspection_id));
    if (d) {
      const missingPhotos = (d.server?.missing_photos || []).filter((id) => id !== entry.ref);
      const next = { ...d, server: d.server && { ...d.server, missing_photos: missingPhotos }, sync: sendingState(d, rest.length ? 'sending' : 'on_server') };
      // Returned by its reviewer while this photo was still going (state.mergeReturned): the return
      // applies now that nothing of the submitted revision is left to send.
      s[DRAFTS].put(!rest.length && d.pending_return ? { ...next, ...d.pending_return, pending_return: null, sync: 'on_server' } : next);
    }
  };
  try {
    await tx([DRAFTS, PHOTOS, OUTBOX], 'readwrite', async (s) => { drop(s); await note(s); });
  } catch (err) {
    if (!isFull(err)) throw err;
    // A full phone: the deletes alone need no space and give it back; then the draft's state.
    await tx([PHOTOS, OUTBOX], 'readwrite', drop);
    await quietly(tx([DRAFTS, OUTBOX], 'readwrite', note));
  }
}

// A photo larger than this goes in parts of this size (server/photos/resumable.py): over a link that
// drops every minute or two (GPRS at 2 KB/s, a station at the edge of coverage), one PUT began again
// from the first byte at every attempt and might never arrive, while a part crosses such a link in
// about a minute and each one that arrives is kept.
export const PART_BYTES = 128 * 1024;

// Asks the server how much of the photo it has (declaring the upload if it has none), then sends the
// parts from there until the reply carries the stored photo. Every failure reaches the drain as the
// PUT's would: no network or a part out of time is retried later, from what the server has by then; a
// refusal (415 not an image, 422, 409 an approved inspection) parks the entry, and the server has
// discarded the upload. All bytes there but their storing failed (503): the retry's part is empty, at
// the end, which asks the server to store them again.
async function sendInParts(entry, photo) {
  const { blob } = photo;
  let state = await uploadState(photo);
  let declaredAgain = false;
  let resynced = 0;
  while (!state.photo) {
    // Declared before with another size (the phone's copy changed since): declaring again says
    // which detail differs (409), a refusal the inspector sees as the PUT's.
    if (state.size !== blob.size) state = await api.beginUpload(photo, await digestOf(blob));
    await progress(entry, state);
    const at = state.received;
    try {
      state = await api.sendPart(photo.id, at, blob.slice(at, at + PART_BYTES, 'application/octet-stream'));
      resynced = 0;
    } catch (err) {
      // Not where the server is (a part that arrived but whose reply was lost): on from what it has.
      // Twice in a row with no progress is no such thing, and goes to the drain as it is.
      if (err.status === 409 && Number.isInteger(err.body?.received) && resynced < 2) {
        resynced += 1;
        state = { ...state, received: err.body.received };
        continue;
      }
      // The upload is gone (the server's sweep drops one begun over a week ago, or it made room for
      // newer ones): declared again, once.
      if (err.status === 404 && !declaredAgain) {
        declaredAgain = true;
        state = await uploadState(photo);
        continue;
      }
      throw err;
    }
  }
}

// What the server has of the photo; an upload is declared when there is none (404).
async function uploadState(photo) {
  try {
    return await api.uploadState(photo.id);
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  return api.beginUpload(photo, await digestOf(photo.blob));
}

// The blob's SHA-256, so that the server stores only the very bytes the phone holds. Not offered where
// the page is no secure context (no crypto.subtle): the server then takes the upload without it.
function digestOf(blob) {
  return self.crypto?.subtle ? sha256Hex(blob) : undefined;
}

// How far a photo sent in parts has got, kept on its entry for the inspection's screen, whichever
// context sends it (the page or the service worker), and across a retry. Only an entry still there
// is changed: bookkeeping that never stops the send (a full phone may refuse it).
async function progress(entry, { received, size }) {
  entry.progress = { received, size };
  await quietly(tx(OUTBOX, 'readwrite', async (s) => {
    const now = await req(s[OUTBOX].get(entry.seq));
    if (now) s[OUTBOX].put({ ...now, progress: entry.progress });
  }));
  emit('outbox');
}

// A check the server refuses as a conflict found the action closed meanwhile (verified by someone else,
// or cancelled by the office): nothing is left to record, and the entry goes as if sent. The bundle
// fetched next takes the closed action off the phone.
async function sendActionCheck(entry) {
  let closed = false;
  try {
    await api.checkAction(entry.ref, { status: 'verified', note: entry.note, note_id: entry.note_id });
  } catch (err) {
    if (err.status !== 409) throw err;
    closed = true;
  }
  await tx(OUTBOX, 'readwrite', (s) => req(s[OUTBOX].delete(entry.seq)));
  // The page says so when the office had closed it: the inspector's note was not kept.
  if (closed) emit('action-closed', { id: entry.ref });
  emit('acknowledged', { action: entry.ref });
}

// Not sent this time, to be tried again: the entry waits as pending with what went wrong, and its
// inspection shows as queued (bookkeeping a full phone may refuse; the retry happens regardless).
async function requeue(entry, err) {
  await quietly(put(OUTBOX, { ...entry, state: 'pending', attempts: (entry.attempts || 0) + 1, error: err.toJSON?.() || { status: 0, detail: String(err) } }));
  await quietly(setDraftSync(entry.inspection_id, 'queued'));
}

// A submitted inspection keeps the place it was made at: the server refuses another (422 at
// `location`) and says which it keeps (`kept_location`, null for none). A copy on this phone that came
// by another place (an app before this rule added a fix to a returned inspection that had none) takes
// the kept one and goes again, once: the inspector never chose that place, and could not change it back.
async function keptPlace(entry, err) {
  const body = err.body || {};
  const errors = body.errors || [];
  if (entry.kind !== 'inspection' || err.status !== 422 || entry.place_kept || !Object.hasOwn(body, 'kept_location')
    || !errors.length || !errors.every((e) => e.field === 'location')) return false;
  await tx([DRAFTS, OUTBOX], 'readwrite', async (s) => {
    const d = await req(s[DRAFTS].get(entry.inspection_id));
    if (d) s[DRAFTS].put({ ...d, location: body.kept_location });
    s[OUTBOX].put({ ...entry, state: 'pending', place_kept: true });
  });
  return true;
}

// A 4xx other than 401: keep the entry and everything local, record what the server said.
async function park(entry, err) {
  const error = err.toJSON ? err.toJSON() : { status: err.status, detail: String(err.message) };
  await put(OUTBOX, { ...entry, state: 'attention', error });
  const extra = { error };
  if (entry.kind === 'inspection' && err.status === 409) extra.conflict = err.body?.server_copy || null;
  // A submission the server refused goes back to being editable so the inspector can fix it.
  if (entry.kind === 'inspection' && err.status === 422) extra.status = 'draft';
  await setDraftSync(entry.inspection_id, 'attention', extra);
}

async function backOff() {
  const prev = (await kv.get('backoff')) || { attempts: 0 };
  const attempts = prev.attempts + 1;
  const delay = Math.min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1)) * (0.5 + Math.random() * (MAX_JITTER - 0.5));
  const nextAt = Date.now() + delay;
  schedule(delay);
  await quietly(kv.set('backoff', { attempts, next_at: nextAt }));
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(() => drain(), delay);
}

// Clear the backoff so an explicit "Send now" (or the network coming back) tries at once.
export async function retryNow() {
  await quietly(kv.set('backoff', null));
  return drain();
}

// Refused for who is asking (403: the account cannot send it) or for what they may see (404: the
// station is no longer in their area on the server). Only an administrator can mend either, by
// giving the station back or the account its role, and the next try then goes through; the phone
// keeps everything meanwhile. (A checklist the server no longer has is another 404: moving the
// answers mends that one, so it is not retried.) An inspection or a photo: a photo refused so is no
// fault of the photo's (photoRefusal does not offer to remove it), and goes again with the rest.
export const refusedAccess = (entry) => entry.state === 'attention'
  && (entry.error?.status === 403 || (entry.error?.status === 404 && entry.error?.title !== TEMPLATE_GONE));

// Sends the entries refusedAccess names once more, with everything else waiting: after signing in
// again (an administrator's change signs the person out) or when the inspector asks.
export async function retryRefused() {
  for (const entry of (await getAll(OUTBOX)).filter(refusedAccess)) {
    await quietly(put(OUTBOX, { ...entry, state: 'pending' }));
    await quietly(setDraftSync(entry.inspection_id, 'queued'));
  }
  emit('outbox');
  return retryNow();
}

// Counts for the sync badge, of what the inspector knows as one thing each: an inspection (whatever
// photos of it are queued) or a corrective action's check. `waiting` to send and needing `attention`
// (an inspection with an entry parked, whatever else of it waits); `photos` waiting, which a fast
// drain counts down; `total` entries.
export async function summary() {
  const entries = await getAll(OUTBOX);
  const attention = new Set(entries.filter((e) => e.state === 'attention').map(unitOf));
  const waiting = new Set(entries.map(unitOf).filter((u) => !attention.has(u)));
  const photos = entries.filter((e) => e.kind === 'photo' && !attention.has(unitOf(e))).length;
  return { waiting: waiting.size, attention: attention.size, photos, total: entries.length };
}

// Why the server refused a parked photo, as a word the screens translate: too large (413), not an image
// format it takes (415), or unreadable (a 422 about the image itself, its `body`: corrupt, a
// decompression bomb). Any other refusal of a photo (a 422 about the item it was taken for, a 409) is
// 'refused'. Sent again as it is, the photo would be refused again, so removing it is what lets its
// inspection go on (inspection.removeRefusedPhoto). Null for anything but a parked photo.
export function photoRefusal(entry) {
  if (entry?.kind !== 'photo' || entry.state !== 'attention' || refusedAccess(entry)) return null;
  const { status, errors = [] } = entry.error || {};
  if (status === 422) return errors.every((e) => e.field === 'body') ? 'unreadable' : 'refused';
  return { 413: 'tooLarge', 415: 'notImage' }[status] || 'refused';
}

export const entriesFor = (inspectionId) => byIndex(OUTBOX, 'inspection_id', inspectionId);
export const allEntries = () => getAll(OUTBOX);
