// Photos as evidence: resized on the phone (a 12 MP camera JPEG becomes ≤ 2048 px, a few hundred
// KB), stored as Blobs in IndexedDB with what the phone knew at capture (time, GPS), and shown
// through blob URLs of a small thumbnail, so a card with five photos never decodes 60 MP.

import { api } from './api.js';
import { PHOTOS, get } from './db.js';
import { MAX_SIDE, QUALITY, THUMB_QUALITY, THUMB_SIDE, drawJpeg, fit } from './resize.js';

async function encode(bitmap, maxSide, quality) {
  const [w, hgt] = fit(bitmap.width, bitmap.height, maxSide);
  if (typeof OffscreenCanvas === 'function') return { blob: (await drawJpeg(bitmap, w, hgt, quality)).blob, width: w, height: hgt };
  const c = document.createElement('canvas');
  c.width = w;
  c.height = hgt;
  const ctx = c.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, hgt);
  const blob = await new Promise((resolve, reject) =>
    c.toBlob((b) => (b ? resolve(b) : reject(new Error('encode failed'))), 'image/jpeg', quality));
  return { blob, width: w, height: hgt };
}

// Where photos were resized, for the tests: in the worker, or on the page where no worker can.
export const resized = { worker: 0, page: 0 };

// Decodes once (EXIF orientation applied, since the re-encoded file carries no EXIF) and makes the
// upload copy and the thumbnail: in a worker (resize-worker.js), so the screen never stops for it,
// or on the page where a worker cannot (no module worker or OffscreenCanvas there, the worker failed,
// or it did not answer in time). A photo the worker could not make is tried once on the page, which
// says whether it is the photo (refused there too) or the worker (the page resizes from then on).
export async function prepare(file) {
  let made;
  try {
    made = await inWorker(file);  // null: no worker (any more), the page does it
  } catch {
    // Refused by the worker: the page tries once. Refused there too, it is the photo (that error is
    // the caller's); made there, it was the worker, and the page resizes from now on.
    made = await onPage(file);
    stopWorker();
    return made;
  }
  if (!made) return onPage(file);
  resized.worker += 1;
  return made;
}

async function onPage(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const main = await encode(bitmap, MAX_SIDE, QUALITY);
    const thumb = await encode(bitmap, THUMB_SIDE, THUMB_QUALITY);
    resized.page += 1;
    return { blob: main.blob, thumb: thumb.blob, width: main.width, height: main.height };
  } finally {
    bitmap.close();
  }
}

// One worker for the page's life, started at the first photo; null where it cannot be, and after it
// has failed once (photos are then resized on the page).
let worker;
const waiting = new Map();
let seq = 0;

// How long the worker may take over a photo before the page does it instead: half a minute, and a
// second more per megabyte (a slow phone's 12 MP photo takes a few seconds).
const workerDeadline = (bytes) => 30000 + Math.ceil(bytes / 1048576) * 1000;

function stopWorker() {
  worker?.terminate();
  worker = null;
  for (const pending of waiting.values()) { clearTimeout(pending.timer); pending.resolve(null); }
  waiting.clear();
}

function resizer() {
  if (worker !== undefined) return worker;
  worker = null;
  if (typeof Worker !== 'function' || typeof OffscreenCanvas !== 'function') return worker;
  try {
    worker = new Worker(new URL('./resize-worker.js', import.meta.url), { type: 'module' });
  } catch {
    return worker;
  }
  worker.onmessage = ({ data }) => {
    const pending = waiting.get(data.id);
    waiting.delete(data.id);
    if (!pending) return;
    clearTimeout(pending.timer);
    if (data.error) pending.reject(new Error(data.error));
    else pending.resolve({ blob: data.blob, thumb: data.thumb, width: data.width, height: data.height });
  };
  // It could not start, crashed, or a message could not be read: what it was given is resized on the page.
  worker.onerror = (event) => { event.preventDefault?.(); stopWorker(); };
  worker.onmessageerror = () => stopWorker();
  return worker;
}

function inWorker(file) {
  const w = resizer();
  if (!w) return Promise.resolve(null);
  seq += 1;
  const id = seq;
  return new Promise((resolve, reject) => {
    // No answer in time (a worker stuck or killed without a word): the page does this one, and the rest.
    const timer = setTimeout(() => { if (waiting.has(id)) stopWorker(); }, workerDeadline(file.size || 0));
    waiting.set(id, { resolve, reject, timer });
    w.postMessage({ id, file });
  });
}

// Blob URLs live as long as the page; one per photo id is reused, revoked when a photo goes.
const urls = new Map();

export function forget(id) {
  const u = urls.get(id);
  if (u) URL.revokeObjectURL(u);
  urls.delete(id);
}

// The thumbnail of a photo: the local copy if it is still on the phone, else the server's
// rendition fetched with the token. Resolves to null when neither is reachable (offline).
export async function thumbUrl(id) {
  if (urls.has(id)) return urls.get(id);
  const local = await get(PHOTOS, id);
  let blob = local?.thumb || local?.blob || null;
  if (!blob) {
    try { blob = await api.photoBlob(id, 'thumb'); } catch { return null; }
  }
  const u = URL.createObjectURL(blob);
  urls.set(id, u);
  return u;
}

export async function displayUrl(id) {
  const local = await get(PHOTOS, id);
  let blob = local?.blob || null;
  if (!blob) {
    try { blob = await api.photoBlob(id, 'display'); } catch { return null; }
  }
  return URL.createObjectURL(blob);
}
