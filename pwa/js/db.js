// The only module that touches IndexedDB. Every other module asks for records through
// these functions, so the schema lives in one place: one DB_VERSION, one upgrade switch.
// It runs in the page and in the service worker alike (no DOM here).

const DB_NAME = 'muaina';
// A bump of DB_VERSION may only ADD stores and indexes: never remove or rename one, nor change a
// keyPath. A release rolled back after its bump runs the older code on the newer database (open), and
// that works only because everything the older code names is still there, as it left it.
export const DB_VERSION = 1;

// Store names, exported so callers never spell them twice.
export const KV = 'kv';          // token, user, bundle, cursor, etag, lang, settings
export const DRAFTS = 'drafts';  // inspections by id (drafts, submitted, returned)
// A photo's `source` is 'camera' or 'gallery' (inspection.storePhoto); one stored without it is unknown.
export const PHOTOS = 'photos';  // {id, inspection_id, item_key, taken_at, lat, lon, accuracy_m, source, state, blob}
export const OUTBOX = 'outbox';  // ordered entries {seq, kind, ref, inspection_id, state, ...}

function upgrade(db, oldVersion) {
  // Fall-through is deliberate: a phone several versions behind runs every later step.
  switch (oldVersion) {
    case 0: {
      db.createObjectStore(KV);
      db.createObjectStore(DRAFTS, { keyPath: 'id' });
      const photos = db.createObjectStore(PHOTOS, { keyPath: 'id' });
      photos.createIndex('inspection_id', 'inspection_id');
      const outbox = db.createObjectStore(OUTBOX, { keyPath: 'seq', autoIncrement: true });
      outbox.createIndex('inspection_id', 'inspection_id');
    }
    // case 1: the next schema change goes here.
  }
}

// What this code uses of the schema: checked on a database of a newer version before it is used.
const NEEDS = {
  [KV]: { keyPath: null, indexes: [] },
  [DRAFTS]: { keyPath: 'id', indexes: [] },
  [PHOTOS]: { keyPath: 'id', indexes: ['inspection_id'] },
  [OUTBOX]: { keyPath: 'seq', indexes: ['inspection_id'] },
};

function fits(db) {
  const names = Object.keys(NEEDS);
  if (!names.every((n) => db.objectStoreNames.contains(n))) return false;
  const t = db.transaction(names, 'readonly');
  return names.every((n) => {
    const store = t.objectStore(n);
    return store.keyPath === NEEDS[n].keyPath && NEEDS[n].indexes.every((i) => store.indexNames.contains(i));
  });
}

// Opened at `version`, or at whatever version the database is (undefined).
const request = (version) => new Promise((resolve, reject) => {
  const req = version === undefined ? indexedDB.open(DB_NAME) : indexedDB.open(DB_NAME, version);
  req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion);
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
  req.onblocked = () => console.warn('muaina: database upgrade waits for another tab');
});

// A database of a newer version than this code's: a release that raised DB_VERSION ran here and was
// rolled back. Its schema only added to this one (DB_VERSION above), so it is used as it is; one that
// lacks what this code needs is not, and nothing is deleted: the newer release, back again, opens it.
async function openNewer() {
  const db = await request();
  let ok = false;
  try { ok = fits(db); } catch { /* not usable */ }
  if (ok) return db;
  db.close();
  const err = new Error('the database on this phone is of a newer version of Muaina');
  err.name = 'NewerDatabaseError';
  throw err;
}

// The page's answer to another tab upgrading the database (app.js: a prompt to reload). Once that has
// happened this context writes nothing more: its code is older than the schema now, and what it wrote
// might not be what the newer code reads. A context without one (the service worker) opens again.
// Each refusal is its own error, made where it is met (SupersededError), so its stack names the caller.
let superseded = null;
export function onSuperseded(fn) { superseded = fn; }

let opening = null;
let replaced = false;

export function open() {
  if (replaced) {
    const err = new Error('the database was upgraded by another tab of Muaina');
    err.name = 'SupersededError';
    return Promise.reject(err);
  }
  if (!opening) {
    opening = request(DB_VERSION)
      .catch((err) => (err?.name === 'VersionError' ? openNewer() : Promise.reject(err)))
      .then((db) => {
        // Another context wants a newer schema (or deletes the database): step aside so it can.
        db.onversionchange = () => {
          db.close();
          opening = null;
          if (!superseded) return;
          replaced = true;
          superseded();
        };
        return db;
      }, (err) => { opening = null; throw err; });
  }
  return opening;
}

const done = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

// Runs fn with the named stores inside one transaction and resolves once it has committed,
// so "saved" in the UI means durably saved. fn may return a value or a promise of one;
// it must only await IndexedDB requests of this transaction (use the `req` helper).
export async function tx(storeNames, mode, fn) {
  const db = await open();
  const names = Array.isArray(storeNames) ? storeNames : [storeNames];
  const t = db.transaction(names, mode, { durability: 'strict' });
  const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
  const committed = new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('transaction aborted'));
  });
  // When fn fails the caller hears fn's error; the abort that follows is not a second failure.
  committed.catch(() => {});
  let result;
  try {
    result = await fn(stores, t);
  } catch (err) {
    try { t.abort(); } catch { /* already finished */ }
    throw err;
  }
  await committed;
  return result;
}

export const req = done;

export const get = (store, key) => tx(store, 'readonly', (s) => done(s[store].get(key)));
export const getAll = (store) => tx(store, 'readonly', (s) => done(s[store].getAll()));
export const put = (store, value, key) =>
  tx(store, 'readwrite', (s) => done(key === undefined ? s[store].put(value) : s[store].put(value, key)));
export const del = (store, key) => tx(store, 'readwrite', (s) => done(s[store].delete(key)));
export const byIndex = (store, index, value) =>
  tx(store, 'readonly', (s) => done(s[store].index(index).getAll(value)));
export const count = (store) => tx(store, 'readonly', (s) => done(s[store].count()));

export const kv = {
  get: (key) => get(KV, key),
  set: (key, value) => put(KV, value, key),
  del: (key) => del(KV, key),
};
