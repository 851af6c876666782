// Photos as evidence: resized on the phone (a 12 MP camera JPEG becomes ≤ 2048 px, a few hundred
// KB), stored as Blobs in IndexedDB with what the phone knew at capture (time, GPS), and shown
// through blob URLs of a small thumbnail, so a card with five photos never decodes 60 MP.

import { api } from './api.js';
import { PHOTOS, get } from './db.js';

export const MAX_SIDE = 2048;
const THUMB_SIDE = 320;
const QUALITY = 0.85;

async function encode(bitmap, maxSide, quality) {
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const hgt = Math.max(1, Math.round(bitmap.height * scale));
  if (typeof OffscreenCanvas === 'function') {
    const c = new OffscreenCanvas(w, hgt);
    const ctx = c.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, hgt);
    return { blob: await c.convertToBlob({ type: 'image/jpeg', quality }), width: w, height: hgt };
  }
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

// Decodes once (EXIF orientation applied, since the re-encoded file carries no EXIF) and makes
// the upload copy and the thumbnail from the same bitmap.
export async function prepare(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const main = await encode(bitmap, MAX_SIDE, QUALITY);
    const thumb = await encode(bitmap, THUMB_SIDE, 0.7);
    return { blob: main.blob, thumb: thumb.blob, width: main.width, height: main.height };
  } finally {
    bitmap.close();
  }
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
