// The only module that touches IndexedDB. Every other module asks for records through
// these functions, so the schema lives in one place: one DB_VERSION, one upgrade switch.
// It runs in the page and in the service worker alike (no DOM here).

const DB_NAME = 'muaina';
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

let opening = null;

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion);
      req.onsuccess = () => {
        const db = req.result;
        // Another context wants a newer schema: step aside so its upgrade can run.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      req.onerror = () => { opening = null; reject(req.error); };
      req.onblocked = () => console.warn('muaina: database upgrade waits for another tab');
    });
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

// Wipes everything (sign-out, after the caller has checked that nothing is unsent).
export const clearAll = () =>
  tx([KV, DRAFTS, PHOTOS, OUTBOX], 'readwrite', (s) => Promise.all(Object.values(s).map((st) => done(st.clear()))));
