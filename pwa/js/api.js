// The only module that calls fetch for the API. It attaches the token, speaks JSON, and turns
// every failure into an ApiError: problem+json from the server (status, detail, errors) or
// status 0 when the network itself failed (with `cutOff` when it failed while the reply was
// arriving). Runs in the page and in the service worker.

import { emitHere } from './bus.js';
import { kv } from './db.js';

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, body = {}) {
    super(body.detail || body.title || (status ? `HTTP ${status}` : 'network unavailable'));
    this.name = 'ApiError';
    this.status = status;
    this.title = body.title || '';
    this.detail = body.detail || '';
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.body = body;
  }

  // No answer at all, a server-side failure, or "slow down": worth retrying later as is.
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }

  // A plain copy kept in IndexedDB next to the entry it belongs to.
  toJSON() {
    return { status: this.status, title: this.title, detail: this.detail, errors: this.errors };
  }
}

const enc = encodeURIComponent;
// Where a photo came from, as the server takes it (PUT /photos/{id}?source=).
const PHOTO_SOURCES = ['camera', 'gallery'];

let token;  // undefined = not read yet; null = signed out

// The page keeps the token in memory: it signs in and out itself and calls setToken. Nobody tells
// the service worker, which can outlive a sign-in in the page (another person's, even), so it reads
// the stored token for every request and never sends with the previous person's.
const inWorker = typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope;

async function currentToken() {
  if (inWorker) return (await kv.get('token')) || null;
  if (token === undefined) token = (await kv.get('token')) || null;
  return token;
}

export function setToken(value) { token = value || null; }

async function request(method, path, { body, query, headers = {}, as = 'json', timeout = 30000, bearer, quiet401 = false } = {}) {
  const url = new URL(BASE + path, self.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const h = { Accept: 'application/json, application/problem+json', ...headers };
  const tok = bearer !== undefined ? bearer : await currentToken();
  if (tok) h.Authorization = `Bearer ${tok}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob)) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (body instanceof Blob) {
    h['Content-Type'] = body.type || 'application/octet-stream';
  }
  let res;
  try {
    res = await fetch(url, {
      method, headers: h, body: payload, cache: 'no-store', credentials: 'omit',
      signal: AbortSignal.timeout(timeout),
    });
  } catch (err) {
    const failed = new ApiError(0, { title: 'offline', detail: String(err?.message || err) });
    // Out of time with the network still there (a slow link), rather than no network at all.
    failed.timedOut = err?.name === 'TimeoutError';
    throw failed;
  }
  if (res.status === 304) return { notModified: true, etag: res.headers.get('ETag') };
  // A session that ended (expired, or ended by a password reset) asks the person to sign in again
  // wherever it is met, on any screen of any role, not only when the outbox meets it: the work on the
  // screen stays where it is. Not for the sign-in itself, nor in the service worker (its outbox says
  // so), nor where the caller expects it (`quiet401`); and in this page only: another tab's token may be good.
  // Nor for a token this page has let go of since it was sent: the last person's request, refused once
  // they signed out, does not end the next person's session.
  if (res.status === 401 && tok && bearer === undefined && !quiet401 && !inWorker && !path.startsWith('/auth/')
      && tok === await currentToken()) {
    emitHere('auth-needed');
  }
  if (!res.ok) {
    let problem = {};
    try { problem = await res.json(); } catch { problem = { title: res.statusText }; }
    throw new ApiError(res.status, problem && typeof problem === 'object' ? problem : {});
  }
  if (res.status === 204) return null;
  // The body comes after the headers and can break on its own: a server that fails mid-export drops
  // the connection, a slow link runs out of time. That is no refusal (the server took the request),
  // and no file is half saved: a reply of its own kind, status 0 as for no network, so the outbox
  // sends again later as it would.
  let data;
  try {
    data = as === 'blob' ? await res.blob() : await res.json();
  } catch (err) {
    const failed = new ApiError(0, { title: 'cut off', detail: String(err?.message || err) });
    failed.cutOff = as === 'blob' ? 'download' : 'reply';
    failed.timedOut = err?.name === 'TimeoutError';
    throw failed;
  }
  if (as === 'json+etag') return { data, etag: res.headers.get('ETag') };
  return data;
}

// How long a photo's upload may take: three minutes, and a second more for every 2 KB (a link of 16
// kbit/s, GPRS at its worst). A fixed three minutes was too short for a 1.2 MB photo below 53 kbit/s:
// every attempt began again from the first byte and ran out of time, for ever.
export const photoDeadline = (bytes) => 180000 + Math.ceil(bytes / 2048) * 1000;

// What the server is told of a photo besides its bytes, by the PUT and by a resumable upload alike.
const photoQuery = (photo) => ({
  inspection_id: photo.inspection_id, item_key: photo.item_key, taken_at: photo.taken_at,
  lat: photo.lat, lon: photo.lon, accuracy_m: photo.accuracy_m,
  // Camera or gallery, as the phone stored it when the photo was added; anything else (a photo
  // queued by an older version of the app) is left out, and the server records it as not said.
  source: PHOTO_SOURCES.includes(photo.source) ? photo.source : undefined,
});

function draftCondition(etag) {
  if (etag === undefined) return {};
  return etag ? { 'If-Match': etag } : { 'If-None-Match': '*' };
}

export const api = {
  // `device`: the token an earlier sign-in of this name here gave this phone (see state.signIn).
  login: (username, password, device) => request('POST', '/auth/login', {
    body: device ? { username, password, device } : { username, password },
  }),
  // `bearer`: a session to end other than the current one (one a sign-out without a network left open).
  logout: (bearer) => request('POST', '/auth/logout', bearer ? { bearer } : {}),
  // The signed-in person's own password (views/password.js): online only, never queued.
  changePassword: (current_password, new_password) => request('POST', '/auth/password', {
    body: { current_password, new_password },
  }),
  // `quiet401`: a caller that expects the session may have ended (an admin's own change) asks no one to sign in.
  me: ({ quiet401 = false } = {}) => request('GET', '/me', { quiet401 }),
  bundle: (since, etag) => request('GET', '/sync/bundle', {
    query: { since }, headers: etag ? { 'If-None-Match': etag } : {}, as: 'json+etag', timeout: 60000,
  }),
  putInspection: (id, doc) => request('PUT', `/inspections/${encodeURIComponent(id)}`, { body: doc }),
  getInspection: (id) => request('GET', `/inspections/${encodeURIComponent(id)}`),
  // The inspector's word that a corrective action's fix was seen (outbox.enqueueActionCheck).
  checkAction: (id, body) => request('PATCH', `/actions/${encodeURIComponent(id)}`, { body }),
  // A published template version, by id: the outbox fetches one its phone no longer holds.
  templateVersion: (id) => request('GET', `/template-versions/${encodeURIComponent(id)}`),
  putPhoto: (photo) => request('PUT', `/photos/${encodeURIComponent(photo.id)}`, {
    body: photo.blob, query: photoQuery(photo), timeout: photoDeadline(photo.blob?.size || 0),
  }),
  // A photo sent in parts, each surviving a dropped connection (outbox.sendPhoto, server/photos/resumable.py).
  // Declared with what the PUT says of it, its size and, when the phone could hash it, its SHA-256 (hex).
  // Each answers {photo_id, size, received, photo}: `photo` (the PUT's reply) once it is stored.
  beginUpload: (photo, sha256) => request('POST', `/photos/${encodeURIComponent(photo.id)}/upload`, {
    query: { ...photoQuery(photo), size: photo.blob.size, sha256 },
  }),
  uploadState: (id) => request('GET', `/photos/${encodeURIComponent(id)}/upload`),
  // The bytes from `offset` on; every part has the time its own size needs on a slow link.
  sendPart: (id, offset, blob) => request('PATCH', `/photos/${encodeURIComponent(id)}/upload`, {
    body: blob, query: { offset }, timeout: photoDeadline(blob.size),
  }),
  // Renditions are fetched with the token and shown through blob URLs: a token never goes in a URL.
  photoBlob: (id, size = 'thumb') => request('GET', `/photos/${encodeURIComponent(id)}/${size}`, { as: 'blob' }),

  // The admin console (views/admin): templates and their files, users, the hierarchy, the audit trail.
  // Grouped under one name so other roles' additions can never collide with these.
  admin: {
    templates: (query) => request('GET', '/templates', { query }),
    template: (id) => request('GET', `/templates/${enc(id)}`),
    createTemplate: (body) => request('POST', '/templates', { body }),
    // `etag` is the draft_etag the editor last saw (null: it saw no draft): a draft someone else saved
    // since is then refused with 412 instead of overwritten. Left out (undefined), no condition is sent.
    saveDraft: (id, definition, etag) => request('PUT', `/templates/${enc(id)}/draft`, {
      body: definition, headers: draftCondition(etag),
    }),
    publish: (id, etag) => request('POST', `/templates/${enc(id)}/publish`, { headers: etag ? { 'If-Match': etag } : {} }),
    setArchived: (id, archived) => request('POST', `/templates/${enc(id)}/${archived ? 'archive' : 'unarchive'}`),
    versions: (id) => request('GET', `/templates/${enc(id)}/versions`),
    version: (id, n) => request('GET', `/templates/${enc(id)}/versions/${enc(n)}`),
    exportVersion: (id, n) => request('GET', `/templates/${enc(id)}/versions/${enc(n)}/export`, { as: 'blob' }),
    // `file` is a Blob of JSON; into an existing template's draft when templateId is given, with `etag`
    // the draft_etag last seen as for saveDraft (a draft someone else saved since is then a 412).
    importTemplate: (file, { key, templateId, etag } = {}) => request('POST',
      templateId ? `/templates/${enc(templateId)}/import` : '/templates/import',
      { body: file, query: { key }, headers: templateId ? draftCondition(etag) : {} }),
    users: (query) => request('GET', '/users', { query }),
    user: (id) => request('GET', `/users/${enc(id)}`),
    createUser: (body) => request('POST', '/users', { body }),
    updateUser: (id, body) => request('PATCH', `/users/${enc(id)}`, { body }),
    // A CSV Blob of accounts; the real import's reply holds each new account's first password, once.
    // Each new account's password is hashed on the server (~0.2 s of a core): a province takes minutes.
    // `importId`: the real import's id, the same for every retry of one confirmed file (Idempotency-Key).
    importUsers: (csv, dryRun, importId) => request('POST', '/users/import', {
      body: csv, query: { dry_run: dryRun ? 'true' : undefined }, timeout: 600000,
      headers: importId ? { 'Idempotency-Key': importId } : {},
    }),
    // kind: regions | districts | circles | stations
    list: (kind, query) => request('GET', `/${kind}`, { query }),
    saveOrg: (kind, id, body) => request(id ? 'PATCH' : 'POST', id ? `/${kind}/${enc(id)}` : `/${kind}`, { body }),
    importStations: (csv, dryRun) => request('POST', '/stations/import', {
      body: csv, query: { dry_run: dryRun ? 'true' : undefined }, timeout: 120000,
    }),
    audit: (query) => request('GET', '/audit', { query }),
    verifyAudit: ({ all = true } = {}) => request('GET', all ? '/audit/verify' : '/audit/verify?since_last_check=true', { timeout: 600000 }),
  },

  // The reviewer's screens (views/reviewer): the queue, one inspection and its review, corrective
  // actions, dashboards and exports. Files come back as Blobs, saved through an object URL.
  reviewer: {
    queue: (query) => request('GET', '/review/queue', { query }),
    inspections: (query) => request('GET', '/inspections', { query }),
    history: (id) => request('GET', `/inspections/${encodeURIComponent(id)}/history`, { query: { documents: 'false' } }),
    reviews: (id) => request('GET', `/inspections/${encodeURIComponent(id)}/reviews`),
    review: (id, body) => request('POST', `/inspections/${encodeURIComponent(id)}/review`, { body }),
    photo: (id) => request('GET', `/photos/${encodeURIComponent(id)}`),
    version: (id) => request('GET', `/template-versions/${encodeURIComponent(id)}`),
    districts: () => request('GET', '/districts'),
    stations: (query) => request('GET', '/stations', { query }),
    actions: (query) => request('GET', '/actions', { query }),
    action: (id) => request('GET', `/actions/${encodeURIComponent(id)}`),
    createAction: (body) => request('POST', '/actions', { body }),
    updateAction: (id, body) => request('PATCH', `/actions/${encodeURIComponent(id)}`, { body }),
    // Visits (assignments) and the schedules that make them: who inspects what by when.
    templates: (query) => request('GET', '/templates', { query }),
    // The active inspectors who can serve a station in the caller's scope (every one, for an admin).
    inspectors: () => request('GET', '/users', { query: { role: 'inspector', active: true } }),
    assignments: (query) => request('GET', '/assignments', { query }),
    assignment: (id) => request('GET', `/assignments/${encodeURIComponent(id)}`),
    createAssignment: (body) => request('POST', '/assignments', { body }),
    updateAssignment: (id, body) => request('PATCH', `/assignments/${encodeURIComponent(id)}`, { body }),
    schedules: (query) => request('GET', '/schedules', { query }),
    schedule: (id) => request('GET', `/schedules/${encodeURIComponent(id)}`),
    createSchedule: (body) => request('POST', '/schedules', { body }),
    // One repeating visit for each of many stations, all or none; `dryRun` previews what would be made.
    planSchedules: (body, dryRun) => request('POST', '/schedules/bulk', { body, query: { dry_run: dryRun ? 'true' : undefined }, timeout: 120000 }),
    updateSchedule: (id, body) => request('PATCH', `/schedules/${encodeURIComponent(id)}`, { body }),
    // kind: scores | rankings | failed-items | overdue | flagged
    dashboard: (kind, query) => request('GET', `/dashboard/${kind}`, { query }),
    exportInspections: (fmt, query) => request('GET', `/exports/inspections.${fmt}`, { query, as: 'blob', timeout: 300000 }),
    reportPdf: (id, lang) => request('GET', `/inspections/${encodeURIComponent(id)}/report.pdf`, { query: { lang }, as: 'blob', timeout: 180000 }),
  },
};
