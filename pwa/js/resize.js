// How a photo is scaled, for the page (photos.js) and the worker (resize-worker.js) alike: the upload
// copy at most 2048 px (a 12 MP camera JPEG becomes a few hundred KB), a 320 px thumbnail.

export const MAX_SIDE = 2048;
export const THUMB_SIDE = 320;
export const QUALITY = 0.85;
export const THUMB_QUALITY = 0.7;

// The size a photo is scaled to: its longest side at most `maxSide`, never enlarged, never zero.
export function fit(width, height, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

// `source` drawn at w × h and encoded as JPEG, on an OffscreenCanvas: {canvas, blob}.
export async function drawJpeg(source, w, h, quality) {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return { canvas, blob: await canvas.convertToBlob({ type: 'image/jpeg', quality }) };
}
