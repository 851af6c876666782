// The signed-in user and the offline bundle (templates, stations, assignments, unfinished corrective
// actions), held in memory for the views and persisted in IndexedDB through db.js.

import { api, setToken } from './api.js';
import { emit } from './bus.js';
import { DRAFTS, KV, OUTBOX, PHOTOS, getAll, kv, req, tx } from './db.js';

export const state = {
  user: null,
  bundle: emptyBundle(),
  authNeeded: false,
  // This page only (views/password.js, app.js): a password change asked for could not be made now,
  // and when the person last chose their own (an older /me answer is not believed over it).
  passwordDeferred: false,
  passwordChosenAt: 0,
};

// `keeps_done`: the bundle was fetched keeping done actions (CLOSED_ACTION); one without it is fetched whole.
function emptyBundle() {
  return { templates: {}, stations: {}, assignments: {}, actions: {}, cursor: null, etag: null, fetched_at: null, keeps_done: true };
}

export async function loadSession() {
  const [user, bundle, authNeeded] = await Promise.all([kv.get('user'), kv.get('bundle'), kv.get('auth_needed')]);
  state.user = user || null;
  state.bundle = bundle || emptyBundle();
  state.authNeeded = !!authNeeded;
  return state.user;
}

// What a sign-out or another person's sign-in keeps: the phone's language and digits, and the
// device token each name signed in here was given. The server counts a name's sign-ins from a device
// it gave a token on their own, so no one guessing at the name elsewhere can lock its owner out here.
const KEPT = ['lang', 'digits', 'devices', 'revoke'];

// Deletes the last person's data, unless some of it is only on this phone (then nothing, and false).
// The look and the wipe are one transaction: work another tab writes meanwhile is either seen by the
// look or written after the wipe, never lost between the two. `revoke`: the stored token goes on the
// list of sessions to end on the server (endLeftSessions), in the same transaction.
// `desk`: the reviews and template changes begun here that the person agreed to lose (unsentDesk, as
// counted when they were asked); more of them now (begun in another tab while the question was open)
// refuse the wipe too.
function wipeUnlessUnsent({ revoke = false, desk = Infinity } = {}) {
  return tx([KV, DRAFTS, PHOTOS, OUTBOX], 'readwrite', async (s) => {
    if (await unsentIn(s)) return false;
    if (Number.isFinite(desk) && (await deskIn(s[KV])) > desk) return false;
    const kept = Object.fromEntries(await Promise.all(KEPT.map(async (key) => [key, await req(s[KV].get(key))])));
    const token = revoke ? await req(s[KV].get('token')) : null;
    if (token) kept.revoke = [...new Set([...(kept.revoke || []), token])];
    for (const store of Object.values(s)) store.clear();
    for (const [key, value] of Object.entries(kept)) if (value) s[KV].put(value, key);
    return true;
  });
}

// A wipe's look for unsent work may refuse it: the last person's bundle goes from memory before it
// (a refresh still under way then writes nothing after the wipe: refreshOnce), and comes back if the
// wipe was refused. The refresh that was under way is not kept: the next one fetches it again.
async function forgetUnlessUnsent(options) {
  const before = state.bundle;
  state.bundle = emptyBundle();
  forgetRefreshes();
  let wiped = false;
  try {
    wiped = await wipeUnlessUnsent(options);
  } finally {
    if (!wiped) state.bundle = before;
  }
  return wiped;
}

// Signing in again after a 401 must be the same person: the outbox holds their work.
export async function signIn(username, password) {
  const devices = (await kv.get('devices')) || {};
  const res = await api.login(username, password, devices[username.toLowerCase()]);
  // Names are kept as created ("Ahmed.Khan") and signed in with in any case: the key is the lowered name.
  if (res.device) await kv.set('devices', { ...devices, [res.user.username.toLowerCase()]: res.device });
  const previous = await kv.get('user');
  if (previous && previous.id !== res.user.id && !(await forgetUnlessUnsent())) {
    // The server opened their session before the phone could look: it is ended, not left open for its
    // lifetime with its token forgotten (at once, or once there is a network: endLeftSessions).
    await kv.set('revoke', [...((await kv.get('revoke')) || []), res.token]);
    endLeftSessions().catch(() => {});
    const err = new Error('other user has unsent work');
    err.code = 'other-user-unsent';
    throw err;
  }
  setToken(res.token);
  await kv.set('token', res.token);
  await kv.set('user', res.user);
  await kv.set('auth_needed', false);
  state.user = res.user;
  state.authNeeded = false;
  emit('session');
  return res.user;
}

// The checklist a draft is of (drafts begun before template_id was kept name only their version).
export const templateOf = (d) => d.template_id || version(d.template_version_id)?.template_id;

// Returned by its reviewer and not changed yet: on the server, waiting for the inspector.
export const returnedOnServer = (d) => d.status === 'returned' && d.sync === 'on_server';

// Work that exists only on this phone: queued entries, or drafts never acknowledged.
export function hasUnsent() {
  return tx([OUTBOX, DRAFTS], 'readonly', unsentIn);
}

// Counted inside the caller's transaction (of the outbox and drafts at least).
async function unsentIn(s) {
  if ((await req(s[OUTBOX].count())) > 0) return true;
  return (await req(s[DRAFTS].getAll())).some((d) => d.sync !== 'on_server');
}

// Ends on the server the sessions this phone signed out of (signOut: at once, in the background, or
// once there is a network). A session the server no longer knows (401) is over anyway; only a failed
// request keeps one for the next try. Until then the token is kept on the phone (a sign-out without a
// network cannot do better).
export async function endLeftSessions() {
  const left = (await kv.get('revoke')) || [];
  if (!left.length) return;
  const ended = new Set();
  for (const token of left) {
    try { await api.logout(token); ended.add(token); } catch (err) { if (!err.transient) ended.add(token); }
  }
  // Read again: a sign-out meanwhile may have added a token this pass did not try.
  const now = ((await kv.get('revoke')) || []).filter((token) => !ended.has(token));
  await kv.set('revoke', now.length ? now : null);
}

// Work kept in this browser that is not an inspection, which a sign-out deletes: reviews begun and
// not sent (the reviewer's screen keeps them under rv-review:ID as they are written), and template
// changes the server has not taken yet (the builder keeps them under admin.template.ID until it has).
export function unsentDesk() {
  return tx(KV, 'readonly', (s) => deskIn(s[KV]));
}

// Counted inside the caller's transaction: only IndexedDB requests are awaited here.
async function deskIn(store) {
  const keys = await req(store.getAllKeys());
  let found = 0;
  for (const key of keys.filter((k) => typeof k === 'string')) {
    if (key.startsWith('admin.template.')) found += 1;
    else if (key.startsWith('rv-review:') && begun(await req(store.get(key)))) found += 1;
  }
  return found;
}

const begun = (review) => !!review && (!!review.comment?.trim()
  || Object.values(review.item_comments || {}).some((c) => String(c || '').trim())
  || Object.keys(review.score_overrides || {}).length > 0);

// Signs out on this phone at once, or not at all (false) while some work is only on this phone. The
// server's session is ended afterwards (endLeftSessions): waiting for it first left the person's
// screens usable for up to the request's 30 seconds on a slow link, and work begun meanwhile was wiped
// unseen. Without a network it stays open on the server until the phone has one again.
// `desk`: the reviews and template changes the person was told would go (Settings asks); without it,
// they are not looked at.
// The page then starts again: what its screens held in memory (an admin's working copy of a template, a
// retry's timer) was the person's who left, and would otherwise be shown to the next person signing in
// here, or saved under their name. The new page ends the server's session (app.js, endLeftSessions) and
// says `note` ({id, text}: why the person was signed out), kept for it in this tab only.
export async function signOut({ desk = Infinity, note = null } = {}) {
  if (!(await forgetUnlessUnsent({ revoke: true, desk }))) return false;
  setToken(null);
  state.user = null;
  if (note) sessionStorage.setItem(SIGNED_OUT_NOTE, JSON.stringify(note));
  emit('session');
  location.replace(`${location.pathname}#/`);
  location.reload();
  return true;
}

export const SIGNED_OUT_NOTE = 'muaina.signedOutNote';

// The note a sign-out left for the page it started (signOut), taken once.
export function takeSignedOutNote() {
  const kept = sessionStorage.getItem(SIGNED_OUT_NOTE);
  sessionStorage.removeItem(SIGNED_OUT_NOTE);
  try { return kept ? JSON.parse(kept) : null; } catch { return null; }
}

// Actions closed for good (server/actions/rules.py FINAL) leave the phone. A done one stays: the office
// was told it is fixed, and the inspector at the next visit is the one who sees it and verifies it.
const CLOSED_ACTION = new Set(['verified', 'cancelled']);

// Fetches what changed since the stored cursor (a 304 when nothing did) and merges it.
// Sent inspections the phone keeps, for its "Sent" list and to open again: every one changed in the last
// SENT_DAYS, and the newest KEEP_SENT whatever their age. An older one is the server's alone (nothing of
// it is left to send) and goes, and with it the hold it kept on its checklist's old version: a phone used
// daily otherwise kept every inspection it ever sent, and its home screen read them all on each visit.
const KEEP_SENT = 20;
const SENT_DAYS = 30;

// Its age is by the server's clock where the phone has the server's word (a phone's clock set back a
// year would otherwise call one sent a minute ago a year old); the server's times are UTC, as these are.
const sentAt = (d) => d.server?.updated_at || d.updated_at || '';

export async function pruneSent(now = Date.now()) {
  const cutoff = new Date(now - SENT_DAYS * 24 * 3600 * 1000).toISOString();
  let dropped = 0;
  await tx([DRAFTS, PHOTOS, OUTBOX], 'readwrite', async (s) => {
    const sent = (await req(s[DRAFTS].getAll()))
      .filter((d) => d.sync === 'on_server' && (d.status === 'submitted' || d.status === 'approved') && !d.pending_return)
      .sort((a, b) => sentAt(b).localeCompare(sentAt(a)));
    for (const d of sent.slice(KEEP_SENT)) {
      if (sentAt(d) >= cutoff) continue;
      const left = (await req(s[PHOTOS].index('inspection_id').count(d.id))) + (await req(s[OUTBOX].index('inspection_id').count(d.id)));
      if (left) continue;
      s[DRAFTS].delete(d.id);
      dropped += 1;
    }
  });
  if (dropped) emit('drafts');
  return dropped;
}

// One refresh at a time. Each merges its reply onto the bundle it started from, so two at once let
// the older reply, landing last, bring back what the newer one removed (a visit cancelled meanwhile,
// offered again on Home). A refresh asked for while one runs waits for it and then starts from the
// newest cursor; every request made meanwhile shares that one, so each caller's promise is of a
// refresh begun after it asked ("Update now" says "Up to date." only when it is), and fails as it does.
// The queue is one person's: signing out, or another person signing in, starts a new one (forget), so
// the next person's first refresh never waits for the last one's (its reply is dropped anyway).
let running = null;
let waiting = null;
let session = 0;

export function refreshBundle() {
  if (waiting) return waiting;
  if (!running) return run();
  const mine = session;
  const after = () => {
    if (mine !== session) return null;
    waiting = null;
    return run();
  };
  waiting = running.then(after, after);
  return waiting;
}

function forgetRefreshes() {
  session += 1;
  running = null;
  waiting = null;
}

function run() {
  const mine = refreshOnce();
  running = mine;
  const done = () => { if (running === mine) running = null; };
  mine.then(done, done);
  return mine;
}

async function refreshOnce() {
  await pruneSent().catch(() => 0);  // housekeeping: never what stops a sync
  const b = state.bundle;
  // A bundle stored when done actions were dropped lacks them, and a delta never sends an unchanged
  // action again: it is fetched whole, once.
  const since = b.keeps_done ? b.cursor : null;
  let res;
  try {
    res = await api.bundle(since, since ? b.etag : null);
  } catch (err) {
    if (state.bundle !== b) return null;  // a refusal of the last person's token is not the next one's
    throw err;
  }
  // Signed out, or another person signed in, while this was on its way: the reply is not theirs, and
  // its caller says nothing of it (null, not the false of "nothing new").
  if (state.bundle !== b) return null;
  if (res.notModified) return false;
  const data = res.data;
  // Versions and stations the phone's own work is on: the server may not know of that work yet (begun
  // or queued offline), and a station may have left the user's scope meanwhile.
  const drafts = await getAll(DRAFTS);
  const versionsInUse = new Set(drafts.map((d) => d.template_version_id));
  const stationsInUse = new Set(drafts.map((d) => d.station_id));
  // `full` means the server sent everything (first sync, or the user's scope changed): replace.
  const next = data.full || !since ? emptyBundle() : { ...b };
  const merge = (name, list, keep = () => true) => {
    next[name] = { ...next[name] };
    for (const x of list || []) {
      if (keep(x)) next[name][x.id] = x; else delete next[name][x.id];
    }
  };
  merge('templates', data.templates);
  merge('stations', data.stations);
  merge('assignments', data.assignments);
  merge('actions', data.actions, (a) => !CLOSED_ACTION.has(a.status));
  for (const [name, ids] of Object.entries(data.removed || {})) {
    if (!next[name] || name === 'templates') continue;
    for (const id of ids || []) delete next[name][id];
  }
  // A version the server sends with `retired: true` is there only for work already on it (its template
  // archived or a newer version published); the mark is kept as sent, in full bundles and deltas alike.
  // removed.templates are template ids (archived): drop all their versions but those a draft here or
  // this bundle still needs. A version kept only for such work, like one a full bundle left out that
  // a draft is on, is retired: never offered for a new inspection.
  const archived = new Set(data.removed?.templates || []);
  const sent = new Set((data.templates || []).map((v) => v.id));
  for (const v of Object.values(next.templates)) {
    if (!archived.has(v.template_id)) continue;
    if (versionsInUse.has(v.id) || sent.has(v.id)) next.templates[v.id] = { ...v, retired: true };
    else delete next.templates[v.id];
  }
  // What the work here is on stays when the bundle drops it, retired: a version a full bundle left
  // out, a station deactivated or out of scope now. It still names and opens the work.
  const retain = (name, ids) => {
    for (const id of ids) if (!next[name][id] && b[name][id]) next[name][id] = { ...b[name][id], retired: true };
  };
  retain('templates', versionsInUse);
  retain('stations', stationsInUse);
  // A version a newer one of its template replaced is retired, as a full bundle marks it: a delta
  // brings the new version and says nothing of the old. The old one stays only for work on it (a
  // draft here, an assignment that names it, a returned inspection in this bundle).
  const newest = {};
  for (const v of Object.values(next.templates)) newest[v.template_id] = Math.max(newest[v.template_id] ?? 0, v.version);
  const named = new Set(Object.values(next.assignments).map((a) => a.template_version_id).filter(Boolean));
  for (const v of Object.values(next.templates)) {
    if (v.version === newest[v.template_id] || v.retired) continue;
    if (versionsInUse.has(v.id) || named.has(v.id) || sent.has(v.id)) next.templates[v.id] = { ...v, retired: true };
    else delete next.templates[v.id];
  }
  next.cursor = data.cursor ?? null;
  next.etag = res.etag;
  next.fetched_at = new Date().toISOString();
  // Looked at again after the reads above, inside the write's transaction: a sign-out meanwhile must
  // not have the last person's bundle and returned work written back after its wipe. A write begun
  // after the sign-out forgot the bundle (forgetUnlessUnsent) writes nothing; one begun before is wiped.
  const kept = await tx(KV, 'readwrite', (s) => {
    if (state.bundle !== b) return false;
    s[KV].put(next, 'bundle');
    return true;
  });
  if (!kept || state.bundle !== b) return null;
  state.bundle = next;
  await mergeReturned(data.returned || [], next);
  emit('bundle');
  return true;
}

// A returned inspection becomes editable on the phone again, carrying the reviewer's comments.
// Local work is never overwritten: if the phone has unsent changes, only the comments are added.
// Until the inspector changes it, a returned inspection is on the server (sync 'on_server'), returned
// to them: nothing of it is only on this phone, so it neither blocks a sign-out nor counts as unsent.
// Their first change makes it unsent (inspection.save).
async function mergeReturned(list, bundle) {
  if (!list.length) return;
  await tx([DRAFTS, OUTBOX], 'readwrite', async (s) => {
    if (state.bundle !== bundle) return;  // signed out meanwhile: not the next person's
    for (const r of list) {
      const local = await req(s[DRAFTS].get(r.id));
      const review = reviewOf(r);
      if (local && (r.revision || 0) <= (local.base_revision || 0)) continue;
      const copy = {
        id: r.id, station_id: r.station_id, template_version_id: r.template_version_id,
        base_revision: r.revision || 0, status: 'returned', sync: 'on_server',
        started_at: r.started_at, finished_at: null, location: r.location || null,
        answers: r.answers || {}, review, server: { revision: r.revision, status: r.status, score: r.score || null },
        updated_at: new Date().toISOString(),
      };
      if (local && local.sync !== 'on_server') {
        // Submitted and acknowledged, only its photos still going: the reviewer returned this very
        // revision, which the outbox applies once the photos are sent (else the phone would say
        // "submitted" until the next download). Any other unsent work here gets the comments only.
        const entries = await req(s[OUTBOX].index('inspection_id').getAll(r.id));
        const sending = local.status === 'submitted' && ['queued', 'sending'].includes(local.sync);
        // Nothing of it left to send (the note of its last photo lost to a full phone, say): the
        // server has all of it, and the return applies at once.
        if (sending && !entries.length) { s[DRAFTS].put(copy); continue; }
        const photosOnly = sending && entries.every((e) => e.kind === 'photo');
        s[DRAFTS].put({ ...local, review, pending_return: photosOnly ? copy : null });
        continue;
      }
      s[DRAFTS].put(copy);
    }
  });
}

function reviewOf(r) {
  const review = r.review || r.last_review || {};
  return {
    comment: review.comment ?? r.comment ?? '',
    item_comments: review.item_comments ?? r.item_comments ?? {},
    reviewer: review.reviewer?.display_name ?? '',
    at: review.created_at ?? review.at ?? null,
  };
}

// Look-ups the views share.
export const station = (id) => state.bundle.stations[id] || null;
export const version = (id) => state.bundle.templates[id] || null;

// Whether a version may start a new inspection. Retired versions only open the work already on them.
export const isOffered = (v) => !!v && !v.retired;

export function latestVersion(templateId, usable = () => true) {
  let best = null;
  for (const v of Object.values(state.bundle.templates)) {
    if (v.template_id === templateId && usable(v) && (!best || v.version > best.version)) best = v;
  }
  return best;
}

// Whether a version is for a station's kind (the server refuses an inspection on one that is not).
export function fitsStation(v, st) {
  const kinds = v?.definition.kinds;
  return !kinds || kinds.includes(st?.kind || 'police_station');
}

// Templates usable at a station: the newest version of each, limited to the station's kind.
// Retired versions are kept only for the work already on them.
export function templatesFor(st) {
  const ids = new Set(Object.values(state.bundle.templates).filter(isOffered).map((v) => v.template_id));
  return [...ids].map((id) => latestVersion(id, isOffered)).filter((v) => fitsStation(v, st));
}

export const actionsFor = (stationId) => Object.values(state.bundle.actions).filter((a) => a.station_id === stationId);
